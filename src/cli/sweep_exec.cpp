// The sweep's executor (sweep_exec.hpp): each cell as a child `corescope run`, its row checked
// (or written as failed) afterwards, progress, resume and interruption.
#include "cli/sweep_exec.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <tuple>

#include "backends/registry.hpp"
#include "core/errors.hpp"
#include "core/kernel.hpp"
#include "core/machine.hpp"
#include "core/platform.hpp"
#include "core/text.hpp"
#include "kernels/registry.hpp"
#include "record/cells.hpp"
#include "record/recorder.hpp"
#include "record/run_rows.hpp"
#include "core/stats.hpp"
#include "sweep/capacity.hpp"
#include "sweep/child.hpp"
#include "sweep/rounds.hpp"
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
  const record::Table runs = record::read_group(out, "runs", {"run_id", "status", "verified", "error", "wall_s_median"});
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

// The outcome a run printed for its sweep (sweep::kRunOutcomeTag), found = false without one
// (it crashed before recording, or its output was cut): then find_run reads the file.
CellOutcome reported_outcome(const std::string& output, const std::string& run_id) {
  CellOutcome o;
  for (const auto& line : split(output, '\n')) {
    const std::vector<std::string> f = split(line, '\t');
    if (f.size() < 6 || f[0] != sweep::kRunOutcomeTag || f[1] != run_id) continue;
    o.found = true;
    o.ok = f[2] == "ok";
    o.verified = f[3] == "1";
    char* end = nullptr;
    o.wall_s_median = std::strtod(f[4].c_str(), &end);
    if (end == f[4].c_str()) o.wall_s_median = NAN;
    o.error = f[5];
    for (std::size_t i = 6; i < f.size(); ++i) o.error += " " + f[i];
  }
  return o;
}

// One (cell, twin, slot) of the list: what every round runs once. A cell with k runs per round
// has k units (slots 0 ... k-1) of each; the extra passes after the rounds take slot 0 alone.
struct Unit {
  const ExecCell* cell = nullptr;
  bool twin = false;
  int slot = 0;
  Unit* first = nullptr;  // slot 0 of the same cell and twin, which keeps the --target-ci account
  int per_round() const { return std::max(1, cell->cell.runs_per_round); }
  std::string label() const { return cell->cell.key + (twin ? " (twin)" : ""); }
  // in a round: which of the cell's runs of the round
  std::string slot_label() const {
    return label() + (per_round() > 1 ? " run " + std::to_string(slot + 1) + "/" + std::to_string(per_round()) : "");
  }
  // A cell with k runs in each of R rounds is recorded as a cell of R x k rounds: the run of
  // slot s in round r is its round r x k + s, an extra run after the rounds (r >= R) its round
  // r + R x (k - 1). So /runs round and rounds keep their meaning for every cell.
  int recorded_rounds(int rounds) const { return rounds * per_round(); }
  int recorded_round(int round, int rounds) const {
    return round < rounds ? round * per_round() + slot : round + rounds * (per_round() - 1);
  }
  // For --target-ci: the seconds its runs took in this invocation, how many, and where it ended.
  double spent_s = 0;
  int runs = 0;
  bool finished = false, reached = false, failed = false;
  stats::Interval ci;
};

// What the file already holds of this plan: the (cell, recorded round, twin) runs that are ok,
// the seed of its rounds and its highest round in the sweep's numbering (the rounds, then the
// extra passes; Unit::recorded_round maps one to the other). Refuses a file whose sweep rows all
// come from other plans: resuming onto it would mix two studies.
struct Done {
  std::set<std::tuple<std::string, std::int64_t, bool>> runs;
  std::int64_t seed = -1, last_round = -1;
  int rounds = 1;
  bool has(const Unit& u, int round) const {
    return runs.count({u.cell->cell.key, u.recorded_round(round, rounds), u.twin}) > 0;
  }
};

Done completed_runs(const std::string& out, const std::string& shown, const std::string& plan, int rounds) {
  Done done;
  done.rounds = rounds;
  if (!fs::exists(out)) return done;
  const record::Table runs =
      record::read_group(out, "runs", {"sweep_plan", "round", "round_seed", "rounds", "status", "cell", "twin"});
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
    const std::int64_t round = runs.integer("round", r);
    if (done.seed < 0) done.seed = runs.integer("round_seed", r);
    // back to the sweep's numbering: a cell recorded with k x R rounds ran k runs a round
    const std::int64_t recorded = std::max<std::int64_t>(runs.integer("rounds", r), rounds);
    const std::int64_t per = std::max<std::int64_t>(1, recorded / rounds);
    done.last_round = std::max(done.last_round, round < recorded ? round / per : round - (recorded - rounds));
    if (runs.text("status", r) == "ok") done.runs.insert({runs.text("cell", r), round, runs.integer("twin", r) == 1});
  }
  if (!this_plan && !other_plans.empty())
    throw UsageError("--resume: " + shown + " was written by a different sweep plan (" + *other_plans.begin() +
                     ", this plan is " + plan + "): kernels, modes, workers, sizes, scaling, pin, reps, warm-up "
                     "or rounds differ; use another --out, or leave out --resume to add these cells to it");
  return done;
}

// What the file holds of a unit so far, as every command computes it (record/cells): the
// repetition times its statistics use (the slowest worker's wall_s per repetition, pooled over
// rounds, disturbed repetitions left out by the rule of docs/noise.md, all of them when fewer than
// 3 are clean), and how many repetitions have no record-time bits and are outside slow runs.
struct UnitSoFar {
  std::vector<double> times;
  std::size_t undisturbed = 0;
};
std::vector<UnitSoFar> units_so_far(const std::string& out, const std::string& plan, const std::vector<Unit>& units) {
  std::map<std::pair<std::string, bool>, std::size_t> index;
  for (std::size_t i = 0; i < units.size(); ++i)
    if (units[i].slot == 0) index[{units[i].cell->cell.key, units[i].twin}] = i;
  const record::Table runs = record::read_group(out, "runs");
  const record::Table samples = record::read_group(out, "samples");
  std::vector<UnitSoFar> so_far(units.size());
  for (const auto& cell : record::group_cells(runs, samples))
    for (const std::size_t r : cell.runs) {
      if (runs.text("sweep_plan", r) != plan) continue;
      if (const auto it = index.find({runs.text("cell", r), runs.integer("twin", r) == 1}); it != index.end()) {
        UnitSoFar& u = so_far[it->second];
        u.times = cell.times;
        u.undisturbed = static_cast<std::size_t>(std::count_if(
            cell.repetitions.begin(), cell.repetitions.end(),
            [](const record::Repetition& x) { return x.disturbed_bits == 0 && !x.slow_run; }));
        break;
      }
    }
  return so_far;
}

// What every cell of one execution shares.
struct Execution {
  std::string out, self, sweep_id, plan;
  const sweep::Launcher* launcher = nullptr;
  SweepCpus cpus;
  double timeout_per_run_s = 0;
  // The run a signal interrupted finished in its grace period and left its row (--resume skips it).
  mutable bool interrupted_run_recorded = false;

  SweepRound rounds;  // round = -1 here; each run sets its own

  // The request of a unit's run in `round`, as this execution records it: the run's share of
  // the cell's repetitions, its recorded round and rounds (Unit::recorded_round).
  RunRequest request(const Unit& u, int round) const {
    RunRequest r = u.cell->request;
    const int planned = u.recorded_rounds(static_cast<int>(rounds.rounds));
    const int recorded = u.recorded_round(round, static_cast<int>(rounds.rounds));
    r.reps = sweep::round_reps(r.reps, planned, recorded);
    r.cell = u.cell->cell.key;
    r.pin = u.cell->cell.pin;
    r.sweep_id = sweep_id;
    r.sweep_plan = plan;
    r.round = rounds;
    r.round.rounds = planned;
    r.round.round = recorded;
    r.round.twin = u.twin ? 1 : 0;
    return r;
  }

  // The run's child: the launcher words, then `corescope run` with the request.
  std::vector<std::string> argv(const ExecCell& c, const RunRequest& r, const std::string& run_id,
                                const sweep::CellLaunch& launch) const {
    std::vector<std::string> a = launch.prefix;
    a.insert(a.end(), {self, "run", "-k", r.kernel, "-m", c.cell.mode, "-w", std::to_string(r.workers)});
    if (r.threads > 0) a.insert(a.end(), {"-t", std::to_string(r.threads)});
    a.insert(a.end(), {"-s", r.size, "--scaling", r.scaling, "-r", std::to_string(r.reps), "--warmup",
                       std::to_string(r.warmup), "-o", out, "-q", "--pin", r.pin, "--sweep-id", r.sweep_id,
                       "--sweep-plan", r.sweep_plan, "--cell", r.cell, "--run-id", run_id, "--lock-timeout",
                       std::to_string(record::lock_timeout())});
    for (const auto& p : r.params) a.insert(a.end(), {"-p", p});
    if (!r.channel.empty()) a.insert(a.end(), {"--channel", r.channel});
    const ModeInfo& mode = find_mode(c.cell.mode);
    // py-threads takes the switch interval alone, and only where the plan gives one
    if (mode.gil || (mode.switch_interval && !c.cell.switch_interval.empty())) {
      char interval[40];
      std::snprintf(interval, sizeof interval, "%.17g", r.switch_interval_s);
      a.insert(a.end(), {"--switch-interval", interval});
    }
    if (mode.gil) a.insert(a.end(), {"--gil-release", r.gil_release, "--gil-policy", r.gil_policy});
    if (!launch.prefix.empty()) a.insert(a.end(), {"--launch-command", launch.text()});
    char target[40];
    std::snprintf(target, sizeof target, "%.17g", r.round.target_ci);
    a.insert(a.end(), {"--round", std::to_string(r.round.round), "--rounds", std::to_string(r.round.rounds),
                       "--round-seed", std::to_string(r.round.seed), "--twin", std::to_string(r.round.twin)});
    if (std::isfinite(r.round.target_ci)) a.insert(a.end(), {"--target-ci", target});
    return a;
  }

  // The row a cell gets when its child left none (it crashed, timed out, or never started).
  void record_failed(const ExecCell& c, RunRequest request, const std::string& run_id, const std::string& started,
                     const std::string& command, const sweep::CellLaunch& launch, const std::string& error) const {
    RunResult r;
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

  // Runs a unit's run of `round` and tells the progress how it went; a child that left no row
  // gets the failed row. Returns the signal that interrupted it (nothing recorded: --resume runs
  // it again), or 0; a failure's line goes to `failures`.
  int run(Unit& u, int round, Progress& progress, std::vector<std::string>& failures) const {
    const ExecCell& c = *u.cell;
    const RunRequest request = this->request(u, round);
    const std::string run_id = new_run_id();
    const auto launch = sweep::cell_launch(c.cell, launcher, cpus.cpus, cpus.cores);
    const std::vector<std::string> args = argv(c, request, run_id, launch);
    const std::string label = (round < rounds.rounds ? u.slot_label() : u.label()) +
                              (round < rounds.rounds ? " round " + std::to_string(round + 1) + "/" +
                                                                       std::to_string(rounds.rounds)
                                                                 : " extra run " + std::to_string(round + 1 - rounds.rounds));
    sweep::ChildOptions co;
    co.env = launch.env;
    co.timeout_s = timeout_per_run_s;
    co.tick = [&](double t) { progress.tick(t); };
    const std::string started = iso_now();
    progress.start(label);
    const sweep::ChildResult child = sweep::run_child(args, co);
    if (child.interrupted_by) {
      interrupted_run_recorded = find_run(out, run_id).found;
      return child.interrupted_by;
    }
    Unit& account = u.first ? *u.first : u;
    account.spent_s += child.seconds;
    ++account.runs;
    CellOutcome result = reported_outcome(child.output, run_id);
    if (!result.found) result = find_run(out, run_id);
    if (!result.found && child.exit_code == 2)
      // The results file is damaged where only a writer looks: no cell can be recorded in it,
      // so the sweep stops with the run's own line (exit 2) instead of failing every cell.
      for (const auto& line : split(child.output, '\n'))
        if (const auto at = line.find(" is damaged: "); at != std::string::npos) {
          const std::string prefix = "corescope: error: ";
          throw UsageError(line.rfind(prefix, 0) == 0 ? line.substr(prefix.size()) : line);
        }
    if (!result.found) {
      result.error = child.failure_text();
      record_failed(c, request, run_id, started, join(args, " "), launch, result.error);
    }
    std::string outcome;
    if (result.ok && result.verified) {
      outcome = "ok, verified";
      if (std::isfinite(result.wall_s_median)) outcome += ", median " + human_seconds(result.wall_s_median);
    } else {
      outcome = result.ok ? "NOT VERIFIED: " + result.error : "FAILED: " + result.error;
      failures.push_back(label + ": " + outcome);
      account.failed = true;
    }
    progress.finish(label, outcome, child.seconds);
    return 0;
  }
};

// The cells and their launch commands; with --seed, then each round's order.
void print_dry_run(const std::vector<ExecCell>& cells, const std::vector<Unit>& units, const Execution& ex,
                   const ExecOptions& o) {
  std::printf("plan %s: %zu cells%s\n", ex.plan.c_str(), cells.size(), o.note.empty() ? "" : (" (" + o.note + ")").c_str());
  for (const auto& c : cells) {
    const auto launch = sweep::cell_launch(c.cell, ex.launcher, ex.cpus.cpus, ex.cpus.cores);
    std::string env;
    for (const auto& [k, v] : launch.env) env += k + "=" + v + " ";
    std::printf("%-40s %s%s\n", c.cell.key.c_str(), env.c_str(), join(launch.prefix, " ").c_str());
  }
  for (int round = 0; o.seed && round < o.rounds; ++round) {
    std::vector<std::string> labels;
    std::vector<int> slots, per;
    for (const auto& u : units) {
      slots.push_back(u.slot);
      per.push_back(u.per_round());
    }
    for (std::size_t i : sweep::spread_order(*o.seed, round, slots, per)) labels.push_back(units[i].slot_label());
    std::printf("round %d: %s\n", round + 1, join(labels, ", ").c_str());
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

int planned_runs(const std::vector<ExecCell>& cells, const ExecOptions& o) {
  std::size_t units = 0;
  for (const auto& c : cells) units += static_cast<std::size_t>((c.twin ? 2 : 1) * std::max(1, c.cell.runs_per_round));
  return static_cast<int>(units) * o.rounds;
}

namespace {

// The capacity check at the start of a round: threads and forked processes on every CPU of the
// sweep, appended to /capacity.
void check_capacity(const Execution& ex, int round, Progress& progress) {
  std::vector<sweep::Capacity> checks;
  for (const char* mode : {"threads", "processes"}) checks.push_back(sweep::measure_capacity(mode, ex.cpus.cpus));
  const record::Table rows = sweep::capacity_rows(checks, {ex.sweep_id, ex.plan, round});
  record::append(ex.out, file_provenance(), {record::GroupRows{"capacity", "check", rows, "", ""}});
  char line[160];
  std::snprintf(line, sizeof line, "round %d: capacity of %d CPUs: threads %.2f, processes %.2f", round + 1,
                ex.cpus.cpus, checks[0].capacity, checks[1].capacity);
  progress.say(line);
}

// The interval's half-width as a fraction of the median (the larger side).
double half_width(const stats::Interval& ci) { return std::max(ci.point - ci.lo, ci.hi - ci.point) / ci.point; }

// Where a unit stands against --target-ci: finished when its interval is narrow enough (with
// the coverage asked for), when its next run would pass --max-time, or when a run failed.
void judge(Unit& u, const std::vector<double>& times, const ExecOptions& o) {
  u.ci = stats::median_ci(times);
  u.reached = u.ci.n > 0 && u.ci.coverage >= 0.95 && half_width(u.ci) <= o.target_ci;
  const double next_s = u.runs ? u.spent_s / u.runs : 0;
  u.finished = u.reached || u.failed || u.spent_s + next_s > o.max_time_s;
}

std::string target_line(const Unit& u) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%zu repetitions, median %s, 95 %% interval +-%.1f %%: %s", u.ci.n,
                human_seconds(u.ci.point).c_str(), 100 * half_width(u.ci),
                u.reached ? "reached" : u.failed ? "NOT reached (a run failed)" : "NOT reached (--max-time spent)");
  return u.label() + ": " + buf;
}

}  // namespace

int execute_cells(const std::vector<ExecCell>& cells, const ExecOptions& o, Progress* shared_progress) {
  CS_CHECK(!o.plan.empty());
  if (launch_env().launcher != "none")
    throw UsageError("start corescope sweep directly, not under mpirun/mpiexec/srun: it starts a launcher for "
                     "each mpi and hybrid cell itself");
  if (o.rounds < 1 || o.rounds > 1000) throw UsageError("--rounds must be an integer from 1 to 1000");
  if (o.seed && *o.seed > sweep::kMaxSeed) throw UsageError("--seed must be from 0 to " + std::to_string(sweep::kMaxSeed));
  if (!std::isnan(o.target_ci) && !(o.target_ci > 0 && o.target_ci < 1))
    throw UsageError("--target-ci must be a fraction between 0 and 1 (0.05 = +-5 %)");
  if (!(o.max_time_s > 0)) throw UsageError("--max-time must be a positive number of seconds");
  std::set<std::string> keys;
  for (const auto& c : cells)
    if (!keys.insert(c.cell.key).second) throw UsageError("two cells of one sweep have the key " + c.cell.key);

  Execution ex;
  ex.plan = sweep::plan_with_rounds(o.plan, o.rounds);
  ex.cpus = o.cpus;
  ex.timeout_per_run_s = o.timeout_per_run_s;
  std::optional<sweep::Launcher> launcher;
  if (std::any_of(cells.begin(), cells.end(), [](const ExecCell& c) { return c.cell.launched; }))
    launcher = sweep::find_launcher(o.launcher, o.mpirun);
  if (launcher) sweep::set_hosts(*launcher, o.hosts, o.launcher_args);
  else if (!o.hosts.empty() || !o.launcher_args.empty())
    throw UsageError(std::string(o.hosts.empty() ? "--launcher-args" : "--hosts/--hostfile") +
                     " apply to mpi and hybrid cells, and this sweep has none");
  ex.launcher = launcher ? &*launcher : nullptr;

  ex.out = fs::absolute(o.out).lexically_normal().string();
  record::check_output(ex.out);
  ex.self = fs::read_symlink("/proc/self/exe").string();
  ex.sweep_id = new_run_id().substr(0, 16);

  std::vector<Unit> units;
  for (const auto& c : cells)
    for (int slot = 0; slot < std::max(1, c.cell.runs_per_round); ++slot) {
      units.push_back({&c, false, slot});
      if (c.twin) units.push_back({&c, true, slot});
    }
  for (auto& u : units)
    for (auto& v : units)
      if (v.cell == u.cell && v.twin == u.twin && v.slot == 0 && u.slot != 0) u.first = &v;
  const std::size_t twins = static_cast<std::size_t>(std::count_if(cells.begin(), cells.end(), [](const ExecCell& c) { return c.twin; }));
  if (o.dry_run) {
    print_dry_run(cells, units, ex, o);
    return 0;
  }

  sweep::SweepLock lock(ex.out, ex.sweep_id);
  Done done;
  done.rounds = o.rounds;
  if (o.resume) done = completed_runs(ex.out, o.out, ex.plan, o.rounds);
  // A resumed sweep keeps the order of the sweep it continues.
  if (o.seed && done.seed >= 0 && static_cast<std::int64_t>(*o.seed) != done.seed)
    throw UsageError("--seed " + std::to_string(*o.seed) + " differs from the seed " + std::to_string(done.seed) +
                     " of this plan's runs in " + o.out + "; leave --seed out to resume in their order");
  const std::uint64_t seed = o.seed ? *o.seed : done.seed >= 0 ? static_cast<std::uint64_t>(done.seed) : sweep::fresh_seed();
  ex.rounds.rounds = o.rounds;
  ex.rounds.seed = static_cast<std::int64_t>(seed);
  ex.rounds.target_ci = o.target_ci;
  sweep::install_interrupt_handlers();

  std::unique_ptr<Progress> own_progress;
  if (!shared_progress) own_progress = std::make_unique<Progress>(planned_runs(cells, o), o.quiet);
  Progress& progress = shared_progress ? *shared_progress : *own_progress;
  const int ran_before = progress.ran(), skipped_before = progress.skipped();
  int already = 0;
  for (int round = 0; round < o.rounds; ++round)
    for (const auto& u : units) already += done.has(u, round) ? 1 : 0;
  const int planned = planned_runs(cells, o);
  std::set<int> per_round;
  std::size_t repeated = 0;
  for (const auto& c : cells)
    if (c.cell.runs_per_round > 1) {
      per_round.insert(c.cell.runs_per_round);
      ++repeated;
    }
  const std::string several = repeated == 0 ? ""
                              : " (" + std::to_string(repeated) + " of the cells " +
                                    (per_round.size() == 1 ? std::to_string(*per_round.begin()) + " times" : "several times") +
                                    " a round)";
  progress.say("sweep " + ex.sweep_id + ", plan " + ex.plan + ": " + std::to_string(cells.size()) + " cells" +
               (twins ? " + " + std::to_string(twins) + " A/A twins" : "") + " x " + std::to_string(o.rounds) +
               " rounds" + several + " = " + std::to_string(planned) + " runs, seed " +
               std::to_string(seed) + (o.note.empty() ? "" : " (" + o.note + ")") +
               (already ? " (" + std::to_string(already) + " already in the file)" : "") + " -> " + o.out +
               (launcher ? "; mpi cells via " + launcher->kind + " (" + launcher->flavour + ")" : ""));

  std::vector<std::string> failures;
  int interrupted = 0;
  // One pass: every unit of `todo` once, in the round's shuffled order, after the capacity check.
  auto pass = [&](const std::vector<Unit*>& todo, int round) {
    std::vector<int> slots, per;
    for (const Unit* u : todo) {
      slots.push_back(round < o.rounds ? u->slot : 0);
      per.push_back(round < o.rounds ? u->per_round() : 1);
    }
    const std::vector<std::size_t> order = sweep::spread_order(seed, round, slots, per);
    bool checked = !o.capacity;
    for (std::size_t i : order) {
      Unit& u = *todo[i];
      if (done.has(u, round)) {
        progress.skip();
        continue;
      }
      if ((interrupted = sweep::interrupt_signal())) return;
      if (!checked) {
        check_capacity(ex, round, progress);
        checked = true;
      }
      if ((interrupted = ex.run(u, round, progress, failures))) return;
    }
  };
  std::vector<Unit*> all;
  for (auto& u : units) all.push_back(&u);
  for (int round = 0; round < o.rounds && !interrupted; ++round) pass(all, round);
  // Extra passes are numbered on from the rounds (and from any extra pass a resumed sweep made).
  int next_round = std::max<int>(o.rounds, static_cast<int>(done.last_round) + 1);

  // One more run of the cells a disturbance covered in every round (ExecOptions::rerun_disturbed).
  if (o.rerun_disturbed && !interrupted && done.last_round < o.rounds) {
    const auto so_far = units_so_far(ex.out, ex.plan, units);
    std::vector<Unit*> todo;
    for (std::size_t i = 0; i < units.size(); ++i)
      if (units[i].slot == 0 && units[i].cell->request.reps >= kRerunMinReps &&
          so_far[i].undisturbed < record::kMinClean)
        todo.push_back(&units[i]);
    if (!todo.empty()) {
      progress.say(std::to_string(todo.size()) + " cell(s) had fewer than " + std::to_string(record::kMinClean) +
                   " repetitions without disturbance in every round: one more run each");
      progress.add_total(static_cast<int>(todo.size()));
      pass(todo, next_round++);
    }
  }

  // --target-ci: extra passes over the cells whose interval is still too wide.
  if (!std::isnan(o.target_ci) && !interrupted) {
    for (int round = next_round;; ++round) {
      const auto so_far = units_so_far(ex.out, ex.plan, units);
      std::vector<Unit*> todo;
      for (std::size_t i = 0; i < units.size(); ++i) {
        if (units[i].slot != 0) continue;
        judge(units[i], so_far[i].times, o);
        if (!units[i].finished) todo.push_back(&units[i]);
      }
      if (todo.empty() || interrupted) break;
      progress.add_total(static_cast<int>(todo.size()));
      pass(todo, round);
      if (interrupted) break;
    }
    if (!interrupted) {
      int reached = 0, judged = 0;
      for (const auto& u : units) {
        reached += u.slot == 0 && u.reached ? 1 : 0;
        judged += u.slot == 0 ? 1 : 0;
      }
      char line[200];
      std::snprintf(line, sizeof line, "target: 95 %% interval of the median within +-%g %%, at most %s per cell: %d of %d reached it",
                    100 * o.target_ci, human_seconds(o.max_time_s).c_str(), reached, judged);
      progress.say(line);
      for (const auto& u : units)
        if (u.slot == 0) progress.say("  " + target_line(u));
    }
  }
  if (!shared_progress) progress.done();
  const int ran = progress.ran() - ran_before, skipped = progress.skipped() - skipped_before;

  if (interrupted) {
    progress.done();
    std::fprintf(stderr,
                 "corescope: sweep interrupted by %s after %d of %d runs; %s; run the same command with --resume "
                 "to continue\n",
                 interrupted == SIGINT ? "SIGINT" : interrupted == SIGTERM ? "SIGTERM" : "a signal", ran + skipped,
                 planned,
                 ex.interrupted_run_recorded ? "the run in progress finished before it stopped and is recorded"
                                             : "nothing of the run in progress was recorded");
    return 128 + interrupted;
  }
  progress.say("sweep done: " + std::to_string(ran) + " runs, " +
               std::to_string(ran - static_cast<int>(failures.size())) + " ok and verified, " +
               std::to_string(failures.size()) + " failed, " + std::to_string(skipped) + " already done -> " + o.out);
  if (!failures.empty()) {
    progress.error("corescope: failed: " + std::to_string(failures.size()) + " of " + std::to_string(ran) +
                   " runs failed or were not verified (recorded in " + o.out +
                   "; --resume reruns failed ones); first: " + failures.front());
    return 1;
  }
  return 0;
}

}  // namespace corescope::cli
