// What a run is asked to do (RunSpec), what each worker measured (Sample, WorkerOutcome) and
// what the run produced as a whole (RunResult).
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "core/kernel.hpp"

namespace corescope {

// Where a run stands in a sweep's rounds (docs/user/sweeps.md), recorded in /runs as round, rounds,
// round_seed, twin, target_ci; the defaults are a run outside rounds.
struct SweepRound {
  std::int64_t round = -1;   // 0-based; rounds and up: an extra run for --target-ci
  std::int64_t rounds = -1;  // the rounds the sweep planned
  std::int64_t seed = -1;    // seed of the rounds' orders
  std::int64_t twin = 0;     // 1: the cell's A/A twin (same configuration, same rounds)
  double target_ci = std::numeric_limits<double>::quiet_NaN();  // the sweep's --target-ci
};

// The binding a sweep arranges by default: none.
inline constexpr const char* kPinNone = "none";

struct RunSpec {
  std::string kernel;
  std::string mode;
  int workers = 1;           // team size (ranks x threads_per_rank for hybrid)
  int ranks = 1;             // OS processes in the team
  int threads_per_rank = 1;  // threads in each process
  // How the team's memory is laid out, from the mode (ModeInfo::memory): "shared" (one address
  // space), "private" (a process per worker) or "per-rank" (private per rank, shared inside).
  std::string memory_model;
  // The mode's Worker::critical_section covers the whole team (ModeInfo::team_critical).
  bool team_critical = false;
  // A sample sums a pool process's tasks under the repetition's wall time, so its wall_s and
  // cpu_s are not one thread's own window (ModeInfo::pooled_samples).
  bool pooled_samples = false;
  std::string size_label;          // as the user gave it: "S", "M", "L" or a count like "4M"
  std::string scaling = "strong";  // strong: size is the team total; weak: size per worker
  Params params;                   // size here is the team total actually run
  std::string channel;             // point-to-point channel ("" = the mode's default)
  // GIL settings (modes with an emulated GIL, ModeInfo::gil). make_run_spec sets them to
  // NaN / "" for every other mode, and /runs records them as they are.
  double switch_interval_s = 0.005;
  std::string gil_release = "io";      // none | io | compute
  std::string gil_policy = "cpython";  // cpython | fifo
  // Python modes (ModeInfo::python): the interpreter and the multiprocessing start method; ""
  // for every other mode (and start_method "" for py-threads).
  std::string python, start_method;
  std::string command;  // the command line, recorded
  // Set when `corescope sweep` started this run (docs/user/sweeps.md): the sweep invocation, its
  // plan's hash, the cell's key (what --resume looks for) and the binding it arranged.
  std::string sweep_id, sweep_plan, cell;
  std::string launch_id;  // the sweep's launch (process or mpirun) that ran it; "" outside sweeps
  std::string pin;        // kPinNone | cores | one; "" when nobody arranged the binding
  SweepRound round;       // the sweep's round of this run (docs/user/sweeps.md)
};

// One timed repetition of one worker. Trivially copyable so that process and MPI modes can ship
// samples as raw bytes. Fault and context-switch counters are deltas over the repetition;
// memory values are the process's at the end of the repetition. The disturbance records
// (cpu_start, steal_s, runnable_start, probe_s) are read outside the timed region
// (docs/dev/noise.md).
struct Sample {
  std::int32_t rep = 0, worker = 0, rank = 0, thread = 0, cpu = -1;
  std::int32_t cpu_start = -1;  // CPU when the clock started (cpu is the CPU at the end)
  double wall_s = 0, cpu_s = 0, compute_s = 0, comm_s = 0, gil_wait_s = 0;
  std::int64_t gil_acquires = 0, gil_forced_switches = 0, gil_voluntary_releases = 0,
               gil_drop_requests = 0;
  std::int64_t rss_bytes = -1, peak_rss_bytes = -1, alloc_bytes = 0;
  std::int64_t minor_faults = 0, major_faults = 0, vol_ctx_switches = 0, invol_ctx_switches = 0;
  std::int64_t pss_bytes = -1, uss_bytes = -1;  // -1 where the OS cannot tell
  std::int64_t stack_bytes = -1;     // resident bytes of this worker's own thread stack (last rep)
  std::int64_t base_pss_bytes = -1;  // the process's PSS before the kernel's setup: runtime only
  // steal time of cpu_start during the repetition
  double steal_s = std::numeric_limits<double>::quiet_NaN();
  std::int64_t runnable_start = -1;  // runnable tasks on the machine just before the repetition
  // the speed probe before the repetition
  double probe_s = std::numeric_limits<double>::quiet_NaN();
};
static_assert(std::is_trivially_copyable_v<Sample>);

struct WorkerOutcome {
  int worker = 0;
  bool completed = false;  // reached the end of the run loop
  bool verified = false;   // the team-wide verification passed
  double verify_error = 0.0;
  std::string verify_detail;
  std::string error;        // non-empty when this worker failed
  std::string team_memory;  // Worker::team_memory(): "" when the kernel asked for none
  std::vector<Sample> samples;
  std::vector<Metric> metrics;
};

struct RunResult {
  RunSpec spec;
  std::string run_id;
  std::string started;  // ISO 8601
  std::string status;   // ok | failed | incomplete
  std::string error;    // first error, one line
  bool verified = false;
  double verify_error = 0.0;
  std::string verify_detail;
  std::vector<Sample> samples;  // all workers, all reps
  std::vector<Metric> metrics;  // worker 0's
  Cost cost;
  // Facts about how the team was launched, recorded in /runs.
  std::string launcher = "none";
  std::string slurm_job_id;
  std::string mpi_thread_level;
  std::string team_memory;  // how team memory was provided (worker 0's Worker::team_memory)
  bool oversubscribed = false;
  // Where the team ran, for the disturbance rule (core/disturbance.hpp): its workers on this host
  // and the CPUs it may use there; -1 where the caller did not say (the recorder then assumes an
  // in-process team on this process's CPUs).
  int local_workers = -1, team_cpus = -1;
  // Host of each rank (index = rank) where a launcher started ranks that may run on several
  // hosts (mpi, hybrid: gathered on rank 0); empty when the whole team ran on this host.
  std::vector<std::string> rank_hosts;
  double load_1m = std::numeric_limits<double>::quiet_NaN();  // 1-minute load average at the start
  std::string slurm_step_id, slurm_nodelist;
  int slurm_ntasks = -1, slurm_cpus_per_task = -1;
  std::string mpi_flavour;     // OpenMPI | MPICH (mpi, hybrid)
  std::string launch_command;  // the launcher words a sweep put before `corescope run`
  // Python modes: what the interpreter said of itself (docs/user/python.md); "" / -1 elsewhere.
  std::string python_version;
  int python_gil = -1;  // 1 a GIL, 0 free-threaded, -1 not a Python run
};

// Fills status/verified/samples/metrics from the outcomes of all workers.
void combine_outcomes(RunResult& result, std::vector<WorkerOutcome> outcomes);

}  // namespace corescope
