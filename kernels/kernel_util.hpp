// Helpers shared by kernel files: chunked loops that reach the GIL check once per chunk, and
// size-class defaults tied to the detected cache size.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/counter_rng.hpp"
#include "core/errors.hpp"
#include "core/kernel.hpp"
#include "core/machine.hpp"

// Before a loop whose iterations are independent (its pointers do not alias): each compiler's
// own spelling of "vectorise without a run-time alias check".
#if defined(__clang__)
#define CORESCOPE_IVDEP _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define CORESCOPE_IVDEP _Pragma("GCC ivdep")
#else
#define CORESCOPE_IVDEP
#endif

namespace corescope::kernel_lib {

// Runs body(begin, end) over [begin, end) in chunks of `chunk` items, with one yield_point() per
// chunk: the GIL check costs one load per chunk, never one per element.
template <class Body>
inline void chunked(Worker& w, std::size_t begin, std::size_t end, std::size_t chunk, Body&& body) {
  for (std::size_t lo = begin; lo < end; lo += chunk) {
    body(lo, std::min(end, lo + chunk));
    w.yield_point();
  }
}

// Elements for a memory-bound kernel moving `bytes_per_element`: S is small enough for the test
// suite; M is at least 4x the last-level cache (and 4 MiB); L is 16x M.
inline std::size_t memory_bound_size(SizeClass c, const MachineInfo& m,
                                     std::size_t bytes_per_element) {
  const std::size_t llc = static_cast<std::size_t>(std::max<std::int64_t>(m.llc_bytes, 1 << 20));
  const std::size_t medium = std::max<std::size_t>(4 * llc, 4u << 20) / bytes_per_element;
  switch (c) {
    case SizeClass::S: return 100003;  // prime, so it never divides evenly among workers
    case SizeClass::M: return medium;
    case SizeClass::L: return 16 * medium;
  }
  return medium;
}

inline void require_positive_size(const Params& p, const char* kernel) {
  if (p.size == 0)
    throw UsageError(std::string("kernel ") + kernel + ": --size must be at least 1");
}

using corescope::mix64;
using corescope::uniform01;

// One worker's own wall time per iterate() call, for kernels that turn it into a per-item cost
// Metric (ns per update, busy time per bee). Storage is sized in setup from warmup + reps, so a
// timed iteration only reads the clock twice; iterations beyond that (benchmarks) are not kept.
class IterationTimes {
 public:
  void reserve(const Params& p) {
    warmup_ = static_cast<std::size_t>(std::max(0, p.warmup));
    seconds_.assign(warmup_ + static_cast<std::size_t>(std::max(0, p.reps)), 0.0);
    count_ = 0;
  }
  void start() { t0_ = std::chrono::steady_clock::now(); }
  void stop() {
    if (count_ < seconds_.size())
      seconds_[count_] =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
    ++count_;
  }
  std::size_t iterations() const { return count_; }
  // Iteration i's time (0 <= i < warm-up + reps; warm-up iterations first).
  double seconds(std::size_t i) const { return i < seconds_.size() ? seconds_[i] : 0.0; }
  // Median over the timed repetitions (all iterations when there were none past the warm-up).
  double median() const {
    const std::size_t kept = std::min(count_, seconds_.size());
    const std::size_t first = kept > warmup_ ? warmup_ : 0;
    std::vector<double> v(seconds_.begin() + static_cast<std::ptrdiff_t>(first),
                          seconds_.begin() + static_cast<std::ptrdiff_t>(kept));
    if (v.empty()) return 0.0;
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
  }
  // Sum over the timed repetitions.
  double timed_total() const {
    const std::size_t kept = std::min(count_, seconds_.size());
    double s = 0;
    for (std::size_t i = kept > warmup_ ? warmup_ : 0; i < kept; ++i) s += seconds_[i];
    return s;
  }

 private:
  std::vector<double> seconds_;
  std::size_t warmup_ = 0, count_ = 0;
  std::chrono::steady_clock::time_point t0_{};
};

}  // namespace corescope::kernel_lib
