// The record-time disturbance rule (see disturbance.hpp and docs/dev/noise.md).
#include "core/disturbance.hpp"

#include <algorithm>
#include <cmath>

namespace corescope::disturbance {

std::int64_t classify(const Sample& s, const Context& c) {
  std::int64_t bits = 0;
  // Steal is counted in whole ticks of a running total, so a difference of d ticks means more
  // than d - 1 ticks really stolen: only that lower bound is held against the threshold.
  if (std::isfinite(s.steal_s) && s.wall_s > 0 && s.steal_s - c.tick_s > kMaxStealShare * s.wall_s)
    bits |= kSteal;
  // With more workers than CPUs the scheduler preempts and moves the team's own workers: that is
  // the experiment, not a disturbance.
  if (!c.oversubscribed) {
    if (s.invol_ctx_switches >= 0 &&
        static_cast<double>(s.invol_ctx_switches) >
            static_cast<double>(kSwitchAllowance) + kSwitchesPerSecond * s.wall_s)
      bits |= kSwitches;
    // A worker that blocked (a voluntary switch: a barrier's futex, a GIL wait, a sleep) may be
    // woken on any CPU; one that never gave its CPU up was moved because something else wanted it.
    if (s.cpu_start >= 0 && s.cpu >= 0 && s.cpu_start != s.cpu && s.vol_ctx_switches <= 0)
      bits |= kMigration;
    // A worker that never blocked wanted its CPU for the whole repetition, so every moment its
    // thread's CPU clock did not advance was taken from it: preempted, or its vCPU stolen (a kernel
    // with paravirtual steal accounting leaves stolen time out of the thread's CPU time). Unlike
    // the switch count, this weighs what was taken; unlike steal ticks, it is exact in short
    // repetitions.
    if (c.own_window && s.vol_ctx_switches == 0 && std::isfinite(s.cpu_s) && s.cpu_s > 0 &&
        s.wall_s > 0 && s.wall_s - s.cpu_s > kMaxOffCpuShare * s.wall_s + kOffCpuAllowance_s)
      bits |= kOffCpu;
  }
  // procs_running counts the team too (all of its workers on this host are running the probe when
  // it is read); the others compete when they outnumber the CPUs the team leaves idle.
  if (s.runnable_start >= 0) {
    const std::int64_t others = s.runnable_start - c.local_workers;
    const std::int64_t idle = std::max(0, c.host_cpus - std::min(c.local_workers, c.team_cpus));
    if (others > idle) bits |= kCompetition;
  }
  return bits;
}

}  // namespace corescope::disturbance
