// The sweep's runner (runner.hpp): one method per phase of a sweep, from checking its input to
// the passes after the rounds; the runs themselves are execution.cpp's, the file's read-backs
// sweep_file.cpp's.
#include "sweep/runner.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "core/errors.hpp"
#include "core/launch_env.hpp"
#include "core/machine.hpp"
#include "core/platform.hpp"
#include "core/stats.hpp"
#include "core/text.hpp"
#include "record/cells.hpp"
#include "record/recorder.hpp"
#include "record/run_rows.hpp"
#include "sweep/capacity.hpp"
#include "sweep/child.hpp"
#include "sweep/execution.hpp"
#include "sweep/rounds.hpp"
#include "sweep/sweep_file.hpp"
#include "sweep/sweep_lock.hpp"
#include "sweep/unit.hpp"

namespace corescope::sweep {

SweepCpus sweep_cpus() {
  SweepCpus c;
  // Inside a Slurm job, the job's CPUs on this node (a node without task binding shows the batch
  // script every CPU).
  c.cpus = platform::allowed_cpu_count();
  if (const int slurm = launch_env().slurm_cpus_on_node;
      slurm > 0 && !launch_env().slurm_job_id.empty())
    c.cpus = std::min(c.cpus, slurm);
  c.cores = std::max(1, std::min(machine().cores > 0 ? machine().cores : c.cpus, c.cpus));
  return c;
}

int planned_runs(const std::vector<ExecCell>& cells, const ExecOptions& o) {
  std::size_t units = 0;
  for (const auto& c : cells)
    units += static_cast<std::size_t>((c.twin ? 2 : 1) * std::max(1, c.cell.runs_per_round));
  return static_cast<int>(units) * o.rounds;
}

namespace {

namespace fs = std::filesystem;

// The interval's half-width as a fraction of the median (the larger side).
double half_width(const stats::Interval& ci) {
  return std::max(ci.point - ci.lo, ci.hi - ci.point) / ci.point;
}

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
                u.reached  ? "reached"
                : u.failed ? "NOT reached (a run failed)"
                           : "NOT reached (--max-time spent)");
  return u.label() + ": " + buf;
}

// `text` left-aligned in `width` characters, as printf's %-Ns.
std::string padded(const std::string& text, std::size_t width) {
  return text.size() < width ? text + std::string(width - text.size(), ' ') : text;
}

// `order` (indices into `keys`) as launches: the indices of each key together, in the order of
// their first appearance; each group keeps the order's sequence. Without batching, one each.
std::vector<std::vector<std::size_t>> launch_groups(const std::vector<std::size_t>& order,
                                                    const std::vector<std::string>& keys,
                                                    bool batch) {
  std::vector<std::vector<std::size_t>> groups;
  std::map<std::string, std::size_t> group_of;
  for (std::size_t i : order) {
    const auto [at, fresh] = group_of.emplace(batch ? keys[i] : std::to_string(i), groups.size());
    if (fresh) groups.emplace_back();
    groups[at->second].push_back(i);
  }
  return groups;
}

// One sweep: its phases in the order run() takes them. It holds pointers into itself (the
// units' `first`, the execution's launcher), so it is neither copied nor moved.
class Runner {
 public:
  Runner(const std::vector<ExecCell>& cells, const ExecOptions& o, Reporter& reporter)
      : cells_(cells), o_(o), reporter_(reporter) {}
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  Summary run() {
    validate();
    prepare();
    if (o_.dry_run) {
      list();
      return summary_;
    }
    SweepLock lock(ex_.out, ex_.sweep_id);
    resume();
    install_interrupt_handlers();
    announce();
    for (int round = 0; round < o_.rounds && !summary_.interrupted; ++round)
      pass(all_units(), round);
    // Extra passes are numbered on from the rounds (and from any extra pass a resumed sweep made).
    const int next_round =
        rerun_disturbed(std::max<int>(o_.rounds, static_cast<int>(done_.last_round) + 1));
    if (!std::isnan(o_.target_ci) && !summary_.interrupted) reach_target(next_round);
    summary_.interrupted_run_recorded = ex_.interrupted_run_recorded;
    return summary_;
  }

 private:
  void validate() const;
  void prepare();
  void list() const;
  void resume();
  void announce();
  std::vector<Unit*> all_units();
  void pass(const std::vector<Unit*>& todo, int round);
  void check_capacity(int round);
  int rerun_disturbed(int next_round);
  void reach_target(int next_round);
  void report_target();
  std::string launch_key(const Unit& u) const;
  void run_group(const std::vector<Unit*>& group, int round);

  const std::vector<ExecCell>& cells_;
  const ExecOptions& o_;
  Reporter& reporter_;
  std::optional<Launcher> launcher_;
  Execution ex_;
  std::vector<Unit> units_;
  Done done_;
  std::uint64_t seed_ = 0;
  Summary summary_;
};

// Bad input, before anything runs.
void Runner::validate() const {
  CS_CHECK(!o_.plan.empty());
  if (launch_env().launcher != "none")
    throw UsageError(
        "start corescope sweep directly, not under mpirun/mpiexec/srun: it starts a launcher for "
        "each mpi and hybrid cell itself");
  if (o_.rounds < 1 || o_.rounds > 1000)
    throw UsageError("--rounds must be an integer from 1 to 1000");
  if (o_.seed && *o_.seed > kMaxSeed)
    throw UsageError("--seed must be from 0 to " + std::to_string(kMaxSeed));
  if (!std::isnan(o_.target_ci) && !(o_.target_ci > 0 && o_.target_ci < 1))
    throw UsageError("--target-ci must be a fraction between 0 and 1 (0.05 = +-5 %)");
  if (!(o_.max_time_s > 0)) throw UsageError("--max-time must be a positive number of seconds");
  std::set<std::string> keys;
  for (const auto& c : cells_)
    if (!keys.insert(c.cell.key).second)
      throw UsageError("two cells of one sweep have the key " + c.cell.key);
}

// The launcher (for launched cells), the file, the sweep's ids and its units.
void Runner::prepare() {
  ex_.plan = plan_with_rounds(o_.plan, o_.rounds);
  ex_.cpus = o_.cpus;
  ex_.timeout_per_run_s = o_.timeout_per_run_s;
  if (std::any_of(cells_.begin(), cells_.end(), [](const ExecCell& c) { return c.cell.launched; }))
    launcher_ = find_launcher(o_.launcher, o_.mpirun);
  if (launcher_)
    set_hosts(*launcher_, o_.hosts, o_.launcher_args);
  else if (!o_.hosts.empty() || !o_.launcher_args.empty())
    throw UsageError(std::string(o_.hosts.empty() ? "--launcher-args" : "--hosts/--hostfile") +
                     " apply to mpi and hybrid cells, and this sweep has none");
  ex_.launcher = launcher_ ? &*launcher_ : nullptr;

  ex_.out = fs::absolute(o_.out).lexically_normal().string();
  record::check_output(ex_.out);
  ex_.self = fs::read_symlink("/proc/self/exe").string();
  ex_.sweep_id = new_run_id().substr(0, 16);

  for (const auto& c : cells_)
    for (int slot = 0; slot < std::max(1, c.cell.runs_per_round); ++slot) {
      units_.push_back({&c, false, slot});
      if (c.twin) units_.push_back({&c, true, slot});
    }
  for (auto& u : units_)
    for (auto& v : units_)
      if (v.cell == u.cell && v.twin == u.twin && v.slot == 0 && u.slot != 0) u.first = &v;
}

// --dry-run: the cells and their launch commands; with --seed, then each round's order.
void Runner::list() const {
  reporter_.listing("plan " + ex_.plan + ": " + std::to_string(cells_.size()) + " cells" +
                    (o_.note.empty() ? "" : " (" + o_.note + ")"));
  for (const auto& c : cells_) {
    const auto launch = cell_launch(c.cell, ex_.launcher, ex_.cpus.cpus, ex_.cpus.cores);
    std::string env;
    for (const auto& [k, v] : launch.env) env += k + "=" + v + " ";
    reporter_.listing(padded(c.cell.key, 40) + " " + env + join(launch.prefix, " "));
  }
  for (int round = 0; o_.seed && round < o_.rounds; ++round) {
    std::vector<std::string> launches, keys;
    std::vector<int> slots, per;
    for (const auto& u : units_) {
      slots.push_back(u.slot);
      per.push_back(u.per_round());
      keys.push_back(launch_key(u));
    }
    const auto order = spread_order(*o_.seed, round, slots, per);
    for (const auto& group : launch_groups(order, keys, o_.batch)) {
      std::vector<std::string> labels;
      for (std::size_t i : group) labels.push_back(units_[i].slot_label());
      launches.push_back(o_.batch ? "[" + join(labels, ", ") + "]" : labels.front());
    }
    reporter_.listing("round " + std::to_string(round + 1) + ": " + join(launches, ", "));
  }
}

// What the file already holds (--resume) and the seed of the rounds' orders.
void Runner::resume() {
  done_.rounds = o_.rounds;
  if (o_.resume) done_ = completed_runs(ex_.out, o_.out, ex_.plan, o_.rounds);
  // A resumed sweep keeps the order of the sweep it continues.
  if (o_.seed && done_.seed >= 0 && static_cast<std::int64_t>(*o_.seed) != done_.seed)
    throw UsageError("--seed " + std::to_string(*o_.seed) + " differs from the seed " +
                     std::to_string(done_.seed) + " of this plan's runs in " + o_.out +
                     "; leave --seed out to resume in their order");
  seed_ = o_.seed           ? *o_.seed
          : done_.seed >= 0 ? static_cast<std::uint64_t>(done_.seed)
                            : fresh_seed();
  ex_.rounds.rounds = o_.rounds;
  ex_.rounds.seed = static_cast<std::int64_t>(seed_);
  ex_.rounds.target_ci = o_.target_ci;
}

// The sweep's first line: its cells, rounds, runs, seed and file.
void Runner::announce() {
  const std::size_t twins = static_cast<std::size_t>(
      std::count_if(cells_.begin(), cells_.end(), [](const ExecCell& c) { return c.twin; }));
  int already = 0;
  for (int round = 0; round < o_.rounds; ++round)
    for (const auto& u : units_) already += done_.has(u, round) ? 1 : 0;
  summary_.planned = planned_runs(cells_, o_);
  std::set<int> per_round;
  std::size_t repeated = 0;
  for (const auto& c : cells_)
    if (c.cell.runs_per_round > 1) {
      per_round.insert(c.cell.runs_per_round);
      ++repeated;
    }
  const std::string several =
      repeated == 0 ? ""
                    : " (" + std::to_string(repeated) + " of the cells " +
                          (per_round.size() == 1 ? std::to_string(*per_round.begin()) + " times"
                                                 : "several times") +
                          " a round)";
  reporter_.say(
      "sweep " + ex_.sweep_id + ", plan " + ex_.plan + ": " + std::to_string(cells_.size()) +
      " cells" + (twins ? " + " + std::to_string(twins) + " A/A twins" : "") + " x " +
      std::to_string(o_.rounds) + " rounds" + several + " = " + std::to_string(summary_.planned) +
      " runs, seed " + std::to_string(seed_) + (o_.note.empty() ? "" : " (" + o_.note + ")") +
      (already ? " (" + std::to_string(already) + " already in the file)" : "") + " -> " + o_.out +
      (launcher_ ? "; mpi cells via " + launcher_->kind + " (" + launcher_->flavour + ")" : ""));
}

std::vector<Unit*> Runner::all_units() {
  std::vector<Unit*> all;
  for (auto& u : units_) all.push_back(&u);
  return all;
}

// One pass: every unit of `todo` once, in the round's shuffled order (grouped into launches
// with ExecOptions::batch), after the capacity check.
void Runner::pass(const std::vector<Unit*>& todo, int round) {
  std::vector<int> slots, per;
  std::vector<std::string> keys;
  for (const Unit* u : todo) {
    slots.push_back(round < o_.rounds ? u->slot : 0);
    per.push_back(round < o_.rounds ? u->per_round() : 1);
    keys.push_back(launch_key(*u));
  }
  const auto groups = launch_groups(spread_order(seed_, round, slots, per), keys, o_.batch);
  bool checked = !o_.capacity;
  for (const auto& indices : groups) {
    std::vector<Unit*> group;
    for (std::size_t i : indices) {
      if (!done_.has(*todo[i], round)) {
        group.push_back(todo[i]);
        continue;
      }
      reporter_.skip();
      ++summary_.skipped;
    }
    if (group.empty()) continue;
    if ((summary_.interrupted = interrupt_signal())) return;
    if (!checked) {
      check_capacity(round);
      checked = true;
    }
    run_group(group, round);
    if (summary_.interrupted) return;
  }
}

// One launch's runs: each alone (one launch per run) or together (ExecOptions::batch).
void Runner::run_group(const std::vector<Unit*>& group, int round) {
  if (o_.batch) {
    summary_.interrupted = ex_.run_batch(group, round, reporter_, summary_.failures, summary_.ran);
    return;
  }
  for (Unit* u : group) {
    if ((summary_.interrupted = interrupt_signal())) return;
    if ((summary_.interrupted = ex_.run(*u, round, reporter_, summary_.failures))) return;
    ++summary_.ran;
  }
}

// What a launch fixes (ExecOptions::batch): the mode, the binding, the launcher's words and
// environment.
std::string Runner::launch_key(const Unit& u) const {
  const Cell& c = u.cell->cell;
  const CellLaunch launch = cell_launch(c, ex_.launcher, ex_.cpus.cpus, ex_.cpus.cores);
  std::string key = c.mode + "\n" + c.pin + "\n" + join(launch.prefix, " ");
  for (const auto& [k, v] : launch.env) key += "\n" + k + "=" + v;
  return key;
}

// The capacity check at the start of a round: threads and forked processes on every CPU of the
// sweep, appended to /capacity.
void Runner::check_capacity(int round) {
  std::vector<Capacity> checks;
  for (const char* mode : {"threads", "processes"})
    checks.push_back(measure_capacity(mode, ex_.cpus.cpus));
  const record::Table rows = capacity_rows(checks, {ex_.sweep_id, ex_.plan, round});
  record::append(ex_.out, file_provenance(),
                 {record::GroupRows{"capacity", "check", rows, "", ""}});
  char line[200];
  std::snprintf(line, sizeof line,
                "round %d: capacity check, a team on all %d CPUs did the work of %.2f CPUs as "
                "threads, %.2f as "
                "processes",
                round + 1, ex_.cpus.cpus, checks[0].capacity, checks[1].capacity);
  reporter_.say(line);
}

// One more run of the cells a disturbance covered in every round (ExecOptions::rerun_disturbed).
// Returns the number of the pass after it.
int Runner::rerun_disturbed(int next_round) {
  if (!o_.rerun_disturbed || summary_.interrupted || done_.last_round >= o_.rounds)
    return next_round;
  const auto so_far = units_so_far(ex_.out, ex_.plan, units_);
  std::vector<Unit*> todo;
  for (std::size_t i = 0; i < units_.size(); ++i)
    if (units_[i].slot == 0 && units_[i].cell->request.reps >= kRerunMinReps &&
        so_far[i].undisturbed < record::kMinClean)
      todo.push_back(&units_[i]);
  if (todo.empty()) return next_round;
  reporter_.say(std::to_string(todo.size()) + " cell(s) had fewer than " +
                std::to_string(record::kMinClean) +
                " repetitions without disturbance in every round: one more run each");
  reporter_.add_total(static_cast<int>(todo.size()));
  pass(todo, next_round);
  return next_round + 1;
}

// --target-ci: extra passes over the cells whose interval is still too wide.
void Runner::reach_target(int next_round) {
  for (int round = next_round;; ++round) {
    const auto so_far = units_so_far(ex_.out, ex_.plan, units_);
    std::vector<Unit*> todo;
    for (std::size_t i = 0; i < units_.size(); ++i) {
      if (units_[i].slot != 0) continue;
      judge(units_[i], so_far[i].times, o_);
      if (!units_[i].finished) todo.push_back(&units_[i]);
    }
    if (todo.empty() || summary_.interrupted) break;
    reporter_.add_total(static_cast<int>(todo.size()));
    pass(todo, round);
    if (summary_.interrupted) break;
  }
  if (!summary_.interrupted) report_target();
}

// How many cells reached --target-ci, then each cell's interval.
void Runner::report_target() {
  int reached = 0, judged = 0;
  for (const auto& u : units_) {
    reached += u.slot == 0 && u.reached ? 1 : 0;
    judged += u.slot == 0 ? 1 : 0;
  }
  char line[200];
  std::snprintf(line, sizeof line,
                "target: 95 %% interval of the median within +-%g %%, at most %s per cell: %d of "
                "%d reached it",
                100 * o_.target_ci, human_seconds(o_.max_time_s).c_str(), reached, judged);
  reporter_.say(line);
  for (const auto& u : units_)
    if (u.slot == 0) reporter_.say("  " + target_line(u));
}

}  // namespace

Summary run_cells(const std::vector<ExecCell>& cells, const ExecOptions& o, Reporter& reporter) {
  Runner runner(cells, o, reporter);
  return runner.run();
}

}  // namespace corescope::sweep
