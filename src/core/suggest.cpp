// Did-you-mean suggestions (suggest.hpp).
#include "core/suggest.hpp"

#include <algorithm>

#include "core/text.hpp"

namespace corescope {

std::size_t edit_distance(const std::string& a, const std::string& b) {
  const std::size_t n = a.size(), m = b.size();
  // Three rows suffice: a swap looks two rows back.
  std::vector<std::size_t> before(m + 1), previous(m + 1), current(m + 1);
  for (std::size_t j = 0; j <= m; ++j) previous[j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    current[0] = i;
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        current[j] = std::min(current[j], before[j - 2] + 1);
    }
    before.swap(previous);
    previous.swap(current);
  }
  return previous[m];
}

std::string closest(const std::string& typed, const std::vector<std::string>& candidates) {
  // A name that exists was meant as itself, whatever else is near it.
  if (typed.empty() || std::find(candidates.begin(), candidates.end(), typed) != candidates.end())
    return "";
  std::string best;
  std::size_t best_distance = 0;
  for (const auto& c : candidates) {
    if (c.empty()) continue;
    const std::size_t longer = std::max(c.size(), typed.size());
    const std::size_t cutoff = std::clamp<std::size_t>(longer / 3, 1, 3);
    std::size_t d = edit_distance(typed, c);
    // An abbreviation ("thr" for threads) is as good as one edit, however much it leaves out.
    if (typed.size() >= 3 && c.compare(0, typed.size(), typed) == 0)
      d = std::min<std::size_t>(d, 1);
    if (d > cutoff) continue;
    if (best.empty() || d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

std::string did_you_mean(const std::string& typed, const std::vector<std::string>& candidates,
                         const std::string& before, const std::string& after) {
  const std::string guess = closest(typed, candidates);
  return guess.empty() ? "" : "did you mean " + before + guess + after + "?";
}

std::string unknown_name(const std::string& what, const std::string& typed,
                         const std::vector<std::string>& valid) {
  const std::string guess = did_you_mean(typed, valid);
  return "unknown " + what + " '" + typed + "'" + (guess.empty() ? "" : "; " + guess) +
         (valid.empty() ? ""
                        : (guess.empty() ? "; " : " ") + std::string("valid ") + what +
                              "s: " + join(valid, ", "));
}

}  // namespace corescope
