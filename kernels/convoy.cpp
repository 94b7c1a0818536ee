// convoy: the GIL's convoy effect. Worker 0 is an I/O thread: each iteration it makes --size
// short blocking calls (a sleep of io_us inside blocking(), like a small network request) and
// measures each one. Workers 1..K are CPU-bound: they advance a random-number generator in ~0.5 us
// chunks until the I/O thread has finished its calls. Under a GIL every call ends with the I/O
// thread waiting to get the GIL back from a CPU thread that only lets go when asked, one switch
// interval later; with no GIL (threads, processes, mpi) nothing slows it down.
// Recorded for the run (worker 0): io_ops_per_s, io_latency_median_s, io_latency_p99_s, and the
// part of each call spent getting the GIL back (io_reacquire_median_s / _p99_s: from the end of
// the blocking call to holding the GIL again), plus the CPU workers' throughput.
// Verification: the I/O thread made every call and none was shorter than io_us; each CPU
// worker's generator state equals the closed-form jump over the steps it reports.
#include <atomic>

#include "core/run.hpp"
#include "kernels/kernel_util.hpp"
#include "kernels/wait_util.hpp"

namespace corescope::kernel_lib {

namespace {

// Knuth's MMIX linear congruential generator: a dependent multiply-add chain the compiler cannot
// shortcut, and one whose state after n steps has a closed form (jump-ahead) to check against.
constexpr std::uint64_t kMul = 6364136223846793005ull, kAdd = 1442695040888963407ull;
constexpr std::uint64_t kStepsPerChunk = 256;  // ~0.3-0.5 us per GIL check

std::uint64_t lcg_jump(std::uint64_t x, std::uint64_t steps) {
  std::uint64_t mul = 1, add = 0, cur_mul = kMul, cur_add = kAdd;
  for (; steps; steps >>= 1) {
    if (steps & 1) {
      mul *= cur_mul;
      add = add * cur_mul + cur_add;
    }
    cur_add = (cur_mul + 1) * cur_add;
    cur_mul *= cur_mul;
  }
  return mul * x + add;
}

static_assert(std::atomic_ref<std::uint64_t>::is_always_lock_free,
              "the stop flag must work across processes");

class Convoy : public Kernel {
 public:
  void setup(Worker& w, const Params& p) override {
    ops_ = p.size;
    io_ns_ = p.get_int("io_us") * 1000;
    warmup_ = static_cast<std::uint64_t>(p.warmup);
    total_iterations_ = static_cast<std::uint64_t>(p.warmup + p.reps);
    // The I/O thread publishes here how many iterations it has finished; CPU workers stop an
    // iteration once it reaches theirs. It only grows, so no reset (and no barrier) is needed.
    finished_ = w.team_words(1);
    if (w.id() == 0) {
      latency_s_.assign(ops_ * static_cast<std::size_t>(p.reps), 0.0);
      reacquire_s_.assign(latency_s_.size(), 0.0);
    }
    seed_ = x_ = mix64(static_cast<std::uint64_t>(w.id()));
  }

  void iterate(Worker& w) override {
    const std::uint64_t iteration = ++iterations_;
    if (w.id() == 0)
      io_loop(w, iteration);
    else
      cpu_loop(w, iteration);
  }

  Verification verify(Worker& w) override {
    Verification v;
    v.ok = true;
    auto fail = [&](const std::string& why) {
      if (v.ok) v.detail = "worker " + std::to_string(w.id()) + ": " + why;
      v.ok = false;
    };
    const std::uint64_t finished = finished_.load(0);
    if (finished != total_iterations_)
      fail("the I/O thread finished " + std::to_string(finished) + " iterations, expected " +
           std::to_string(total_iterations_));
    if (w.id() == 0) {
      if (ops_done_ != ops_ * total_iterations_)
        fail(std::to_string(ops_done_) + " I/O calls made, expected " +
             std::to_string(ops_ * total_iterations_));
      const double wanted = static_cast<double>(io_ns_) * 1e-9;
      if (ops_done_ > 0 && shortest_io_s_ < wanted)
        fail("an I/O call returned before io_us had passed");
    } else {
      if (lcg_jump(seed_, chunks_ * kStepsPerChunk) != x_) {
        v.error = 1.0;
        fail("the generator state after " + std::to_string(chunks_) + " chunks is wrong");
      }
      if (chunks_ < total_iterations_) fail("fewer chunks than iterations");
    }
    return v;
  }

  std::vector<Metric> metrics(Worker& w) override {
    // Collective: the CPU workers' timed chunks and the I/O thread's timed loop time.
    double sums[2] = {static_cast<double>(timed_chunks_), w.id() == 0 ? io_loop_s_ : 0.0};
    w.allreduce(std::span<double>(sums, 2), Op::sum);
    if (w.id() != 0) return {};
    const double ops = static_cast<double>(latency_s_.size());
    return {
        {"io_ops_per_s", io_loop_s_ > 0 ? ops / io_loop_s_ : 0.0, "1/s",
         "convoy: blocking calls per second made by the I/O thread (timed repetitions)"},
        {"io_latency_median_s", quantile(latency_s_, 0.5), "s",
         "convoy: median time of one I/O call, GIL re-acquisition included"},
        {"io_latency_p99_s", quantile(latency_s_, 0.99), "s",
         "convoy: 99th percentile of the I/O call time"},
        {"io_reacquire_median_s", quantile(reacquire_s_, 0.5), "s",
         "convoy: median wait from the end of a blocking call to holding the GIL again"},
        {"io_reacquire_p99_s", quantile(reacquire_s_, 0.99), "s",
         "convoy: 99th percentile of that wait"},
        {"cpu_steps_per_s", sums[1] > 0 ? sums[0] * kStepsPerChunk / sums[1] : 0.0, "1/s",
         "convoy: generator steps per second of all CPU workers together (timed repetitions)"},
    };
  }

 private:
  void io_loop(Worker& w, std::uint64_t iteration) {
    const bool timed = iteration > warmup_;
    const std::size_t base = timed ? static_cast<std::size_t>(iteration - warmup_ - 1) * ops_ : 0;
    const auto loop0 = WaitClock::now();
    for (std::size_t op = 0; op < ops_; ++op) {
      const auto t0 = WaitClock::now();
      WaitClock::time_point io_end;
      const double slept = w.blocking([&] {
        const double s = sleep_ns(io_ns_);
        io_end = WaitClock::now();
        return s;
      });
      const auto back = WaitClock::now();  // the GIL is ours again
      shortest_io_s_ = std::min(shortest_io_s_, slept);
      if (timed) {
        latency_s_[base + op] = seconds_between(t0, back);
        reacquire_s_[base + op] = seconds_between(io_end, back);
      }
      ++ops_done_;
      w.yield_point();
    }
    if (timed) io_loop_s_ += seconds_between(loop0, WaitClock::now());
    finished_.visit([&](auto mem) { mem.store(0, iteration, std::memory_order_release); });
  }

  void cpu_loop(Worker& w, std::uint64_t iteration) {
    finished_.visit([&](auto mem) { cpu_loop_on(w, mem, iteration); });
  }
  template <class Mem>
  void cpu_loop_on(Worker& w, Mem mem, std::uint64_t iteration) {
    const bool timed = iteration > warmup_;
    std::uint64_t x = x_, chunks = 0;
    do {
      for (std::uint64_t s = 0; s < kStepsPerChunk; ++s) x = x * kMul + kAdd;
      ++chunks;
      w.yield_point();
    } while (mem.load(0, std::memory_order_acquire) < iteration);
    x_ = x;
    chunks_ += chunks;
    if (timed) timed_chunks_ += chunks;
  }

  std::size_t ops_ = 0;
  std::int64_t io_ns_ = 0;
  std::uint64_t warmup_ = 0, total_iterations_ = 0, iterations_ = 0;
  TeamWords finished_;  // word 0: iterations the I/O thread has finished
  // I/O thread
  std::vector<double> latency_s_, reacquire_s_;
  std::uint64_t ops_done_ = 0;
  double shortest_io_s_ = std::numeric_limits<double>::infinity();
  double io_loop_s_ = 0.0;
  // CPU workers
  std::uint64_t seed_ = 0, x_ = 0, chunks_ = 0, timed_chunks_ = 0;
};

}  // namespace

KernelInfo convoy_kernel() {
  KernelInfo k;
  k.name = "convoy";
  k.category = "I/O + CPU (GIL convoy)";
  k.description =
      "worker 0 makes short blocking calls while workers 1..K compute: the GIL convoy effect";
  k.size_unit = "I/O calls per iteration";
  k.merit = {.name = "I/O calls", .unit = "call", .count_column = "size", .rate = true};
  k.params = {{"io_us", "50", {}, "length of one blocking call in microseconds (1..1000000)"}};
  k.size_for_class = fixed_size_classes(20, 200, 2000);
  // Two latencies per timed call are kept on the I/O thread.
  k.memory_bytes = [](const Params& p, int) { return 16.0 * static_cast<double>(p.size) * p.reps; };
  k.cost = [](const Params&, int) { return Cost{0.0, 0.0}; };
  k.validate = [](const RunSpec& spec) {
    const Params& p = spec.params;
    require_positive_size(p, "convoy");
    int_param_in(p, "convoy", "io_us", 1, 1000000);
  };
  k.make = [] { return std::make_unique<Convoy>(); };
  return k;
}

}  // namespace corescope::kernel_lib
