// The record-time disturbance rule: which samples something outside the experiment disturbed,
// as a bitmask stored in /samples `disturbed` (docs/dev/noise.md, "What counts as disturbed").
// A pure function of one sample and the facts of its run, so it is tested on synthetic samples
// and applied when the run's rows are recorded.
#pragma once
#include <cstdint>

#include "core/run.hpp"

namespace corescope::disturbance {

// The bits of `disturbed`; 0 = clean.
inline constexpr std::int64_t kSteal = 1;      // the hypervisor ran something else on the CPU
inline constexpr std::int64_t kSwitches = 2;   // the worker was preempted more than the allowance
inline constexpr std::int64_t kMigration = 4;  // moved to another CPU while it never blocked
// other runnable tasks than CPUs the team left idle
inline constexpr std::int64_t kCompetition = 8;
inline constexpr std::int64_t kOffCpu = 16;  // a worker that never blocked was kept off its CPU

// Thresholds (docs/dev/noise.md states them and why).
inline constexpr double kMaxStealShare = 0.05;       // of wall_s, after one tick of rounding
inline constexpr std::int64_t kSwitchAllowance = 2;  // involuntary switches any repetition may have
inline constexpr double kSwitchesPerSecond = 20.0;   // ... plus this many per second of wall_s
// of wall_s: time a never-blocking worker did not run
inline constexpr double kMaxOffCpuShare = 0.05;
// ... plus this much (the kernel's own short work)
inline constexpr double kOffCpuAllowance_s = 0.0005;

// The analysis-time rule (not applied here; docs/dev/noise.md): a sample whose probe_s exceeds the
// fastest probe of its (host, cpu_start) by more than this factor ran on a slow CPU.
inline constexpr double kSlowSpeedFactor = 1.10;

// What the rule needs to know about the run beyond the sample.
struct Context {
  bool oversubscribed = false;  // /runs oversubscribed: more workers than CPUs, by design
  int local_workers = 1;        // the team's workers on this host
  int team_cpus = 1;            // CPUs the team may use on this host
  int host_cpus = 1;            // online CPUs of the host: what procs_running counts over
  double tick_s = 0.01;         // resolution of steal_s (one clock tick, 1/USER_HZ)
  // Each sample's wall_s and cpu_s cover one thread's own repetition (false for a pool, whose
  // sample sums its tasks under the repetition's wall time): bit 16 needs that.
  bool own_window = true;
};

// The bitmask of the sample; unknown inputs (NaN, -1) set no bit.
std::int64_t classify(const Sample& s, const Context& c);

}  // namespace corescope::disturbance
