// The run loop every worker of every mode executes: setup, untimed warm-up, then timed
// repetitions separated by barriers, then verification. Only iterate() is inside the timers.
#pragma once
#include "core/kernel.hpp"
#include "core/run.hpp"

namespace corescope {

// Runs `kernel` on this worker. Collective: every worker of the team calls it. Exceptions from
// the kernel are not caught here; each mode decides how a failing worker ends the team.
WorkerOutcome run_worker(Worker& w, Kernel& kernel, const RunSpec& spec);

// Whether this process should read PSS/USS (smaps_rollup costs ~0.1 ms, so only outside the
// timed region and only when asked; set by the CLI from --memory-detail).
void set_memory_detail(bool on);

}  // namespace corescope
