// `corescope isolate`: the fault-isolation experiment (docs/user/isolation.md). For every mode and
// trial, one team runs in its own process group with one fault injected into the victim; the
// supervisor records what happened to every worker as one row of /isolation. The hidden
// `isolate-trial` subcommand is the team side of one trial.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>

#include "backends/registry.hpp"
#include "cli/commands.hpp"
#include "cli/lock_option.hpp"
#include "cli/table_printer.hpp"
#include "cli/vocabulary.hpp"
#include "core/errors.hpp"
#include "core/machine.hpp"
#include "core/mode.hpp"
#include "core/platform.hpp"
#include "record/run_rows.hpp"
#include "core/text.hpp"
#include "isolate/fault.hpp"
#include "isolate/rows.hpp"
#include "isolate/team.hpp"
#include "isolate/trial.hpp"
#include "kernels/registry.hpp"
#include "record/recorder.hpp"
#include "sweep/child.hpp"
#include "sweep/launch.hpp"
#include "sweep/plan.hpp"

namespace corescope::cli {

namespace {
using isolation::Fault;
using isolation::TrialResult;
using isolation::TrialSetup;

struct IsolateOptions {
  std::string kernel, fault, modes, out = "isolation.h5", size = "S", mem_limit = "0",
                                    leak_rate = "128M";
  std::string workers_text = "4";   // checked as run and sweep check a team size
  std::vector<std::string> params;  // -p KEY=VALUE for the kernel
  int victim = 1, workers = 4, trials = 1, warmup = 2;
  double run_seconds = 3.0, inject_at = 0.5, timeout = 0.0;
  bool quiet = false;
};

// The team side of one trial (hidden subcommand, started by run_trial).
struct TrialOptions {
  std::string kernel, mode, size = "S", fault, report, channel, run_seconds = "3",
                            inject_at = "0.5", leak_rate = "0", mem_limit = "0", watchdog = "0";
  std::vector<std::string> params;
  int workers = 2, warmup = 2, victim = 0;
};

// The modes `isolate` runs when --modes is left out: every mode built that it supports (a team
// of separate workers in one layer: ModeInfo::isolate).
std::vector<std::string> default_modes() {
  std::vector<std::string> names;
  for (const auto& m : modes())
    if (m.built && m.isolate) names.push_back(m.name);
  return names;
}

double parse_seconds(const std::string& text, const std::string& what) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(v))
    throw UsageError(what + " " + text + ": not a number");
  return v;
}

std::string self_exe() {
  std::error_code ec;
  const auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw RuntimeFailure("cannot find this corescope binary (/proc/self/exe)");
  return p.string();
}

int run_trial_team(const TrialOptions& o) {
  isolation::TeamSide side;
  side.kernel = o.kernel;
  side.mode = o.mode;
  side.size = o.size;
  side.channel = o.channel;
  side.params = o.params;
  side.workers = o.workers;
  side.warmup = o.warmup;
  side.plan.fault = isolation::parse_fault(o.fault);
  side.plan.victim = o.victim;
  side.plan.run_s = parse_seconds(o.run_seconds, "--run-seconds");
  side.plan.inject_s = parse_seconds(o.inject_at, "--inject-at");
  side.plan.leak_bytes_per_s = parse_seconds(o.leak_rate, "--leak-rate");
  side.plan.mem_limit_bytes = static_cast<std::int64_t>(parse_count(o.mem_limit, "--mem-limit"));
  side.plan.report_path = o.report;
  side.watchdog_s = parse_seconds(o.watchdog, "--watchdog");
  isolation::run_team_side(side);
  return 0;
}

// --- the matrix --------------------------------------------------------------------------------

double median_of(std::vector<double> v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return !(x >= 0); }), v.end());
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
std::string count_text(double x) {
  if (!std::isfinite(x)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, x == std::floor(x) ? "%.0f" : "%.1f", x);
  return buf;
}
std::string seconds_text(double s) { return std::isfinite(s) ? human_seconds(s) : "-"; }
std::string bytes_text(double b) { return std::isfinite(b) ? human_bytes(b) : "-"; }

// One line per trial while isolate runs.
void print_trial_line(const std::string& mode, const std::string& fault, int repeat, int trials,
                      int workers, const TrialResult& r) {
  std::printf(
      "isolate: %-9s %-11s trial %d/%d: survivors %d/%d, corrupted %d, killed %d, hung %d, detect "
      "%s; victim %s\n",
      mode.c_str(), fault.c_str(), repeat + 1, trials, r.survivors, workers - 1, r.corrupted,
      r.killed, r.hung, r.detect_s >= 0 ? human_seconds(r.detect_s).c_str() : "-",
      r.victim_outcome.c_str());
  std::fflush(stdout);
}

// An isolate is one kernel at one size and team size (several: `corescope sweep --fault`), in
// the words run and sweep use for them.
IsolateOptions one_of_each(const IsolateOptions& given) {
  IsolateOptions o = given;
  require_one(Term::kernel, o.kernel, "isolate");
  sweep::size_list(require_one(Term::size, o.size, "isolate"), "--size");
  for (const auto& p : o.params) require_one(Term::param, p, "isolate");
  o.workers = sweep::worker_count(require_one(Term::workers, o.workers_text, "isolate"),
                                  "--workers", platform::allowed_cpu_count());
  return o;
}

// The modes --modes names (the default set when none), each able to run a fault trial.
std::vector<const ModeInfo*> checked_modes(const IsolateOptions& o, Fault fault) {
  std::vector<std::string> mode_names;
  for (const auto& name : o.modes.empty() ? default_modes() : split(o.modes, ','))
    if (!name.empty() && std::find(mode_names.begin(), mode_names.end(), name) == mode_names.end())
      mode_names.push_back(name);
  if (mode_names.empty()) throw UsageError("--modes is empty");
  std::vector<const ModeInfo*> mode_infos;
  for (const auto& name : mode_names) {
    const ModeInfo& m = find_mode(name);
    if (m.single_worker())
      throw UsageError("isolate needs a team of at least 2 workers; " + m.name + " mode has one");
    // Python modes run when named: their driver runs the isolation loop (docs/user/python.md).
    if (!m.isolate && !m.python)
      throw UsageError("isolate does not run " + m.name +
                       " teams (only modes of separate workers in one layer: " +
                       join(default_modes(), ", ") + ", and the Python modes by name)");
    if (m.python && fault == Fault::stray_write)
      throw UsageError("--fault stray-write: mode " + m.name +
                       " has none (a Python worker cannot write past its own array); its faults: "
                       "crash, abort, exit, leak, hang");
    mode_infos.push_back(&m);
  }
  return mode_infos;
}

// The fault plan the options describe, every value checked; the trial's own fields are left.
struct CheckedPlan {
  isolation::Plan plan;
  double timeout_s = 0;
};
CheckedPlan checked_plan(const IsolateOptions& o, Fault fault) {
  if (o.workers < 2 || o.workers > 256)
    throw UsageError("--workers " + std::to_string(o.workers) + ": must be between 2 and 256");
  if (o.victim < 0 || o.victim >= o.workers)
    throw UsageError("--victim " + std::to_string(o.victim) + " is out of range: a team of " +
                     std::to_string(o.workers) + " has workers 0.." +
                     std::to_string(o.workers - 1));
  if (fault == Fault::stray_write && o.victim == o.workers - 1)
    throw UsageError("--fault stray-write --victim " + std::to_string(o.victim) +
                     ": the last worker has no neighbour after its slice; pick a victim below " +
                     std::to_string(o.victim));
  const auto mem_limit = static_cast<std::int64_t>(parse_count(o.mem_limit, "--mem-limit"));
  if (mem_limit > 0 && fault != Fault::leak)
    throw UsageError("--mem-limit only applies to --fault leak");
  const double leak_rate = static_cast<double>(parse_count(o.leak_rate, "--leak-rate"));
  if (fault == Fault::leak && leak_rate < 1024 * 1024)
    throw UsageError("--leak-rate must be at least 1M (bytes per second)");
  if (o.trials < 1 || o.trials > 1000) throw UsageError("--trials must be between 1 and 1000");
  if (o.warmup < 0 || o.warmup > 1000) throw UsageError("--warmup must be between 0 and 1000");
  if (!(o.run_seconds > 0 && o.run_seconds <= 600))
    throw UsageError("--run-seconds must be > 0 and <= 600");
  if (!(o.inject_at >= 0 && o.inject_at < o.run_seconds))
    throw UsageError("--inject-at must be >= 0 and below --run-seconds");
  const double timeout = o.timeout > 0 ? o.timeout : o.run_seconds + 7.0;
  if (!(timeout > o.run_seconds && timeout <= 3600))
    throw UsageError("--timeout must be above --run-seconds (" + human_seconds(o.run_seconds) +
                     ") and at most 3600 s");
  if (fault == Fault::leak && mem_limit == 0) {
    const double leaked = leak_rate * (o.run_seconds - o.inject_at);
    const std::int64_t avail = platform::available_memory_bytes();
    if (avail > 0 && leaked > 0.5 * static_cast<double>(avail))
      throw UsageError("the leak would take " + human_bytes(leaked) + " of " +
                       human_bytes(static_cast<double>(avail)) +
                       " available memory; lower --leak-rate or set --mem-limit");
  }
  CheckedPlan c;
  c.plan.fault = fault;
  c.plan.victim = o.victim;
  c.plan.run_s = o.run_seconds;
  c.plan.inject_s = o.inject_at;
  c.plan.leak_bytes_per_s = leak_rate;
  c.plan.mem_limit_bytes = mem_limit;
  c.timeout_s = timeout;
  return c;
}

// The kernel in each team, made as the trial will make it (bad parameters are one line now).
void check_teams(const IsolateOptions& o, const KernelInfo& kernel,
                 const std::vector<const ModeInfo*>& mode_infos) {
  for (const ModeInfo* m : mode_infos) {
    RunRequest request;
    request.workers = o.workers;
    request.size = o.size;
    request.reps = 1;
    request.warmup = o.warmup;
    request.params = o.params;
    const RunSpec spec = make_run_spec(*m, kernel, request);
    if (kernel.validate) kernel.validate(spec);
    if (m->python) m->make()->prepare(spec);  // the interpreter and the driver are there
  }
}

// How each mode's team is started: in-process modes directly, mpi under its launcher.
struct TeamStart {
  sweep::CellLaunch launch;
  std::string launcher = "none";
};
std::map<std::string, TeamStart> team_starts(const IsolateOptions& o, const KernelInfo& kernel,
                                             const std::vector<const ModeInfo*>& mode_infos) {
  std::map<std::string, TeamStart> starts;
  for (const ModeInfo* m : mode_infos) {
    const TeamShape shape = m->shape(TeamAsk{.workers = o.workers});
    sweep::Cell cell;
    cell.kernel = kernel.name;
    cell.mode = m->name;
    cell.workers = shape.workers;
    cell.ranks = shape.ranks;
    cell.threads = shape.threads_per_rank;
    cell.launched = m->needs_launcher;
    cell.pin = "none";
    std::unique_ptr<sweep::Launcher> launcher;
    if (m->needs_launcher)
      launcher = std::make_unique<sweep::Launcher>(sweep::find_launcher("auto", ""));
    starts[m->name] = {sweep::cell_launch(cell, launcher.get(), machine().pus, machine().cores),
                       launcher ? launcher->kind : "none"};
  }
  return starts;
}

int isolate(const IsolateOptions& o, const std::string& command) {
  // Everything is checked before the first trial: bad input is one line and exit 2.
  const KernelInfo& kernel = find_kernel(o.kernel);
  const Fault fault = isolation::parse_fault(o.fault);
  const std::vector<const ModeInfo*> mode_infos = checked_modes(o, fault);
  const CheckedPlan checked = checked_plan(o, fault);
  check_teams(o, kernel, mode_infos);
  isolation::require_local_verification(kernel);
  record::check_output(o.out);
  const std::map<std::string, TeamStart> starts = team_starts(o, kernel, mode_infos);

  sweep::install_interrupt_handlers();
  const std::string exe = self_exe(), isolate_id = new_run_id();
  for (int repeat = 0; repeat < o.trials; ++repeat) {
    for (const ModeInfo* m : mode_infos) {
      TrialSetup setup;
      setup.self_exe = exe;
      setup.kernel = kernel.name;
      setup.mode = m->name;
      setup.memory_model = memory_name(m->memory);
      setup.size = o.size;
      setup.params = o.params;
      setup.workers = o.workers;
      setup.warmup = o.warmup;
      setup.plan = checked.plan;
      setup.timeout_s = checked.timeout_s;
      setup.launch_prefix = starts.at(m->name).launch.prefix;
      setup.env = starts.at(m->name).launch.env;
      setup.launcher = starts.at(m->name).launcher;
      const std::string started = iso_now();
      const TrialResult r = isolation::run_trial(setup);
      const record::Table row =
          isolation::trial_row(setup, r, {isolate_id, started, repeat, command});
      record::append(o.out, file_provenance(), {{"isolation", "trial", row, "", ""}});
      if (!o.quiet) print_trial_line(m->name, o.fault, repeat, o.trials, o.workers, r);
    }
  }
  if (!o.quiet) {
    std::printf("\n");
    print_isolation_matrix(record::read_group(o.out, "isolation"), {.isolate_id = isolate_id});
    std::printf("(%d trial(s) appended to %s, group /isolation)\n",
                o.trials * static_cast<int>(mode_infos.size()), o.out.c_str());
  }
  return 0;
}
}  // namespace

namespace {
// A trial's team as summary's filter sees a cell: kernel, mode, workers, size (a class resolved
// for its kernel) and the parameters given.
record::CellConfig trial_config(const record::Table& t, std::size_t i) {
  record::CellConfig c{
      .kernel = t.text("kernel", i), .mode = t.text("mode", i), .workers = t.integer("workers", i)};
  try {  // the parameters with their defaults filled in, as a run records them
    const KernelInfo& k = find_kernel(c.kernel);
    c.size = static_cast<record::Int>(resolve_size(t.text("size", i), k));
    std::vector<std::string> given = split(t.text("params", i), ' ');
    std::erase(given, "");
    c.params = to_json(make_params(k, static_cast<std::size_t>(c.size), 1, 0, given).values);
  } catch (
      const UsageError&) {  // a kernel or parameter this build lacks, or a size it does not read
  }
  return c;
}
}  // namespace

void print_isolation_matrix(const record::Table& t, const IsolationView& view) {
  struct Cell {
    std::string mode, fault;
    std::vector<std::size_t> rows;
  };
  std::vector<Cell> cells;
  for (std::size_t i = 0; i < t.rows(); ++i) {
    if (!view.isolate_id.empty() && t.text("isolate_id", i) != view.isolate_id) continue;
    if (view.keeps && !view.keeps(trial_config(t, i))) continue;
    const std::string mode = t.text("mode", i), fault = t.text("fault", i);
    auto it = std::find_if(cells.begin(), cells.end(),
                           [&](const Cell& c) { return c.mode == mode && c.fault == fault; });
    if (it == cells.end())
      cells.push_back({mode, fault, {i}});
    else
      it->rows.push_back(i);
  }
  std::printf(
      "Isolation (a fault in worker `victim`; counts are of the other workers, medians over "
      "trials):\n");
  std::vector<std::string> header = {"mode", "fault", "trials"};
  if (view.wide) header.push_back("workers");
  for (const char* h : {"survivors", "corrupted", "killed", "hung", "detect"}) header.push_back(h);
  if (view.wide)
    for (const char* h : {"victim peak", "others' growth", "exit"}) header.push_back(h);
  header.push_back("victim");
  TextTable table(header);
  for (const Cell& c : cells) {
    auto median = [&](const std::string& name) {
      std::vector<double> v;
      for (std::size_t i : c.rows) v.push_back(t.number(name, i));
      return median_of(v);
    };
    std::map<std::string, int> victim_texts;
    std::vector<std::string> exits;
    for (std::size_t i : c.rows) {
      ++victim_texts[t.text("victim_outcome", i)];
      const std::string e = count_text(t.number("exit_code", i));
      if (std::find(exits.begin(), exits.end(), e) == exits.end()) exits.push_back(e);
    }
    const auto common =
        std::max_element(victim_texts.begin(), victim_texts.end(),
                         [](const auto& a, const auto& b) { return a.second < b.second; });
    const double growth = median("others_peak_rss_growth_bytes"),
                 frac = median("others_peak_rss_growth_frac");
    std::string growth_text = bytes_text(growth);
    if (std::isfinite(frac)) growth_text += " (" + count_text(std::round(frac * 1000) / 10) + "%)";
    const double others = median("workers") - 1;
    std::vector<std::string> row = {c.mode, c.fault, std::to_string(c.rows.size())};
    if (view.wide) row.push_back(count_text(median("workers")));
    for (auto& x : {count_text(median("survivors")) + "/" + count_text(others),
                    count_text(median("corrupted")), count_text(median("killed")),
                    count_text(median("hung")), seconds_text(median("detect_s"))})
      row.push_back(x);
    if (view.wide)
      for (auto& x : {bytes_text(median("victim_peak_rss_bytes")), growth_text, join(exits, ",")})
        row.push_back(x);
    const std::string victim = common == victim_texts.end() ? "" : common->first;
    row.push_back(view.wide ? victim : victim.substr(0, victim.find_first_of(":,")));
    table.add(row);
  }
  table.print();
}

void add_isolate(CLI::App& app, const std::string& command_line, int& exit_code) {
  auto o = std::make_shared<IsolateOptions>();
  CLI::App* sub = app.add_subcommand("isolate",
                                     "Inject a fault into one worker of a team, in each mode, and "
                                     "record what happened to the others");
  add_term(sub, Term::kernel, o->kernel,
           "kernel (one that can check a worker's part alone: triad, dgemm)")
      ->required();
  sub->add_option("-f,--fault", o->fault, "crash | abort | exit | leak | stray-write | hang")
      ->required();
  sub->add_option("--victim", o->victim, "worker the fault goes into")->capture_default_str();
  add_term(sub, Term::mode, o->modes,
           "comma-separated modes (default: every mode built but serial and hybrid; the Python "
           "modes py-threads, "
           "py-processes, py-pool when named)");
  add_term(sub, Term::workers, o->workers_text, "workers per team")->capture_default_str();
  sub->add_option("--trials", o->trials, "trials per mode")->capture_default_str();
  sub->add_option("-o,--out", o->out, "HDF5 results file to append the trials to (/isolation)")
      ->capture_default_str();
  add_term(sub, Term::size, o->size, "problem size (a count or S/M/L)")->capture_default_str();
  add_term(sub, Term::param, o->params,
           "kernel parameter KEY=VALUE (repeat for more; corescope list)");
  sub->add_option("--warmup", o->warmup, "warm-up iterations before the start line")
      ->capture_default_str();
  sub->add_option("--run-seconds", o->run_seconds,
                  "every worker iterates this long after the start line")
      ->capture_default_str();
  sub->add_option("--inject-at", o->inject_at, "the fault, this many seconds after the start line")
      ->capture_default_str();
  sub->add_option("--timeout", o->timeout,
                  "watchdog per trial in seconds (default: --run-seconds + 7)");
  sub->add_option("--leak-rate", o->leak_rate, "leak: bytes per second (K/M/G suffixes)")
      ->capture_default_str();
  sub->add_option("--mem-limit", o->mem_limit,
                  "leak: cap on the victim's process, bytes it may grow by after the fault "
                  "(RLIMIT_AS; 0 = none)")
      ->capture_default_str();
  sub->add_flag("-q,--quiet", o->quiet, "print nothing but errors");
  add_lock_timeout_option(sub);
  sub->callback(
      [o, command_line, &exit_code] { exit_code = isolate(one_of_each(*o), command_line); });

  auto t = std::make_shared<TrialOptions>();
  CLI::App* trial = app.add_subcommand("isolate-trial", "the team of one isolate trial (internal)");
  trial->group("");  // hidden: started by isolate only
  trial->add_option("--kernel", t->kernel)->required();
  trial->add_option("--mode", t->mode)->required();
  trial->add_option("--workers", t->workers);
  trial->add_option("--size", t->size);
  trial->add_option("--warmup", t->warmup);
  trial->add_option("--fault", t->fault)->required();
  trial->add_option("--victim", t->victim);
  trial->add_option("--run-seconds", t->run_seconds);
  trial->add_option("--inject-at", t->inject_at);
  trial->add_option("--leak-rate", t->leak_rate);
  trial->add_option("--mem-limit", t->mem_limit);
  trial->add_option("--report", t->report)->required();
  trial->add_option("--channel", t->channel);
  trial->add_option("--param", t->params)->allow_extra_args(false);
  trial->add_option("--watchdog", t->watchdog);
  trial->callback([t, &exit_code] { exit_code = run_trial_team(*t); });
}

}  // namespace corescope::cli
