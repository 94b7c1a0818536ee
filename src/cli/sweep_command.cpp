// `corescope sweep`: expands a matrix of kernels x modes x team shapes (from options or a plan
// file) and runs each cell as a child `corescope run`, under mpirun/mpiexec/srun for mpi and
// hybrid cells; every cell lands in one results file, a failing cell is recorded and the sweep
// goes on, and --resume skips the cells already done. See docs/sweeps.md.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>

#include "backends/registry.hpp"
#include "kernels/registry.hpp"
#include "cli/commands.hpp"
#include "cli/lock_option.hpp"
#include "cli/sweep_progress.hpp"
#include "core/errors.hpp"
#include "core/kernel.hpp"
#include "core/machine.hpp"
#include "core/platform.hpp"
#include "record/run_rows.hpp"
#include "core/text.hpp"
#include "record/recorder.hpp"
#include "sweep/child.hpp"
#include "sweep/launch.hpp"
#include "sweep/plan.hpp"
#include "sweep/sweep_lock.hpp"

namespace corescope::cli {

namespace {

namespace fs = std::filesystem;

struct SweepOptions {
  std::map<std::string, std::string> values;       // plan keys given as options
  std::map<std::string, CLI::Option*> options;
  std::string plan, out = "results.h5", shard, mpirun;
  bool resume = false, quiet = false, dry_run = false;
};

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

// The row a cell gets when its child left none (it crashed, timed out, or never started).
void record_failed_cell(const std::string& out, const sweep::Cell& cell, const sweep::Settings& s,
                        const std::string& run_id, const std::string& started, const std::string& command,
                        const std::string& plan, const std::string& sweep_id, const sweep::CellLaunch& launch,
                        const sweep::Launcher* launcher, const std::string& error) {
  RunResult r;
  RunRequest request = sweep::cell_request(cell, s);
  request.command = command;
  request.sweep_id = sweep_id;
  request.sweep_plan = plan;
  // The same spec the cell's own run makes, so that a failed cell and its successful rerun are
  // one configuration in /runs.
  try {
    r.spec = make_run_spec(find_mode(cell.mode), find_kernel(cell.kernel), request);
  } catch (const std::exception&) {  // the cell's own run refused it the same way
    r.spec.kernel = cell.kernel;
    r.spec.mode = cell.mode;
    r.spec.cell = cell.key;
  }
  r.run_id = run_id;
  r.started = started;
  r.status = "failed";
  r.error = error;
  record_slurm(r, launch_env());
  if (cell.launched && launcher) {
    r.launcher = launcher->kind;
    r.mpi_flavour = launcher->flavour;
    r.launch_command = launch.text();
  }
  auto groups = result_rows(r);
  std::erase_if(groups, [](const record::GroupRows& g) { return g.rows.rows() == 0; });
  record::append(out, file_provenance(), groups);
}

// The plan: a plan file (or stdin), then the options given on the command line over it.
sweep::Settings load_settings(const SweepOptions& o, int cpus) {
  sweep::Settings s;
  if (!o.plan.empty()) {
    if (o.plan == "-") {
      sweep::read_plan(s, std::cin, "<stdin>", cpus);
    } else {
      sweep::read_plan_file(s, o.plan, cpus);
    }
  }
  for (const auto& [key, opt] : o.options)
    if (opt->count()) sweep::apply(s, key, o.values.at(key), "--" + key, cpus);
  return s;
}

// What every cell of one sweep shares.
struct SweepRun {
  sweep::Settings settings;
  std::string out, self, sweep_id, plan;
  const sweep::Launcher* launcher = nullptr;
  int cpus = 1, cores = 1;

  // The cell's child: the launcher words, then `corescope run` with the cell's request.
  std::vector<std::string> argv(const sweep::Cell& c, const std::string& run_id, const sweep::CellLaunch& launch) const {
    const RunRequest r = sweep::cell_request(c, settings);
    std::vector<std::string> a = launch.prefix;
    a.insert(a.end(), {self, "run", "-k", r.kernel, "-m", c.mode, "-w", std::to_string(r.workers)});
    if (r.threads > 0) a.insert(a.end(), {"-t", std::to_string(r.threads)});
    a.insert(a.end(), {"-s", r.size, "--scaling", r.scaling, "-r", std::to_string(r.reps), "--warmup",
                       std::to_string(r.warmup), "-o", out, "-q", "--pin", r.pin, "--sweep-id", sweep_id,
                       "--sweep-plan", plan, "--cell", r.cell, "--run-id", run_id, "--lock-timeout",
                       std::to_string(record::lock_timeout())});
    if (!launch.prefix.empty()) a.insert(a.end(), {"--launch-command", launch.text()});
    return a;
  }
};

// Runs one cell and tells the progress how it went; a child that left no row gets the failed
// row. Returns the signal that interrupted it (nothing recorded: --resume runs it again), or 0;
// a failure's line goes to `failures`.
int run_cell(const SweepRun& sw, const sweep::Cell& c, Progress& progress, std::vector<std::string>& failures) {
  const std::string run_id = new_run_id();
  const auto launch = sweep::cell_launch(c, sw.launcher, sw.cpus, sw.cores);
  const std::vector<std::string> argv = sw.argv(c, run_id, launch);
  sweep::ChildOptions co;
  co.env = launch.env;
  co.timeout_s = sw.settings.timeout_per_run_s;
  co.tick = [&](double t) { progress.tick(t); };
  const std::string started = iso_now();
  progress.start(c.key);
  const sweep::ChildResult child = sweep::run_child(argv, co);
  if (child.interrupted_by) return child.interrupted_by;
  CellOutcome result = find_run(sw.out, run_id);
  if (!result.found) {
    result.error = child.failure_text();
    record_failed_cell(sw.out, c, sw.settings, run_id, started, join(argv, " "), sw.plan, sw.sweep_id, launch,
                       sw.launcher, result.error);
  }
  std::string outcome;
  if (result.ok && result.verified) {
    outcome = "ok, verified";
    if (std::isfinite(result.wall_s_median)) outcome += ", median " + human_seconds(result.wall_s_median);
  } else {
    outcome = result.ok ? "NOT VERIFIED: " + result.error : "FAILED: " + result.error;
    failures.push_back(c.key + ": " + outcome);
  }
  progress.finish(c.key, outcome, child.seconds);
  return 0;
}

int execute(SweepOptions& o) {
  SweepRun sw;
  // CPUs the sweep may use: `max` and `pow2` resolve to them. Inside a Slurm job, the job's CPUs
  // on this node (a node without task binding shows the batch script every CPU).
  sw.cpus = platform::allowed_cpu_count();
  if (const int slurm = launch_env().slurm_cpus_on_node; slurm > 0 && !launch_env().slurm_job_id.empty())
    sw.cpus = std::min(sw.cpus, slurm);
  sw.cores = std::max(1, std::min(machine().cores > 0 ? machine().cores : sw.cpus, sw.cpus));
  sw.settings = load_settings(o, sw.cpus);
  const sweep::Settings& s = sw.settings;

  if (launch_env().launcher != "none")
    throw UsageError("start corescope sweep directly, not under mpirun/mpiexec/srun: it starts a launcher for "
                     "each mpi and hybrid cell itself");
  const std::vector<sweep::Cell> all = sweep::expand(s, sw.cpus);
  sw.plan = sweep::plan_hash(s, all);  // over all shards: their files merge as one plan
  sweep::Shard shard;
  if (!o.shard.empty()) shard = sweep::parse_shard(o.shard);
  std::vector<sweep::Cell> cells;
  for (std::size_t i = 0; i < all.size(); ++i)
    if (static_cast<int>(i % static_cast<std::size_t>(shard.count)) == shard.index) cells.push_back(all[i]);

  std::optional<sweep::Launcher> launcher;
  if (std::any_of(cells.begin(), cells.end(), [](const sweep::Cell& c) { return c.launched; }))
    launcher = sweep::find_launcher(s.launcher, o.mpirun);
  sw.launcher = launcher ? &*launcher : nullptr;

  sw.out = fs::absolute(o.out).lexically_normal().string();
  record::check_output(sw.out);
  sw.self = fs::read_symlink("/proc/self/exe").string();
  sw.sweep_id = new_run_id().substr(0, 16);

  if (o.dry_run) {
    std::printf("plan %s: %zu cells%s\n", sw.plan.c_str(), cells.size(),
                shard.count > 1 ? (" (shard " + o.shard + " of " + std::to_string(all.size()) + ")").c_str() : "");
    for (const auto& c : cells) {
      const auto launch = sweep::cell_launch(c, sw.launcher, sw.cpus, sw.cores);
      std::string env;
      for (const auto& [k, v] : launch.env) env += k + "=" + v + " ";
      std::printf("%-40s %s%s\n", c.key.c_str(), env.c_str(), join(launch.prefix, " ").c_str());
    }
    return 0;
  }

  sweep::SweepLock lock(sw.out, sw.sweep_id);
  std::set<std::string> done;
  if (o.resume) done = completed_cells(sw.out, o.out, sw.plan);
  sweep::install_interrupt_handlers();

  Progress progress(static_cast<int>(cells.size()), o.quiet);
  int already = 0;
  for (const auto& c : cells) already += done.count(c.key) ? 1 : 0;
  progress.say("sweep " + sw.sweep_id + ", plan " + sw.plan + ": " + std::to_string(cells.size()) + " cells" +
               (already ? " (" + std::to_string(already) + " already in the file)" : "") + " -> " + o.out +
               (launcher ? "; mpi cells via " + launcher->kind + " (" + launcher->flavour + ")" : ""));

  std::vector<std::string> failures;
  int interrupted = 0;
  for (const auto& c : cells) {
    if (done.count(c.key)) {
      progress.skip();
      continue;
    }
    if ((interrupted = sweep::interrupt_signal())) break;
    if ((interrupted = run_cell(sw, c, progress, failures))) break;
  }
  progress.done();

  if (interrupted) {
    std::fprintf(stderr,
                 "corescope: sweep interrupted by %s after %d of %zu cells; nothing of the cell in progress was "
                 "recorded; run the same command with --resume to continue\n",
                 interrupted == SIGINT ? "SIGINT" : interrupted == SIGTERM ? "SIGTERM" : "a signal",
                 progress.ran() + progress.skipped(), cells.size());
    return 128 + interrupted;
  }
  progress.say("sweep done: " + std::to_string(progress.ran()) + " cells run, " +
               std::to_string(progress.ran() - static_cast<int>(failures.size())) + " ok and verified, " +
               std::to_string(failures.size()) + " failed, " + std::to_string(progress.skipped()) +
               " already done -> " + o.out);
  if (!failures.empty())
    throw RuntimeFailure(std::to_string(failures.size()) + " of " + std::to_string(cells.size()) +
                         " cells failed or were not verified (recorded in " + o.out + "; --resume reruns failed ones); first: " +
                         failures.front());
  return 0;
}

const std::map<std::string, std::pair<std::string, std::string>>& option_help() {
  // key -> (short flag or "", help)
  static const std::map<std::string, std::pair<std::string, std::string>> help = {
      {"kernels", {"-k", "kernels, comma-separated, or all"}},
      {"modes", {"-m", "modes, comma-separated, or all (default: every built mode)"}},
      {"workers", {"-w", "team sizes: 1,2,4; max = the CPUs; pow2 = 1,2,4,... up to max (default pow2)"}},
      {"hybrid", {"", "ranks x threads cells for hybrid, e.g. 2x1,1x2 (implies the hybrid mode)"}},
      {"cores", {"", "core counts C: every ranks x threads = C for hybrid (max = the CPUs)"}},
      {"scaling", {"", "strong (size is the team total), weak (size per worker), or both: strong,weak"}},
      {"size", {"-s", "problem size(s): S, M, L or a count with K/M/G (default M)"}},
      {"reps", {"-r", "timed repetitions per cell (default 10)"}},
      {"warmup", {"", "untimed warm-up iterations per cell (default 2)"}},
      {"pin", {"", "binding: none, cores or one (everything on one CPU); a list runs each (default none)"}},
      {"timeout-per-run", {"", "seconds after which a cell is stopped and recorded as failed (default 0 = none)"}},
      {"launcher", {"", "for mpi/hybrid cells: auto (srun inside Slurm, else mpirun/mpiexec), srun or mpirun"}},
      {"param", {"", "kernel parameter axes: NAME=V1,V2[;NAME=...], e.g. sync=none,mutex (one cell per value)"}},
      {"channels", {"", "point-to-point channels, or all (every channel of each mode); one cell per channel"}},
      {"switch-interval", {"", "gil modes: GIL switch intervals in seconds, one cell per value"}},
      {"fault", {"", "isolate trials instead of runs: crash, abort, exit, leak, stray-write, hang"}},
      {"run-seconds", {"", "fault trials: each worker's run after the start line (default 1)"}},
  };
  return help;
}

}  // namespace

void add_sweep(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<SweepOptions>();
  CLI::App* sub = app.add_subcommand(
      "sweep", "Run a matrix of kernels x modes x team sizes, one `corescope run` per cell, into one file");
  for (const auto& key : sweep::plan_keys()) {
    const auto& [flag, help] = option_help().at(key);
    o->options[key] = sub->add_option((flag.empty() ? "" : flag + ",") + "--" + key, o->values[key], help);
  }
  sub->add_option("--plan", o->plan, "plan file: one `key = value` per line, keys as the options above; "
                                     "- reads stdin; options given too override it");
  sub->add_option("-o,--out", o->out, "HDF5 results file to append to")->capture_default_str();
  sub->add_flag("--resume", o->resume, "skip cells of this plan already complete in --out");
  sub->add_option("--shard", o->shard, "I/N: run every N-th cell starting at I (job arrays); merge the files after");
  sub->add_option("--mpirun", o->mpirun, "launcher binary for mpi/hybrid cells (default: found for this MPI)");
  sub->add_flag("-q,--quiet", o->quiet, "print nothing but errors");
  sub->add_flag("--dry-run", o->dry_run, "print the cells and their launch commands, run nothing");
  add_lock_timeout_option(sub);  // also passed on to every cell's run
  sub->callback([o, &exit_code] { exit_code = execute(*o); });
}

}  // namespace corescope::cli
