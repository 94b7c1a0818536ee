#include "core/stats.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

namespace corescope::stats {

namespace {

std::vector<double> finite_sorted(std::vector<double> x) {
  std::erase_if(x, [](double v) { return std::isnan(v); });
  std::sort(x.begin(), x.end());
  return x;
}

double median_sorted(const std::vector<double>& s) {
  const std::size_t n = s.size();
  if (n == 0) return NAN;
  return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

// P(j <= B <= n - j) for B ~ Binomial(n, 1/2), j >= 1: the coverage of [x_(j), x_(n+1-j)].
double order_coverage(std::size_t n, std::size_t j) {
  double total = 0, term = std::pow(0.5, static_cast<double>(n));  // C(n,0) / 2^n
  for (std::size_t i = 0; i <= n; ++i) {
    if (i >= j && i + j <= n) total += term;
    term = term * static_cast<double>(n - i) / static_cast<double>(i + 1);
  }
  return total;
}

double normal_sf(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

}  // namespace

double median(std::vector<double> x) { return median_sorted(finite_sorted(std::move(x))); }

double quantile(std::vector<double> x, double q) {
  const std::vector<double> s = finite_sorted(std::move(x));
  if (s.empty()) return NAN;
  q = std::clamp(q, 0.0, 1.0);
  const double pos = q * static_cast<double>(s.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, s.size() - 1);
  return s[lo] + (pos - static_cast<double>(lo)) * (s[hi] - s[lo]);
}

Interval median_ci(std::vector<double> x, double level) {
  const std::vector<double> s = finite_sorted(std::move(x));
  Interval r;
  r.n = s.size();
  r.point = median_sorted(s);
  if (s.empty()) {
    r.lo = r.hi = NAN;
    return r;
  }
  // The widest interval [x_(1), x_(n)] has coverage 1 - 2^(1-n); narrow it while coverage holds.
  std::size_t j = 1;
  while (j + 1 <= (s.size() + 1) / 2 && order_coverage(s.size(), j + 1) >= level) ++j;
  r.coverage = order_coverage(s.size(), j);
  r.lo = s[j - 1];
  r.hi = s[s.size() - j];
  return r;
}

Interval ratio_ci(const std::vector<double>& num, const std::vector<double>& den, double level,
                  std::uint64_t seed, int resamples) {
  const std::vector<double> a = finite_sorted(num), b = finite_sorted(den);
  Interval r;
  r.n = std::min(a.size(), b.size());
  if (a.empty() || b.empty()) {
    r.point = r.lo = r.hi = NAN;
    return r;
  }
  r.point = median_sorted(a) / median_sorted(b);
  r.coverage = level;
  std::mt19937_64 gen(seed);
  std::vector<double> ratios, ra(a.size()), rb(b.size());
  ratios.reserve(static_cast<std::size_t>(std::max(resamples, 1)));
  std::uniform_int_distribution<std::size_t> pa(0, a.size() - 1), pb(0, b.size() - 1);
  for (int k = 0; k < resamples; ++k) {
    for (auto& v : ra) v = a[pa(gen)];
    for (auto& v : rb) v = b[pb(gen)];
    std::sort(ra.begin(), ra.end());
    std::sort(rb.begin(), rb.end());
    ratios.push_back(median_sorted(ra) / median_sorted(rb));
  }
  r.lo = quantile(ratios, (1 - level) / 2);
  r.hi = quantile(ratios, 1 - (1 - level) / 2);
  return r;
}

namespace {
// The finite values of one side of a ratio, split by group (in the order groups first appear).
std::vector<std::vector<double>> split_groups(const std::vector<double>& x,
                                              const std::vector<std::int64_t>& g) {
  std::vector<std::vector<double>> out;
  std::map<std::int64_t, std::size_t> index;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i])) continue;
    const std::int64_t key = g.size() == x.size() ? g[i] : 0;
    auto [it, fresh] = index.emplace(key, out.size());
    if (fresh) out.emplace_back();
    out[it->second].push_back(x[i]);
  }
  return out;
}

// One bootstrap median of a side: two stages when it has several groups, one otherwise.
double resampled_median(const std::vector<std::vector<double>>& groups, std::mt19937_64& gen,
                        std::vector<double>& buf) {
  buf.clear();
  std::uniform_int_distribution<std::size_t> pick_group(0, groups.size() - 1);
  for (std::size_t k = 0; k < groups.size(); ++k) {
    const auto& g = groups.size() > 1 ? groups[pick_group(gen)] : groups.front();
    std::uniform_int_distribution<std::size_t> pick(0, g.size() - 1);
    for (std::size_t i = 0; i < g.size(); ++i) buf.push_back(g[pick(gen)]);
  }
  std::sort(buf.begin(), buf.end());
  return median_sorted(buf);
}
}  // namespace

Interval ratio_ci_grouped(const std::vector<double>& num,
                          const std::vector<std::int64_t>& num_groups,
                          const std::vector<double>& den,
                          const std::vector<std::int64_t>& den_groups, double level,
                          std::uint64_t seed, int resamples) {
  const auto a = split_groups(num, num_groups), b = split_groups(den, den_groups);
  if (a.empty() || b.empty() || (a.size() == 1 && b.size() == 1))
    return ratio_ci(num, den, level, seed, resamples);
  Interval r;
  const std::vector<double> sa = finite_sorted(num), sb = finite_sorted(den);
  r.n = std::min(sa.size(), sb.size());
  r.point = median_sorted(sa) / median_sorted(sb);
  r.coverage = level;
  std::mt19937_64 gen(seed);
  std::vector<double> ratios, buf;
  ratios.reserve(static_cast<std::size_t>(std::max(resamples, 1)));
  for (int k = 0; k < resamples; ++k) {
    const double ma = resampled_median(a, gen, buf);
    const double mb = resampled_median(b, gen, buf);
    ratios.push_back(ma / mb);
  }
  r.lo = quantile(ratios, (1 - level) / 2);
  r.hi = quantile(ratios, 1 - (1 - level) / 2);
  return r;
}

Interval with_run_band(const Interval& r, const std::vector<std::int64_t>& a_groups,
                       const std::vector<std::int64_t>& b_groups, double sigma_a, double sigma_b,
                       double z) {
  if (!std::isfinite(sigma_a)) sigma_a = sigma_b;
  if (!std::isfinite(sigma_b)) sigma_b = sigma_a;
  if (!std::isfinite(sigma_a) || !std::isfinite(r.point) || !(r.point > 0)) return r;
  auto distinct = [](std::vector<std::int64_t> g) {
    std::sort(g.begin(), g.end());
    return static_cast<double>(
        std::max<std::ptrdiff_t>(1, std::unique(g.begin(), g.end()) - g.begin()));
  };
  const double half = z * std::sqrt(sigma_a * sigma_a / distinct(a_groups) +
                                    sigma_b * sigma_b / distinct(b_groups));
  Interval out = r;
  const double lo = r.point * std::exp(-half), hi = r.point * std::exp(half);
  out.lo = std::isfinite(r.lo) ? std::min(r.lo, lo) : lo;
  out.hi = std::isfinite(r.hi) ? std::max(r.hi, hi) : hi;
  return out;
}

RankTest mann_whitney(const std::vector<double>& a_in, const std::vector<double>& b_in) {
  const std::vector<double> a = finite_sorted(a_in), b = finite_sorted(b_in);
  RankTest t;
  const std::size_t n1 = a.size(), n2 = b.size();
  if (n1 == 0 || n2 == 0) return t;
  // Ranks of the pooled values, ties sharing their mean rank.
  struct V {
    double v;
    bool from_a;
  };
  std::vector<V> all;
  for (double v : a) all.push_back({v, true});
  for (double v : b) all.push_back({v, false});
  std::sort(all.begin(), all.end(), [](const V& x, const V& y) { return x.v < y.v; });
  const double n = static_cast<double>(n1 + n2);
  double rank_a = 0, tie_term = 0;
  bool ties = false;
  for (std::size_t i = 0; i < all.size();) {
    std::size_t j = i;
    while (j < all.size() && all[j].v == all[i].v) ++j;
    const double mean_rank = 0.5 * static_cast<double>(i + 1 + j);
    for (std::size_t k = i; k < j; ++k)
      if (all[k].from_a) rank_a += mean_rank;
    const double c = static_cast<double>(j - i);
    if (j - i > 1) ties = true;
    tie_term += c * c * c - c;
    i = j;
  }
  const double d1 = static_cast<double>(n1), d2 = static_cast<double>(n2);
  t.u = rank_a - d1 * (d1 + 1) / 2;
  const double mean = d1 * d2 / 2;
  if (!ties && n1 <= 30 && n2 <= 30) {
    // Exact: count arrangements by U with the recursion c(i,j,u) = c(i-1,j,u-j) + c(i,j-1,u).
    const std::size_t umax = n1 * n2;
    std::vector<std::vector<double>> prev(n2 + 1, std::vector<double>(umax + 1, 0)), cur = prev;
    for (std::size_t j = 0; j <= n2; ++j) prev[j][0] = 1;  // i = 0: one arrangement, U = 0
    for (std::size_t i = 1; i <= n1; ++i) {
      for (std::size_t j = 0; j <= n2; ++j) {
        for (std::size_t u = 0; u <= umax; ++u) {
          double c = 0;
          if (u >= j) c += prev[j][u - j];
          if (j > 0) c += cur[j - 1][u];
          cur[j][u] = c;
        }
      }
      std::swap(prev, cur);
    }
    const std::vector<double>& dist = prev[n2];
    double total = 0;
    for (double c : dist) total += c;
    const double lo = std::min(t.u, d1 * d2 - t.u);  // distribution is symmetric
    double tail = 0;
    for (std::size_t u = 0; u <= umax && static_cast<double>(u) <= lo + 1e-9; ++u) tail += dist[u];
    t.p = std::min(1.0, 2 * tail / total);
    t.exact = true;
    return t;
  }
  const double var = d1 * d2 / 12 * ((n + 1) - tie_term / (n * (n - 1)));
  if (var <= 0) return t;  // every value equal: no evidence of a difference
  const double z = (std::abs(t.u - mean) - 0.5) / std::sqrt(var);
  t.p = std::min(1.0, 2 * normal_sf(std::max(z, 0.0)));
  return t;
}

}  // namespace corescope::stats
