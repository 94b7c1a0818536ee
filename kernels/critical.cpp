// critical: the founding notes' lock example. Even workers add +1, odd workers add -2 to ONE
// counter in team-shared memory, M times each per iteration, under a chosen synchronization:
//   none      a race on purpose: relaxed atomic load, then relaxed atomic store (no undefined
//             behaviour, but updates between the two are overwritten: lost updates)
//   mutex     Worker::team_lock (std::mutex for threads, flock for processes, MPI window lock)
//   atomic    one fetch_add per update
//   critical  an OpenMP critical section (openmp mode only)
//   reduce    a private counter per worker, added to the shared one once per iteration
// Each update also adds 1 to a tally kept in the high half of the same 64-bit word, in the same
// single store, so a lost update loses exactly one tally: lost_updates = expected - found tally
// is an exact count, and the value half must be consistent with it.
#include <atomic>
#include <cmath>
#include <limits>

#include "core/run.hpp"
#include "kernels/kernel_util.hpp"

namespace corescope::kernel_lib {

namespace {

enum class Sync { none, mutex, atomic, critical, reduce };

Sync parse_sync(const std::string& s) {
  if (s == "none") return Sync::none;
  if (s == "mutex") return Sync::mutex;
  if (s == "atomic") return Sync::atomic;
  if (s == "critical") return Sync::critical;
  return Sync::reduce;  // make_params already refused anything not listed
}

// word = tally * 2^32 + value, |value| < 2^31, 0 <= tally < 2^31 (validate keeps runs inside).
constexpr std::uint64_t kTallyUnit = 1ull << 32;
constexpr double kMaxUpdates = static_cast<double>(1ull << 30);

struct Counter {
  std::int64_t tally, value;
};
Counter decode(std::uint64_t word) {
  const auto w = static_cast<std::int64_t>(word);
  const std::int64_t tally = (w + (std::int64_t{1} << 31)) >> 32;
  return {tally, w - tally * static_cast<std::int64_t>(kTallyUnit)};
}

class Critical : public Kernel {
 public:
  void setup(Worker& w, const Params& p) override {
    m_ = p.size;
    sync_ = parse_sync(p.get("sync"));
    delta_ = w.id() % 2 == 0 ? 1 : -2;
    increment_ = kTallyUnit + static_cast<std::uint64_t>(delta_);  // wraps to "tally+1, value-2"
    word_ = static_cast<std::uint64_t*>(w.team_shared(64));
    times_.reserve(p);
  }

  void iterate(Worker& w) override {
    times_.start();
    std::atomic_ref<std::uint64_t> counter(*word_);
    const std::uint64_t inc = increment_;
    switch (sync_) {
      case Sync::none:
        chunked(w, 0, m_, kChunk, [&](std::size_t lo, std::size_t hi) {
          for (std::size_t i = lo; i < hi; ++i)
            counter.store(counter.load(std::memory_order_relaxed) + inc, std::memory_order_relaxed);
        });
        break;
      case Sync::mutex:
        chunked(w, 0, m_, kChunk, [&](std::size_t lo, std::size_t hi) {
          for (std::size_t i = lo; i < hi; ++i) {
            w.team_lock();
            // The lock may be a file or MPI lock the compiler knows nothing of: the atomic
            // acquire/release keep the read-modify-write inside it.
            counter.store(counter.load(std::memory_order_acquire) + inc, std::memory_order_release);
            w.team_unlock();
          }
        });
        break;
      case Sync::atomic:
        chunked(w, 0, m_, kChunk, [&](std::size_t lo, std::size_t hi) {
          for (std::size_t i = lo; i < hi; ++i) counter.fetch_add(inc, std::memory_order_relaxed);
        });
        break;
      case Sync::critical: {
        auto update = [&] { counter.store(counter.load(std::memory_order_relaxed) + inc, std::memory_order_relaxed); };
        chunked(w, 0, m_, kChunk, [&](std::size_t lo, std::size_t hi) {
          for (std::size_t i = lo; i < hi; ++i) w.omp_critical(update);
        });
        break;
      }
      case Sync::reduce: {
        std::uint64_t mine = 0;
        chunked(w, 0, m_, kChunk, [&](std::size_t lo, std::size_t hi) {
          for (std::size_t i = lo; i < hi; ++i) mine += inc;
        });
        counter.fetch_add(mine, std::memory_order_relaxed);
        break;
      }
    }
    times_.stop();
  }

  Verification verify(Worker& w) override {
    w.barrier();  // every worker's last update has landed
    const Counter found = decode(std::atomic_ref<std::uint64_t>(*word_).load(std::memory_order_acquire));
    // Every worker ran the same number of iterations; the allreduce checks that too.
    const double iters = static_cast<double>(times_.iterations());
    const double iters_min = w.allreduce(iters, Op::min), iters_max = w.allreduce(iters, Op::max);
    const double n = w.count(), plus_workers = std::ceil(n / 2.0), minus_workers = std::floor(n / 2.0);
    const auto per_worker = static_cast<std::int64_t>(iters_max) * static_cast<std::int64_t>(m_);
    const std::int64_t plus_total = per_worker * static_cast<std::int64_t>(plus_workers);
    const std::int64_t minus_total = per_worker * static_cast<std::int64_t>(minus_workers);
    expected_ = plus_total + minus_total;
    found_tally_ = found.tally;
    found_value_ = found.value;

    Verification v;
    v.error = static_cast<double>(expected_ - found.tally);
    if (iters_min != iters_max) {
      v.detail = "workers ran different numbers of iterations";
      return v;
    }
    if (sync_ != Sync::none) {
      v.ok = found.tally == expected_ && found.value == plus_total - 2 * minus_total;
      if (!v.ok)
        v.detail = "sync=" + sync_name() + " lost " + std::to_string(expected_ - found.tally) + " of " +
                   std::to_string(expected_) + " updates (value " + std::to_string(found.value) + ", expected " +
                   std::to_string(plus_total - 2 * minus_total) + ")";
      return v;
    }
    // The race may lose updates, but what survived must be a real mix of them: a surviving +1s
    // and b surviving -2s with a + b = tally and a - 2b = value, within what each side issued.
    const std::int64_t three_a = found.value + 2 * found.tally;
    const std::int64_t a = three_a / 3, b = found.tally - a;
    v.ok = found.tally >= 0 && found.tally <= expected_ && three_a % 3 == 0 && a >= 0 && a <= plus_total &&
           b >= 0 && b <= minus_total;
    v.error = 0.0;  // lost updates are the demonstration here, not an error
    if (!v.ok)
      v.detail = "counter (tally " + std::to_string(found.tally) + ", value " + std::to_string(found.value) +
                 ") is not any mix of the +1 and -2 updates issued";
    return v;
  }

  std::vector<Metric> metrics(Worker& w) override {
    // A worker's cost per update is its own iteration time over M; the team's is the slowest.
    const double ns = w.allreduce(times_.median() * 1e9 / static_cast<double>(m_), Op::max);
    const double lost = static_cast<double>(expected_ - found_tally_);
    return {{"lost_updates", lost, "", "critical: updates lost to the race (expected minus found)"},
            {"lost_fraction", expected_ > 0 ? lost / static_cast<double>(expected_) : 0.0, "",
             "critical: lost updates / updates issued"},
            {"updates_issued", static_cast<double>(expected_), "", "critical: updates issued by the team, all iterations"},
            {"counter_value", static_cast<double>(found_value_), "", "critical: final value of the shared counter"},
            {"ns_per_update", ns, "ns", "critical: median iteration time of the slowest worker / M"}};
  }

 private:
  std::string sync_name() const {
    static const char* names[] = {"none", "mutex", "atomic", "critical", "reduce"};
    return names[static_cast<int>(sync_)];
  }
  static constexpr std::size_t kChunk = 64;  // ~1 us of updates per GIL check
  std::size_t m_ = 0;
  Sync sync_ = Sync::none;
  int delta_ = 1;
  std::uint64_t increment_ = 0;
  std::uint64_t* word_ = nullptr;
  IterationTimes times_;
  std::int64_t expected_ = 0, found_tally_ = 0, found_value_ = 0;
};

}  // namespace

KernelInfo critical_kernel() {
  KernelInfo k;
  k.name = "critical";
  k.category = "synchronization";
  k.description = "workers add +1 / -2 to one shared counter M times each: race, mutex, atomic, OpenMP critical, reduce";
  k.size_unit = "updates per worker (M)";
  k.params = {{"sync", "none", {"none", "mutex", "atomic", "critical", "reduce"},
               "how the shared counter is protected (none = a deliberate race)"}};
  k.size_for_class = [](SizeClass c, const MachineInfo&) -> std::size_t {
    switch (c) {
      case SizeClass::S: return 20011;
      case SizeClass::M: return 1u << 20;
      case SizeClass::L: return 1u << 22;
    }
    return 1u << 20;
  };
  k.memory_bytes = [](const Params&, int) { return 64.0; };
  k.cost = [](const Params&, int) { return Cost{0.0, 0.0}; };  // no flops or streams: see ns_per_update
  k.validate = [](const RunSpec& spec) {
    const Params& p = spec.params;
    if (p.size == 0) throw UsageError("kernel critical: --size (M, updates per worker) must be at least 1");
    if (spec.scaling == "weak")
      throw UsageError("kernel critical: --size is already per worker (M updates each); drop --scaling weak");
    if (p.get("sync") == "critical" && !spec.team_critical)
      throw UsageError("kernel critical: sync=critical is an OpenMP critical section over the whole team, which --mode " +
                       spec.mode + " does not have (--mode openmp has)");
    const double updates = static_cast<double>(p.size) * spec.workers * (p.reps + p.warmup);
    if (updates >= kMaxUpdates)
      throw UsageError("kernel critical: M x workers x (reps + warmup) = " + std::to_string(updates) +
                       " updates; the counter holds fewer than 2^30, lower --size or --reps");
  };
  k.make = [] { return std::make_unique<Critical>(); };
  return k;
}

}  // namespace corescope::kernel_lib
