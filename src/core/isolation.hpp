// Fault injection for `corescope isolate` (docs/isolation.md), the worker side: which fault
// goes into which worker and when (Plan), the kernel decorator that injects it (the kernels
// themselves stay untouched), the isolation run loop that lets every worker finish and check
// its own part without any other worker, and the event lines the workers append to the trial's
// report file for the supervisor to read.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/kernel.hpp"
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
  double run_s = 3.0;       // every worker iterates this long after the start line
  double inject_s = 0.5;    // the victim's fault, this long after the start line
  double leak_bytes_per_s = 128.0 * 1024 * 1024;
  std::int64_t mem_limit_bytes = 0;  // leak: the victim's process may grow by this much; 0 = no cap
  std::string report_path;  // the trial's event file (appended to by every worker)
};

// Makes run_worker() (core/run_loop.cpp) run the isolation loop with `plan` in this process
// (and in the processes it forks). Called once by the trial process before its team starts.
void activate(const Plan& plan);
// The active plan, null in every ordinary run.
const Plan* active_plan();
// Back to ordinary runs (for tests that run a trial in-process).
void deactivate();

// `kernel` whose make() wraps the real kernel in the fault injector. The kernel must verify
// locally (Kernel::verifies_locally); UsageError with one line otherwise.
KernelInfo with_fault(const KernelInfo& kernel, const Plan& plan);

// The isolation run loop of one worker: setup, warm-up, one barrier (the start line, the last
// team operation), then iterations for plan.run_s without any barrier, then verify_local() and
// a `done` event. Events go to plan.report_path. Exceptions are reported as a `fail` event and
// rethrown, so each mode ends a failing worker its own way.
WorkerOutcome run_isolated(Worker& w, Kernel& kernel, const RunSpec& spec, const Plan& plan);

// --- the trial's event file ----------------------------------------------------------------
// One line per event, written with one write() to a file opened O_APPEND, so the lines of
// concurrent workers (threads or processes) never interleave. Times are CLOCK_MONOTONIC
// seconds, comparable between the processes of one machine.
struct Event {
  std::string kind;   // start warm shm inject done fail ended supervisor
  int worker = -1;
  double t = 0.0;     // when (not for shm, ended)
  long long pid = -1;           // start, supervisor
  int rank = -1, thread = -1;   // start
  std::int64_t rss = -1, peak_rss = -1;  // warm, done: the worker's process
  int ok = -1;                  // done: verify_local passed
  std::string text;             // shm: path; inject: fault; done: detail; fail: message; ended: how
};
// Parses one line (without the newline); false for a line that is not an event.
bool parse_event(const std::string& line, Event& e);
// Appends an `ended` event (the processes trial reports how each worker process ended).
void append_ended(const std::string& report_path, int worker, const std::string& how);
// Appends a `supervisor` event: the calling process runs no worker but belongs to the trial
// (the processes mode's supervisor), so the trial's leftovers include what it names.
void append_supervisor(const std::string& report_path);

// Monotonic clock in seconds (the events' time base).
double monotonic_s();

}  // namespace corescope::isolation
