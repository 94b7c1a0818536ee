// One trial of `corescope isolate`, supervisor side: starts the team (a child corescope in its
// own process group, under the MPI launcher for mpi), watches every worker's process and the
// event file, fires the watchdog, cleans up whatever the trial left, and says what happened to
// every worker (docs/user/isolation.md).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "isolate/fault.hpp"

namespace corescope::isolation {

struct TrialSetup {
  std::string self_exe;  // this corescope binary
  std::string kernel, mode, size, channel;
  std::vector<std::string> params;  // KEY=VALUE, as given
  std::string memory_model;         // the mode's (ModeInfo::memory), recorded with the trial
  int workers = 4, warmup = 2;
  Plan plan;                               // report_path is the trial's own
  double timeout_s = 10.0;                 // the watchdog, from the start of the trial
  std::vector<std::string> launch_prefix;  // launcher words (mpi), empty otherwise
  std::vector<std::pair<std::string, std::string>> env;
  std::string launcher = "none";
};

struct TrialResult {
  // Among the other workers (not the victim): completed and verified / completed with a wrong
  // answer / ended without completing (not by the watchdog).
  int survivors = 0, corrupted = 0, killed = 0;
  int hung = 0;            // workers, the victim included, still running when the watchdog fired
  double detect_s = -1.0;  // fault -> first sign of it outside the victim; -1 if none
  double ended_s = -1.0;   // fault -> the trial's last process gone
  std::string victim_outcome;
  std::string outcomes;  // every worker: "0=ok 1=died(SIGSEGV) 2=killed ..."
  std::int64_t victim_peak_rss = -1, victim_growth = -1;
  std::int64_t others_peak_rss = -1, others_growth = -1;
  double others_growth_frac = -1.0;
  int processes = 0;          // distinct processes the workers ran in
  std::string pids;           // their process ids (space-separated), all gone when the trial ends
  std::string shared_memory;  // the /dev/shm files the team had mapped, all gone when it ends
  int exit_code = -1;         // of the trial's top process (corescope or the launcher); 128+signal
  bool timed_out = false;
  bool injected = false;
  std::string leftovers;  // what the trial left behind (then removed by isolate), "" if nothing
  std::string note;       // the trial's last error line, if it printed one
};

// Runs one trial. RuntimeFailure if it cannot be started or isolate was interrupted.
TrialResult run_trial(const TrialSetup& setup);

}  // namespace corescope::isolation
