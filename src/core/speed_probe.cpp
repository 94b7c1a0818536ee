// The speed probe's chain (see speed_probe.hpp).
#include "core/speed_probe.hpp"

#include <algorithm>
#include <chrono>
#include <limits>

namespace corescope {

namespace {
// One timed run of the chain. The empty asm statement hides the integer state from the
// optimiser, so the chain can be neither folded nor vectorised; the floating-point state depends
// on it and is used at the end, so it is computed step by step as written.
double chain_seconds(std::uint64_t steps, std::uint64_t seed) {
  using clock = std::chrono::steady_clock;
  std::uint64_t x = seed | 1;
  double s = 1.0;
  const auto t0 = clock::now();
  for (std::uint64_t i = 0; i < steps; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    asm volatile("" : "+r"(x));
    s = s * 0.999999 + static_cast<double>(x >> 40) * 1e-12;
  }
  const auto t1 = clock::now();
  asm volatile("" : : "r"(x), "m"(s));
  return std::chrono::duration<double>(t1 - t0).count();
}
}  // namespace

double speed_probe(std::uint64_t steps, int tries) {
  double best = std::numeric_limits<double>::infinity();
  for (int i = 0; i < std::max(1, tries); ++i) best = std::min(best, chain_seconds(steps, static_cast<std::uint64_t>(i)));
  return best;
}

}  // namespace corescope
