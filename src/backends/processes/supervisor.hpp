// The processes mode's supervisor: forks a team of worker processes (no MPI, no launcher), lets
// each run the run loop through a ProcessWorker, collects every worker's WorkerOutcome over a
// pipe, and survives whatever a worker does. This is the internal API `corescope run` and the
// fault-isolation experiments build on.
//
// What the supervisor guarantees:
//   - it returns only after every worker was reaped (no zombie) and the team's resources are
//     gone (shared memory was never named for long; the temp dir is deleted);
//   - a worker that dies (signal, nonzero exit) or fails (exception) raises the team's abort
//     flag: the others stop at their next wait (within ~50 ms) and report "aborted"; any that
//     has not stopped `grace_s` later is killed with SIGKILL;
//   - with timeout_s > 0, a team still running after that long is aborted the same way (a
//     watchdog for hangs); the workers it had to kill are marked killed_by_supervisor;
//   - if the supervisor itself dies, the workers get SIGKILL from the kernel (Linux
//     PR_SET_PDEATHSIG), so none is left running.
#pragma once
#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/mode.hpp"

namespace corescope::processes {

struct TeamOptions {
  // What each worker runs (after the fork); empty: the ordinary run loop (core/mode.hpp).
  WorkerLoop loop;
  double timeout_s = 0.0;  // watchdog for the whole team; 0 = none
  double grace_s = 5.0;    // after an abort, how long workers get to stop on their own
  // false: a worker's death or failure does not abort the others; they run on (`corescope
  // isolate`, whose workers need no peer after the start line) until they end or the watchdog
  // fires.
  bool abort_on_death = true;
};

// How one worker ended.
enum class WorkerEnd {
  completed,  // ran the run loop to the end and shipped its outcome
  failed,     // threw (its outcome's error says why) and shipped it
  aborted,    // stopped because the team was aborted or a peer vanished
  died,       // ended without shipping an outcome: a signal or an exit of its own
};

struct WorkerStatus {
  int worker = 0;
  pid_t pid = -1;
  WorkerEnd end = WorkerEnd::died;
  WorkerOutcome outcome;              // what it shipped (worker and samples filled in any case)
  int exit_code = -1;                 // when it exited
  int signal = 0;                     // when a signal ended it
  bool killed_by_supervisor = false;  // SIGKILL after grace_s or the watchdog
  double ended_s = 0.0;               // when it was reaped, seconds after the first fork
  std::string wait_status;            // "exited with code 0", "killed by signal 9 (SIGKILL)"
};

struct TeamReport {
  std::vector<WorkerStatus> workers;  // by worker id
  double wall_s = 0.0;                // first fork to last reap
  bool timed_out = false;             // the watchdog fired
  int stop_signal = 0;  // SIGINT/SIGTERM/SIGHUP reached the supervisor and stopped the team
  int culprit = -1;     // the worker whose death or failure stopped the team, -1 if none
  std::string failure;  // one line about what the culprit did, "" if the team completed
};

// Runs `kernel` on spec.workers forked processes over spec.channel ("" = the default channel).
// Throws UsageError for bad input found before the fork (unknown channel, /dev/shm too small,
// temp dir not writable, too few file descriptors), RuntimeFailure if the team cannot be made.
TeamReport run_team(const RunSpec& spec, const KernelInfo& kernel, const TeamOptions& options = {});

// The run's result for the results file: every worker's samples; failed with the culprit's
// line if a worker died or failed.
RunResult to_run_result(const RunSpec& spec, const TeamReport& report);

}  // namespace corescope::processes
