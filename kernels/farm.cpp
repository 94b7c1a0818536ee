// farm: the founding notes' bee hive. N tasks of heavy-tailed cost (a seeded Pareto draw, known
// to every worker) are handed to the workers ("bees"); an iteration ends when the queen (worker
// 0) sees every bee back at the hive (a barrier), so idle bees show up as communication time.
// The mean task is alpha/(alpha-1) x base steps (6000 at the defaults, ~8 us).
//   static   each bee takes one pre-assigned block of consecutive tasks
//   dynamic  bees take the next `grain` tasks from one shared atomic counter (the queen's queue)
//            in team-shared memory, whatever the mode
// A task of cost s runs s steps of a 64-bit linear congruential generator from a seed of its
// own; the final state is known in closed form by jumping ahead (O(log s)), so the result sum is
// checked exactly, and per-task done counters (summed over the team) check that every task ran
// exactly once per iteration.
#include <array>
#include <atomic>
#include <cmath>

#include "core/run.hpp"
#include "kernels/kernel_util.hpp"

namespace corescope::kernel_lib {

namespace {

constexpr std::uint64_t kLcgMul = 6364136223846793005ull;  // Knuth's MMIX generator
constexpr std::uint64_t kLcgAdd = 1442695040888963407ull;
constexpr double kCostCap = 1e4;  // the Pareto draw is truncated at 10^4 x base

std::uint64_t task_seed(std::uint64_t seed, std::size_t task) {
  return mix64(seed ^ (0xa5a5a5a5ull + task));
}

// Steps of task i: base * u^(-1/alpha), u uniform in (0, 1]: Pareto with minimum `base`.
std::uint64_t task_steps(std::uint64_t seed, std::size_t task, double alpha, double base) {
  const double u = 1.0 - uniform01(mix64(seed + 0x51ed27ull * (task + 1)));
  return static_cast<std::uint64_t>(
      std::floor(base * std::min(std::pow(u, -1.0 / alpha), kCostCap)));
}

// The generator state after `steps` steps from x, by composing the affine map x -> a*x + c with
// itself in O(log steps) (all arithmetic mod 2^64).
std::uint64_t lcg_jump(std::uint64_t x, std::uint64_t steps) {
  std::uint64_t acc_mul = 1, acc_add = 0, mul = kLcgMul, add = kLcgAdd;
  while (steps) {
    if (steps & 1) {
      acc_mul *= mul;
      acc_add = acc_add * mul + add;
    }
    add = (mul + 1) * add;
    mul *= mul;
    steps >>= 1;
  }
  return acc_mul * x + acc_add;
}

// A 64-bit sum carried exactly through a double allreduce: four 16-bit limbs, each summed
// separately (exact below 2^37 terms).
using LimbSum = std::array<double, 4>;
void add_limbs(LimbSum& s, std::uint64_t x) {
  for (int k = 0; k < 4; ++k)
    s[static_cast<std::size_t>(k)] += static_cast<double>((x >> (16 * k)) & 0xffffu);
}
std::uint64_t join_limbs(const LimbSum& s) {
  std::uint64_t x = 0;
  for (int k = 0; k < 4; ++k)
    x += static_cast<std::uint64_t>(s[static_cast<std::size_t>(k)]) << (16 * k);
  return x;
}

class Farm : public Kernel {
 public:
  void setup(Worker& w, const Params& p) override {
    n_ = p.size;
    dynamic_ = p.get("schedule") == "dynamic";
    grain_ = static_cast<std::size_t>(p.get_int("grain"));
    seed_ = static_cast<std::uint64_t>(p.get_int("seed"));
    const double alpha = p.get_double("alpha"), base = p.get_double("base");
    // Every bee knows every task's cost (the queen's list); each keeps its own done counters.
    steps_ = w.alloc_slice<std::uint64_t>(n_);
    done_ = w.alloc_slice<std::uint32_t>(n_);
    for (std::size_t i = 0; i < n_; ++i) {
      steps_[i] = task_steps(seed_, i, alpha, base);
      done_[i] = 0;
    }
    mine_ = block_range(n_, w.count(), w.id());
    // Two queue counters on separate cache lines: iteration t uses counter t % 2.
    queue_ = w.team_words(2 * kWordsPerLine);
    times_.reserve(p);
  }

  void iterate(Worker& w) override {
    times_.start();
    sum_ = {0, 0, 0, 0};
    requests_ = 0;
    if (dynamic_) {
      const std::size_t t = times_.iterations();
      const std::size_t next = (t % 2) * kWordsPerLine, other = ((t + 1) % 2) * kWordsPerLine;
      queue_.visit([&](auto mem) {
        // The other counter was last used an iteration ago, which everyone has left (the barrier
        // below): the queen rearms it for the next iteration, nobody touches it meanwhile.
        if (w.id() == 0) mem.store(other, 0, std::memory_order_relaxed);
        for (;;) {
          const std::size_t first = mem.fetch_add(next, grain_, std::memory_order_relaxed);
          ++requests_;
          if (first >= n_) break;
          run_tasks(w, first, std::min(n_, first + grain_));
        }
      });
    } else {
      run_tasks(w, mine_.begin, mine_.end);
    }
    times_.stop();  // busy time: the bee's own tasks, without waiting for the others
    w.barrier();    // the queen waits for every bee
  }

  Verification verify(Worker& w) override {
    const double iters = static_cast<double>(times_.iterations());
    Verification v;
    if (w.allreduce(iters, Op::min) != w.allreduce(iters, Op::max)) {
      v.detail = "workers ran different numbers of iterations";
      return v;
    }
    // Per-task counts summed over the team, in chunks: each task must have run once per iteration.
    double wrong = 0;
    std::vector<double> counts;
    for (std::size_t lo = 0; lo < n_; lo += kVerifyChunk) {
      const std::size_t hi = std::min(n_, lo + kVerifyChunk);
      counts.assign(done_.begin() + static_cast<std::ptrdiff_t>(lo),
                    done_.begin() + static_cast<std::ptrdiff_t>(hi));
      w.allreduce(std::span<double>(counts), Op::sum);
      for (double c : counts) wrong += c != iters ? 1 : 0;
    }
    // The last iteration's result sum against the jump-ahead closed form.
    LimbSum total = sum_;
    w.allreduce(std::span<double>(total), Op::sum);
    std::uint64_t expected = 0;
    for (std::size_t i = 0; i < n_; ++i) expected += lcg_jump(task_seed(seed_, i), steps_[i]);
    const std::uint64_t found = join_limbs(total);
    v.ok = wrong == 0 && found == expected;
    v.error = wrong + (found == expected ? 0 : 1);
    if (wrong != 0)
      v.detail = std::to_string(static_cast<long long>(wrong)) + " of " + std::to_string(n_) +
                 " tasks did not run exactly once per iteration";
    else if (found != expected)
      v.detail = "task result sum " + std::to_string(found) + " != " + std::to_string(expected);
    return v;
  }

  std::vector<Metric> metrics(Worker& w) override {
    // Load imbalance: the busiest bee's busy time over the mean (1 = perfectly balanced).
    const double busy = times_.timed_total();
    const double busy_max = w.allreduce(busy, Op::max), busy_sum = w.allreduce(busy, Op::sum);
    const double requests = w.allreduce(static_cast<double>(requests_), Op::sum);
    // The static partition's work imbalance follows from the task costs alone (no clock).
    double steps = 0, heaviest_block = 0;
    for (int b = 0; b < w.count(); ++b) {
      const Range r = block_range(n_, w.count(), b);
      double block = 0;
      for (std::size_t i = r.begin; i < r.end; ++i) block += static_cast<double>(steps_[i]);
      heaviest_block = std::max(heaviest_block, block);
      steps += block;
    }
    const double busy_mean = busy_sum / w.count();
    return {
        {"load_imbalance", busy_mean > 0 ? busy_max / busy_mean : 1.0, "",
         "farm: busiest worker's busy time / mean busy time"},
        {"busy_max_s", busy_max, "s", "farm: busiest worker's busy time, summed over timed reps"},
        {"busy_mean_s", busy_mean, "s", "farm: mean busy time, summed over timed reps"},
        {"queue_requests", requests, "",
         "farm: requests to the shared queue per iteration (dynamic)"},
        {"task_steps", steps, "", "farm: generator steps of all tasks (the work of one iteration)"},
        {"static_work_imbalance", steps > 0 ? heaviest_block * w.count() / steps : 1.0, "",
         "farm: heaviest static block's steps / mean block (the imbalance static scheduling must "
         "suffer)"}};
  }

 private:
  void run_tasks(Worker& w, std::size_t first, std::size_t last) {
    for (std::size_t i = first; i < last; ++i) {
      std::uint64_t x = task_seed(seed_, i);
      chunked(w, 0, steps_[i], kChunk, [&](std::size_t lo, std::size_t hi) {
        for (std::size_t s = lo; s < hi; ++s) x = x * kLcgMul + kLcgAdd;
      });
      add_limbs(sum_, x);
      ++done_[i];
    }
  }

  static constexpr std::size_t kChunk = 1024;      // ~1 us of generator steps per GIL check
  static constexpr std::size_t kWordsPerLine = 8;  // one cache line
  static constexpr std::size_t kVerifyChunk = 1 << 16;
  std::size_t n_ = 0, grain_ = 1;
  bool dynamic_ = false;
  std::uint64_t seed_ = 0;
  std::span<std::uint64_t> steps_;
  std::span<std::uint32_t> done_;
  Range mine_{};
  TeamWords queue_;
  LimbSum sum_{};
  std::size_t requests_ = 0;
  IterationTimes times_;
};

}  // namespace

KernelInfo farm_kernel() {
  KernelInfo k;
  k.name = "farm";
  k.category = "load-imbalance";
  k.description =
      "queen hands heavy-tailed (Pareto) tasks to worker bees: static blocks or a dynamic shared "
      "queue";
  k.size_unit = "tasks";
  k.params = {{"schedule",
               "static",
               {"static", "dynamic"},
               "pre-assigned blocks, or a shared atomic queue"},
              {"alpha", "1.2", {}, "Pareto tail index (> 1; smaller = heavier tail)"},
              {"base", "1000", {}, "smallest task, in generator steps (~1.3 ns each)"},
              {"grain", "1", {}, "tasks taken per request to the queue (dynamic)"},
              {"seed", "2024", {}, "seed of the task costs"}};
  k.size_for_class = [](SizeClass c, const MachineInfo&) -> std::size_t {
    switch (c) {
      case SizeClass::S: return 1009;
      case SizeClass::M: return 1u << 12;  // ~32 ms of tasks per iteration at the defaults
      case SizeClass::L: return 1u << 16;
    }
    return 1u << 12;
  };
  k.memory_bytes = [](const Params& p, int workers) {
    return 12.0 * static_cast<double>(p.size) * workers;
  };
  k.cost = [](const Params&, int) { return Cost{0.0, 0.0}; };  // integer work: rates are tasks/s
  k.validate = [](const RunSpec& spec) {
    const Params& p = spec.params;
    require_positive_size(p, "farm");
    if (p.size >= (1ull << 37)) throw UsageError("kernel farm: --size must be below 2^37 tasks");
    const double alpha = p.get_double("alpha"), base = p.get_double("base");
    if (!(alpha > 1.0 && alpha <= 10.0))
      throw UsageError(
          "kernel farm: --param alpha must be in (1, 10] (a Pareto tail with a finite mean)");
    if (!(base >= 1.0 && base <= 1e7))
      throw UsageError("kernel farm: --param base must be between 1 and 1e7 steps");
    if (p.get_int("grain") < 1) throw UsageError("kernel farm: --param grain must be at least 1");
    if (p.get_int("seed") < 0) throw UsageError("kernel farm: --param seed must be >= 0");
  };
  k.make = [] { return std::make_unique<Farm>(); };
  return k;
}

}  // namespace corescope::kernel_lib
