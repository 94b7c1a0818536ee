// Google Benchmark suite for corescope's kernels:
//   kernel/<kernel>/<mode>/w<N>/<size>[/<key>=<value>]  every kernel x in-process mode x variant,
//       timed through corescope's own run loop (manual time = the per-repetition headline, the
//       slowest worker), with bytes_per_second, items_per_second, flops_per_second and the
//       kernel's metrics (lost_updates, ns_per_update, load_imbalance, ...) as counters
//   harness/direct/<kernel>/<size> and harness/runloop/<kernel>/<size>  the same kernel called
//       straight from Google Benchmark's loop vs through the run loop (serial mode)
//   figures/...  the pairs behind the headline figures: corescope's openmp triad vs a plain
//       `#pragma omp parallel for` triad, ep and stencil parallel efficiency, dgemm vs the naive
//       loop, farm static vs dynamic
// After the run a summary prints the ratios of every pair that ran (harness overhead %, ...).
// Extra flags (before Google Benchmark's own): --corescope_size=S|M|L|<count> for the kernel/
// family (default S) and --corescope_workers=N for the team modes (default 2).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernels/registry.hpp"
#include "backends/registry.hpp"
#include "backends/serial/serial_mode.hpp"
#include "bench/plain_omp_triad.hpp"
#include "core/speed_probe.hpp"
#include "core/errors.hpp"
#include "core/kernel.hpp"
#include "core/machine.hpp"
#include "core/mode.hpp"
#include "core/run.hpp"
#include "core/text.hpp"

namespace corescope::bench {

namespace {

// --- running a kernel ------------------------------------------------------------------------

struct Case {
  const KernelInfo* kernel;
  const ModeInfo* mode;
  int workers;
  std::string size;                 // S / M / L / count
  std::vector<std::string> params;  // key=value
};

RunSpec make_spec(const Case& c, int reps, int warmup) {
  RunRequest request;
  request.workers = c.workers;
  request.size = c.size;
  request.reps = reps;
  request.warmup = warmup;
  request.params = c.params;
  return make_run_spec(*c.mode, *c.kernel, request);
}

// Whether the kernel accepts this combination (a sync=critical outside openmp does not).
bool accepted(const Case& c) {
  try {
    const RunSpec spec = make_spec(c, 1, 1);
    if (c.kernel->validate) c.kernel->validate(spec);
    return true;
  } catch (const UsageError&) {
    return false;
  }
}

// The headline time of each repetition: the slowest worker's wall time, as /runs computes it.
std::vector<double> headline_per_rep(const RunResult& r) {
  std::vector<double> t(static_cast<std::size_t>(r.spec.params.reps), 0.0);
  for (const Sample& s : r.samples) {
    auto& slot = t[static_cast<std::size_t>(s.rep)];
    slot = std::max(slot, s.wall_s);
  }
  return t;
}

RunResult run_once(const Case& c, int reps, int warmup) {
  RunSpec spec = make_spec(c, reps, warmup);
  auto mode = c.mode->make();
  mode->prepare(spec);
  return mode->run(spec, *c.kernel);
}

double items_per_iteration(const KernelInfo& k, const Params& p, int workers) {
  const double n = static_cast<double>(p.size);
  if (k.name == "stencil") return n * n;         // grid points
  if (k.name == "dgemm") return n * n;           // entries of C
  if (k.name == "critical") return n * workers;  // M updates per worker
  return n;                                      // elements, samples, tasks, waits, messages
}

void set_rate_counters(benchmark::State& state, const KernelInfo& k, const Params& p, int workers) {
  const Cost cost = k.cost(p, workers);
  const double iters = static_cast<double>(state.iterations());
  if (cost.bytes > 0) state.SetBytesProcessed(static_cast<std::int64_t>(cost.bytes * iters));
  state.SetItemsProcessed(static_cast<std::int64_t>(items_per_iteration(k, p, workers) * iters));
  if (cost.flops > 0)
    state.counters["flops_per_second"] =
        benchmark::Counter(cost.flops * iters, benchmark::Counter::kIsRate);
}

// Through the run loop: each batch is one corescope run of `batch` repetitions (plus one
// untimed warm-up); the manual time is the sum of their headline times. The batch size is
// calibrated once so a run holds about 0.1 s of kernel time.
void bm_run_loop(benchmark::State& state, const Case& c, std::shared_ptr<int> batch) {
  try {
    if (*batch == 0) {
      const RunResult probe = run_once(c, 1, 1);
      const double t = probe.samples.empty() ? 0.0 : headline_per_rep(probe).front();
      *batch = static_cast<int>(std::clamp(0.1 / std::max(t, 1e-7), 1.0, 200.0));
    }
    RunResult last;
    while (state.KeepRunningBatch(*batch)) {
      last = run_once(c, *batch, 1);
      if (last.status != "ok" || !last.verified) {
        state.SkipWithError(("run " + last.status + ", not verified: " + last.error).c_str());
        break;
      }
      double total = 0;
      for (double t : headline_per_rep(last)) total += t;
      state.SetIterationTime(total);
    }
    if (state.error_occurred()) return;
    set_rate_counters(state, *c.kernel, last.spec.params, c.workers);
    for (const Metric& m : last.metrics) state.counters[m.name] = m.value;
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

// A kernel set up on a SerialWorker (no mode around it), with one warm-up iteration done (as the
// run loop does).
struct DirectKernel {
  DirectKernel(const KernelInfo& k, const std::string& size)
      // Generous reps: kernels size some state by warmup + reps (stencil's amplitude).
      : params(make_params(k, resolve_size(size, k), 100000, 1, {})), kernel(k.make()) {
    kernel->setup(worker, params);
    kernel->iterate(worker);
  }
  Params params;
  SerialWorker worker;
  std::unique_ptr<Kernel> kernel;
};

// A kernel that does nothing: through the run loop its time is the harness's own cost per
// repetition (the clock reads and the virtual call inside the timed region).
class NoopKernel : public Kernel {
 public:
  void setup(Worker&, const Params&) override {}
  void iterate(Worker& w) override { benchmark::DoNotOptimize(&w); }
  Verification verify(Worker&) override { return {true, 0.0, ""}; }
};

const KernelInfo& noop_kernel() {
  static const KernelInfo info = [] {
    KernelInfo k;
    k.name = "noop";
    k.category = "harness";
    k.description = "does nothing (bench only)";
    k.size_unit = "-";
    k.size_for_class = [](SizeClass, const MachineInfo&) -> std::size_t { return 1; };
    k.memory_bytes = [](const Params&, int) { return 0.0; };
    k.cost = [](const Params&, int) { return Cost{}; };
    k.make = [] { return std::make_unique<NoopKernel>(); };
    return k;
  }();
  return info;
}

// Directly: Google Benchmark times iterate() itself.
void bm_direct(benchmark::State& state, const KernelInfo* k, const std::string& size) {
  try {
    DirectKernel d(*k, size);
    Kernel* kernel = d.kernel.get();
    SerialWorker& w = d.worker;
    const Params& p = d.params;
    for (auto _ : state) kernel->iterate(w);
    const Verification v = kernel->verify(w);
    if (!v.ok) state.SkipWithError(("not verified: " + v.detail).c_str());
    set_rate_counters(state, *k, p, 1);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

// Both ways in alternation, so that both see the same machine (other load, clock speed): each
// round runs the run loop for `batch` repetitions, then the direct loop for as many iterations
// timed as one block (as Google Benchmark times a batch). The counter overhead_pct is the median
// over rounds of run-loop time / direct time - 1.
void bm_paired(benchmark::State& state, const Case& c, std::shared_ptr<int> batch) {
  try {
    DirectKernel d(*c.kernel, c.size);
    if (*batch == 0) {
      const auto t0 = std::chrono::steady_clock::now();
      d.kernel->iterate(d.worker);
      const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      *batch = static_cast<int>(std::clamp(0.05 / std::max(t, 1e-7), 1.0, 200.0));
    }
    std::vector<double> ratios;
    double direct_total = 0, loop_total = 0;
    while (state.KeepRunningBatch(*batch)) {
      const RunResult r = run_once(c, *batch, 1);
      if (r.status != "ok" || !r.verified) {
        state.SkipWithError(("run " + r.status + ", not verified: " + r.error).c_str());
        break;
      }
      double loop = 0;
      for (double t : headline_per_rep(r)) loop += t;
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < *batch; ++i) d.kernel->iterate(d.worker);
      const double direct =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      ratios.push_back(loop / direct);
      direct_total += direct;
      loop_total += loop;
      state.SetIterationTime(loop);
    }
    if (state.error_occurred() || ratios.empty()) return;
    std::nth_element(ratios.begin(),
                     ratios.begin() + static_cast<std::ptrdiff_t>(ratios.size() / 2), ratios.end());
    const double iters = static_cast<double>(state.iterations());
    state.counters["overhead_pct"] = 100.0 * (ratios[ratios.size() / 2] - 1.0);
    state.counters["direct_us"] = 1e6 * direct_total / iters;
    state.counters["runloop_us"] = 1e6 * loop_total / iters;
    state.counters["rounds"] = static_cast<double>(ratios.size());
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

void bm_plain_omp_triad(benchmark::State& state, const std::string& size, int threads) {
  const std::size_t n = resolve_size(size, find_kernel("triad"));
  PlainOmpTriad triad(n, threads);
  triad.iterate();
  for (auto _ : state) triad.iterate();
  if (!triad.verify()) state.SkipWithError("plain triad computed a wrong answer");
  state.SetBytesProcessed(static_cast<std::int64_t>(24.0 * static_cast<double>(n) *
                                                    static_cast<double>(state.iterations())));
  state.SetItemsProcessed(
      static_cast<std::int64_t>(static_cast<double>(n) * static_cast<double>(state.iterations())));
}

// --- registration --------------------------------------------------------------------------

const ModeInfo* built_mode(const std::string& name) {
  for (const auto& m : modes())
    if (m.name == name && m.built && !m.needs_launcher) return &m;
  return nullptr;
}

std::string case_name(const std::string& family, const Case& c) {
  std::string n = family + "/" + c.kernel->name + "/" + c.mode->name + "/w" +
                  std::to_string(c.workers) + "/" + c.size;
  for (const auto& kv : c.params) n += "/" + kv;
  return n;
}

benchmark::internal::Benchmark* add_run_loop(const std::string& name, const Case& c) {
  if (!accepted(c)) return nullptr;
  auto batch = std::make_shared<int>(0);
  return benchmark::RegisterBenchmark(name.c_str(),
                                      [c, batch](benchmark::State& s) { bm_run_loop(s, c, batch); })
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
}

// Every kernel x mode x variant (one parameter changed from its default at a time).
void register_kernels(const std::string& size, int workers) {
  for (const char* mode_name : {"serial", "threads", "openmp", "gil"}) {
    const ModeInfo* mode = built_mode(mode_name);
    if (!mode) continue;
    const int team = mode->single_worker() ? 1 : workers;
    for (const auto& k : kernels()) {
      std::vector<std::vector<std::string>> variants{{}};
      for (const auto& p : k.params)
        for (const auto& v : p.allowed)
          if (v != p.default_value) variants.push_back({p.key + "=" + v});
      for (const auto& kv : variants) {
        const Case c{&k, mode, team, size, kv};
        add_run_loop(case_name("kernel", c), c);
      }
    }
  }
}

// Harness overhead: the same kernel directly and through the serial run loop.
void register_harness() {
  const ModeInfo* serial = built_mode("serial");
  for (const char* name : {"triad", "reduce", "stencil", "dgemm", "ep"})
    for (const char* size : {"S", "M"}) {
      const KernelInfo& k = find_kernel(name);
      benchmark::RegisterBenchmark(
          (std::string("harness/direct/") + name + "/" + size).c_str(),
          [&k, size = std::string(size)](benchmark::State& s) { bm_direct(s, &k, size); })
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
      const Case c{&k, serial, 1, size, {}};
      add_run_loop(std::string("harness/runloop/") + name + "/" + size, c);
      auto batch = std::make_shared<int>(0);
      benchmark::RegisterBenchmark((std::string("harness/paired/") + name + "/" + size).c_str(),
                                   [c, batch](benchmark::State& s) { bm_paired(s, c, batch); })
          ->UseManualTime()
          ->MinTime(2.0)
          ->Unit(benchmark::kMicrosecond);
    }
}

// The harness's fixed cost per repetition: the no-op kernel through the serial run loop; and
// the speed probe alone (three timings of its work), which that cost includes.
void register_harness_floor() {
  benchmark::RegisterBenchmark("harness/speed_probe", [](benchmark::State& s) {
    for (auto _ : s) benchmark::DoNotOptimize(speed_probe());
  })->Unit(benchmark::kMicrosecond);
  const Case c{&noop_kernel(), built_mode("serial"), 1, "1", {}};
  // A fixed count: manual time this small would make Google Benchmark run it for minutes.
  if (auto* b = add_run_loop("harness/runloop/noop", c))
    b->Iterations(100000)->Unit(benchmark::kNanosecond);
}

void register_figures(int workers) {
  const ModeInfo* serial = built_mode("serial");
  const std::string w = std::to_string(workers);
  auto fig = [&](const char* kernel, const char* mode, int team, std::vector<std::string> kv) {
    const ModeInfo* m = built_mode(mode);
    if (!m) return;
    const Case c{&find_kernel(kernel), m, team, "M", std::move(kv)};
    add_run_loop(case_name("figures", c), c);
  };
  // Side by side: corescope's openmp triad vs the plain OpenMP loop, same size and threads.
  fig("triad", "openmp", workers, {});
  benchmark::RegisterBenchmark(
      ("figures/plain_omp_triad/openmp/w" + w + "/M").c_str(),
      [workers](benchmark::State& s) { bm_plain_omp_triad(s, "M", workers); })
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  // Parallel efficiency T1 / (N TN) of ep and stencil.
  if (serial) {
    fig("ep", "serial", 1, {});
    fig("stencil", "serial", 1, {});
    fig("dgemm", "serial", 1, {"algo=blocked"});
    fig("dgemm", "serial", 1, {"algo=naive"});
  }
  for (const char* mode : {"threads", "openmp"}) {
    fig("ep", mode, workers, {});
    fig("stencil", mode, workers, {});
    fig("dgemm", mode, workers, {"algo=blocked"});
    fig("farm", mode, workers, {"schedule=static"});
    fig("farm", mode, workers, {"schedule=dynamic"});
  }
}

// --- summary ---------------------------------------------------------------------------------

// Google Benchmark 1.8 replaced Run::error_occurred by Run::skipped (an error or a skip).
template <class R>
bool run_skipped(const R& r) {
  if constexpr (requires { r.skipped; })
    return static_cast<bool>(r.skipped);
  else
    return r.error_occurred;
}

// Console output as usual, plus the seconds per iteration of every benchmark that ran (median
// over repetitions) for the summary.
class CollectingReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      // Single runs, or only the median when --benchmark_report_aggregates_only hides them.
      const bool single = r.run_type == Run::RT_Iteration;
      const bool median = r.run_type == Run::RT_Aggregate && r.aggregate_name == "median";
      if (run_skipped(r) || r.iterations <= 0 || !(single || median)) continue;
      const std::string& name = r.run_name.function_name;  // as registered, without /real_time etc.
      // What the console shows, per iteration, converted from the display unit to seconds.
      seconds_[name].push_back(r.GetAdjustedRealTime() /
                               benchmark::GetTimeUnitMultiplier(r.time_unit));
      for (const auto& [key, counter] : r.counters) counters_[name][key].push_back(counter.value);
    }
    ConsoleReporter::ReportRuns(runs);
  }
  // NaN when the benchmark did not run (filtered out, skipped).
  double seconds(const std::string& name) const { return median(seconds_, name); }
  double counter(const std::string& name, const std::string& key) const {
    auto it = counters_.find(name);
    return it == counters_.end() ? NAN : median(it->second, key);
  }

 private:
  static double median(const std::map<std::string, std::vector<double>>& m,
                       const std::string& key) {
    auto it = m.find(key);
    if (it == m.end() || it->second.empty()) return NAN;
    std::vector<double> v = it->second;
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
  }
  std::map<std::string, std::vector<double>> seconds_;
  std::map<std::string, std::map<std::string, std::vector<double>>> counters_;
};

void print_summary(const CollectingReporter& rep, int workers) {
  const std::string w = std::to_string(workers);
  std::printf("\ncorescope summary (seconds per iteration are medians over repetitions)\n");
  auto line = [](const std::string& what, double value, const char* unit, const std::string& goal) {
    if (std::isnan(value)) return;
    std::printf("  %-58s %9.3f %-3s %s\n", what.c_str(), value, unit, goal.c_str());
  };
  for (const char* k : {"triad", "reduce", "stencil", "dgemm", "ep"})
    for (const char* size : {"S", "M"}) {
      const double direct = rep.seconds(std::string("harness/direct/") + k + "/" + size);
      const double loop = rep.seconds(std::string("harness/runloop/") + k + "/" + size);
      line(std::string("harness overhead, ") + k + " " + size + " (run loop vs direct)",
           100.0 * (loop / direct - 1.0), "%", "(goal <= 2 %)");
      line(std::string("harness overhead, ") + k + " " + size + " (paired, median of rounds)",
           rep.counter(std::string("harness/paired/") + k + "/" + size, "overhead_pct"), "%",
           "(goal <= 2 %)");
    }
  line("harness cost per repetition (no-op kernel through the run loop)",
       1e9 * rep.seconds("harness/runloop/noop"), "ns", "");
  const double plain = rep.seconds("figures/plain_omp_triad/openmp/w" + w + "/M");
  const double ours = rep.seconds("figures/triad/openmp/w" + w + "/M");
  line("openmp triad w" + w + " M: corescope speed / plain omp parallel for", 100.0 * plain / ours,
       "%", "(target >= 95 %)");
  for (const char* mode : {"threads", "openmp"}) {
    for (const char* k : {"ep", "stencil"}) {
      const double t1 = rep.seconds(std::string("figures/") + k + "/serial/w1/M");
      const double tn = rep.seconds(std::string("figures/") + k + "/" + mode + "/w" + w + "/M");
      line(std::string(k) + " M parallel efficiency, " + mode + " w" + w + " (T1 / (N TN))",
           t1 / (workers * tn), "", std::string(k) == "ep" ? "(target >= 0.95)" : "");
    }
    const double s =
        rep.seconds(std::string("figures/farm/") + mode + "/w" + w + "/M/schedule=static");
    const double d =
        rep.seconds(std::string("figures/farm/") + mode + "/w" + w + "/M/schedule=dynamic");
    line(std::string("farm M ") + mode + " w" + w + ": static time / dynamic time", s / d, "x", "");
  }
  const double blocked = rep.seconds("figures/dgemm/serial/w1/M/algo=blocked");
  const double naive = rep.seconds("figures/dgemm/serial/w1/M/algo=naive");
  line("dgemm M serial: blocked speed / naive triple loop", naive / blocked, "x", "");
  const double n =
      static_cast<double>(find_kernel("dgemm").size_for_class(SizeClass::M, machine()));
  line("dgemm M serial blocked GFLOP/s", 2.0 * n * n * n / blocked * 1e-9, "", "");
  line("dgemm M serial naive GFLOP/s", 2.0 * n * n * n / naive * 1e-9, "", "");
}

// Takes --corescope_* flags out of argv before Google Benchmark sees it.
std::string take_flag(int& argc, char** argv, const char* name, const std::string& fallback) {
  const std::string prefix = std::string("--") + name + "=";
  std::string value = fallback;
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0)
      value = argv[i] + prefix.size();
    else
      argv[out++] = argv[i];
  }
  argc = out;
  return value;
}

}  // namespace
}  // namespace corescope::bench

int main(int argc, char** argv) {
  using namespace corescope::bench;
  const std::string size = take_flag(argc, argv, "corescope_size", "S");
  const std::string workers_text = take_flag(argc, argv, "corescope_workers", "2");
  int workers = 0;
  try {
    workers = static_cast<int>(corescope::parse_count(workers_text, "--corescope_workers"));
    if (workers < 1 || workers > 1024)
      throw corescope::UsageError("--corescope_workers must be between 1 and 1024");
    register_kernels(size, workers);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "corescope_bench: %s\n", e.what());
    return 2;
  }
  register_harness();
  register_harness_floor();
  register_figures(workers);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  CollectingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  print_summary(reporter, workers);
  benchmark::Shutdown();
  return 0;
}
