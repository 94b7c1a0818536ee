// critical: the founding notes' lock example. Even workers add +1, odd workers add -2 to ONE
// counter in team memory (Worker::team_words), M times each per iteration, under a chosen
// synchronization:
//   none      a race on purpose: relaxed atomic load, then relaxed atomic store (no undefined
//             behaviour, but updates between the two are overwritten: lost updates); across
//             nodes MPI_Get, then MPI_Put
//   mutex     Worker::team_lock (std::mutex for threads, flock for processes, MPI window lock)
//   atomic    one fetch_add per update (across nodes MPI_Fetch_and_op)
//   critical  an OpenMP critical section (openmp mode only)
//   reduce    a private counter per worker, added to the shared one once per iteration
// Each update also adds 1 to a tally kept in the high half of the same 64-bit word, in the same
// single store, so a lost update loses exactly one tally: lost_updates = issued - found tally
// is an exact count, and the value half must be consistent with it.
//
// The race is made to happen, not hoped for. With sync=none each worker keeps updating after its
// M updates until the workers have raced at the same time for overlap_us (or overlap_cap_ms has
// passed): every worker publishes a progress count per chunk, and a chunk in which another
// worker's count moved, with no gap long enough to be a descheduling, is time spent running at
// once. That time is recorded (concurrent_fraction, concurrent_s, overlapped_iterations), so a
// run whose workers never ran at once (one CPU, a GIL) says so instead of showing "0 lost".
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>

#include "core/run.hpp"
#include "kernels/kernel_util.hpp"
#include "kernels/wait_util.hpp"

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

// A chunk interval longer than this had a descheduling in it: the other workers' progress during
// it is not "at the same time" (a time slice is milliseconds; a chunk of racing updates,
// microseconds).
constexpr std::int64_t kDescheduledNs = 100'000;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

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
    // One cache line each: the counter, the stop word of the race, every worker's progress.
    words_ = w.team_words(kWordsPerLine * (2 + static_cast<std::size_t>(w.count())));
    goal_ns_ = p.get_int("overlap_us") * 1000;
    cap_ns_ = p.get_int("overlap_cap_ms") * 1'000'000;
    planned_ = static_cast<std::size_t>(std::max(0, p.reps) + std::max(0, p.warmup));
    warmup_ = static_cast<std::size_t>(std::max(0, p.warmup));
    // The race's extra updates keep the whole run inside the tally's range (validate checked M).
    max_updates_ = static_cast<std::size_t>(
        kMaxUpdates / (static_cast<double>(w.count()) * std::max<std::size_t>(1, planned_)));
    times_.reserve(p);
    updates_.assign(planned_, 0);
    concurrent_ns_.assign(planned_, 0);
    loop_ns_.assign(planned_, 0);
    goal_met_.assign(planned_, 0);
  }

  void iterate(Worker& w) override {
    words_.visit([&](auto mem) { iterate_on(w, mem); });
  }

  // One iteration on team memory `mem` (LocalWords or RemoteWordsRef, core/worker.hpp).
  template <class Mem>
  void iterate_on(Worker& w, Mem mem) {
    times_.start();
    const std::uint64_t inc = increment_;
    std::size_t issued = m_;
    switch (sync_) {
      case Sync::none: issued = race(w, mem); break;
      case Sync::mutex:
        chunked(w, 0, m_, kChunk, [&](std::size_t lo, std::size_t hi) {
          for (std::size_t i = lo; i < hi; ++i) {
            w.team_lock();
            // The lock may be a file or MPI lock the compiler knows nothing of: the atomic
            // acquire/release keep the read-modify-write inside it.
            mem.store(kCounter, mem.load(kCounter, std::memory_order_acquire) + inc,
                      std::memory_order_release);
            w.team_unlock();
          }
        });
        break;
      case Sync::atomic:
        chunked(w, 0, m_, kChunk, [&](std::size_t lo, std::size_t hi) {
          for (std::size_t i = lo; i < hi; ++i)
            mem.fetch_add(kCounter, inc, std::memory_order_relaxed);
        });
        break;
      case Sync::critical: {
        auto update = [&] { mem.write(kCounter, mem.read(kCounter) + inc); };
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
        mem.fetch_add(kCounter, mine, std::memory_order_relaxed);
        break;
      }
    }
    times_.stop();
    if (iteration_ < planned_) updates_[iteration_] = issued;
    issued_ += issued;
    ++iteration_;
  }

  Verification verify(Worker& w) override {
    w.barrier();  // every worker's last update has landed
    const Counter found = decode(words_.load(kCounter));
    // Every worker ran the same number of iterations; the allreduce checks that too. What each
    // issued is counted (the race runs past M), summed exactly in doubles (far below 2^53).
    const double iters = static_cast<double>(times_.iterations());
    const double iters_min = w.allreduce(iters, Op::min), iters_max = w.allreduce(iters, Op::max);
    const double mine = static_cast<double>(issued_);
    const auto plus_total =
        static_cast<std::int64_t>(w.allreduce(delta_ > 0 ? mine : 0.0, Op::sum));
    const auto minus_total =
        static_cast<std::int64_t>(w.allreduce(delta_ > 0 ? 0.0 : mine, Op::sum));
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
        v.detail = "sync=" + sync_name() + " lost " + std::to_string(expected_ - found.tally) +
                   " of " + std::to_string(expected_) + " updates (value " +
                   std::to_string(found.value) + ", expected " +
                   std::to_string(plus_total - 2 * minus_total) + ")";
      return v;
    }
    // The race may lose updates, but what survived must be a real mix of them: a surviving +1s
    // and b surviving -2s with a + b = tally and a - 2b = value, within what each side issued.
    const std::int64_t three_a = found.value + 2 * found.tally;
    const std::int64_t a = three_a / 3, b = found.tally - a;
    v.ok = found.tally >= 0 && found.tally <= expected_ && three_a % 3 == 0 && a >= 0 &&
           a <= plus_total && b >= 0 && b <= minus_total;
    v.error = 0.0;  // lost updates are the demonstration here, not an error
    if (!v.ok)
      v.detail = "counter (tally " + std::to_string(found.tally) + ", value " +
                 std::to_string(found.value) + ") is not any mix of the +1 and -2 updates issued";
    return v;
  }

  std::vector<Metric> metrics(Worker& w) override {
    // A worker's cost per update is its own iteration time over the updates it issued in it
    // (median over the timed iterations); the team's is the slowest.
    const std::size_t kept = std::min(iteration_, planned_);
    const std::size_t first = kept > warmup_ ? warmup_ : 0;
    std::vector<double> per_update;
    for (std::size_t i = first; i < kept; ++i)
      if (updates_[i] > 0)
        per_update.push_back(times_.seconds(i) * 1e9 / static_cast<double>(updates_[i]));
    const double ns = w.allreduce(median_of(per_update), Op::max);
    const double lost = static_cast<double>(expected_ - found_tally_);
    std::vector<Metric> out = {
        {"lost_updates", lost, "", "critical: updates lost to the race (issued minus found)"},
        {"lost_fraction", expected_ > 0 ? lost / static_cast<double>(expected_) : 0.0, "",
         "critical: lost updates / updates issued"},
        {"updates_issued", static_cast<double>(expected_), "",
         "critical: updates issued by the team, all iterations"},
        {"counter_value", static_cast<double>(found_value_), "",
         "critical: final value of the shared counter"},
        {"ns_per_update", ns, "ns",
         "critical: median iteration time / updates of the slowest worker"}};
    const Overlap o = overlap(w, first, kept);
    out.push_back({"concurrent_fraction", o.fraction, "",
                   "critical sync=none: share of the racy loop during which another worker ran at "
                   "the same time "
                   "(0 = never: one CPU or a GIL; NaN = not measured)"});
    out.push_back({"concurrent_s", o.seconds, "s",
                   "critical sync=none: median over timed iterations of the least time a worker "
                   "raced with another running"});
    out.push_back(
        {"overlapped_iterations", o.iterations, "",
         "critical sync=none: timed iterations in which the workers raced at once for overlap_us"});
    return out;
  }

 private:
  // Word indices in the team words: one cache line (8 words) each.
  static constexpr std::size_t kWordsPerLine = 8;
  static constexpr std::size_t kCounter = 0, kStop = kWordsPerLine;
  static std::size_t progress(int worker) {
    return (2 + static_cast<std::size_t>(worker)) * kWordsPerLine;
  }

  std::string sync_name() const {
    static const char* names[] = {"none", "mutex", "atomic", "critical", "reduce"};
    return names[static_cast<int>(sync_)];
  }

  static double median_of(std::vector<double> v) {
    if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
  }

  // sync=none: at least M racing updates, then on until the team has raced at once for goal_ns_
  // (some worker saw it and set the stop word to this iteration) or cap_ns_ has passed. Returns
  // the updates issued. Iterations past the planned ones (benchmarks) make exactly M.
  template <class Mem>
  std::size_t race(Worker& w, Mem mem) {
    const std::uint64_t inc = increment_;
    const int n = w.count(), me = w.id();
    const bool planned = iteration_ < planned_;
    const bool alone = n == 1 || !planned;
    const std::uint64_t ticket = iteration_ + 1;  // the same sequence on every worker
    const std::size_t mine = progress(me);
    std::vector<std::uint64_t> seen(static_cast<std::size_t>(n));
    for (int j = 0; j < n; ++j) seen[j] = mem.load(progress(j), std::memory_order_relaxed);
    const std::int64_t t0 = now_ns();
    std::int64_t last = t0, concurrent = 0;
    std::size_t done = 0, chunks = 0;
    bool goal = false;
    for (;;) {
      const std::size_t k = done < m_ ? std::min(kChunk, m_ - done) : kChunk;  // exactly M, then on
      for (std::size_t i = 0; i < k; ++i) mem.write(kCounter, mem.read(kCounter) + inc);
      done += k;
      mem.store(mine, mem.load(mine, std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      w.yield_point();
      if (alone) {
        if (done >= m_) break;
        continue;
      }
      if (++chunks % kCheckEvery != 0)
        continue;  // the clock and the peers' counts every few chunks
      {
        const std::int64_t t = now_ns();
        bool others = false;
        for (int j = 0; j < n; ++j) {
          if (j == me) continue;
          const std::uint64_t v = mem.load(progress(j), std::memory_order_relaxed);
          others |= v != seen[j];
          seen[j] = v;
        }
        if (others && t - last < kDescheduledNs) concurrent += t - last;
        last = t;
        if (done >= m_) {
          goal = concurrent >= goal_ns_;
          if (goal || t - t0 >= cap_ns_ || done >= max_updates_) {
            std::uint64_t cur = mem.load(kStop, std::memory_order_relaxed);
            while (cur < ticket &&
                   !mem.compare_exchange(kStop, cur, ticket, std::memory_order_relaxed)) {
            }
            break;
          }
          if (mem.load(kStop, std::memory_order_relaxed) >= ticket) break;
        }
      }
    }
    if (planned) {
      concurrent_ns_[iteration_] = concurrent;
      loop_ns_[iteration_] = now_ns() - t0;
      goal_met_[iteration_] = goal ? 1 : 0;
    }
    return done;
  }

  struct Overlap {
    double fraction = std::numeric_limits<double>::quiet_NaN(),
           seconds = std::numeric_limits<double>::quiet_NaN(),
           iterations = std::numeric_limits<double>::quiet_NaN();
  };
  // Collective over the timed iterations [first, kept): the team's share of racing time, the
  // least racing time per iteration (median), the iterations in which some worker met the goal.
  Overlap overlap(Worker& w, std::size_t first, std::size_t kept) {
    Overlap o;
    if (sync_ != Sync::none || w.count() < 2 || kept <= first) return o;
    std::vector<double> least(kept - first), met(kept - first);
    double concurrent = 0, loop = 0;
    for (std::size_t i = first; i < kept; ++i) {
      least[i - first] = static_cast<double>(concurrent_ns_[i]) * 1e-9;
      met[i - first] = goal_met_[i];
      concurrent += static_cast<double>(concurrent_ns_[i]);
      loop += static_cast<double>(loop_ns_[i]);
    }
    w.allreduce(least, Op::min);
    w.allreduce(met, Op::max);
    concurrent = w.allreduce(concurrent, Op::sum);
    loop = w.allreduce(loop, Op::sum);
    o.fraction = loop > 0 ? concurrent / loop : 0.0;
    o.seconds = median_of(least);
    o.iterations = 0;
    for (double m : met) o.iterations += m;
    return o;
  }

  static constexpr std::size_t kChunk = 64;      // ~1 us of updates per GIL check
  static constexpr std::size_t kCheckEvery = 4;  // race: chunks per look at the clock and the peers
  std::size_t m_ = 0;
  Sync sync_ = Sync::none;
  int delta_ = 1;
  std::uint64_t increment_ = 0;
  // kCounter: the counter; kStop: the iteration (1-based) whose race some worker ended;
  // progress(j): worker j's chunk count.
  TeamWords words_;
  std::int64_t goal_ns_ = 0, cap_ns_ = 0;
  std::size_t planned_ = 0, warmup_ = 0, max_updates_ = 0, iteration_ = 0, issued_ = 0;
  std::vector<std::size_t> updates_;
  std::vector<std::int64_t> concurrent_ns_, loop_ns_;
  std::vector<double> goal_met_;
  IterationTimes times_;
  std::int64_t expected_ = 0, found_tally_ = 0, found_value_ = 0;
};

}  // namespace

KernelInfo critical_kernel() {
  KernelInfo k;
  k.name = "critical";
  k.category = "synchronization";
  k.description =
      "workers add +1 / -2 to one shared counter M times each: race, mutex, atomic, OpenMP "
      "critical, reduce";
  k.size_unit = "updates per worker (M)";
  // Each worker issues M updates per repetition (sync=none's race may add some: ns_per_update
  // in /runs counts them).
  k.merit = {.name = "time", .unit = "update", .count_column = "size"};
  k.params = {
      {"sync",
       "none",
       {"none", "mutex", "atomic", "critical", "reduce"},
       "how the shared counter is protected (none = a deliberate race)"},
      {"overlap_us",
       "500",
       {},
       "sync=none: after M updates, race on until the workers ran at the same time this long"},
      {"overlap_cap_ms",
       "50",
       {},
       "sync=none: ... or until this much time has passed (they never ran at once: one CPU, a "
       "GIL)"}};
  k.size_for_class = [](SizeClass c, const MachineInfo&) -> std::size_t {
    switch (c) {
      case SizeClass::S: return 20011;
      case SizeClass::M: return 1u << 20;
      case SizeClass::L: return 1u << 22;
    }
    return 1u << 20;
  };
  k.memory_bytes = [](const Params&, int) { return 64.0; };
  k.cost = [](const Params&, int) {
    return Cost{0.0, 0.0};
  };  // no flops or streams: see ns_per_update
  k.validate = [](const RunSpec& spec) {
    const Params& p = spec.params;
    if (p.size == 0)
      throw UsageError("kernel critical: --size (M, updates per worker) must be at least 1");
    if (spec.scaling == "weak")
      throw UsageError(
          "kernel critical: --size is already per worker (M updates each); drop --scaling weak");
    if (p.get("sync") == "critical" && !spec.team_critical)
      throw UsageError(
          "kernel critical: sync=critical is an OpenMP critical section over the whole team, which "
          "--mode " +
          spec.mode + " does not have (--mode openmp has)");
    int_param_in(p, "critical", "overlap_us", 0, 10'000'000);
    int_param_in(p, "critical", "overlap_cap_ms", 1, 600'000);
    const double updates = static_cast<double>(p.size) * spec.workers * (p.reps + p.warmup);
    if (updates >= kMaxUpdates)
      throw UsageError(
          "kernel critical: M x workers x (reps + warmup) = " + std::to_string(updates) +
          " updates; the counter holds fewer than 2^30, lower --size or --reps");
  };
  k.make = [] { return std::make_unique<Critical>(); };
  return k;
}

}  // namespace corescope::kernel_lib
