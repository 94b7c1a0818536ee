// Helpers for the kernels that block on purpose (iowait, convoy): a sleep that really lasts its
// full duration and reports how long it took, order statistics of measured latencies, and the
// small pieces of their KernelInfo that they share.
#pragma once
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "core/kernel.hpp"

namespace corescope::kernel_lib {

using WaitClock = std::chrono::steady_clock;

inline double seconds_between(WaitClock::time_point a, WaitClock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Sleeps until `ns` nanoseconds from now on the monotonic clock (an absolute deadline, so a
// signal that interrupts the sleep does not shorten it) and returns the seconds actually slept.
inline double sleep_ns(std::int64_t ns) {
  const auto t0 = WaitClock::now();
  timespec deadline{};
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  const std::int64_t total = deadline.tv_nsec + ns;
  deadline.tv_sec += static_cast<time_t>(total / 1000000000);
  deadline.tv_nsec = static_cast<long>(total % 1000000000);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nullptr) == EINTR) {
  }
  return seconds_between(t0, WaitClock::now());
}

// The q-quantile (0..1) by nearest rank; NaN for no values. Sorts a copy.
inline double quantile(std::vector<double> v, double q) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(v.begin(), v.end());
  const double rank = std::ceil(q * static_cast<double>(v.size()));
  const std::size_t i = rank < 1.0 ? 0 : static_cast<std::size_t>(rank) - 1;
  return v[std::min(i, v.size() - 1)];
}

// size_for_class for a kernel whose sizes are counts of calls, the same on every machine.
inline auto fixed_size_classes(std::size_t s, std::size_t m, std::size_t l) {
  return [=](SizeClass c, const MachineInfo&) -> std::size_t {
    return c == SizeClass::S ? s : c == SizeClass::L ? l : m;
  };
}

// An integer --param within [lo, hi], or a UsageError naming the kernel and the range.
inline long long int_param_in(const Params& p, const char* kernel, const std::string& key,
                              long long lo, long long hi) {
  const long long v = p.get_int(key);
  if (v < lo || v > hi)
    throw UsageError(std::string("kernel ") + kernel + ": --param " + key + " must be between " +
                     std::to_string(lo) + " and " + std::to_string(hi));
  return v;
}

}  // namespace corescope::kernel_lib
