// One run of a sweep's cell: its request, its child command (`corescope run` under the launcher
// for mpi and hybrid cells), the row it gets when the child left none, and its outcome. For the
// runner's own files, not for its callers.
#pragma once
#include <string>
#include <vector>

#include "core/run.hpp"
#include "sweep/child.hpp"
#include "sweep/launch.hpp"
#include "sweep/reporter.hpp"
#include "sweep/sweep_file.hpp"
#include "sweep/unit.hpp"

namespace corescope::sweep {

// What every cell of one execution shares.
struct Execution {
  std::string out, self, sweep_id, plan;
  const Launcher* launcher = nullptr;
  SweepCpus cpus;
  double timeout_per_run_s = 0;
  // The run a signal interrupted finished in its grace period and left its row (--resume skips it).
  mutable bool interrupted_run_recorded = false;

  SweepRound rounds;  // round = -1 here; each run sets its own

  // The request of a unit's run in `round`, as this execution records it: the run's share of
  // the cell's repetitions, its recorded round and rounds (Unit::recorded_round).
  RunRequest request(const Unit& u, int round) const;

  // The run's child: the launcher words, then `corescope run` with the request.
  std::vector<std::string> argv(const ExecCell& c, const RunRequest& r, const std::string& run_id,
                                const CellLaunch& launch) const;

  // The row a cell gets when its child left none (it crashed, timed out, or never started).
  void record_failed(const ExecCell& c, RunRequest request, const std::string& run_id,
                     const std::string& started, const std::string& command,
                     const CellLaunch& launch, const std::string& error) const;

  // Runs a unit's run of `round` and tells `progress` how it went; a child that left no row
  // gets the failed row. Returns the signal that interrupted it (nothing recorded: --resume runs
  // it again), or 0; a failure's line goes to `failures`.
  int run(Unit& u, int round, Reporter& progress, std::vector<std::string>& failures) const;

  // Runs the units' runs of `round` in one launch (`corescope run-batch`, under the launcher for
  // mpi and hybrid cells: the units share one CellLaunch), in their order, telling `progress`
  // of each; a run the launch ended in (a crash, a timeout, an error) gets the failed row and the
  // runs after it a new launch. `ran` counts the runs that ran. Returns as run() does.
  int run_batch(const std::vector<Unit*>& units, int round, Reporter& progress,
                std::vector<std::string>& failures, int& ran) const;

 private:
  std::string label(const Unit& u, int round) const;
  CellOutcome settle(const ExecCell& c, const RunRequest& request, const std::string& run_id,
                     const std::string& started, const std::string& command,
                     const CellLaunch& launch, const ChildResult& child) const;
  void conclude(Unit& u, const std::string& label, const CellOutcome& result, double seconds,
                Reporter& progress, std::vector<std::string>& failures) const;
};

}  // namespace corescope::sweep
