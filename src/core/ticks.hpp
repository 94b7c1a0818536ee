// A cheap monotonic counter for the accounting that brackets every team operation (the
// Worker's communication time). It runs twice per message, so its cost shows in a ping-pong's
// latency: the CPU's invariant time-stamp counter reads in ~10 ns where clock_gettime takes
// ~30 ns in a VM. Without an invariant TSC (or off x86) it is steady_clock in nanoseconds.
#pragma once
#include <chrono>
#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <x86intrin.h>
#endif

namespace corescope::ticks {

namespace detail {
// Invariant TSC (CPUID 0x80000007, EDX bit 8): constant rate, runs in every C-state, so one
// rate converts ticks from any core. Linux also requires it to use the TSC as its clock.
inline bool invariant_tsc() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  // GCC's cpuid.h returns unsigned, clang's int.
  if (static_cast<unsigned>(__get_cpuid_max(0x80000000u, nullptr)) < 0x80000007u) return false;
  __cpuid(0x80000007u, a, b, c, d);
  return (d & (1u << 8)) != 0;
#else
  return false;
#endif
}
inline const bool use_tsc = invariant_tsc();

inline std::uint64_t steady_ns() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}
}  // namespace detail

inline std::uint64_t now() {
#if defined(__x86_64__) || defined(__i386__)
  if (detail::use_tsc) return __rdtsc();
#endif
  return detail::steady_ns();
}

// Seconds per tick. The TSC rate is measured once per process against steady_clock over 2 ms
// (relative error ~1e-5); call it once before anything is timed.
inline double seconds_per_tick() {
  static const double rate = [] {
    if (!detail::use_tsc) return 1e-9;
    const auto t0 = std::chrono::steady_clock::now();
    const std::uint64_t c0 = now();
    auto t1 = t0;
    while (t1 - t0 < std::chrono::milliseconds(2)) t1 = std::chrono::steady_clock::now();
    const std::uint64_t c1 = now();
    return std::chrono::duration<double>(t1 - t0).count() / static_cast<double>(c1 - c0);
  }();
  return rate;
}

}  // namespace corescope::ticks
