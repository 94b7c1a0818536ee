// Team shapes, the memory model's names and make_run_spec: the one owner of a team's layout.
#include "core/mode.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "core/errors.hpp"
#include "core/launch_env.hpp"
#include "core/machine.hpp"
#include "core/platform.hpp"
#include "core/run_loop.hpp"
#include "core/text.hpp"

namespace corescope {

int Mode::start() {
  const LaunchEnv l = launch_env();
  // srun's batch step carries the job's task count; only a step's own count means copies.
  const bool step = l.launcher != "srun" || std::getenv("SLURM_STEP_NUM_TASKS") != nullptr;
  if (l.launcher != "none" && step && l.launcher_size > 1)
    throw UsageError(
        "this mode runs its team in one process on one node, but " + l.launcher + " started " +
        std::to_string(l.launcher_size) +
        " copies of it (each would run a team of its own); start it without a launcher, or use "
        "--mode mpi or hybrid, whose ranks may span processes and nodes");
  return 0;
}

WorkerOutcome TeamControl::run(Worker& w, Kernel& k, const RunSpec& spec) const {
  return loop ? loop(w, k, spec) : run_worker(w, k, spec);
}

RunResult Mode::run(const RunSpec& spec, const KernelInfo& kernel, const TeamControl& control) {
  const double load = platform::load_average_1m();
  RunResult result = do_run(spec, kernel, control);
  result.load_1m = load;
  return result;
}

namespace {
constexpr int kMaxWorkers = 4096;

void check_workers(int workers) {
  if (workers < 1 || workers > kMaxWorkers)
    throw UsageError("--workers " + std::to_string(workers) + ": must be between 1 and " +
                     std::to_string(kMaxWorkers));
}

// The team size: what the launcher started, else what was asked, else every CPU.
int team_size(const TeamAsk& ask, int per_process) {
  if (ask.launched > 0) {
    const int launched = ask.launched * per_process;
    if (ask.workers > 0 && ask.workers != launched)
      throw UsageError(
          "--workers " + std::to_string(ask.workers) +
          " disagrees with the launcher: " + std::to_string(ask.launched) + " ranks" +
          (per_process > 1 ? " x " + std::to_string(per_process) + " threads" : std::string()) +
          " = " + std::to_string(launched) + " workers (leave out --workers or match it)");
    return launched;
  }
  const int w = ask.workers > 0 ? ask.workers : std::max(1, ask.cpus);
  check_workers(w);
  return w;
}
}  // namespace

namespace shapes {

TeamShape single(const TeamAsk& ask) {
  if (ask.workers > 1)
    throw UsageError("this mode has exactly one worker (got --workers " +
                     std::to_string(ask.workers) + ")");
  return {1, 1, 1};
}

TeamShape one_process(const TeamAsk& ask) {
  const int w = team_size(ask, 1);
  return {w, 1, w};
}

TeamShape process_per_worker(const TeamAsk& ask) {
  const int w = team_size(ask, 1);
  return {w, w, 1};
}

TeamShape ranks_x_threads(const TeamAsk& ask) {
  const int t = ask.threads > 0 ? ask.threads : 2;
  if (t > 1024) throw UsageError("--threads " + std::to_string(t) + ": must be between 1 and 1024");
  if (ask.launched > 0) {
    const int w = team_size(ask, t);
    return {w, ask.launched, t};
  }
  const int w = ask.workers > 0 ? ask.workers : t;
  check_workers(w);
  if (w % t != 0)
    throw UsageError("--workers " + std::to_string(w) + " is not a multiple of --threads " +
                     std::to_string(t));
  return {w, w / t, t};
}

}  // namespace shapes

std::string memory_name(Memory m) {
  switch (m) {
    case Memory::shared: return "shared";
    case Memory::private_: return "private";
    case Memory::per_rank: return "per-rank";
  }
  return "?";
}

RunSpec make_run_spec(const ModeInfo& mode, const KernelInfo& registry_kernel, const RunRequest& r,
                      int launched) {
  const KernelInfo adapted = mode.adapt_kernel ? mode.adapt_kernel(registry_kernel) : KernelInfo{};
  const KernelInfo& kernel = mode.adapt_kernel ? adapted : registry_kernel;
  RunSpec spec;
  spec.kernel = kernel.name;
  spec.mode = mode.name;
  if (mode.single_worker() && r.workers > 1)
    throw UsageError(mode.name + " mode has exactly one worker (got --workers " +
                     std::to_string(r.workers) + ")");
  TeamAsk ask;
  ask.workers = r.workers;
  ask.threads = mode.takes_threads ? r.threads : 0;
  ask.launched = launched;
  ask.cpus = machine().pus;
  const TeamShape shape = mode.shape(ask);
  spec.workers = shape.workers;
  spec.ranks = shape.ranks;
  spec.threads_per_rank = shape.threads_per_rank;
  spec.memory_model = memory_name(mode.memory);
  spec.team_critical = mode.team_critical;
  spec.pooled_samples = mode.pooled_samples;
  spec.size_label = r.size;
  spec.scaling = r.scaling;
  spec.channel = r.channel.empty() && !mode.channels.empty() ? mode.channels.front() : r.channel;
  if (mode.gil) {
    spec.switch_interval_s = r.switch_interval_s;
    spec.gil_release = r.gil_release;
    spec.gil_policy = r.gil_policy;
  } else {
    spec.switch_interval_s =
        mode.switch_interval ? r.switch_interval_s : std::numeric_limits<double>::quiet_NaN();
    spec.gil_release.clear();
    spec.gil_policy.clear();
  }
  if (mode.python) spec.python = r.python.empty() ? "/usr/bin/python3" : r.python;
  if (!mode.start_methods.empty()) {
    spec.start_method = r.start_method.empty() ? mode.start_methods.front() : r.start_method;
    if (std::find(mode.start_methods.begin(), mode.start_methods.end(), spec.start_method) ==
        mode.start_methods.end())
      throw UsageError("--start-method " + spec.start_method + ": mode " + mode.name + " takes " +
                       join(mode.start_methods, ", "));
  }
  spec.command = r.command;
  spec.sweep_id = r.sweep_id;
  spec.launch_id = r.launch_id;
  spec.sweep_plan = r.sweep_plan;
  spec.cell = r.cell;
  spec.pin = r.pin;
  spec.round = r.round;

  const std::size_t size = resolve_size(r.size, kernel);
  std::size_t total = size;
  if (spec.scaling == "weak") {
    if (size > static_cast<std::size_t>(-1) / static_cast<std::size_t>(spec.workers))
      throw UsageError("--size " + r.size + " x " + std::to_string(spec.workers) +
                       " workers is absurdly large");
    total = size * static_cast<std::size_t>(spec.workers);
  }
  spec.params = make_params(kernel, total, r.reps, r.warmup, r.params);
  return spec;
}

}  // namespace corescope
