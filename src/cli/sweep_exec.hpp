// The CLI side of a sweep: runs a list of cells through the sweep's runner (sweep/runner.hpp) with
// the progress bar as its reporter, then prints how it ended. `corescope sweep` builds its cells
// from a plan; other commands may pass any list. See docs/user/sweeps.md.
#pragma once
#include <vector>

#include "cli/sweep_progress.hpp"
#include "sweep/runner.hpp"

namespace corescope::cli {

// Runs the cells and returns the exit status: 0 when every run is ok and verified, 1 otherwise
// (after all ran; one line on stderr), 128 + the signal when interrupted (one line on stderr).
// Bad input: UsageError before anything runs (sweep::run_cells). `progress`: a bar the caller
// owns (sized with sweep::planned_runs() plus its own steps), or null for a bar of its own.
int execute_cells(const std::vector<sweep::ExecCell>& cells, const sweep::ExecOptions& o,
                  Progress* progress = nullptr);

}  // namespace corescope::cli
