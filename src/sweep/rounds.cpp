// Round orders and repetition shares (rounds.hpp).
#include "sweep/rounds.hpp"

#include <algorithm>
#include <cstdio>
#include <random>
#include <utility>

#include "core/errors.hpp"

namespace corescope::sweep {

namespace {

// SplitMix64: a small, fully specified generator, so an order is reproducible from its seed.
struct SplitMix64 {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound) by rejection (no modulo bias).
  std::uint64_t below(std::uint64_t bound) {
    const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % bound);
    for (;;)
      if (const std::uint64_t x = next(); x < limit) return x % bound;
  }
};

}  // namespace

std::uint64_t fresh_seed() {
  std::random_device device;
  return device() & 0x7fffffffu;
}

std::vector<std::size_t> round_order(std::size_t n, std::uint64_t seed, int round) {
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  // Each round has a generator of its own: round r's order does not depend on how many numbers
  // the rounds before it drew.
  SplitMix64 g{seed};
  g.state ^= SplitMix64{static_cast<std::uint64_t>(round) + 1}.next();
  for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[g.below(i)]);
  return order;
}

std::vector<std::size_t> spread_order(std::uint64_t seed, int round, const std::vector<int>& slot,
                                      const std::vector<int>& per) {
  CS_CHECK(slot.size() == per.size());
  const std::size_t n = slot.size();
  const std::vector<std::size_t> order = round_order(n, seed, round);
  std::vector<double> key(n);
  for (std::size_t rank = 0; rank < n; ++rank) {
    const std::size_t i = order[rank];
    CS_CHECK(per[i] >= 1 && slot[i] >= 0 && slot[i] < per[i]);
    key[i] = (slot[i] + static_cast<double>(rank) / static_cast<double>(n)) / per[i];
  }
  std::vector<std::size_t> out = order;
  std::stable_sort(out.begin(), out.end(),
                   [&](std::size_t a, std::size_t b) { return key[a] < key[b]; });
  return out;
}

std::string plan_with_rounds(const std::string& plan, int rounds) {
  SplitMix64 g{0x636f726573636f70ull};  // "corescop"
  std::uint64_t h = 0;
  for (unsigned char c : plan + "\nrounds=" + std::to_string(rounds)) {
    g.state ^= c;
    h = g.next();
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

int round_reps(int reps, int rounds, int round) {
  CS_CHECK(rounds >= 1 && round >= 0);
  if (round >= rounds) return std::max(1, reps / rounds);  // an extra run after the rounds
  return std::max(1, reps / rounds + (round < reps % rounds ? 1 : 0));
}

}  // namespace corescope::sweep
