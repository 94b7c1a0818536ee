// The CLI side of a sweep (sweep_exec.hpp): the bar, and the lines that say how the sweep ended.
#include "cli/sweep_exec.hpp"

#include <csignal>
#include <cstdio>
#include <memory>
#include <string>

namespace corescope::cli {

int execute_cells(const std::vector<sweep::ExecCell>& cells, const sweep::ExecOptions& o,
                  Progress* shared_progress) {
  std::unique_ptr<Progress> own_progress;
  if (!shared_progress)
    own_progress = std::make_unique<Progress>(sweep::planned_runs(cells, o), o.quiet);
  Progress& progress = shared_progress ? *shared_progress : *own_progress;
  const sweep::Summary s = sweep::run_cells(cells, o, progress);
  if (o.dry_run) return 0;
  if (!shared_progress) progress.done();

  if (s.interrupted) {
    progress.done();
    std::fprintf(stderr,
                 "corescope: sweep interrupted by %s after %d of %d runs; %s; run the same command "
                 "with --resume "
                 "to continue\n",
                 s.interrupted == SIGINT    ? "SIGINT"
                 : s.interrupted == SIGTERM ? "SIGTERM"
                                            : "a signal",
                 s.ran + s.skipped, s.planned,
                 s.interrupted_run_recorded
                     ? "the run in progress finished before it stopped and is recorded"
                     : "nothing of the run in progress was recorded");
    return s.status();
  }
  progress.say("sweep done: " + std::to_string(s.ran) + " runs, " +
               std::to_string(s.ran - static_cast<int>(s.failures.size())) + " ok and verified, " +
               std::to_string(s.failures.size()) + " failed, " + std::to_string(s.skipped) +
               " already done -> " + o.out);
  if (!s.failures.empty())
    progress.error("corescope: failed: " + std::to_string(s.failures.size()) + " of " +
                   std::to_string(s.ran) + " runs failed or were not verified (recorded in " +
                   o.out + "; --resume reruns failed ones); first: " + s.failures.front());
  return s.status();
}

}  // namespace corescope::cli
