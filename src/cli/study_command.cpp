// `corescope study`: the founding notes' questions as one built-in plan (docs/user/study.md). Its
// groups, one per report section, are expanded into one list of cells with one plan hash and run
// by the plan executor into one HDF5 file: one progress bar, --resume, --dry-run. --budget picks
// the sizes, repetitions and lists of the plan; the groups stay the same.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>

#include "backends/registry.hpp"
#include "kernels/registry.hpp"
#include "cli/cell_view.hpp"
#include "cli/commands.hpp"
#include "cli/lock_option.hpp"
#include "cli/plan_exec.hpp"
#include "cli/vocabulary.hpp"
#include "core/errors.hpp"
#include "core/text.hpp"
#include "sweep/child.hpp"
#include "sweep/plan.hpp"

namespace corescope::cli {

namespace {

// What a budget changes; the plan's groups are the same at every budget.
struct Budget {
  std::string name;
  std::string scaling_kernels;  // beside ep
  int reps = 5, warmup = 1;
  int ep_reps = 5;             // repetitions of the scaling-ep cells (short: 5-10 ms each)
  int ep_runs_per_round = 1;   // runs of each scaling-ep cell in every round
  std::string size;            // triad, reduce, stencil, farm (scaling, memory, farm)
  std::string ep_size;         // ep (scaling, one CPU, GIL)
  std::string pingpong_sizes;  // message sizes (IPC)
  std::string faults;          // isolation
  int trials = 1;
  double run_seconds = 1.0;
  std::string waits;         // iowait waits per iteration (GIL)
  std::string intervals;     // GIL switch intervals (convoy)
  bool every_count = false;  // workers 1, 2, ..., cpus instead of powers of two
  double expected_s = 0;     // the study's running time on the development VM (2 cores)
  std::string py_ep_size;    // ep samples in pure Python (and serial C++ at the same N)
};

const std::vector<Budget>& budgets() {
  // expected_s: wall time of `corescope study --budget NAME` on the 2-core development VM, used
  // to pick a budget from a number of seconds. default (264 s with 3 rounds, the Python groups
  // and ep's scaling cells 4 times a round, since a sweep takes a run's outcome from its output
  // line instead of reading the file back; 409-415 s before that) and test (82 s) were measured
  // (docs/user/study.md); quick and full are estimates from the per-cell times.
  static const std::vector<Budget> b = {
      {.name = "test",
       .scaling_kernels = "triad",
       .reps = 2,
       .warmup = 1,
       .ep_reps = 2,
       .ep_runs_per_round = 1,
       .size = "S",
       .ep_size = "S",
       .pingpong_sizes = "0,64K",
       .faults = "crash,stray-write",
       .trials = 1,
       .run_seconds = 0.5,
       .waits = "8",
       .intervals = "0.001,0.005",
       .every_count = false,
       .expected_s = 90,
       .py_ep_size = "20011"},
      {.name = "quick",
       .scaling_kernels = "triad,reduce,stencil",
       .reps = 3,
       .warmup = 1,
       .ep_reps = 12,
       .ep_runs_per_round = 2,
       .size = "S",
       .ep_size = "1M",
       .pingpong_sizes = "0,64,4K,256K,4M",
       .faults = "crash,leak,stray-write,hang",
       .trials = 1,
       .run_seconds = 0.5,
       .waits = "16",
       .intervals = "0.001,0.005",
       .every_count = false,
       .expected_s = 150,
       .py_ep_size = "20011"},
      {.name = "default",
       .scaling_kernels = "triad,reduce,stencil",
       .reps = 5,
       .warmup = 1,
       .ep_reps = 60,
       .ep_runs_per_round = 4,
       .size = "M",
       .ep_size = "2M",
       .pingpong_sizes = "0,16,256,4K,64K,1M,4M",
       .faults = "crash,leak,stray-write,hang",
       .trials = 1,
       .run_seconds = 1.0,
       .waits = "32",
       .intervals = "0.001,0.005,0.02",
       .every_count = false,
       .expected_s = 270,
       .py_ep_size = "40000"},
      {.name = "full",
       .scaling_kernels = "triad,reduce,stencil",
       .reps = 10,
       .warmup = 2,
       .ep_reps = 60,
       .ep_runs_per_round = 4,
       .size = "M",
       .ep_size = "M",
       .pingpong_sizes = "0:4M",
       .faults = "crash,leak,stray-write,hang",
       .trials = 3,
       .run_seconds = 2.0,
       .waits = "64",
       .intervals = "0.001,0.005,0.02",
       .every_count = true,
       .expected_s = 1500,
       .py_ep_size = "262144"},
  };
  return b;
}

const Budget& pick_budget(const std::string& text) {
  for (const auto& b : budgets())
    if (b.name == text) return b;
  char* end = nullptr;
  const double seconds = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(seconds > 0)) {
    std::vector<std::string> names;
    for (const auto& b : budgets()) names.push_back(b.name);
    throw UsageError("--budget " + text + ": not one of " + join(names, ", ") +
                     " or a number of seconds");
  }
  const Budget* best = &budgets().front();
  for (const auto& b : budgets())
    if (b.expected_s <= seconds) best = &b;
  return *best;
}

// One group of the plan: a matrix of its own, keys as a plan file's.
sweep::Settings group(const std::string& name, const Budget& b, int cpus,
                      const std::vector<std::pair<std::string, std::string>>& keys) {
  sweep::Settings s;
  s.group = name;
  s.reps = b.reps;
  s.warmup = b.warmup;
  for (const auto& [key, value] : keys)
    sweep::apply(s, key, value, "study group " + name + ": " + key, cpus);
  return s;
}

// Worker counts up to the CPUs: powers of two (and the count of CPUs), or every count.
std::string team_sizes(const Budget& b, int cpus) {
  if (!b.every_count) return "pow2";
  std::string out;
  for (int w = 1; w <= cpus; ++w) out += (w > 1 ? "," : "") + std::to_string(w);
  return out;
}

// The modes of a list that this corescope has (mpi and hybrid need MPI at build time).
std::string built(const std::vector<std::string>& names) {
  std::vector<std::string> have;
  for (const auto& m : modes())
    if (m.built && std::find(names.begin(), names.end(), m.name) != names.end())
      have.push_back(m.name);
  return join(have, ",");
}

// Why the Python groups cannot run ("" if they can): the Python modes' default interpreter and
// its NumPy (the driver's array kernels need it).
std::string python_missing() {
  const std::string python = "/usr/bin/python3";
  sweep::ChildOptions options;
  options.timeout_s = 30;
  const sweep::ChildResult r = sweep::run_child({python, "-c", "import numpy"}, options);
  return r.ok() ? "" : python + " cannot import numpy (python3-numpy)";
}

// GIL: CPU-bound and waiting threads with and without the GIL, 1 ... 4 workers; the convoy
// with K = 0, 1, 2 CPU-bound workers beside the I/O worker, at several switch intervals.
void add_gil_groups(sweep::Plan& p, const Budget& b, int cpus) {
  p.groups.push_back(group(
      "gil", b, cpus,
      {{"kernels", "ep"}, {"modes", "gil,threads"}, {"workers", "1,2,3,4"}, {"size", b.ep_size}}));
  p.groups.push_back(group("gil-io", b, cpus,
                           {{"kernels", "iowait"},
                            {"modes", "gil,threads"},
                            {"workers", "1,2,3,4"},
                            {"size", b.waits}}));
  p.groups.push_back(group("convoy", b, cpus,
                           {{"kernels", "convoy"},
                            {"modes", "gil,threads"},
                            {"workers", "1,2,3"},
                            {"size", "S"},
                            {"switch-interval", b.intervals}}));
}

// Isolation: a fault in worker 0 of a team of 2, in every mode isolate runs.
sweep::Settings isolation_group(const Budget& b, int cpus) {
  sweep::Settings iso = group("isolation", b, cpus,
                              {{"kernels", "triad"},
                               {"modes", "all"},
                               {"workers", "2"},
                               {"size", "S"},
                               {"fault", b.faults}});
  iso.reps = b.trials;
  iso.run_seconds = b.run_seconds;
  return iso;
}

// The emulated GIL beside CPython (docs/user/python.md): pure-Python ep in threads and processes at
// 1, 2 workers and serial C++ ep at the same N (what the interpreter costs); the convoy with
// K = 1 and the sleepers at 1, 4 threads (set beside the gil and gil-io groups); the race.
void add_python_groups(sweep::Plan& p, const Budget& b, int cpus) {
  p.groups.push_back(group("python", b, cpus,
                           {{"kernels", "ep"},
                            {"modes", "py-threads,py-processes"},
                            {"workers", "1,2"},
                            {"size", b.py_ep_size}}));  // impl=python, the Python ep's default
  p.groups.push_back(
      group("python-cost", b, cpus,
            {{"kernels", "ep"}, {"modes", "serial"}, {"workers", "1"}, {"size", b.py_ep_size}}));
  p.groups.push_back(
      group("python-convoy", b, cpus,
            {{"kernels", "convoy"}, {"modes", "py-threads"}, {"workers", "2"}, {"size", "S"}}));
  p.groups.push_back(group(
      "python-io", b, cpus,
      {{"kernels", "iowait"}, {"modes", "py-threads"}, {"workers", "1,4"}, {"size", b.waits}}));
  p.groups.push_back(group("python-critical", b, cpus,
                           {{"kernels", "critical"},
                            {"modes", "py-threads,py-processes"},
                            {"workers", "2"},
                            {"size", "S"},
                            {"param", "sync=none"}}));
}

// The plan: one group per section of the report (analysis/corescope_analysis/sections).
sweep::Plan study_plan(const Budget& b, int cpus, bool with_python) {
  const std::string teams = team_sizes(b, cpus), two = "2", cores = std::to_string(cpus);
  const std::string over = std::to_string(2 * cpus);  // more workers than CPUs: oversubscribed
  const std::string shared_and_private = built({"threads", "openmp", "processes", "mpi"});
  sweep::Plan p;
  // Scaling and memory: every built mode, 1 ... CPUs workers, and every ranks x threads split
  // of the CPUs (hybrid).
  p.groups.push_back(group("scaling", b, cpus,
                           {{"kernels", b.scaling_kernels},
                            {"modes", "all"},
                            {"workers", teams},
                            {"cores", cores},
                            {"size", b.size}}));
  // ep's speedups are the study's headline figures and its repetitions are short, so it gets
  // many: with 5 in 3 rounds a 2-worker speedup's interval spanned 0.4-2.8 on a loaded machine;
  // with 60 (20 a round) the machine state both cells of a speedup met holds 20-40 repetitions
  // of each in most pairs, where 30 left it 3-7 at times
  // (docs/measurements/2026-11-26-ep-60-repetitions-and-noise-floor.md). They run as 4 runs a round
  // of 5 each: a run meets one of the machine's states (steady fast, steady slow, or one that
  // changes within a repetition), so a cell's runs, not its repetitions, are what samples them
  // (docs/dev/noise.md, "Runs, not repetitions, sample the machine's states").
  p.groups.push_back(group("scaling-ep", b, cpus,
                           {{"kernels", "ep"},
                            {"modes", "all"},
                            {"workers", teams},
                            {"cores", cores},
                            {"size", b.ep_size},
                            {"reps", std::to_string(b.ep_reps)},
                            {"runs-per-round", std::to_string(b.ep_runs_per_round)}}));
  // IPC: a message-size sweep over every channel of the processes, mpi and threads modes.
  p.groups.push_back(group("ipc", b, cpus,
                           {{"kernels", "pingpong"},
                            {"modes", built({"processes", "mpi", "threads"})},
                            {"workers", two},
                            {"channels", "all"},
                            {"size", b.pingpong_sizes}}));
  add_gil_groups(p, b, cpus);
  // Critical sections: the race and every lock, in shared memory and between processes.
  p.groups.push_back(group("critical", b, cpus,
                           {{"kernels", "critical"},
                            {"modes", shared_and_private},
                            {"workers", two},
                            {"size", "S"},
                            {"param", "sync=none,mutex,atomic,reduce"}}));
  p.groups.push_back(group("critical-omp", b, cpus,
                           {{"kernels", "critical"},
                            {"modes", "openmp"},
                            {"workers", two},
                            {"size", "S"},
                            {"param", "sync=critical"}}));
  // The farm: the queen hands out tasks statically or on demand.
  p.groups.push_back(group("farm", b, cpus,
                           {{"kernels", "farm"},
                            {"modes", shared_and_private},
                            {"workers", teams},
                            {"size", b.size},
                            {"param", "schedule=static,dynamic"}}));
  // One CPU: the whole team pinned to one CPU vs spread, and more workers than CPUs.
  p.groups.push_back(group("one-cpu", b, cpus,
                           {{"kernels", "ep"},
                            {"modes", "threads,processes"},
                            {"workers", "1," + two + "," + over},
                            {"pin", "one,none"},
                            {"size", b.ep_size}}));
  p.groups.push_back(isolation_group(b, cpus));
  if (with_python) add_python_groups(p, b, cpus);
  return p;
}

struct StudyOptions {
  std::string budget = "default", out = "study.h5", mpirun, groups;
  CellViewOptions only;  // -k / -m / -w / -s / -p: the study's cells that summary's filter keeps
  bool resume = false, quiet = false, dry_run = false, batch = false;
};

// A planned cell as the file will record it, for summary's filter.
record::CellConfig as_recorded(const sweep::Cell& c) {
  const KernelInfo& k = find_kernel(c.kernel);
  const ModeInfo& m = find_mode(c.mode);
  const KernelInfo as_run = m.adapt_kernel ? m.adapt_kernel(k) : k;
  auto size = static_cast<record::Int>(resolve_size(c.size, as_run));
  if (c.scaling == "weak") size *= c.workers;
  // Every parameter with its default filled in, as the run records them.
  const Params params = make_params(as_run, static_cast<std::size_t>(size), 1, 0, c.params);
  return {.kernel = c.kernel,
          .mode = c.mode,
          .workers = c.workers,
          .ranks = c.ranks,
          .threads_per_rank = c.threads,
          .size = size,
          .scaling = c.scaling,
          .params = to_json(params.values)};
}

// The cells -k, -m, -w, -s and -p keep (checked as summary checks them); UsageError when none is
// left.
std::vector<sweep::Cell> kept_cells(std::vector<sweep::Cell> cells, const CellViewOptions& only) {
  const CellFilter filter = make_filter(only);
  std::erase_if(cells, [&](const sweep::Cell& c) { return !filter.keeps(as_recorded(c)); });
  if (cells.empty())
    throw UsageError(
        "the study has no cells of the kernels, modes, workers, sizes and parameters asked for "
        "(--dry-run lists them)");
  return cells;
}

int study(const StudyOptions& o) {
  const Budget& b = pick_budget(o.budget);
  sweep::ExecOptions x;
  const std::string no_python = python_missing();
  if (!no_python.empty())
    std::printf(
        "study: the Python groups are left out (%s); the report's CPython section will say no "
        "data\n",
        no_python.c_str());
  sweep::Plan plan = study_plan(b, x.cpus.cpus, no_python.empty());
  if (!o.groups.empty()) {  // a part of the study: the named groups, as the whole study runs them
    std::vector<std::string> names;
    for (const auto& g : plan.groups) names.push_back(g.group);
    const std::vector<std::string> wanted = split(o.groups, ',');
    for (const auto& w : wanted)
      if (std::find(names.begin(), names.end(), w) == names.end())
        throw UsageError("--groups " + w +
                         ": the study has no such group; its groups: " + join(names, ", "));
    std::erase_if(plan.groups, [&](const sweep::Settings& g) {
      return std::find(wanted.begin(), wanted.end(), g.group) == wanted.end();
    });
  }
  const std::vector<sweep::Cell> cells = kept_cells(sweep::expand(plan, x.cpus.cpus), o.only);
  x.plan = sweep::plan_hash(plan, cells);
  x.out = o.out;
  x.resume = o.resume;
  x.quiet = o.quiet;
  x.dry_run = o.dry_run;
  x.mpirun = o.mpirun;
  x.timeout_per_run_s = 300;  // a stuck cell is recorded as failed; the study goes on
  x.batch = o.batch;
  std::map<std::string, int> per_group;
  std::vector<std::string> order;
  for (const auto& c : cells)
    if (per_group[c.group]++ == 0) order.push_back(c.group);
  std::string groups;
  for (const auto& g : order)
    groups += (groups.empty() ? "" : ", ") + g + " " + std::to_string(per_group[g]);
  if (!o.quiet || o.dry_run)
    std::printf(
        "study, budget %s (%d reps, size %s; about %.0f s on a 2-core machine): %zu cells: %s\n",
        b.name.c_str(), b.reps, b.size.c_str(), b.expected_s, cells.size(), groups.c_str());
  std::fflush(stdout);
  const auto t0 = std::chrono::steady_clock::now();
  // A/A twins of two ep cells (serial, and threads on 2 workers), run in the same rounds: the
  // report's noise floor, the smallest difference this machine resolves during the study.
  const auto twin = [](const sweep::Cell& c) {
    return c.group == "scaling-ep" &&
           (c.mode == "serial" || (c.mode == "threads" && c.workers == 2));
  };
  const int status = execute_plan(cells, x, twin);
  if (!o.dry_run && !o.quiet && status < 128)
    std::printf(
        "study %s in %s -> %s; the report: corescope-report %s -o report\n",
        status == 0 ? "done" : "done with failures",
        human_seconds(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count())
            .c_str(),
        o.out.c_str(), o.out.c_str());
  return status;
}

}  // namespace

void add_study(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<StudyOptions>();
  CLI::App* sub = app.add_subcommand("study",
                                     "Run the built-in study of every report section (scaling, "
                                     "memory, IPC, isolation, GIL, critical "
                                     "sections, farm, one CPU) into one file");
  sub->add_option("--budget", o->budget,
                  "test, quick, default (about 5 min on 2 cores) or full; or a number of seconds "
                  "(the largest "
                  "budget measured within it)")
      ->capture_default_str();
  sub->add_option("-o,--out", o->out, "HDF5 results file to append to")->capture_default_str();
  sub->add_flag("--resume", o->resume, "skip the cells of this study already in --out");
  sub->add_flag("--batch", o->batch, kBatchHelp);
  add_term(sub, Term::kernel, o->only.kernels,
           "run only the study's cells of these kernels (comma list)");
  add_term(sub, Term::mode, o->only.modes,
           "run only the study's cells of these modes (comma list)");
  add_term(sub, Term::workers, o->only.workers,
           "run only the study's cells of these team sizes (comma list; 2x2 for hybrid)");
  add_term(
      sub, Term::size, o->only.sizes,
      "run only the study's cells of these sizes (comma list; as summary names them, or S/M/L)");
  add_term(sub, Term::param, o->only.params,
           "run only the study's cells whose kernel parameter KEY has VALUE (KEY=VALUE)");
  sub->add_option(
      "--groups", o->groups,
      "run only these groups of the study (comma list, e.g. scaling-ep,ipc; --dry-run lists them)");
  sub->add_option("--mpirun", o->mpirun,
                  "launcher binary for mpi/hybrid cells (default: found for this MPI)");
  sub->add_flag("-q,--quiet", o->quiet, "print nothing but errors");
  sub->add_flag("--dry-run", o->dry_run, "list the cells and their commands, run nothing");
  add_lock_timeout_option(sub);
  sub->callback([o, &exit_code] { exit_code = study(*o); });
}

}  // namespace corescope::cli
