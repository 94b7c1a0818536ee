// One run of a sweep's cell (execution.hpp).
#include "sweep/execution.hpp"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <exception>

#include "backends/registry.hpp"
#include "core/errors.hpp"
#include "core/kernel.hpp"
#include "core/launch_env.hpp"
#include "core/text.hpp"
#include "kernels/registry.hpp"
#include "record/recorder.hpp"
#include "record/run_rows.hpp"
#include "sweep/child.hpp"
#include "sweep/rounds.hpp"
#include "sweep/sweep_file.hpp"
#include "sweep/sweep_lock.hpp"

namespace corescope::sweep {

RunRequest Execution::request(const Unit& u, int round) const {
  RunRequest r = u.cell->request;
  const int planned = u.recorded_rounds(static_cast<int>(rounds.rounds));
  const int recorded = u.recorded_round(round, static_cast<int>(rounds.rounds));
  r.reps = round_reps(r.reps, planned, recorded);
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

std::vector<std::string> Execution::argv(const ExecCell& c, const RunRequest& r,
                                         const std::string& run_id,
                                         const CellLaunch& launch) const {
  std::vector<std::string> a = launch.prefix;
  a.insert(a.end(),
           {self, "run", "-k", r.kernel, "-m", c.cell.mode, "-w", std::to_string(r.workers)});
  if (r.threads > 0) a.insert(a.end(), {"-t", std::to_string(r.threads)});
  a.insert(a.end(), {"-s",
                     r.size,
                     "--scaling",
                     r.scaling,
                     "-r",
                     std::to_string(r.reps),
                     "--warmup",
                     std::to_string(r.warmup),
                     "-o",
                     out,
                     "-q",
                     "--pin",
                     r.pin,
                     "--sweep-id",
                     r.sweep_id,
                     "--sweep-plan",
                     r.sweep_plan,
                     "--cell",
                     r.cell,
                     "--run-id",
                     run_id,
                     "--lock-timeout",
                     std::to_string(record::lock_timeout())});
  if (!r.launch_id.empty()) a.insert(a.end(), {"--launch-id", r.launch_id});
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
  a.insert(a.end(),
           {"--round", std::to_string(r.round.round), "--rounds", std::to_string(r.round.rounds),
            "--round-seed", std::to_string(r.round.seed), "--twin", std::to_string(r.round.twin)});
  if (std::isfinite(r.round.target_ci)) a.insert(a.end(), {"--target-ci", target});
  return a;
}

void Execution::record_failed(const ExecCell& c, RunRequest request, const std::string& run_id,
                              const std::string& started, const std::string& command,
                              const CellLaunch& launch, const std::string& error) const {
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

std::string Execution::label(const Unit& u, int round) const {
  return round < rounds.rounds
             ? u.slot_label() + " round " + std::to_string(round + 1) + "/" +
                   std::to_string(rounds.rounds)
             : u.label() + " extra run " + std::to_string(round + 1 - rounds.rounds);
}

// A run whose child left no outcome line: its row if the file has one; else the failed row,
// recorded here, with the child's own account of how it ended (a file the child found damaged
// ends the sweep instead, with the child's line).
CellOutcome Execution::settle(const ExecCell& c, const RunRequest& request,
                              const std::string& run_id, const std::string& started,
                              const std::string& command, const CellLaunch& launch,
                              const ChildResult& child) const {
  CellOutcome result = find_run(out, run_id);
  if (result.found) return result;
  if (child.exit_code == 2)
    // The results file is damaged where only a writer looks: no cell can be recorded in it,
    // so the sweep stops with the run's own line (exit 2) instead of failing every cell.
    for (const auto& line : split(child.output, '\n'))
      if (const auto at = line.find(" is damaged: "); at != std::string::npos) {
        const std::string prefix = "corescope: error: ";
        throw UsageError(line.rfind(prefix, 0) == 0 ? line.substr(prefix.size()) : line);
      }
  result.error = child.failure_text();
  record_failed(c, request, run_id, started, command, launch, result.error);
  return result;
}

void Execution::conclude(Unit& u, const std::string& label, const CellOutcome& result,
                         double seconds, Reporter& progress,
                         std::vector<std::string>& failures) const {
  Unit& account = u.first ? *u.first : u;
  account.spent_s += seconds;
  ++account.runs;
  std::string outcome;
  if (result.ok && result.verified) {
    outcome = "ok, verified";
    if (std::isfinite(result.wall_s_median))
      outcome += ", median " + human_seconds(result.wall_s_median) + " per repetition";
  } else {
    outcome = result.ok ? "NOT VERIFIED: " + result.error : "FAILED: " + result.error;
    failures.push_back(label + ": " + outcome);
    account.failed = true;
  }
  progress.finish(label, outcome, seconds);
}

int Execution::run(Unit& u, int round, Reporter& progress,
                   std::vector<std::string>& failures) const {
  const ExecCell& c = *u.cell;
  RunRequest request = this->request(u, round);
  const std::string run_id = new_run_id();
  request.launch_id = run_id.substr(0, 16);
  const auto launch = cell_launch(c.cell, launcher, cpus.cpus, cpus.cores);
  const std::vector<std::string> args = argv(c, request, run_id, launch);
  const std::string label = this->label(u, round);
  ChildOptions co;
  co.env = launch.env;
  co.timeout_s = timeout_per_run_s;
  co.tick = [&](double t) { progress.tick(t); };
  const std::string started = iso_now();
  progress.start(label);
  const ChildResult child = run_child(args, co);
  if (child.interrupted_by) {
    interrupted_run_recorded = find_run(out, run_id).found;
    return child.interrupted_by;
  }
  CellOutcome result = reported_outcome(child.output, run_id);
  if (!result.found) result = settle(c, request, run_id, started, join(args, " "), launch, child);
  conclude(u, label, result, child.seconds, progress, failures);
  return 0;
}

namespace {
// One run of a batch: what its launch runs and what came back.
struct BatchRun {
  Unit* unit = nullptr;
  RunRequest request;
  std::string run_id, label, started;
  std::vector<std::string> args;  // the run's own child command, as Execution::argv makes it
  CellOutcome outcome;
  double seconds = 0;
};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
}  // namespace

int Execution::run_batch(const std::vector<Unit*>& units, int round, Reporter& progress,
                         std::vector<std::string>& failures, int& ran) const {
  for (std::size_t next = 0; next < units.size();) {
    const CellLaunch launch = cell_launch(units[next]->cell->cell, launcher, cpus.cpus, cpus.cores);
    std::vector<BatchRun> batch;
    const std::string launch_id = new_run_id().substr(0, 16);
    std::vector<std::string> args = launch.prefix;
    args.insert(args.end(), {self, "run-batch"});
    for (std::size_t i = next; i < units.size(); ++i) {
      BatchRun b{units[i], request(*units[i], round), new_run_id(), label(*units[i], round)};
      b.request.launch_id = launch_id;
      b.args = argv(*b.unit->cell, b.request, b.run_id, launch);
      if (!batch.empty()) args.push_back(kBatchSeparator);
      // argv's words after the launcher's and `corescope run`
      args.insert(args.end(), b.args.begin() + static_cast<long>(launch.prefix.size()) + 2,
                  b.args.end());
      batch.push_back(std::move(b));
    }
    const std::size_t none = batch.size();
    std::size_t current = none;  // the run in progress (its start line came)
    auto since = std::chrono::steady_clock::now();
    ChildOptions co;
    co.env = launch.env;
    co.timeout_s = timeout_per_run_s;  // for each run: its start line restarts the clock
    co.tick = [&](double t) { progress.tick(t); };
    co.on_line = [&](const std::string& line) {
      const std::vector<std::string> f = split(line, '\t');
      if (f.size() == 2 && f[0] == kRunStartTag) {
        current = std::min<std::size_t>(std::strtoull(f[1].c_str(), nullptr, 10), none);
        if (current == none) return false;
        since = std::chrono::steady_clock::now();
        batch[current].started = iso_now();
        progress.start(batch[current].label);
        return true;
      }
      if (current == none || f.empty() || f[0] != kRunOutcomeTag) return false;
      BatchRun& b = batch[current];
      b.outcome = reported_outcome(line, b.run_id);
      b.seconds = seconds_since(since);
      if (b.outcome.found) conclude(*b.unit, b.label, b.outcome, b.seconds, progress, failures);
      return false;
    };
    const ChildResult child = run_child(args, co);
    std::size_t i = 0;
    for (; i < batch.size() && batch[i].outcome.found; ++i) ++ran;
    if (i == batch.size()) return 0;
    // batch[i] is the run the launch ended in (or before): settled alone, the rest relaunched.
    BatchRun& b = batch[i];
    if (child.interrupted_by) {
      interrupted_run_recorded = current == i && find_run(out, b.run_id).found;
      return child.interrupted_by;
    }
    if (current != i) progress.start(b.label);
    if (b.started.empty()) b.started = iso_now();
    b.outcome =
        settle(*b.unit->cell, b.request, b.run_id, b.started, join(b.args, " "), launch, child);
    conclude(*b.unit, b.label, b.outcome, current == i ? seconds_since(since) : 0.0, progress,
             failures);
    ++ran;
    next += i + 1;
  }
  return 0;
}

}  // namespace corescope::sweep
