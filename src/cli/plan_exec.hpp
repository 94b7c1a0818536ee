// Runs the cells of a plan, whatever they are: runs through the sweep's executor (execute_cells),
// fault trials (cells with a fault) as a child `corescope isolate` each, all under one progress
// bar with one ETA. Used by `corescope sweep` and `corescope study`.
#pragma once
#include <functional>
#include <vector>

#include "cli/sweep_exec.hpp"
#include "sweep/plan.hpp"

namespace corescope::cli {

// The exit status as execute_cells gives it: 0 when every cell is ok (runs verified, trials
// recorded), 1 otherwise, 128 + the signal when interrupted. With o.resume a fault cell whose
// trials are already in /isolation (same kernel, mode, fault, workers, size, run seconds) is
// skipped. With o.dry_run the cells are listed, nothing runs.
// `twin(cell)` says which runs also get an A/A twin (sweep --aa).
int execute_plan(const std::vector<sweep::Cell>& cells, const sweep::ExecOptions& o,
                 const std::function<bool(const sweep::Cell&)>& twin = {});

// The child command of a fault cell, after the binary: `isolate -k ... -f ... --modes ...`.
std::vector<std::string> trial_command(const sweep::Cell& c);

}  // namespace corescope::cli
