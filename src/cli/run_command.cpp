// `corescope run`: one kernel on one mode, appended to the results file and printed as a table.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "kernels/registry.hpp"
#include "backends/registry.hpp"
#include "cli/cell_view.hpp"
#include "cli/commands.hpp"
#include "cli/lock_option.hpp"
#include "cli/table_printer.hpp"
#include "cli/vocabulary.hpp"
#include "core/errors.hpp"
#include "core/launch_env.hpp"
#include "core/machine.hpp"
#include "core/mode.hpp"
#include "core/platform.hpp"
#include "core/stats.hpp"
#include "record/run_rows.hpp"
#include "core/text.hpp"
#include "record/h5.hpp"
#include "record/recorder.hpp"
#include "sweep/launch.hpp"
#include "sweep/plan.hpp"
#include "sweep/sweep_lock.hpp"

namespace corescope::cli {

int launcher_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"}) {
    const char* v = std::getenv(name);
    if (v && *v) return std::atoi(v);
  }
  const char* step = std::getenv("SLURM_STEP_ID");
  const char* proc = std::getenv("SLURM_PROCID");
  if (step && proc) return std::atoi(proc);
  return -1;
}

namespace {

struct RunOptions {
  std::string kernel, mode = "serial", size = "M", out = "results.h5", scaling = "strong", channel;
  std::string gil_release = "io", gil_policy = "cpython";
  std::string python, start_method;
  std::string workers_text;  // one team size, checked as sweep checks each of its own
  int workers = 0, threads = 0, reps = 10, warmup = 2;
  double switch_interval = 0.005;
  std::vector<std::string> params;
  // Set by `corescope sweep` for its cells (hidden options).
  std::string sweep_id, sweep_plan, cell, run_id, pin, launch_command, launch_id;
  SweepRound round;
  bool quiet = false;
  CLI::Option *threads_opt = nullptr, *switch_opt = nullptr, *release_opt = nullptr,
              *policy_opt = nullptr, *workers_opt = nullptr, *python_opt = nullptr,
              *start_method_opt = nullptr;
};

int local_workers(const RunSpec& spec, const ModeInfo& mode) {
  if (!mode.needs_launcher) return spec.workers;
  for (const char* name :
       {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_STEP_TASKS_PER_NODE"}) {
    const char* v = std::getenv(name);
    if (v && std::atoi(v) > 0) return std::atoi(v) * spec.threads_per_rank;
  }
  return spec.workers;
}

void check_common(const RunOptions& o, const ModeInfo& mode) {
  if (o.threads_opt->count() && !mode.takes_threads)
    throw UsageError("--threads is for hybrid mode (ranks x threads); with --mode " + mode.name +
                     " use --workers");
  if (o.threads_opt->count() && (o.threads < 1 || o.threads > 1024))
    throw UsageError("--threads " + std::to_string(o.threads) + ": must be between 1 and 1024");
  for (auto* opt : {o.switch_opt, o.release_opt, o.policy_opt})
    if (opt->count() && !mode.gil && !(opt == o.switch_opt && mode.switch_interval))
      throw UsageError(opt->get_name() + " only applies to modes with a GIL (gil" +
                       (opt == o.switch_opt ? ", py-threads)" : ")"));
  if (o.python_opt->count() && !mode.python)
    throw UsageError(
        "--python only applies to the Python modes (py-threads, py-processes, py-pool)");
  if (o.start_method_opt->count() && mode.start_methods.empty())
    throw UsageError(
        "--start-method only applies to modes that start Python processes (py-processes, py-pool)");
  if (o.reps < 1 || o.reps > 1000000) throw UsageError("--reps must be between 1 and 1000000");
  if (o.warmup < 0 || o.warmup > 1000000)
    throw UsageError("--warmup must be between 0 and 1000000");
  if (o.scaling != "strong" && o.scaling != "weak")
    throw UsageError("--scaling must be strong or weak");
  if (!o.channel.empty()) sweep::check_channel(mode, o.channel);
}

void check_memory(const KernelInfo& k, const RunSpec& spec) {
  const double need = k.memory_bytes(spec.params, spec.workers);
  const std::int64_t avail = platform::available_memory_bytes();
  if (avail > 0 && need > 0.9 * static_cast<double>(avail))
    throw UsageError("kernel " + k.name + " with --size " + spec.size_label + " needs " +
                     human_bytes(need) + " but only " + human_bytes(static_cast<double>(avail)) +
                     " of memory is available");
}

// For a run a sweep started: one line on stdout, after the row is in the file, with what the
// sweep would otherwise read back from the file (sweep/sweep_file.cpp, reported_outcome): a read
// that checks the whole file, which grows with every run.
int reports_to_sweep = 0;  // outcome lines printed so far (a batch's runs count them)
void report_to_sweep(const RunResult& r) {
  std::string error = r.error;
  std::replace_if(
      error.begin(), error.end(), [](char c) { return c == '\n' || c == '\t' || c == '\r'; }, ' ');
  std::printf("\n%s\t%s\t%s\t%d\t%.17g\t%s\n", sweep::kRunOutcomeTag, r.run_id.c_str(),
              r.status.c_str(), r.verified ? 1 : 0, headline(r).wall_s_median, error.c_str());
  std::fflush(stdout);
  ++reports_to_sweep;
}

// Runs one size; on the writing process returns the result as recorded (nothing elsewhere).
std::optional<RunResult> execute(const RunOptions& o, const std::string& command_line) {
  const KernelInfo& kernel = find_kernel(o.kernel);
  const ModeInfo& mode_info = find_mode(o.mode);
  check_common(o, mode_info);
  if (!o.pin.empty() && o.pin != "none" && o.pin != "cores" && o.pin != "one")
    throw UsageError("--pin must be none, cores or one");
  // Before any thread or process of the team exists, so that all of them inherit it.
  if (o.pin == "one" && platform::restrict_to_one_cpu() < 0)
    throw RuntimeFailure("--pin one: cannot restrict this process to one CPU");

  RunRequest request;
  request.kernel = kernel.name;
  request.workers = o.workers_opt->count() ? o.workers : 0;
  request.threads = o.threads;
  request.size = o.size;
  request.scaling = o.scaling;
  request.reps = o.reps;
  request.warmup = o.warmup;
  request.params = o.params;
  request.channel = o.channel;
  request.switch_interval_s = o.switch_interval;
  request.gil_release = o.gil_release;
  request.gil_policy = o.gil_policy;
  request.python = o.python;
  request.start_method = o.start_method;
  request.command = command_line;
  request.sweep_id = o.sweep_id;
  request.launch_id = o.launch_id;
  request.sweep_plan = o.sweep_plan;
  request.cell = o.cell;
  request.pin = o.pin;
  request.round = o.round;

  auto mode = mode_info.make();
  const int launched = mode->start();  // MPI modes: init and launcher checks; the world size
  const RunSpec spec = make_run_spec(mode_info, kernel, request, launched);
  mode->prepare(spec);
  if (kernel.validate) kernel.validate(spec);
  mode->agree([&] {
    check_memory(kernel, spec);
    record::check_output(o.out);
  });

  const std::string started = iso_now();
  RunResult result = mode->run(spec, kernel);
  if (!mode->is_writer()) return std::nullopt;  // rank 0 reports for the team

  result.run_id = o.run_id.empty() ? new_run_id() : o.run_id;
  result.started = started;
  result.cost = kernel.measured_cost
                    ? kernel.measured_cost(spec.params, spec.workers, result.metrics)
                    : kernel.cost(spec.params, spec.workers);
  // CPUs the team may use: a launcher may bind each rank to a core of its own, and OMP_PLACES
  // binds even the initial thread (--pin cores), so those count the node; other in-process
  // teams count this process's affinity mask (taskset, cgroups, --pin one).
  const int cpus = o.pin == "one" ? 1
                   : mode_info.needs_launcher || o.pin == "cores"
                       ? machine().pus
                       : std::min(machine().pus, platform::allowed_cpu_count());
  result.local_workers = local_workers(spec, mode_info);
  result.team_cpus = std::max(1, cpus);
  result.oversubscribed = result.local_workers > result.team_cpus;
  // Slurm facts for every mode (a threads cell in a batch job has a job too); the launcher and
  // the MPI library only where a launcher started the team.
  const LaunchEnv launch = launch_env();
  record_slurm(result, launch);
  result.launch_command = o.launch_command;
  if (mode_info.needs_launcher) {
    result.launcher = launch.launcher;
    result.mpi_flavour = mpi_flavour();
  }
  // A cell whose sweep was killed (and may be resumed) must not add a row behind its back.
  if (!o.sweep_id.empty() && !sweep::sweep_alive(o.out, o.sweep_id))
    throw RuntimeFailure("the sweep that started this run has ended; its result is not recorded");
  record::append(o.out, file_provenance(), result_rows(result));
  if (!o.sweep_id.empty()) report_to_sweep(result);
  return result;
}

void check_outcome(const RunResult& r, const std::string& out) {
  if (r.status != "ok") throw RuntimeFailure("run " + r.status + ": " + r.error);
  if (!r.verified)
    throw RuntimeFailure("run not verified: " + r.error + " (recorded in " + out + ")");
}

double metric(const RunResult& r, const std::string& name) {
  for (const auto& m : r.metrics)
    if (m.name == name) return m.value;
  return NAN;
}

// "hybrid 2x1" for a ranks x threads mode, else the mode's name.
std::string team_text(const RunSpec& spec, const ModeInfo& mode) {
  if (!mode.takes_threads) return spec.mode;
  return spec.mode + " " + std::to_string(spec.ranks) + "x" + std::to_string(spec.threads_per_rank);
}

std::string fixed(double v, int digits) {
  if (!std::isfinite(v)) return "-";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// What the run's printout says about a race: whether the workers ran at the same time at all.
// (critical's sync=none: "0 lost" proves nothing when they never did.)
std::string race_note(const RunResult& r) {
  const double fraction = metric(r, "concurrent_fraction"), lost = metric(r, "lost_updates");
  if (!std::isfinite(fraction) || !std::isfinite(lost)) return "";
  const double overlapped = metric(r, "overlapped_iterations"),
               issued = metric(r, "updates_issued");
  char buf[400];
  if (overlapped > 0)
    std::snprintf(
        buf, sizeof buf,
        "race: the workers ran at the same time for %.0f%% of the racy loop (%.0f of %d timed "
        "iterations); %.0f of %.0f updates lost\n",
        100 * fraction, overlapped, r.spec.params.reps, lost, issued);
  else if (lost > 0)
    std::snprintf(buf, sizeof buf,
                  "race: the workers never ran at the same time (one CPU, --pin one or a busy "
                  "machine); the %.0f of "
                  "%.0f updates lost were lost when a worker was descheduled between its load and "
                  "its store\n",
                  lost, issued);
  else
    std::snprintf(buf, sizeof buf,
                  "race: the workers never ran at the same time (one CPU, --pin one, a GIL or a "
                  "busy machine): "
                  "0 lost updates say nothing about whether a lock is needed\n");
  return buf;
}

// The units of work of the kernel's figure of merit in one repetition of this run (as
// cli::merit_units reads them from /runs).
double merit_units_of(const RunResult& r, const Merit& m) {
  if (m.count_column.empty()) return 1.0;
  return m.units(m.count_column == "size" ? static_cast<double>(r.spec.params.size)
                                          : metric(r, m.count_column));
}

// The mode's own figures: the shares of the workers' time spent waiting for the GIL (modes with
// one) and in communication and barriers; "" for a run with neither.
std::string mode_share(const RunResult& r) {
  double wall = 0, gil = 0, comm = 0;
  for (const auto& s : r.samples) {
    wall += s.wall_s;
    gil += s.gil_wait_s;
    comm += s.comm_s;
  }
  if (!(wall > 0) || !(gil > 0 || comm > 0)) return "";
  std::string out = "of the workers' time: ";
  if (gil > 0) out += fixed(100.0 * gil / wall, 1) + "% waiting for the GIL, ";
  return out + fixed(100.0 * comm / wall, 1) + "% in communication and barriers";
}

// The invocation's one table: a row per size with the kernel's figure of merit (pingpong: the
// latency per message, as osu_latency; its bandwidth as the rate), median with its 95 %
// interval, min .. max and n; then the mode's own figure and the file appended to.
void print_results(const std::vector<RunResult>& results, const ModeInfo& mode,
                   const std::string& out) {
  const RunSpec& first = results.front().spec;
  const Merit& merit = find_kernel(first.kernel).merit;
  std::string title = first.kernel + ", " + team_text(first, mode) + ", " +
                      std::to_string(first.workers) + (first.workers == 1 ? " worker" : " workers");
  if (!first.channel.empty() && !mode.channels.empty()) title += ", channel " + first.channel;
  std::printf("%s: %s per %s\n", title.c_str(), merit.name.c_str(),
              merit.rate ? "second" : merit.unit.c_str());
  TextTable t({"size", "n", "median [95% CI]", "min .. max", "rate", "peak RSS", "verified"});
  for (const auto& r : results) {
    const Headline h = headline(r);
    const double units = merit_units_of(r, merit);
    std::vector<double> per_unit;
    for (const double x : h.times) per_unit.push_back(x / units);
    const stats::Interval m =
        per_unit.empty() ? stats::Interval{NAN, NAN, NAN, 0} : stats::median_ci(per_unit);
    const double lo = per_unit.empty() ? NAN : *std::min_element(per_unit.begin(), per_unit.end());
    const double hi = per_unit.empty() ? NAN : *std::max_element(per_unit.begin(), per_unit.end());
    const double bytes = r.cost.bytes / units, flops = r.cost.flops / units;
    t.add({std::to_string(r.spec.params.size), std::to_string(per_unit.size()),
           figure_text(merit, m.point) + " " + figure_interval(merit, m.point, m.lo, m.hi),
           figure_range(merit, m.point, lo, hi),
           format_rate(bytes > 0 ? bytes / m.point / 1e9 : NAN,
                       flops > 0 ? flops / m.point / 1e9 : NAN),
           human_bytes(static_cast<double>(h.peak_rss_bytes)),
           r.verified ? "yes" : (r.status == "ok" ? "NO" : r.status)});
  }
  t.print();
  for (const auto& r : results) std::printf("%s", wrapped(race_note(r), kTextColumns).c_str());
  const RunResult& only = results.front();
  if (const std::string share = mode_share(only);
      !share.empty() && results.size() == 1 && only.spec.workers > 1)
    std::printf("%s\n", share.c_str());
  std::printf("appended to %s\n", out.c_str());
}

// A run is one kernel, mode, channel, team size and value per parameter: several are a sweep.
RunOptions one_of_each(const RunOptions& given) {
  RunOptions o = given;
  require_one(Term::kernel, o.kernel, "run");
  require_one(Term::mode, o.mode, "run");
  require_one(Term::channel, o.channel, "run");
  for (const auto& p : o.params) require_one(Term::param, p, "run");
  if (o.workers_opt->count())
    o.workers = sweep::worker_count(require_one(Term::workers, o.workers_text, "run"), "--workers",
                                    platform::allowed_cpu_count());
  return o;
}

// `--size` may name several sizes, "8,64,1K", or a doubling range, "0:4M" = 0, 1, 2, 4, ... 4M
// (pingpong's message-size sweep): each size is a run of its own with its own /runs row, and the
// invocation prints one table. A failing size is recorded and the others still run; the first
// failure is reported at the end.
int execute_each_size(const RunOptions& given, const std::string& command_line) {
  const RunOptions o = one_of_each(given);
  const std::vector<std::string> sizes = sweep::size_list(o.size, "--size");
  std::vector<RunResult> results;
  std::string first_failure;
  for (const auto& size : sizes) {
    RunOptions one = o;
    one.size = size;
    try {
      const std::optional<RunResult> r = execute(one, command_line);
      if (!r) continue;
      results.push_back(*r);
      check_outcome(*r, o.out);
    } catch (const RuntimeFailure& e) {
      if (sizes.size() == 1 && results.empty()) throw;
      if (first_failure.empty())
        first_failure = (sizes.size() > 1 ? "--size " + size + ": " : "") + e.what();
    }
  }
  if (!o.quiet && !results.empty()) print_results(results, find_mode(o.mode), o.out);
  if (!first_failure.empty()) throw RuntimeFailure(first_failure);
  return 0;
}

// One of a batch's runs, as `corescope run WORDS` would run it (its recorded command is that).
// A run that recorded its row and printed its outcome line (failed or not verified) lets the
// batch go on; any other error ends the batch, and the sweep records the run and starts the rest
// in a new launch.
void batch_run(const std::vector<std::string>& words, const std::string& self, std::size_t index) {
  if (launch_env().launcher_rank <= 0) {
    std::printf("\n%s\t%zu\n", sweep::kRunStartTag, index);
    std::fflush(stdout);
  }
  if (index > 0) record::h5::release_library();
  if (index > 0 && !platform::fresh_memory_accounting())
    throw RuntimeFailure(
        "run-batch: cannot reset the peak RSS (/proc/self/clear_refs) between runs");
  CLI::App app;
  int exit_code = 0;
  add_run(app, self + " run " + join(words, " "), exit_code);
  std::vector<std::string> args = {"run"};
  args.insert(args.end(), words.begin(), words.end());
  std::reverse(args.begin(), args.end());  // CLI11 takes them last first
  const int reported = reports_to_sweep;
  try {
    app.parse(args);
  } catch (const RuntimeFailure&) {
    if (reports_to_sweep == reported) throw;
  } catch (const CLI::ParseError& e) {
    throw UsageError("run-batch: run " + std::to_string(index + 1) + ": " + e.what());
  }
}

}  // namespace

// Hidden: a sweep's launch of several runs (sweep/execution.cpp, ExecOptions::batch).
void add_run_batch(CLI::App& app, const std::string& command_line, int& exit_code) {
  CLI::App* sub = app.add_subcommand("run-batch", "Several runs in one process (for sweeps)");
  sub->group("");
  sub->prefix_command();
  sub->callback([sub, command_line, &exit_code] {
    const std::string self = command_line.substr(0, command_line.find(' '));
    std::vector<std::vector<std::string>> runs(1);
    for (const auto& w : sub->remaining()) {
      if (w == sweep::kBatchSeparator)
        runs.emplace_back();
      else
        runs.back().push_back(w);
    }
    for (std::size_t i = 0; i < runs.size(); ++i) batch_run(runs[i], self, i);
    exit_code = 0;
  });
}

void add_run(CLI::App& app, const std::string& command_line, int& exit_code) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* sub =
      app.add_subcommand("run", "Run one kernel in one mode and append it to the results file");
  add_term(sub, Term::kernel, o->kernel, "kernel (see `corescope list`)")->required();
  add_term(sub, Term::mode, o->mode, "execution mode (see `corescope list`)")
      ->capture_default_str();
  o->workers_opt =
      add_term(sub, Term::workers, o->workers_text,
               "workers (default: hardware threads; under a launcher: ranks x threads)");
  o->threads_opt = sub->add_option("-t,--threads", o->threads,
                                   "OpenMP threads per rank (hybrid mode, default 2)");
  add_term(sub, Term::size, o->size,
           "problem size: a count (K/M/G suffixes) in the kernel's unit, or a class S (tests), "
           "M (>= 4x last-level cache), L (large); a list 8,1K,1M or a doubling range 0:4M "
           "(0, 1, 2, 4, ... 4M) runs each size as a run of its own, printed as one table")
      ->capture_default_str();
  sub->add_option("--scaling", o->scaling,
                  "strong: --size is the team total; weak: --size per worker")
      ->capture_default_str();
  sub->add_option("-r,--reps", o->reps, "timed repetitions")->capture_default_str();
  sub->add_option("--warmup", o->warmup, "untimed warm-up iterations")->capture_default_str();
  add_term(sub, Term::param, o->params, "kernel parameter KEY=VALUE (repeatable)");
  sub->add_option("-o,--out", o->out, "HDF5 results file to append to")->capture_default_str();
  add_term(sub, Term::channel, o->channel,
           "point-to-point channel (the mode's default if omitted)");
  o->switch_opt = sub->add_option("--switch-interval", o->switch_interval,
                                  "gil: GIL switch interval in seconds (0 < s <= 10)")
                      ->capture_default_str();
  o->release_opt = sub->add_option("--gil-release", o->gil_release,
                                   "gil: what runs with the GIL released: none | io | compute")
                       ->capture_default_str();
  o->policy_opt =
      sub->add_option("--gil-policy", o->gil_policy,
                      "gil: who gets a released GIL: cpython (the OS picks) | fifo (arrival order)")
          ->capture_default_str();
  o->python_opt = sub->add_option("--python", o->python,
                                  "Python modes: the interpreter (default /usr/bin/python3)");
  o->start_method_opt = sub->add_option(
      "--start-method", o->start_method,
      "py-processes, py-pool: multiprocessing start method fork (default) | spawn | forkserver");
  sub->add_option(
      "--pin", o->pin,
      "recorded binding: one runs the whole team on one CPU; none and cores are arranged by "
      "corescope sweep (launcher binding, OMP_PROC_BIND/OMP_PLACES)");
  sub->add_flag("-q,--quiet", o->quiet, "do not print the result table");
  add_lock_timeout_option(sub);
  // Hidden: what `corescope sweep` tells its cells (recorded in /runs; docs/user/sweeps.md).
  sub->add_option("--sweep-id", o->sweep_id)->group("");
  sub->add_option("--launch-id", o->launch_id)->group("");
  sub->add_option("--sweep-plan", o->sweep_plan)->group("");
  sub->add_option("--cell", o->cell)->group("");
  sub->add_option("--run-id", o->run_id)->group("");
  sub->add_option("--launch-command", o->launch_command)->group("");
  sub->add_option("--round", o->round.round)->group("");
  sub->add_option("--rounds", o->round.rounds)->group("");
  sub->add_option("--round-seed", o->round.seed)->group("");
  sub->add_option("--twin", o->round.twin)->group("");
  sub->add_option("--target-ci", o->round.target_ci)->group("");
  sub->callback([o, command_line, &exit_code] { exit_code = execute_each_size(*o, command_line); });
}

}  // namespace corescope::cli
