// The speed probe's work (see speed_probe.hpp).
#include "core/speed_probe.hpp"

#include <algorithm>
#include <chrono>
#include <limits>

#include "core/counter_rng.hpp"

namespace corescope {

namespace {
// One timed run. The hit count leaves through an empty asm statement, so the loop cannot be
// dropped; the keys start at a different offset for every timing, so no result can be reused.
double samples_seconds(std::uint64_t steps, std::uint64_t offset) {
  using clock = std::chrono::steady_clock;
  std::uint64_t hits = 0;
  const auto t0 = clock::now();
  for (std::uint64_t i = 0; i < steps; ++i) {
    const std::uint64_t key = offset + 2 * i;
    const double x = uniform01(key), y = uniform01(key + 1);
    hits += (x * x + y * y < 1.0) ? 1u : 0u;
  }
  asm volatile("" : : "r"(hits));
  const auto t1 = clock::now();
  return std::chrono::duration<double>(t1 - t0).count();
}
}  // namespace

double speed_probe(std::uint64_t steps, int tries) {
  static thread_local std::uint64_t offset = 0;
  double best = std::numeric_limits<double>::infinity();
  for (int i = 0; i < std::max(1, tries); ++i) {
    best = std::min(best, samples_seconds(steps, offset));
    offset += 2 * steps;
  }
  return best;
}

}  // namespace corescope
