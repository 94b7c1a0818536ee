// `corescope isolate`: the fault-isolation experiment (docs/isolation.md). For every mode and
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

#include "backends/processes/supervisor.hpp"
#include "cli/commands.hpp"
#include "cli/isolate_trial.hpp"
#include "cli/table_printer.hpp"
#include "core/errors.hpp"
#include "core/isolation.hpp"
#include "core/machine.hpp"
#include "core/mode.hpp"
#include "core/platform.hpp"
#include "record/run_rows.hpp"
#include "core/text.hpp"
#include "record/recorder.hpp"
#include "sweep/child.hpp"
#include "sweep/launch.hpp"

namespace corescope::cli {

namespace {
using isolation::Fault;

struct IsolateOptions {
  std::string kernel, fault, modes, out = "isolation.h5", size = "S", mem_limit = "0", leak_rate = "128M";
  int victim = 1, workers = 4, trials = 1, warmup = 2;
  double run_seconds = 3.0, inject_at = 0.5, timeout = 0.0;
  bool quiet = false;
};

// The team side of one trial (hidden subcommand, started by run_trial).
struct TrialOptions {
  std::string kernel, mode, size = "S", fault, report, channel, run_seconds = "3", inject_at = "0.5",
              leak_rate = "0", mem_limit = "0", watchdog = "0";
  int workers = 2, warmup = 2, victim = 0;
};

// The modes `isolate` runs when --modes is left out: every mode built that has a team of
// separate workers in one layer (serial has one worker; hybrid mixes two layers).
std::vector<std::string> default_modes() {
  std::vector<std::string> names;
  for (const auto& m : modes())
    if (m.built && m.name != "serial" && m.name != "hybrid") names.push_back(m.name);
  return names;
}

double parse_seconds(const std::string& text, const std::string& what) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(v)) throw UsageError(what + " " + text + ": not a number");
  return v;
}

std::string self_exe() {
  std::error_code ec;
  const auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw RuntimeFailure("cannot find this corescope binary (/proc/self/exe)");
  return p.string();
}

int run_trial_team(const TrialOptions& o) {
  platform::disable_core_dumps();
  const KernelInfo& kernel = find_kernel(o.kernel);
  const ModeInfo& mode_info = find_mode(o.mode);
  isolation::Plan plan;
  plan.fault = isolation::parse_fault(o.fault);
  plan.victim = o.victim;
  plan.run_s = parse_seconds(o.run_seconds, "--run-seconds");
  plan.inject_s = parse_seconds(o.inject_at, "--inject-at");
  plan.leak_bytes_per_s = parse_seconds(o.leak_rate, "--leak-rate");
  plan.mem_limit_bytes = static_cast<std::int64_t>(parse_count(o.mem_limit, "--mem-limit"));
  plan.report_path = o.report;
  isolation::activate(plan);  // run_worker() now runs the isolation loop, here and in forks
  const KernelInfo faulty = isolation::with_fault(kernel, *isolation::active_plan());

  RunSpec spec;
  spec.kernel = kernel.name;
  spec.mode = mode_info.name;
  spec.workers = o.workers;
  spec.size_label = o.size;
  spec.channel = o.channel.empty() && !mode_info.channels.empty() ? mode_info.channels.front() : o.channel;
  spec.command = "corescope isolate-trial";
  if (!mode_info.needs_launcher) {
    spec.ranks = mode_info.name == "processes" ? spec.workers : 1;
    spec.threads_per_rank = mode_info.name == "processes" ? 1 : spec.workers;
  }
  auto mode = mode_info.make();
  mode->prepare(spec);
  spec.params = make_params(kernel, resolve_size(o.size, kernel), 1, o.warmup, {});
  if (kernel.validate) kernel.validate(spec);

  if (mode_info.name == "processes") {
    // The supervisor's API directly: a death must not abort the survivors (they need no peer
    // after the start line), and the supervisor's own watchdog, just inside isolate's, ends a
    // hung worker so that the supervisor still cleans up its team (temp dir, shared memory).
    isolation::append_supervisor(o.report);
    processes::TeamOptions team;
    team.abort_on_death = false;
    team.timeout_s = parse_seconds(o.watchdog, "--watchdog");
    team.grace_s = 0.5;
    const processes::TeamReport report = processes::run_team(spec, faulty, team);
    for (const auto& w : report.workers) {
      if (w.killed_by_supervisor && report.timed_out)
        isolation::append_ended(o.report, w.worker, "hung: killed by the processes supervisor's watchdog");
      else if (w.end == processes::WorkerEnd::died)
        isolation::append_ended(o.report, w.worker, w.wait_status);
    }
  } else {
    mode->run(spec, faulty);
  }
  return 0;
}

// --- the matrix --------------------------------------------------------------------------------

const record::Column* column(const record::Table& t, const std::string& name) { return t.find(name); }
std::string text_of(const record::Table& t, const std::string& name, std::size_t i) {
  const auto* c = column(t, name);
  if (!c) return "";
  const auto* v = std::get_if<std::vector<std::string>>(&c->values);
  return v && i < v->size() ? (*v)[i] : "";
}
double number_of(const record::Table& t, const std::string& name, std::size_t i) {
  const auto* c = column(t, name);
  if (!c) return NAN;
  if (const auto* d = std::get_if<std::vector<double>>(&c->values)) return i < d->size() ? (*d)[i] : NAN;
  if (const auto* n = std::get_if<std::vector<record::Int>>(&c->values))
    return i < n->size() ? static_cast<double>((*n)[i]) : NAN;
  return NAN;
}
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
void print_trial_line(const std::string& mode, const std::string& fault, int repeat, int trials, int workers,
                      const TrialResult& r) {
  std::printf("isolate: %-9s %-11s trial %d/%d: survivors %d/%d, corrupted %d, killed %d, hung %d, detect %s; victim %s\n",
              mode.c_str(), fault.c_str(), repeat + 1, trials, r.survivors, workers - 1, r.corrupted, r.killed, r.hung,
              r.detect_s >= 0 ? human_seconds(r.detect_s).c_str() : "-", r.victim_outcome.c_str());
  std::fflush(stdout);
}

record::Table trial_row(const IsolateOptions& o, const std::string& mode, int repeat, const TrialSetup& setup,
                        const TrialResult& r, const std::string& isolate_id, const std::string& started,
                        const std::string& command) {
  record::Table t;
  record::TableBuilder b(t);
  b.row();
  b.str("isolate_id", isolate_id, "id of the corescope isolate invocation");
  b.str("started", started, "start time of the trial, ISO 8601 UTC");
  b.str("kernel", o.kernel, "kernel name");
  b.str("mode", mode, "execution mode");
  b.str("fault", isolation::fault_name(setup.plan.fault), "fault injected into the victim");
  b.i64("victim", setup.plan.victim, "", "worker the fault was injected into");
  b.i64("workers", setup.workers, "", "workers in the team");
  b.i64("repeat", repeat, "", "trial number of this mode and fault within the invocation");
  b.str("size", setup.size, "problem size as given");
  b.i64("survivors", r.survivors, "", "other workers that completed and verified their own part");
  b.i64("corrupted", r.corrupted, "", "other workers that completed with a wrong answer (verification caught it)");
  b.i64("killed", r.killed, "", "other workers that ended without completing (killed with the victim or by the launcher)");
  b.i64("hung", r.hung, "", "workers, the victim included, still running when the watchdog fired");
  b.f64("detect_s", r.detect_s, "s", "fault to its first sign outside the victim (death seen, watchdog, failed check); -1 none");
  b.f64("ended_s", r.ended_s, "s", "fault to the end of the trial's last process");
  b.str("victim_outcome", r.victim_outcome, "what happened to the victim");
  b.str("outcomes", r.outcomes, "every worker's end: ok, wrong, failed, hung, died(how), killed(how)");
  b.i64("injected", r.injected ? 1 : 0, "", "1 if the victim reached its fault");
  b.i64("victim_peak_rss_bytes", r.victim_peak_rss, "B", "peak RSS of the victim's process");
  b.i64("victim_peak_rss_growth_bytes", r.victim_growth, "B", "victim's process: peak RSS growth after the start line");
  b.i64("others_peak_rss_bytes", r.others_peak_rss, "B", "largest peak RSS of another worker's process");
  b.i64("others_peak_rss_growth_bytes", r.others_growth, "B",
        "largest peak RSS growth of another worker's process after the start line");
  b.f64("others_peak_rss_growth_frac", r.others_growth_frac, "",
        "largest (peak RSS growth / peak RSS at the start line) over the other workers' processes");
  b.i64("processes", r.processes, "", "distinct processes the workers ran in");
  b.str("pids", r.pids, "process ids of the workers' processes (all gone when the trial ended)");
  b.str("shared_memory", r.shared_memory, "/dev/shm files the team had mapped (all gone when the trial ended)");
  b.i64("exit_code", r.exit_code, "", "exit code of the trial's top process (corescope or the launcher); 128+signal");
  b.i64("timed_out", r.timed_out ? 1 : 0, "", "1 if the watchdog fired");
  b.str("launcher", setup.launcher, "mpirun, mpiexec, srun or none");
  b.str("launch_command", join(setup.launch_prefix, " "), "launcher words before the team's command");
  b.str("slurm_job_id", sweep::launch_env().slurm_job_id, "SLURM_JOB_ID of isolate, if any");
  b.f64("run_s", setup.plan.run_s, "s", "each worker iterates this long after the start line");
  b.f64("inject_s", setup.plan.inject_s, "s", "the fault, this long after the start line");
  b.f64("timeout_s", setup.timeout_s, "s", "watchdog: the trial is killed after this long");
  b.f64("leak_bytes_per_s", setup.plan.fault == Fault::leak ? setup.plan.leak_bytes_per_s : NAN, "B/s", "leak rate");
  b.i64("mem_limit_bytes", setup.plan.mem_limit_bytes, "B", "leak: the victim's process may grow by this much (0 = no cap)");
  b.str("leftovers", r.leftovers, "processes, shared memory, temp files the trial left (removed by isolate)");
  b.str("note", r.note, "the trial's last error line");
  b.str("host", machine().host, "host name");
  b.str("command", command, "command line");
  b.finish();
  return t;
}

int isolate(const IsolateOptions& o, const std::string& command) {
  // Everything is checked before the first trial: bad input is one line and exit 2.
  const KernelInfo& kernel = find_kernel(o.kernel);
  const Fault fault = isolation::parse_fault(o.fault);
  std::vector<std::string> mode_names;
  for (const auto& name : o.modes.empty() ? default_modes() : split(o.modes, ','))
    if (!name.empty() && std::find(mode_names.begin(), mode_names.end(), name) == mode_names.end())
      mode_names.push_back(name);
  if (mode_names.empty()) throw UsageError("--modes is empty");
  std::vector<const ModeInfo*> mode_infos;
  for (const auto& name : mode_names) {
    const ModeInfo& m = find_mode(name);
    if (m.name == "serial") throw UsageError("isolate needs a team of at least 2 workers; serial mode has one");
    if (m.threads_per_rank)
      throw UsageError("isolate does not run " + m.name + " teams (ranks x threads); use mpi and openmp");
    mode_infos.push_back(&m);
  }
  if (o.workers < 2 || o.workers > 256) throw UsageError("--workers " + std::to_string(o.workers) + ": must be between 2 and 256");
  if (o.victim < 0 || o.victim >= o.workers)
    throw UsageError("--victim " + std::to_string(o.victim) + " is out of range: a team of " + std::to_string(o.workers) +
                     " has workers 0.." + std::to_string(o.workers - 1));
  if (fault == Fault::stray_write && o.victim == o.workers - 1)
    throw UsageError("--fault stray-write --victim " + std::to_string(o.victim) +
                     ": the last worker has no neighbour after its slice; pick a victim below " + std::to_string(o.victim));
  const auto mem_limit = static_cast<std::int64_t>(parse_count(o.mem_limit, "--mem-limit"));
  if (mem_limit > 0 && fault != Fault::leak) throw UsageError("--mem-limit only applies to --fault leak");
  const double leak_rate = static_cast<double>(parse_count(o.leak_rate, "--leak-rate"));
  if (fault == Fault::leak && leak_rate < 1024 * 1024) throw UsageError("--leak-rate must be at least 1M (bytes per second)");
  if (o.trials < 1 || o.trials > 1000) throw UsageError("--trials must be between 1 and 1000");
  if (o.warmup < 0 || o.warmup > 1000) throw UsageError("--warmup must be between 0 and 1000");
  if (!(o.run_seconds > 0 && o.run_seconds <= 600)) throw UsageError("--run-seconds must be > 0 and <= 600");
  if (!(o.inject_at >= 0 && o.inject_at < o.run_seconds)) throw UsageError("--inject-at must be >= 0 and below --run-seconds");
  const double timeout = o.timeout > 0 ? o.timeout : o.run_seconds + 7.0;
  if (!(timeout > o.run_seconds && timeout <= 3600))
    throw UsageError("--timeout must be above --run-seconds (" + human_seconds(o.run_seconds) + ") and at most 3600 s");
  if (fault == Fault::leak && mem_limit == 0) {
    const double leaked = leak_rate * (o.run_seconds - o.inject_at);
    const std::int64_t avail = platform::available_memory_bytes();
    if (avail > 0 && leaked > 0.5 * static_cast<double>(avail))
      throw UsageError("the leak would take " + human_bytes(leaked) + " of " + human_bytes(static_cast<double>(avail)) +
                       " available memory; lower --leak-rate or set --mem-limit");
  }
  const std::size_t size = resolve_size(o.size, kernel);
  {
    RunSpec check;
    check.kernel = kernel.name;
    check.workers = o.workers;
    check.params = make_params(kernel, size, 1, o.warmup, {});
    if (kernel.validate) kernel.validate(check);
    isolation::Plan probe;
    isolation::with_fault(kernel, probe);  // UsageError for a kernel without verify_local
  }
  record::check_output(o.out);

  // How each mode's team is started: in-process modes directly, mpi under its launcher.
  std::map<std::string, sweep::CellLaunch> launches;
  std::map<std::string, std::string> launcher_names;
  for (const ModeInfo* m : mode_infos) {
    sweep::Cell cell;
    cell.kernel = kernel.name;
    cell.mode = m->name;
    cell.workers = o.workers;
    cell.ranks = m->needs_launcher ? o.workers : 1;
    cell.threads = 1;
    cell.launched = m->needs_launcher;
    cell.pin = "none";
    std::unique_ptr<sweep::Launcher> launcher;
    if (m->needs_launcher) launcher = std::make_unique<sweep::Launcher>(sweep::find_launcher("auto", ""));
    launches[m->name] = sweep::cell_launch(cell, launcher.get(), machine().pus, machine().cores);
    launcher_names[m->name] = launcher ? launcher->kind : "none";
  }

  sweep::install_interrupt_handlers();
  const std::string exe = self_exe(), isolate_id = new_run_id();
  for (int repeat = 0; repeat < o.trials; ++repeat) {
    for (const ModeInfo* m : mode_infos) {
      TrialSetup setup;
      setup.self_exe = exe;
      setup.kernel = kernel.name;
      setup.mode = m->name;
      setup.size = o.size;
      setup.workers = o.workers;
      setup.warmup = o.warmup;
      setup.plan.fault = fault;
      setup.plan.victim = o.victim;
      setup.plan.run_s = o.run_seconds;
      setup.plan.inject_s = o.inject_at;
      setup.plan.leak_bytes_per_s = leak_rate;
      setup.plan.mem_limit_bytes = mem_limit;
      setup.timeout_s = timeout;
      setup.launch_prefix = launches[m->name].prefix;
      setup.env = launches[m->name].env;
      setup.launcher = launcher_names[m->name];
      const std::string started = iso_now();
      const TrialResult r = run_trial(setup);
      record::Table row = trial_row(o, m->name, repeat, setup, r, isolate_id, started, command);
      record::append(o.out, file_provenance(), {{"isolation", "trial", row, "", ""}});
      if (!o.quiet) print_trial_line(m->name, o.fault, repeat, o.trials, o.workers, r);
    }
  }
  if (!o.quiet) {
    std::printf("\n");
    print_isolation_matrix(record::read_group(o.out, "isolation"), isolate_id);
    std::printf("(%d trial(s) appended to %s, group /isolation)\n", o.trials * static_cast<int>(mode_infos.size()),
                o.out.c_str());
  }
  return 0;
}
}  // namespace

void print_isolation_matrix(const record::Table& t, const std::string& isolate_id) {
  struct Cell {
    std::string mode, fault;
    std::vector<std::size_t> rows;
  };
  std::vector<Cell> cells;
  for (std::size_t i = 0; i < t.rows(); ++i) {
    if (!isolate_id.empty() && text_of(t, "isolate_id", i) != isolate_id) continue;
    const std::string mode = text_of(t, "mode", i), fault = text_of(t, "fault", i);
    auto it = std::find_if(cells.begin(), cells.end(), [&](const Cell& c) { return c.mode == mode && c.fault == fault; });
    if (it == cells.end()) cells.push_back({mode, fault, {i}});
    else it->rows.push_back(i);
  }
  std::printf("Isolation (a fault in worker `victim`; counts are of the other workers, medians over trials):\n");
  TextTable table({"mode", "fault", "trials", "workers", "survivors", "corrupted", "killed", "hung", "detect",
                   "victim peak", "others' growth", "exit", "victim"});
  for (const Cell& c : cells) {
    auto median = [&](const std::string& name) {
      std::vector<double> v;
      for (std::size_t i : c.rows) v.push_back(number_of(t, name, i));
      return median_of(v);
    };
    std::map<std::string, int> victim_texts;
    std::vector<std::string> exits;
    for (std::size_t i : c.rows) {
      ++victim_texts[text_of(t, "victim_outcome", i)];
      const std::string e = count_text(number_of(t, "exit_code", i));
      if (std::find(exits.begin(), exits.end(), e) == exits.end()) exits.push_back(e);
    }
    const auto common = std::max_element(victim_texts.begin(), victim_texts.end(),
                                         [](const auto& a, const auto& b) { return a.second < b.second; });
    const double growth = median("others_peak_rss_growth_bytes"), frac = median("others_peak_rss_growth_frac");
    std::string growth_text = bytes_text(growth);
    if (std::isfinite(frac)) growth_text += " (" + count_text(std::round(frac * 1000) / 10) + "%)";
    const double others = median("workers") - 1;
    table.add({c.mode, c.fault, std::to_string(c.rows.size()), count_text(median("workers")),
               count_text(median("survivors")) + "/" + count_text(others), count_text(median("corrupted")),
               count_text(median("killed")), count_text(median("hung")), seconds_text(median("detect_s")),
               bytes_text(median("victim_peak_rss_bytes")), growth_text, join(exits, ","),
               common == victim_texts.end() ? "" : common->first});
  }
  table.print();
}

void add_isolate(CLI::App& app, const std::string& command_line, int& exit_code) {
  auto o = std::make_shared<IsolateOptions>();
  CLI::App* sub = app.add_subcommand(
      "isolate", "Inject a fault into one worker of a team, in each mode, and record what happened to the others");
  sub->add_option("-k,--kernel", o->kernel, "kernel (one that can check a worker's part alone: triad, dgemm)")->required();
  sub->add_option("-f,--fault", o->fault, "crash | abort | exit | leak | stray-write | hang")->required();
  sub->add_option("--victim", o->victim, "worker the fault goes into")->capture_default_str();
  sub->add_option("--modes", o->modes, "comma-separated modes (default: every mode built but serial and hybrid)");
  sub->add_option("-w,--workers", o->workers, "workers per team")->capture_default_str();
  sub->add_option("--trials", o->trials, "trials per mode")->capture_default_str();
  sub->add_option("-o,--out", o->out, "HDF5 results file to append the trials to (/isolation)")->capture_default_str();
  sub->add_option("-s,--size", o->size, "problem size (a count or S/M/L)")->capture_default_str();
  sub->add_option("--warmup", o->warmup, "warm-up iterations before the start line")->capture_default_str();
  sub->add_option("--run-seconds", o->run_seconds, "every worker iterates this long after the start line")
      ->capture_default_str();
  sub->add_option("--inject-at", o->inject_at, "the fault, this many seconds after the start line")->capture_default_str();
  sub->add_option("--timeout", o->timeout, "watchdog per trial in seconds (default: --run-seconds + 7)");
  sub->add_option("--leak-rate", o->leak_rate, "leak: bytes per second (K/M/G suffixes)")->capture_default_str();
  sub->add_option("--mem-limit", o->mem_limit,
                  "leak: cap on the victim's process, bytes it may grow by after the fault (RLIMIT_AS; 0 = none)")
      ->capture_default_str();
  sub->add_flag("-q,--quiet", o->quiet, "print nothing but errors");
  sub->callback([o, command_line, &exit_code] { exit_code = isolate(*o, command_line); });

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
  trial->add_option("--watchdog", t->watchdog);
  trial->callback([t, &exit_code] { exit_code = run_trial_team(*t); });
}

}  // namespace corescope::cli
