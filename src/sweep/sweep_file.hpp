// What a sweep's results file holds for its runner: the outcome of one run, the runs of a plan
// already done (--resume), and each unit's repetitions so far (disturbed reruns, --target-ci).
// For the runner's own files, not for its callers.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "sweep/unit.hpp"

namespace corescope::sweep {

// What a finished cell left in the file.
struct CellOutcome {
  bool found = false, ok = false, verified = false;
  double wall_s_median = NAN;
  std::string error;
};

// The run of `run_id` in the file `out`, found = false when it has none.
CellOutcome find_run(const std::string& out, const std::string& run_id);

// The outcome a run printed for its sweep (sweep::kRunOutcomeTag), found = false without one
// (it crashed before recording, or its output was cut): then find_run reads the file.
CellOutcome reported_outcome(const std::string& output, const std::string& run_id);

// What the file already holds of this plan: the (cell, recorded round, twin) runs that are ok,
// the seed of its rounds and its highest round in the sweep's numbering (the rounds, then the
// extra passes; Unit::recorded_round maps one to the other). Refuses a file whose sweep rows all
// come from other plans: resuming onto it would mix two studies.
struct Done {
  std::set<std::tuple<std::string, std::int64_t, bool>> runs;
  std::int64_t seed = -1, last_round = -1;
  int rounds = 1;
  bool has(const Unit& u, int round) const {
    return runs.count({u.cell->cell.key, u.recorded_round(round, rounds), u.twin}) > 0;
  }
};

Done completed_runs(const std::string& out, const std::string& shown, const std::string& plan,
                    int rounds);

// What the file holds of a unit so far, as every command computes it (record/cells): the
// repetition times its statistics use (the slowest worker's wall_s per repetition, pooled over
// rounds, disturbed repetitions left out by the rule of docs/dev/noise.md, all of them when fewer
// than 3 are clean), and how many repetitions have no record-time bits and are outside slow runs.
struct UnitSoFar {
  std::vector<double> times;
  std::size_t undisturbed = 0;
};
std::vector<UnitSoFar> units_so_far(const std::string& out, const std::string& plan,
                                    const std::vector<Unit>& units);

}  // namespace corescope::sweep
