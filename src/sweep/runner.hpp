// The sweep's runner: runs a list of cells in interleaved rounds (every round runs every cell
// once, or its runs per round, in a freshly shuffled order, with a share of its repetitions), each
// run a child `corescope run` (under the launcher for mpi and hybrid cells), into one results file;
// records a failed run's row itself; checks the machine's parallel capacity once per round
// (/capacity); optionally reruns cells a disturbance covered, repeats cells until the interval of
// their median is narrow enough (--target-ci) and runs A/A twins; --resume runs only the (cell,
// round) pairs the file lacks; SIGINT/SIGTERM end it cleanly. It prints nothing: its lines go to
// a Reporter, its outcome comes back as a Summary. `corescope sweep` builds its cells from a plan;
// other commands may pass any list (different kernels, params, channels, GIL settings).
// See docs/user/sweeps.md.
#pragma once
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/mode.hpp"
#include "sweep/launch.hpp"
#include "sweep/plan.hpp"
#include "sweep/reporter.hpp"

namespace corescope::sweep {

// One cell of the list: the sweep cell (its key, unique in the list, names it in /runs `cell`
// and for --resume; mode, team shape, launched/split/openmp and pin decide how it is started)
// and the request its `corescope run` gets: kernel, workers, threads, size, scaling, reps,
// warm-up, params, channel and GIL settings (passed on for modes with a GIL only).
// `request.reps` is the cell's total, split over the rounds. `twin`: also run the cell's A/A
// twin (the same configuration, /runs twin = 1) in the same rounds.
struct ExecCell {
  Cell cell;
  RunRequest request;
  bool twin = false;
};

// The CPUs a sweep may use (its affinity mask; inside a Slurm job at most SLURM_CPUS_ON_NODE)
// and the physical cores among them: what `max` and `pow2` resolve to and what the launcher
// flags are chosen for.
struct SweepCpus {
  int cpus = 1, cores = 1;
};
SweepCpus sweep_cpus();

struct ExecOptions {
  std::string out = "results.h5";  // the results file as the user gave it (shown in messages)
  std::string plan;                // sweep_plan of every run: what --resume matches (required)
  bool resume = false;             // skip the cells of this plan already ok in `out`
  bool quiet = false;              // print nothing but errors
  bool dry_run = false;            // print the cells and their launch commands, run nothing
  std::string launcher = "auto";   // for launched cells: auto | srun | mpirun
  std::string mpirun;              // the launcher binary ("" = found for this MPI)
  Hosts hosts;                     // where launched cells put their ranks (--hosts/--hostfile)
  std::vector<std::string> launcher_args;  // the user's own launcher words (--launcher-args)
  double timeout_per_run_s = 0;            // 0 = no limit
  SweepCpus cpus = sweep_cpus();
  std::string note;  // said after the cell count on the first line ("shard 1/4 of 40")
  int rounds = 3;    // part of the plan: the runner adds it to `plan`
  // of the rounds' orders; none: the file's under --resume, else fresh
  std::optional<std::uint64_t> seed;
  double target_ci = NAN;  // repeat a cell until its median's 95 % interval is within +-this
                           // fraction of it (NaN: off)
  double max_time_s = 60;  // with target_ci: the most seconds of runs one cell may take
  bool capacity = true;    // the capacity check at the start of every round
  // After the rounds, one extra run of each cell planned with at least kRerunMinReps repetitions
  // that ended with fewer than record::kMinClean of them without record-time disturbance bits and
  // outside slow runs (docs/dev/noise.md): a disturbance that covered a cell's every round is
  // measured around once more. Not repeated by --resume once the file has a run past the rounds.
  bool rerun_disturbed = true;
  // One launch per team shape and pass: a pass's runs that share a launch (mode, --pin, the
  // launcher's words and environment: for mpi and hybrid the ranks, for the others nothing else)
  // run in one `corescope run-batch` process, in the pass's order, the groups in the order of their
  // first run. Off: one launch per run.
  bool batch = false;
};
// Cells planned with fewer repetitions than this are not rerun for disturbance (rerun_disturbed).
inline constexpr int kRerunMinReps = 10;

// How many runs run_cells starts for `cells` in its rounds (before --resume skips any, and
// without the extra runs of target_ci, which it adds to the bar as it goes): what a caller that
// shares its progress bar adds to the bar's total.
int planned_runs(const std::vector<ExecCell>& cells, const ExecOptions& o);

// What a sweep did: its runs, the failed ones' lines ("label: outcome"), the runs --resume
// skipped, and the signal that ended it (0: none) with whether the run it cut short left its row.
struct Summary {
  int planned = 0, ran = 0, skipped = 0;
  std::vector<std::string> failures;
  int interrupted = 0;
  bool interrupted_run_recorded = false;
  // 0 when every run is ok and verified, 1 otherwise, 128 + the signal when interrupted.
  int status() const { return interrupted ? 128 + interrupted : failures.empty() ? 0 : 1; }
};

// Runs the cells (with o.dry_run: lists them and their launch commands, runs nothing) and tells
// `reporter` how it goes. Bad input (no launcher for a launched cell, a file of another plan under
// --resume, another sweep on the file, duplicate keys): UsageError before anything runs.
Summary run_cells(const std::vector<ExecCell>& cells, const ExecOptions& o, Reporter& reporter);

}  // namespace corescope::sweep
