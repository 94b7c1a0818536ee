// The sweep's executor (sweep_exec.hpp): each cell as a child `corescope run`, its row checked
// (or written as failed) afterwards, progress, resume and interruption.
#include "cli/sweep_exec.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>

#include "backends/registry.hpp"
#include "core/errors.hpp"
#include "core/kernel.hpp"
#include "core/machine.hpp"
#include "core/platform.hpp"
#include "core/text.hpp"
#include "kernels/registry.hpp"
#include "record/recorder.hpp"
#include "record/run_rows.hpp"
#include "sweep/child.hpp"
#include "sweep/launch.hpp"
#include "sweep/sweep_lock.hpp"

namespace corescope::cli {

namespace {

namespace fs = std::filesystem;

// What a finished cell left in the file.
struct CellOutcome {
  bool found = false, ok = false, verified = false;
  double wall_s_median = NAN;
  std::string error;
};

CellOutcome find_run(const std::string& out, const std::string& run_id) {
  CellOutcome o;
  if (!fs::exists(out)) return o;
  const record::Table runs = record::read_group(out, "runs");
  for (std::size_t r = runs.rows(); r-- > 0;) {
    if (runs.text("run_id", r) != run_id) continue;
    o.found = true;
    o.ok = runs.text("status", r) == "ok";
    o.verified = runs.integer("verified", r) == 1;
    o.error = runs.text("error", r);
    o.wall_s_median = runs.number("wall_s_median", r);
    break;
  }
  return o;
}

// Cells of `plan` already complete in `out` (status ok). Refuses a file whose sweep rows all
// come from other plans: resuming onto it would mix two studies.
std::set<std::string> completed_cells(const std::string& out, const std::string& shown, const std::string& plan) {
  std::set<std::string> done;
  if (!fs::exists(out)) return done;
  const record::Table runs = record::read_group(out, "runs");
  std::set<std::string> other_plans;
  bool this_plan = false;
  for (std::size_t r = 0; r < runs.rows(); ++r) {
    const std::string p = runs.text("sweep_plan", r);
    if (p.empty()) continue;
    if (p != plan) {
      other_plans.insert(p);
      continue;
    }
    this_plan = true;
    if (runs.text("status", r) == "ok") done.insert(runs.text("cell", r));
  }
  if (!this_plan && !other_plans.empty())
    throw UsageError("--resume: " + shown + " was written by a different sweep plan (" + *other_plans.begin() +
                     ", this plan is " + plan + "): kernels, modes, workers, sizes, scaling, pin, reps or warm-up "
                     "differ; use another --out, or leave out --resume to add these cells to it");
  return done;
}

// What every cell of one execution shares.
struct Execution {
  std::string out, self, sweep_id, plan;
  const sweep::Launcher* launcher = nullptr;
  SweepCpus cpus;
  double timeout_per_run_s = 0;

  // The request of the cell's run, as this execution records it.
  RunRequest request(const ExecCell& c) const {
    RunRequest r = c.request;
    r.cell = c.cell.key;
    r.pin = c.cell.pin;
    r.sweep_id = sweep_id;
    r.sweep_plan = plan;
    return r;
  }

  // The cell's child: the launcher words, then `corescope run` with the cell's request.
  std::vector<std::string> argv(const ExecCell& c, const std::string& run_id, const sweep::CellLaunch& launch) const {
    const RunRequest r = request(c);
    std::vector<std::string> a = launch.prefix;
    a.insert(a.end(), {self, "run", "-k", r.kernel, "-m", c.cell.mode, "-w", std::to_string(r.workers)});
    if (r.threads > 0) a.insert(a.end(), {"-t", std::to_string(r.threads)});
    a.insert(a.end(), {"-s", r.size, "--scaling", r.scaling, "-r", std::to_string(r.reps), "--warmup",
                       std::to_string(r.warmup), "-o", out, "-q", "--pin", r.pin, "--sweep-id", r.sweep_id,
                       "--sweep-plan", r.sweep_plan, "--cell", r.cell, "--run-id", run_id, "--lock-timeout",
                       std::to_string(record::lock_timeout())});
    for (const auto& p : r.params) a.insert(a.end(), {"-p", p});
    if (!r.channel.empty()) a.insert(a.end(), {"--channel", r.channel});
    if (find_mode(c.cell.mode).gil) {
      char interval[40];
      std::snprintf(interval, sizeof interval, "%.17g", r.switch_interval_s);
      a.insert(a.end(), {"--switch-interval", interval, "--gil-release", r.gil_release, "--gil-policy",
                         r.gil_policy});
    }
    if (!launch.prefix.empty()) a.insert(a.end(), {"--launch-command", launch.text()});
    return a;
  }

  // The row a cell gets when its child left none (it crashed, timed out, or never started).
  void record_failed(const ExecCell& c, const std::string& run_id, const std::string& started,
                     const std::string& command, const sweep::CellLaunch& launch, const std::string& error) const {
    RunResult r;
    RunRequest request = this->request(c);
    request.command = command;
    // The same spec the cell's own run makes, so that a failed cell and its successful rerun
    // are one configuration in /runs.
    try {
      r.spec = make_run_spec(find_mode(c.cell.mode), find_kernel(request.kernel), request);
    } catch (const std::exception&) {  // the cell's own run refused it the same way
      r.spec.kernel = request.kernel;
      r.spec.mode = c.cell.mode;
      r.spec.cell = c.cell.key;
    }
    r.run_id = run_id;
    r.started = started;
    r.status = "failed";
    r.error = error;
    record_slurm(r, launch_env());
    if (c.cell.launched && launcher) {
      r.launcher = launcher->kind;
      r.mpi_flavour = launcher->flavour;
      r.launch_command = launch.text();
    }
    auto groups = result_rows(r);
    std::erase_if(groups, [](const record::GroupRows& g) { return g.rows.rows() == 0; });
    record::append(out, file_provenance(), groups);
  }

  // Runs one cell and tells the progress how it went; a child that left no row gets the failed
  // row. Returns the signal that interrupted it (nothing recorded: --resume runs it again), or
  // 0; a failure's line goes to `failures`.
  int run(const ExecCell& c, Progress& progress, std::vector<std::string>& failures) const {
    const std::string run_id = new_run_id();
    const auto launch = sweep::cell_launch(c.cell, launcher, cpus.cpus, cpus.cores);
    const std::vector<std::string> args = argv(c, run_id, launch);
    sweep::ChildOptions co;
    co.env = launch.env;
    co.timeout_s = timeout_per_run_s;
    co.tick = [&](double t) { progress.tick(t); };
    const std::string started = iso_now();
    progress.start(c.cell.key);
    const sweep::ChildResult child = sweep::run_child(args, co);
    if (child.interrupted_by) return child.interrupted_by;
    CellOutcome result = find_run(out, run_id);
    if (!result.found) {
      result.error = child.failure_text();
      record_failed(c, run_id, started, join(args, " "), launch, result.error);
    }
    std::string outcome;
    if (result.ok && result.verified) {
      outcome = "ok, verified";
      if (std::isfinite(result.wall_s_median)) outcome += ", median " + human_seconds(result.wall_s_median);
    } else {
      outcome = result.ok ? "NOT VERIFIED: " + result.error : "FAILED: " + result.error;
      failures.push_back(c.cell.key + ": " + outcome);
    }
    progress.finish(c.cell.key, outcome, child.seconds);
    return 0;
  }
};

void print_dry_run(const std::vector<ExecCell>& cells, const Execution& ex, const ExecOptions& o) {
  std::printf("plan %s: %zu cells%s\n", ex.plan.c_str(), cells.size(), o.note.empty() ? "" : (" (" + o.note + ")").c_str());
  for (const auto& c : cells) {
    const auto launch = sweep::cell_launch(c.cell, ex.launcher, ex.cpus.cpus, ex.cpus.cores);
    std::string env;
    for (const auto& [k, v] : launch.env) env += k + "=" + v + " ";
    std::printf("%-40s %s%s\n", c.cell.key.c_str(), env.c_str(), join(launch.prefix, " ").c_str());
  }
}

}  // namespace

SweepCpus sweep_cpus() {
  SweepCpus c;
  // Inside a Slurm job, the job's CPUs on this node (a node without task binding shows the batch
  // script every CPU).
  c.cpus = platform::allowed_cpu_count();
  if (const int slurm = launch_env().slurm_cpus_on_node; slurm > 0 && !launch_env().slurm_job_id.empty())
    c.cpus = std::min(c.cpus, slurm);
  c.cores = std::max(1, std::min(machine().cores > 0 ? machine().cores : c.cpus, c.cpus));
  return c;
}

int planned_runs(const std::vector<ExecCell>& cells, const ExecOptions&) { return static_cast<int>(cells.size()); }

int execute_cells(const std::vector<ExecCell>& cells, const ExecOptions& o, Progress* shared_progress) {
  CS_CHECK(!o.plan.empty());
  if (launch_env().launcher != "none")
    throw UsageError("start corescope sweep directly, not under mpirun/mpiexec/srun: it starts a launcher for "
                     "each mpi and hybrid cell itself");
  std::set<std::string> keys;
  for (const auto& c : cells)
    if (!keys.insert(c.cell.key).second) throw UsageError("two cells of one sweep have the key " + c.cell.key);

  Execution ex;
  ex.plan = o.plan;
  ex.cpus = o.cpus;
  ex.timeout_per_run_s = o.timeout_per_run_s;
  std::optional<sweep::Launcher> launcher;
  if (std::any_of(cells.begin(), cells.end(), [](const ExecCell& c) { return c.cell.launched; }))
    launcher = sweep::find_launcher(o.launcher, o.mpirun);
  ex.launcher = launcher ? &*launcher : nullptr;

  ex.out = fs::absolute(o.out).lexically_normal().string();
  record::check_output(ex.out);
  ex.self = fs::read_symlink("/proc/self/exe").string();
  ex.sweep_id = new_run_id().substr(0, 16);

  if (o.dry_run) {
    print_dry_run(cells, ex, o);
    return 0;
  }

  sweep::SweepLock lock(ex.out, ex.sweep_id);
  std::set<std::string> done;
  if (o.resume) done = completed_cells(ex.out, o.out, ex.plan);
  sweep::install_interrupt_handlers();

  std::unique_ptr<Progress> own_progress;
  if (!shared_progress) own_progress = std::make_unique<Progress>(planned_runs(cells, o), o.quiet);
  Progress& progress = shared_progress ? *shared_progress : *own_progress;
  const int ran_before = progress.ran(), skipped_before = progress.skipped();
  int already = 0;
  for (const auto& c : cells) already += done.count(c.cell.key) ? 1 : 0;
  progress.say("sweep " + ex.sweep_id + ", plan " + ex.plan + ": " + std::to_string(cells.size()) + " cells" +
               (o.note.empty() ? "" : " (" + o.note + ")") +
               (already ? " (" + std::to_string(already) + " already in the file)" : "") + " -> " + o.out +
               (launcher ? "; mpi cells via " + launcher->kind + " (" + launcher->flavour + ")" : ""));

  std::vector<std::string> failures;
  int interrupted = 0;
  for (const auto& c : cells) {
    if (done.count(c.cell.key)) {
      progress.skip();
      continue;
    }
    if ((interrupted = sweep::interrupt_signal())) break;
    if ((interrupted = ex.run(c, progress, failures))) break;
  }
  if (!shared_progress) progress.done();
  const int ran = progress.ran() - ran_before, skipped = progress.skipped() - skipped_before;

  if (interrupted) {
    progress.done();
    std::fprintf(stderr,
                 "corescope: sweep interrupted by %s after %d of %zu cells; nothing of the cell in progress was "
                 "recorded; run the same command with --resume to continue\n",
                 interrupted == SIGINT ? "SIGINT" : interrupted == SIGTERM ? "SIGTERM" : "a signal", ran + skipped,
                 cells.size());
    return 128 + interrupted;
  }
  progress.say("sweep done: " + std::to_string(ran) + " cells run, " +
               std::to_string(ran - static_cast<int>(failures.size())) + " ok and verified, " +
               std::to_string(failures.size()) + " failed, " + std::to_string(skipped) + " already done -> " + o.out);
  if (!failures.empty()) {
    progress.error("corescope: failed: " + std::to_string(failures.size()) + " of " + std::to_string(cells.size()) +
                   " cells failed or were not verified (recorded in " + o.out +
                   "; --resume reruns failed ones); first: " + failures.front());
    return 1;
  }
  return 0;
}

}  // namespace corescope::cli
