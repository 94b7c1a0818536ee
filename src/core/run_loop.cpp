// The run loop: the one place where timing happens, identical for every mode.
#include "core/run_loop.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>

#include "core/errors.hpp"
#include "core/platform.hpp"
#include "core/speed_probe.hpp"

namespace corescope {

namespace {
std::atomic<bool> g_memory_detail{true};

// Takes the probes that bracket one repetition; none of them runs inside the timed region.
struct Probe {
  platform::ThreadUsage usage;
  double comm_s, gil_wait_s;
  std::int64_t gil_acquires, gil_forced, gil_voluntary, gil_requests;

  static Probe take(const Worker& w) {
    return {platform::thread_usage(), w.comm_seconds(),        w.gil_wait_seconds(),
            w.gil_acquires(),         w.gil_forced_switches(), w.gil_voluntary_releases(),
            w.gil_drop_requests()};
  }
};

std::int64_t delta(std::int64_t after, std::int64_t before) {
  return (after < 0 || before < 0) ? -1 : after - before;
}

// The machine's scheduler statistics, read once per repetition (one read of /proc/stat): the
// read before repetition r+1 also ends repetition r's steal window, and one more read after the
// last repetition ends its window. Two snapshots take turns, so nothing is allocated per read.
class SchedRecord {
 public:
  // Reads the statistics; the last sample of `samples`, if any, gets the steal time of its
  // cpu_start since the read before it.
  void read(std::vector<Sample>& samples) {
    const platform::SchedSnapshot& before = snaps_[1 - next_];
    platform::SchedSnapshot& now = snaps_[next_];
    now.read();
    if (!samples.empty()) {
      Sample& s = samples.back();
      const std::int64_t d = delta(now.steal_ticks(s.cpu_start), before.steal_ticks(s.cpu_start));
      s.steal_s = d < 0 ? std::numeric_limits<double>::quiet_NaN()
                        : static_cast<double>(d) * platform::clock_tick_seconds();
    }
    next_ = 1 - next_;
  }
  std::int64_t procs_running() const {
    return snaps_[1 - next_].procs_running();
  }  // of the last read

 private:
  platform::SchedSnapshot snaps_[2];
  int next_ = 0;
};
}  // namespace

void set_memory_detail(bool on) { g_memory_detail = on; }

WorkerOutcome run_worker(Worker& w, Kernel& kernel, const RunSpec& spec) {
  using clock = std::chrono::steady_clock;
  WorkerOutcome out;
  out.worker = w.id();
  out.samples.reserve(static_cast<std::size_t>(spec.params.reps));

  // Read twice here so that both snapshots' buffers exist before the runtime's footprint is
  // measured; the samples are still empty, so no steal is recorded yet.
  SchedRecord sched;
  sched.read(out.samples);
  sched.read(out.samples);

  w.enter();
  // The process before any kernel data exists: what the runtime itself costs (the /runs column
  // runtime_overhead_bytes). Thread 0 of each process speaks for the process.
  const std::int64_t base_pss =
      g_memory_detail && w.thread() == 0 ? platform::process_memory(true).pss : -1;
  kernel.setup(w, spec.params);
  for (int i = 0; i < spec.params.warmup; ++i) w.run_iteration(kernel);

  for (int rep = 0; rep < spec.params.reps; ++rep) {
    // After the barrier every worker of the team is awake and none holds the emulated GIL (gil
    // mode's rep_barrier returns without it, and the probe has no yield point): each reads the
    // machine's scheduler statistics and times the speed probe, all at once, then starts its
    // clock. A second barrier here would line the clocks up again, but on a loaded machine each
    // barrier costs a scheduler time slice whenever a worker is off its CPU (docs/dev/noise.md).
    w.rep_barrier();
    sched.read(out.samples);
    const std::int64_t runnable_start = sched.procs_running();
    const double probe_s = speed_probe();
    const Probe before = Probe::take(w);
    const int cpu_start = platform::current_cpu();
    const double cpu0 = platform::thread_cpu_seconds();
    const auto t0 = clock::now();
    w.run_iteration(kernel);
    const auto t1 = clock::now();
    const double cpu1 = platform::thread_cpu_seconds();
    const Probe after = Probe::take(w);

    Sample s;
    s.rep = rep;
    s.worker = w.id();
    s.rank = w.rank();
    s.thread = w.thread();
    s.cpu = platform::current_cpu();
    s.cpu_start = cpu_start;
    s.runnable_start = runnable_start;
    s.probe_s = probe_s;
    s.wall_s = std::chrono::duration<double>(t1 - t0).count();
    s.cpu_s = cpu1 - cpu0;
    s.comm_s = after.comm_s - before.comm_s;
    s.gil_wait_s = after.gil_wait_s - before.gil_wait_s;
    s.compute_s = std::max(0.0, s.wall_s - s.comm_s - s.gil_wait_s);
    s.gil_acquires = after.gil_acquires - before.gil_acquires;
    s.gil_forced_switches = after.gil_forced - before.gil_forced;
    s.gil_voluntary_releases = after.gil_voluntary - before.gil_voluntary;
    s.gil_drop_requests = after.gil_requests - before.gil_requests;
    s.minor_faults = delta(after.usage.minor_faults, before.usage.minor_faults);
    s.major_faults = delta(after.usage.major_faults, before.usage.major_faults);
    s.vol_ctx_switches = delta(after.usage.vol_ctx_switches, before.usage.vol_ctx_switches);
    s.invol_ctx_switches = delta(after.usage.invol_ctx_switches, before.usage.invol_ctx_switches);
    s.alloc_bytes = static_cast<std::int64_t>(w.allocated_bytes());
    const bool detail = g_memory_detail && rep + 1 == spec.params.reps;  // smaps once, at the end
    const auto mem = platform::process_memory(detail);
    s.rss_bytes = mem.rss;
    s.peak_rss_bytes = mem.peak_rss;
    s.pss_bytes = mem.pss;
    s.uss_bytes = mem.uss;
    s.stack_bytes = detail ? platform::thread_stack_resident_bytes() : -1;
    s.base_pss_bytes = base_pss;
    out.samples.push_back(s);
  }
  sched.read(out.samples);  // ends the last repetition's steal window

  const Verification v = kernel.verify(w);
  // The run is verified only if every worker's check passed.
  out.verified = w.allreduce(v.ok ? 1.0 : 0.0, Op::min) > 0.5;
  out.verify_error = w.allreduce(v.error, Op::max);
  out.verify_detail = v.detail;
  out.metrics = kernel.metrics(w);
  out.team_memory = w.team_memory();
  w.barrier();
  w.leave();
  out.completed = true;
  return out;
}

void combine_outcomes(RunResult& result, std::vector<WorkerOutcome> outcomes) {
  std::sort(outcomes.begin(), outcomes.end(),
            [](const auto& a, const auto& b) { return a.worker < b.worker; });
  bool all_completed = !outcomes.empty();
  bool all_verified = !outcomes.empty();
  for (auto& o : outcomes) {
    all_completed = all_completed && o.completed;
    all_verified = all_verified && o.verified;
    if (!o.error.empty() && result.error.empty())
      result.error = "worker " + std::to_string(o.worker) + ": " + o.error;
    if (!o.verified && !o.verify_detail.empty() && result.verify_detail.empty())
      result.verify_detail = o.verify_detail;
    result.verify_error = std::max(result.verify_error, o.verify_error);
    result.samples.insert(result.samples.end(), o.samples.begin(), o.samples.end());
  }
  if (!outcomes.empty() && outcomes.front().worker == 0) {
    result.metrics = outcomes.front().metrics;
    result.team_memory = outcomes.front().team_memory;
  }
  result.verified = all_completed && all_verified;
  if (!result.error.empty())
    result.status = "failed";
  else
    result.status = all_completed ? "ok" : "incomplete";
  if (result.status == "ok" && !result.verified && result.error.empty())
    result.error =
        "verification failed" + (result.verify_detail.empty() ? "" : ": " + result.verify_detail);
}

}  // namespace corescope
