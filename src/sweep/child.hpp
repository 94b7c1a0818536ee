// Runs one command as a child process for the sweep: its own process group (so a timeout or a
// signal reaches the launcher and every rank it started), stdin from /dev/null, stdout and stderr
// captured, and tied to the sweep's life (it is killed if the sweep dies, even by SIGKILL).
#pragma once
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace corescope::sweep {

struct ChildOptions {
  std::vector<std::pair<std::string, std::string>> env;  // set (overriding) in the child
  double timeout_s = 0;                                  // 0 = none; then TERM, grace, KILL
  double grace_s = 10;                                   // TERM -> KILL on timeout or interrupt
  std::function<void(double elapsed_s)> tick;            // called about every tick_s while it runs
  double tick_s = 0.1;                                   // at most 0.1 (the wait loop's own period)
  // Called with each complete line of the child's output (stdout and stderr, without the
  // newline) as it arrives; returning true starts timeout_s afresh (a batch of runs times each).
  std::function<bool(const std::string& line)> on_line;
};

struct ChildResult {
  int exit_code = -1;  // when it exited normally
  int signal = 0;      // when a signal ended it
  bool timed_out = false;
  int interrupted_by = 0;  // SIGINT/SIGTERM the sweep received while the child ran
  double seconds = 0;
  std::string output;  // the last few KiB of stdout + stderr
  bool ok() const { return exit_code == 0 && !timed_out && !interrupted_by; }
  // One line for a failure: the child's own last error line if it printed one, and how it ended.
  std::string failure_text() const;
};

// Starts argv[0] (searched in PATH) and waits for it. RuntimeFailure if it cannot be started.
ChildResult run_child(const std::vector<std::string>& argv, const ChildOptions& options);

// The sweep's SIGINT/SIGTERM handling: installed once; run_child forwards a received signal to
// the child's process group and returns with interrupted_by set. A second signal kills at once.
void install_interrupt_handlers();
int interrupt_signal();  // 0 if none received yet

// True if `program` names an executable file, directly or in PATH; its path in `found`.
bool find_program(const std::string& program, std::string* found = nullptr);

}  // namespace corescope::sweep
