// Runs a plan's cells: runs through execute_cells, fault trials as child `corescope isolate`
// (plan_exec.hpp).
#include "cli/plan_exec.hpp"

#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>

#include "core/errors.hpp"
#include "core/text.hpp"
#include "record/recorder.hpp"
#include "sweep/child.hpp"

namespace corescope::cli {

namespace {

namespace fs = std::filesystem;

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// Trials of the cell already in /isolation: rows of the same kernel, mode, fault, team and run.
int trials_done(const record::Table& iso, const sweep::Cell& c) {
  int n = 0;
  for (std::size_t r = 0; r < iso.rows(); ++r)
    n += iso.text("kernel", r) == c.kernel && iso.text("mode", r) == c.mode &&
                 iso.text("fault", r) == c.fault && iso.integer("workers", r) == c.workers &&
                 iso.text("size", r) == c.size &&
                 std::fabs(iso.number("run_s", r) - c.run_seconds) < 1e-9
             ? 1
             : 0;
  return n;
}

// The watchdog of a trial: the run, the launcher's start and a hung worker's detection.
double trial_timeout(const sweep::Cell& c) { return c.run_seconds + 4.0; }

}  // namespace

std::vector<std::string> trial_command(const sweep::Cell& c) {
  // Victim 0: a stray write then has a neighbour in a team of any size.
  return {"isolate",
          "-k",
          c.kernel,
          "-f",
          c.fault,
          "--modes",
          c.mode,
          "-w",
          std::to_string(c.workers),
          "--victim",
          "0",
          "--trials",
          std::to_string(c.reps),
          "-s",
          c.size,
          "--warmup",
          std::to_string(c.warmup),
          "--run-seconds",
          number_text(c.run_seconds),
          "--inject-at",
          number_text(0.3 * c.run_seconds),
          "--timeout",
          number_text(trial_timeout(c))};
}

// The fault trials, each a child `corescope isolate` appending to `out`, after the runs (which
// ended with `status`): the plan's exit status.
static int run_trials(const std::vector<sweep::Cell>& trials, const sweep::ExecOptions& o,
                      const std::string& out, Progress& progress, int status) {
  record::Table iso;
  if (o.resume && fs::exists(out)) iso = record::read_group(out, "isolation");
  sweep::install_interrupt_handlers();
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  int failed = 0, ran = 0;
  for (const auto& c : trials) {
    if (o.resume && trials_done(iso, c) >= c.reps) {
      progress.skip();
      continue;
    }
    if (const int sig = sweep::interrupt_signal()) {
      progress.done();
      return 128 + sig;
    }
    std::vector<std::string> argv = {self};
    for (const auto& a : trial_command(c)) argv.push_back(a);
    argv.insert(argv.end(),
                {"-o", out, "-q", "--lock-timeout", std::to_string(record::lock_timeout())});
    sweep::ChildOptions co;
    co.timeout_s = o.timeout_per_run_s;
    co.tick = [&](double t) { progress.tick(t); };
    progress.start(c.key);
    const sweep::ChildResult child = sweep::run_child(argv, co);
    if (child.interrupted_by) {
      progress.done();
      std::fprintf(
          stderr,
          "corescope: interrupted by %s during the trial %s; nothing of it was recorded; run the "
          "same command with --resume to continue\n",
          child.interrupted_by == SIGINT ? "SIGINT" : "SIGTERM", c.key.c_str());
      return 128 + child.interrupted_by;
    }
    ++ran;
    std::string outcome = "trial recorded";
    if (!child.ok()) {
      ++failed;
      outcome = "FAILED: " + child.failure_text();
    }
    progress.finish(c.key, outcome, child.seconds);
  }
  progress.done();
  if (ran || failed)
    progress.say("fault trials: " + std::to_string(ran) + " cells run, " + std::to_string(failed) +
                 " failed -> " + o.out + " (/isolation)");
  if (failed) {
    progress.error("corescope: failed: " + std::to_string(failed) +
                   " fault-trial cells did not complete");
    return 1;
  }
  return status;
}

int execute_plan(const std::vector<sweep::Cell>& all, const sweep::ExecOptions& o,
                 const std::function<bool(const sweep::Cell&)>& twin) {
  std::vector<sweep::ExecCell> runs;
  std::vector<sweep::Cell> trials;
  for (const auto& c : all) {
    if (c.isolate())
      trials.push_back(c);
    else
      runs.push_back({c, sweep::cell_request(c), twin && twin(c)});
  }
  if (o.dry_run) {  // the first line counts the runs' cells; the trials' cells follow them
    sweep::ExecOptions listing = o;
    if (!trials.empty())
      listing.note = (o.note.empty() ? "" : o.note + "; ") + std::to_string(trials.size()) +
                     " fault-trial cells, listed after these";
    const int status = execute_cells(runs, listing);
    for (const auto& c : trials)
      std::printf("%-40s corescope %s\n", c.key.c_str(), join(trial_command(c), " ").c_str());
    return status;
  }
  if (trials.empty()) return execute_cells(runs, o);

  const std::string out = fs::absolute(o.out).lexically_normal().string();
  record::check_output(out);
  Progress progress(sweep::planned_runs(runs, o) + static_cast<int>(trials.size()), o.quiet);
  int status = runs.empty() ? 0 : execute_cells(runs, o, &progress);
  if (status > 128) {
    progress.done();
    return status;
  }

  return run_trials(trials, o, out, progress, status);
}

}  // namespace corescope::cli
