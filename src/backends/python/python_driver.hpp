// Runs the Python driver (python/corescope_py) for one run and reads its samples back.
//
// corescope starts the interpreter in a process group of its own (tied to corescope by
// PR_SET_PDEATHSIG), hands it the write end of a pipe as fd 3 and reads one record per line
// (docs/user/python.md): hello, sample, verify, metric, outcome, end. corescope is the one writer
// of the results file. When the interpreter has ended (or the watchdog fired), the whole group gets
// SIGKILL, so no worker process, pool process or helper outlives the run.
#pragma once
#include <string>
#include <vector>

#include "core/mode.hpp"

namespace corescope::python {

// What the interpreter said of itself on its hello line.
struct Hello {
  std::string python, version, start_method;
  int gil = -1;  // 1 a GIL, 0 free-threaded, -1 not said
};
// Parses "hello\tkey=value..." (false if the line is not a hello line).
bool parse_hello(const std::string& line, Hello& out);

// Everything the driver wrote, as the run's result (samples, outcomes, metrics); `ended` says
// whether the driver reached its end line.
struct DriverReport {
  Hello hello;
  std::vector<WorkerOutcome> outcomes;
  std::vector<Sample> samples;
  bool ended = false;
};
// Feeds one line to a report (unknown records are ignored; a malformed one throws RuntimeFailure).
void parse_line(const std::string& line, DriverReport& report);

// The directory that holds corescope_py: $CORESCOPE_PY_PATH, else next to the binary (build
// tree: <bin>/python; installed: <bin>/../share/corescope/python), else the source tree.
std::string driver_path();

// The driver's command line for a spec (after the interpreter): -m corescope_py run ...
std::vector<std::string> driver_args(const RunSpec& spec, const std::string& kind);

// Runs the driver and turns what it wrote into the run's result; a crash, a kill or the watchdog
// (control.watchdog_s) makes a failed run.
RunResult run_driver(const RunSpec& spec, const std::string& kind, const TeamControl& control);

}  // namespace corescope::python
