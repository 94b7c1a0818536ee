// One (cell, twin, slot) of a sweep's runner: what each round runs once. For the runner's own
// files (runner.cpp, execution.cpp, sweep_file.cpp), not for its callers.
#pragma once
#include <algorithm>
#include <string>

#include "core/stats.hpp"
#include "sweep/runner.hpp"

namespace corescope::sweep {

// One (cell, twin, slot) of the list: what every round runs once. A cell with k runs per round
// has k units (slots 0 ... k-1) of each; the extra passes after the rounds take slot 0 alone.
struct Unit {
  const ExecCell* cell = nullptr;
  bool twin = false;
  int slot = 0;
  Unit* first = nullptr;  // slot 0 of the same cell and twin, which keeps the --target-ci account
  int per_round() const { return std::max(1, cell->cell.runs_per_round); }
  std::string label() const { return cell->cell.key + (twin ? " (twin)" : ""); }
  // in a round: which of the cell's runs of the round
  std::string slot_label() const {
    return label() + (per_round() > 1
                          ? " run " + std::to_string(slot + 1) + "/" + std::to_string(per_round())
                          : "");
  }
  // A cell with k runs in each of R rounds is recorded as a cell of R x k rounds: the run of
  // slot s in round r is its round r x k + s, an extra run after the rounds (r >= R) its round
  // r + R x (k - 1). So /runs round and rounds keep their meaning for every cell.
  int recorded_rounds(int rounds) const { return rounds * per_round(); }
  int recorded_round(int round, int rounds) const {
    return round < rounds ? round * per_round() + slot : round + rounds * (per_round() - 1);
  }
  // For --target-ci: the seconds its runs took in this invocation, how many, and where it ended.
  double spent_s = 0;
  int runs = 0;
  bool finished = false, reached = false, failed = false;
  stats::Interval ci;
};

}  // namespace corescope::sweep
