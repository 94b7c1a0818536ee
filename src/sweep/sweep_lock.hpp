// The lock a sweep holds on its results file for its whole life (a file beside it,
// ".NAME.sweep"). It keeps a second sweep off the same file, and it lets a cell check, right
// before recording, that the sweep which started it is still running: a rank orphaned by a
// killed sweep must not add a row that the resumed sweep is about to produce again.
#pragma once
#include <string>

namespace corescope::sweep {

class SweepLock {
 public:
  // Takes the lock for `sweep_id`; UsageError (one line) if another live sweep holds it.
  SweepLock(const std::string& out, const std::string& sweep_id);
  ~SweepLock();
  SweepLock(const SweepLock&) = delete;
  SweepLock& operator=(const SweepLock&) = delete;

 private:
  int fd_ = -1;
};

// True if the sweep `sweep_id` still holds the lock on `out`, or if this file system cannot
// tell (no flock); false if that sweep is gone or another one took over.
bool sweep_alive(const std::string& out, const std::string& sweep_id);

// A run a sweep started prints, once its row is in the file, one line on stdout: this tag, then
// run id, status, verified (0/1), the median wall time and the error, tab-separated; the sweep
// takes its outcome from that line instead of reading the file back.
inline constexpr const char* kRunOutcomeTag = "corescope-run-outcome";

// `corescope run-batch` runs several runs in one process (one launch), their argument lists
// separated by this word; before each, the writing process prints a line of kRunStartTag and the
// run's index in the batch, tab-separated (the sweep times each run from it).
inline constexpr const char* kBatchSeparator = "---";
inline constexpr const char* kRunStartTag = "corescope-run-start";

}  // namespace corescope::sweep
