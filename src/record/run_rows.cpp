// Rows of /runs and /samples from a RunResult; the column names are the HDF5 contract
// (docs/user/results-format.md) — add columns freely, rename none without a schema_version bump.
#include "record/run_rows.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>

#include "core/disturbance.hpp"
#include "core/machine.hpp"
#include "core/platform.hpp"
#include "core/speed_probe.hpp"
#include "core/text.hpp"

namespace corescope {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr const char* kMemoryModelDoc =
    "how the team's memory is laid out: shared, private (a process per worker) or per-rank";

double median(std::vector<double> v) {
  if (v.empty()) return kNaN;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// The team's memory with each process counted once (each worker samples its whole process, so
// only thread 0 of each process contributes), from the last repetition, where PSS is read.
struct Footprint {
  std::int64_t pss = -1;          // sum of PSS over the team's processes
  std::int64_t base_pss = -1;     // the same before the kernel's setup: the runtime alone
  std::int64_t per_process = -1;  // base_pss / processes
  std::int64_t stacks = -1;       // resident thread stacks of all workers
};
Footprint footprint(const RunResult& r) {
  Footprint f;
  int last = -1;
  for (const auto& s : r.samples) last = std::max(last, s.rep);
  std::map<int, const Sample*> process;  // rank -> its thread 0's last sample
  std::int64_t stacks = 0;
  for (const auto& s : r.samples) {
    if (s.rep != last) continue;
    stacks = (stacks < 0 || s.stack_bytes < 0) ? -1 : stacks + s.stack_bytes;
    if (s.thread == 0) process[s.rank] = &s;
  }
  if (last < 0) return f;
  f.stacks = stacks;
  if (static_cast<int>(process.size()) != std::max(1, r.spec.ranks))
    return f;  // a process is missing
  std::int64_t pss = 0, base = 0;
  for (const auto& [rank, s] : process) {
    pss = (pss < 0 || s->pss_bytes < 0) ? -1 : pss + s->pss_bytes;
    base = (base < 0 || s->base_pss_bytes < 0) ? -1 : base + s->base_pss_bytes;
  }
  f.pss = pss;
  f.base_pss = base;
  f.per_process = base < 0 ? -1 : base / static_cast<std::int64_t>(process.size());
  return f;
}

// Where the team ran: the host of a sample's rank (the gathered host where a launcher's ranks
// reported theirs, else this host), and per host the processes' memory summed.
const std::string& host_of(const RunResult& r, int rank, const std::string& local) {
  const auto i = static_cast<std::size_t>(rank);
  return rank >= 0 && i < r.rank_hosts.size() && !r.rank_hosts[i].empty() ? r.rank_hosts[i] : local;
}

struct NodeSplit {
  std::int64_t nodes = -1, ranks_per_node = -1;  // -1: no samples
  std::int64_t peak_rss_max_node = -1;           // largest per-host sum of the processes' peak RSS
  std::int64_t pss_max_node = -1;                // largest per-host sum of PSS (last repetition)
};
NodeSplit node_split(const RunResult& r, const std::string& local) {
  NodeSplit n;
  if (r.samples.empty()) return n;
  int last = -1;
  for (const auto& s : r.samples) last = std::max(last, s.rep);
  struct Process {
    std::int64_t peak = -1, pss = -1;
  };
  std::map<std::string, std::map<int, Process>> hosts;  // host -> rank -> its memory
  for (const auto& s : r.samples) {
    Process& p = hosts[host_of(r, s.rank, local)][s.rank];
    p.peak = std::max(p.peak, s.peak_rss_bytes);
    if (s.rep == last && s.thread == 0) p.pss = s.pss_bytes;
  }
  // A sum with a missing part (-1) is missing.
  const auto sum = [](std::int64_t a, std::int64_t b) {
    return a < 0 || b < 0 ? std::int64_t{-1} : a + b;
  };
  n.nodes = static_cast<std::int64_t>(hosts.size());
  n.ranks_per_node = n.peak_rss_max_node = n.pss_max_node = 0;
  for (const auto& [host, ranks] : hosts) {
    std::int64_t peak = 0, pss = 0;
    for (const auto& [rank, p] : ranks) {
      peak = sum(peak, p.peak);
      pss = sum(pss, p.pss);
    }
    n.ranks_per_node =
        std::max<std::int64_t>(n.ranks_per_node, static_cast<std::int64_t>(ranks.size()));
    n.peak_rss_max_node =
        (n.peak_rss_max_node < 0 || peak < 0) ? -1 : std::max(n.peak_rss_max_node, peak);
    n.pss_max_node = (n.pss_max_node < 0 || pss < 0) ? -1 : std::max(n.pss_max_node, pss);
  }
  return n;
}

// The facts of the run the disturbance rule needs. A run that did not say where its team ran
// (a test, a sweep's row for a cell that never ran) is taken as an in-process team on the CPUs
// this process may use, as `corescope run` counts them.
disturbance::Context disturbance_context(const RunResult& r) {
  disturbance::Context c;
  c.oversubscribed = r.oversubscribed;
  c.local_workers = r.local_workers > 0 ? r.local_workers : std::max(1, r.spec.workers);
  c.team_cpus =
      r.team_cpus > 0 ? r.team_cpus : std::min(machine().pus, platform::allowed_cpu_count());
  c.host_cpus = platform::online_cpu_count();
  c.tick_s = platform::clock_tick_seconds();
  c.own_window = !r.spec.pooled_samples;
  return c;
}
}  // namespace

Headline headline(const RunResult& r) {
  Headline h;
  std::map<int, double> per_rep;  // rep -> max over workers
  for (const auto& s : r.samples) {
    auto [it, fresh] = per_rep.emplace(s.rep, s.wall_s);
    if (!fresh) it->second = std::max(it->second, s.wall_s);
    h.peak_rss_bytes = std::max(h.peak_rss_bytes, s.peak_rss_bytes);
  }
  std::vector<double>& times = h.times;
  for (const auto& [rep, t] : per_rep) times.push_back(t);
  h.wall_s_median = median(times);
  h.wall_s_min = times.empty() ? kNaN : *std::min_element(times.begin(), times.end());
  h.wall_s_max = times.empty() ? kNaN : *std::max_element(times.begin(), times.end());
  h.gbytes_per_s = r.cost.bytes > 0 ? r.cost.bytes / h.wall_s_median / 1e9 : kNaN;
  h.gflops_per_s = r.cost.flops > 0 ? r.cost.flops / h.wall_s_median / 1e9 : kNaN;
  return h;
}

std::string new_run_id() {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<std::uint64_t>(rd()) << 32) ^ rd());
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(gen()),
                static_cast<unsigned long long>(gen()));
  return buf;
}

RunProvenance this_provenance() {
  const MachineInfo& m = machine();
  const BuildInfo& b = build_info();
  return {m.host,     m.cpu_model, b.software_version, b.git_commit,
          b.compiler, b.cxx_flags, b.build_type};
}

std::vector<record::GroupRows> result_rows(const RunResult& r) {
  return result_rows(r, this_provenance());
}

std::vector<record::GroupRows> result_rows(const RunResult& r, const std::string& host) {
  RunProvenance p;
  p.host = host;
  return result_rows(r, p);
}

namespace {
using record::TableBuilder;

// /runs, the columns of what was asked: the kernel, the team, the size, the mode's settings.
void spec_columns(TableBuilder& b, const RunResult& r) {
  const RunSpec& s = r.spec;
  b.str("run_id", r.run_id, "unique id of the run");
  b.str("kernel", s.kernel, "kernel name");
  b.str("mode", s.mode, "execution mode");
  b.i64("workers", s.workers, "", "workers in the team (ranks x threads_per_rank)");
  b.i64("ranks", s.ranks, "", "OS processes in the team");
  b.i64("threads_per_rank", s.threads_per_rank, "", "threads per process");
  b.str("memory_model", s.memory_model, kMemoryModelDoc);
  b.i64("size", static_cast<record::Int>(s.params.size), "",
        "problem size of the team, in the kernel's unit");
  b.str("size_label", s.size_label, "size as requested (class S/M/L or a count)");
  b.str("scaling", s.scaling, "strong (fixed total size) or weak (fixed size per worker)");
  b.i64("reps", s.params.reps, "", "timed repetitions");
  b.i64("warmup", s.params.warmup, "", "untimed warm-up iterations");
  b.str("channel", s.channel, "point-to-point channel of the mode");
  // Recorded as the spec has them: NaN / "" for modes without a GIL (make_run_spec sets that).
  b.f64("switch_interval_s", s.switch_interval_s, "s", "GIL switch interval");
  b.str("gil_release", s.gil_release, "what runs with the GIL released");
  b.str("gil_policy", s.gil_policy, "who gets the GIL when it is released (cpython, fifo)");
  // Python modes (docs/user/python.md): "" / -1 for every other mode.
  b.str("python", s.python, "interpreter of a Python mode (py-threads, py-processes, py-pool)");
  b.str("python_version", r.python_version, "version the interpreter reported");
  b.i64("python_gil", r.python_gil, "",
        "1: the interpreter ran with a GIL, 0: free-threaded, -1: not a Python run");
  b.str("start_method", s.start_method, "multiprocessing start method (py-processes, py-pool)");
}

// /runs, the columns of what came out: verification, times, rates, memory, where it ran.
void result_columns(TableBuilder& b, const RunResult& r, const RunProvenance& p) {
  const Headline h = headline(r);
  b.i64("verified", r.verified ? 1 : 0, "", "1 if every worker's verification passed");
  b.str("status", r.status, "ok, failed or incomplete");
  b.str("error", r.error, "first error, if any");
  b.f64("verify_error", r.verify_error, "", "kernel-defined distance from the reference");
  b.f64("wall_s_median", h.wall_s_median, "s",
        "median over repetitions of the slowest worker's wall time");
  b.f64("wall_s_min", h.wall_s_min, "s", "fastest repetition (slowest worker)");
  b.f64("wall_s_max", h.wall_s_max, "s", "slowest repetition (slowest worker)");
  b.f64("gbytes_per_s", h.gbytes_per_s, "GB/s", "bytes moved per iteration / wall_s_median");
  b.f64("gflops_per_s", h.gflops_per_s, "GFLOP/s", "flops per iteration / wall_s_median");
  b.f64("bytes_per_iteration", r.cost.bytes, "B", "kernel's declared bytes per iteration");
  b.f64("flops_per_iteration", r.cost.flops, "", "kernel's declared flops per iteration");
  b.i64("peak_rss_bytes", h.peak_rss_bytes, "B", "largest peak RSS of any process of the team");
  const Footprint fp = footprint(r);
  b.i64("footprint_pss_bytes", fp.pss, "B",
        "sum of PSS over the team's processes, each counted once (last repetition)");
  b.i64(
      "runtime_overhead_bytes", fp.per_process, "B",
      "PSS per process before the kernel's setup: the runtime's own footprint with no kernel data");
  b.i64("runtime_footprint_pss_bytes", fp.base_pss, "B",
        "sum of PSS over the team's processes before the kernel's setup");
  b.i64("thread_stacks_bytes", fp.stacks, "B",
        "resident bytes of all workers' thread stacks (last repetition)");
  const NodeSplit nodes = node_split(r, p.host);
  b.i64("nodes", nodes.nodes, "", "distinct hosts the team's processes ran on (/samples host)");
  b.i64("ranks_per_node", nodes.ranks_per_node, "", "most processes of the team on one host");
  b.i64("peak_rss_max_node_bytes", nodes.peak_rss_max_node, "B",
        "largest sum over one host's processes of their peak RSS");
  b.i64("footprint_pss_max_node_bytes", nodes.pss_max_node, "B",
        "largest sum over one host's processes of their PSS (last repetition)");
}

// /runs, the columns of the context: when, which build, which launcher and sweep, the command,
// then the kernel's own metrics.
void context_columns(TableBuilder& b, const RunResult& r, const RunProvenance& p) {
  const RunSpec& s = r.spec;
  b.str("started", r.started, "start time, ISO 8601 UTC");
  b.str("host", p.host, "host name of the writing process");
  b.str("cpu_model", p.cpu_model, "CPU model of the writing host");
  b.str("software_version", p.software_version, "corescope version that ran this run");
  b.str("git_commit", p.git_commit, "git describe of the build that ran this run");
  b.str("compiler", p.compiler, "compiler of the build that ran this run");
  b.str("cxx_flags", p.cxx_flags, "C++ flags of the build that ran this run");
  b.str("build_type", p.build_type, "CMake build type of the build that ran this run");
  b.str("launcher", r.launcher, "mpirun, mpiexec, srun or none");
  b.str("slurm_job_id", r.slurm_job_id, "SLURM_JOB_ID, if any");
  b.str("mpi_thread_level", r.mpi_thread_level, "thread level MPI provided (mpi, hybrid)");
  b.str("team_memory", r.team_memory,
        "how the kernel's team memory was provided: heap, shm, mpi-shm (one node), mpi-rma (across "
        "nodes); "
        "\"\" if it used none");
  b.i64("oversubscribed", r.oversubscribed ? 1 : 0, "", "1 if workers exceed the hardware threads");
  b.f64("load_1m", r.load_1m, "", "1-minute load average of the machine when the run started");
  b.str("probe_kind", kSpeedProbeKind,
        "the speed probe behind /samples/probe_s; probes are compared only within one kind");
  b.str("mpi_flavour", r.mpi_flavour, "MPI library of the run: OpenMPI or MPICH (mpi, hybrid)");
  b.str("launch_command", r.launch_command,
        "launcher words corescope sweep put before corescope run");
  b.str("slurm_step_id", r.slurm_step_id, "SLURM_STEP_ID, if any");
  b.str("slurm_nodelist", r.slurm_nodelist, "SLURM_JOB_NODELIST, if any");
  b.i64("slurm_ntasks", r.slurm_ntasks, "", "tasks of the Slurm step or job (-1 outside Slurm)");
  b.i64("slurm_cpus_per_task", r.slurm_cpus_per_task, "", "SLURM_CPUS_PER_TASK (-1 if not set)");
  b.str("sweep_id", s.sweep_id, "id of the corescope sweep invocation that ran this cell");
  b.str("launch_id", s.launch_id,
        "id of the sweep's launch (process, or mpirun and its ranks) that ran this run: runs of "
        "one launch share it (sweep --batch); empty outside sweeps");
  b.str("sweep_plan", s.sweep_plan, "hash of the sweep's plan (cells, reps, warm-up)");
  b.str("cell", s.cell, "the sweep cell: kernel/mode/team/scaling/size/pin");
  b.str("pin", s.pin, "binding the sweep arranged: none, cores or one");
  b.i64("round", s.round.round, "",
        "the sweep's round of this run, 0-based (rounds and up: extra runs; -1 none)");
  b.i64("rounds", s.round.rounds, "",
        "rounds the sweep planned for this cell: its rounds x the cell's runs per round (-1 "
        "outside rounds)");
  b.i64("round_seed", s.round.seed, "", "seed of the rounds' shuffled orders (-1 outside rounds)");
  b.i64("twin", s.round.twin, "",
        "1 for the A/A twin of its cell (same configuration, same rounds), else 0");
  b.f64("target_ci", s.round.target_ci, "",
        "the sweep's --target-ci: wanted half-width of the median's 95 % interval / median");
  b.str("command", s.command, "command line");
  b.str("params", to_json(s.params.values), "kernel parameters as JSON");
  for (const auto& m : r.metrics) {
    b.f64(m.name, m.value, m.units, m.long_name);
    b.role(m.name, record::kRoleKernelMetric);
  }
}

// /samples: one row per worker and repetition.
record::Table sample_rows(const RunResult& r, const RunProvenance& p) {
  record::Table samples;
  TableBuilder t(samples);
  const disturbance::Context context = disturbance_context(r);
  for (const auto& x : r.samples) {
    t.row();
    t.i64("run", 0, "", "row of /runs this sample belongs to");
    t.i64("rep", x.rep, "", "repetition");
    t.i64("worker", x.worker, "", "worker id in the team");
    t.i64("rank", x.rank, "", "process index in the team");
    t.i64("thread", x.thread, "", "thread index in the process");
    t.str("host", host_of(r, x.rank, p.host), "host name of the worker's process");
    t.i64("cpu", x.cpu, "", "CPU the worker ran on at the end of the repetition");
    t.i64("cpu_start", x.cpu_start, "",
          "CPU the worker ran on when the repetition's clock started");
    // Where that CPU sits, from this host's topology (samples of ranks on other hosts: -1).
    const bool here = host_of(r, x.rank, p.host) == p.host;
    t.i64("numa", here ? numa_of_cpu(x.cpu) : -1, "",
          "NUMA domain of cpu (hwloc's logical index; -1: unknown or another host)");
    t.i64("package", here ? package_of_cpu(x.cpu) : -1, "",
          "package (socket) of cpu (hwloc's logical index; -1: unknown or another host)");
    t.f64("wall_s", x.wall_s, "s", "wall time of the repetition");
    t.f64("cpu_s", x.cpu_s, "s", "CPU time of the worker's thread");
    t.f64("compute_s", x.compute_s, "s",
          "wall time not spent communicating or waiting for the GIL");
    t.f64("comm_s", x.comm_s, "s", "time in team operations (barrier, allreduce, messages)");
    t.f64("gil_wait_s", x.gil_wait_s, "s", "time waiting to take the GIL");
    t.i64("gil_acquires", x.gil_acquires, "", "GIL acquisitions");
    t.i64("gil_forced_switches", x.gil_forced_switches, "",
          "times this worker was forced to drop the GIL");
    t.i64("gil_voluntary_releases", x.gil_voluntary_releases, "",
          "times this worker released the GIL around a blocking call");
    t.i64("gil_drop_requests", x.gil_drop_requests, "",
          "times this worker, waiting, asked the GIL holder to drop it");
    t.i64("rss_bytes", x.rss_bytes, "B", "resident set size of the process");
    t.i64("peak_rss_bytes", x.peak_rss_bytes, "B", "peak resident set size of the process");
    t.i64("alloc_bytes", x.alloc_bytes, "B", "bytes the kernel allocated for this worker");
    t.i64("minor_faults", x.minor_faults, "", "minor page faults during the repetition");
    t.i64("major_faults", x.major_faults, "", "major page faults during the repetition");
    t.i64("vol_ctx_switches", x.vol_ctx_switches, "",
          "voluntary context switches during the repetition");
    t.i64("invol_ctx_switches", x.invol_ctx_switches, "",
          "involuntary context switches during the repetition");
    t.i64("pss_bytes", x.pss_bytes, "B", "proportional set size of the process (last repetition)");
    t.i64("uss_bytes", x.uss_bytes, "B",
          "unique (private) set size of the process (last repetition)");
    t.i64("stack_bytes", x.stack_bytes, "B",
          "resident bytes of this worker's own thread stack (last repetition)");
    t.i64("base_pss_bytes", x.base_pss_bytes, "B",
          "PSS of the process before the kernel's setup (thread 0 of each process)");
    t.f64("steal_s", x.steal_s, "s",
          "steal time of CPU cpu_start during the repetition (/proc/stat)");
    t.i64("runnable_start", x.runnable_start, "",
          "runnable tasks on the machine just before the repetition (procs_running)");
    t.f64("probe_s", x.probe_s, "s",
          "speed probe just before the repetition (fastest of 3 timings of a fixed chain)");
    t.i64("disturbed", disturbance::classify(x, context), "",
          "disturbance bits: 1 steal, 2 involuntary switches, 4 migration, 8 competing tasks, 16 "
          "off its CPU; 0 clean (docs/noise.md)");
  }
  t.finish();
  return samples;
}
}  // namespace

std::vector<record::GroupRows> result_rows(const RunResult& r, const RunProvenance& p) {
  record::Table runs;
  TableBuilder b(runs);
  b.row();
  spec_columns(b, r);
  result_columns(b, r, p);
  context_columns(b, r, p);
  b.finish();
  return {{"runs", "run", std::move(runs), "", ""},
          {"samples", "sample", sample_rows(r, p), "run", "runs"}};
}

record::Provenance file_provenance() {
  record::Provenance p;
  p.text = provenance_text();
  p.integers = provenance_integers();
  p.reals = {{"timer_resolution_s", machine().timer_resolution_s}};
  return p;
}

std::optional<record::Column> derived_memory_model(const record::Table& runs) {
  const record::Column* mode = runs.find("mode");
  if (runs.find("memory_model") || !mode) return std::nullopt;
  const auto* names = std::get_if<std::vector<std::string>>(&mode->values);
  if (!names) return std::nullopt;
  static const std::map<std::string, std::string> schema1 = {
      {"serial", "shared"},     {"threads", "shared"}, {"gil", "shared"},     {"openmp", "shared"},
      {"processes", "private"}, {"mpi", "private"},    {"hybrid", "per-rank"}};
  std::vector<std::string> values;
  values.reserve(names->size());
  for (const auto& m : *names) {
    const auto it = schema1.find(m);
    values.push_back(it == schema1.end() ? record::kMissingText : it->second);
  }
  return record::Column{"memory_model", "", kMemoryModelDoc, std::move(values)};
}

}  // namespace corescope
