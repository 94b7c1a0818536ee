// Fault injection for `corescope isolate` (docs/user/isolation.md), the worker side: which fault
// goes into which worker and when (Plan), the kernel decorator that injects it (the kernels
// themselves stay untouched), and the isolation run loop that lets every worker finish and
// check its own part without any other worker. Events go to the trial's file (events.hpp).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/kernel.hpp"
#include "core/mode.hpp"
#include "core/run.hpp"

namespace corescope::isolation {

enum class Fault { crash, abort, exit, leak, stray_write, hang };
const std::vector<std::string>& fault_names();
std::string fault_name(Fault f);
// UsageError listing the faults for an unknown name.
Fault parse_fault(const std::string& name);

struct Plan {
  Fault fault = Fault::crash;
  int victim = 0;
  double run_s = 3.0;     // every worker iterates this long after the start line
  double inject_s = 0.5;  // the victim's fault, this long after the start line
  double leak_bytes_per_s = 128.0 * 1024 * 1024;
  std::int64_t mem_limit_bytes = 0;  // leak: the victim's process may grow by this much; 0 = no cap
  std::string report_path;           // the trial's event file (appended to by every worker)
};

// `kernel` whose make() wraps the real kernel in the fault injector. The kernel must verify
// locally (Kernel::verifies_locally); UsageError with one line otherwise.
KernelInfo with_fault(const KernelInfo& kernel, const Plan& plan);
// The check with_fault makes, on its own: UsageError unless the kernel verifies locally.
void require_local_verification(const KernelInfo& kernel);

// The isolation loop as a mode's worker loop (core/mode.hpp TeamControl::loop); `plan` must
// outlive the run.
WorkerLoop isolation_loop(const Plan& plan);

// The isolation run loop of one worker: setup, warm-up, one barrier (the start line, the last
// team operation), then iterations for plan.run_s without any barrier, then verify_local() and
// a `done` event. Events go to plan.report_path. Exceptions are reported as a `fail` event and
// rethrown, so each mode ends a failing worker its own way.
WorkerOutcome run_isolated(Worker& w, Kernel& kernel, const RunSpec& spec, const Plan& plan);

}  // namespace corescope::isolation
