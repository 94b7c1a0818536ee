// The team side of one isolate trial: the process the trial starts (directly, or under the MPI
// launcher) runs the team with the fault decorator and the isolation loop; the trial's
// supervisor side (trial.hpp) watches it from outside.
#pragma once
#include <string>
#include <vector>

#include "isolate/fault.hpp"

namespace corescope::isolation {

struct TeamSide {
  std::string kernel, mode, size = "S", channel;
  std::vector<std::string> params;  // KEY=VALUE
  int workers = 2, warmup = 2;
  Plan plan;  // report_path is the trial's event file
  // supervised modes: the supervisor's own watchdog, just inside the trial's
  double watchdog_s = 0.0;
};

// Runs the team. UsageError for bad input; a worker's fault ends the process its own way.
void run_team_side(const TeamSide& side);

}  // namespace corescope::isolation
