// Unit tests of the emulated GIL (src/backends/gil/): mutual exclusion, no lost wake-up or
// deadlock under stress, forced switching hands the GIL to the waiter, a lone holder is never
// asked to drop, and gil mode's release policies. Every test that could hang runs its threads
// under a deadline and fails instead.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <functional>
#include <future>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "kernels/registry.hpp"
#include "backends/registry.hpp"
#include "backends/gil/gil.hpp"
#include "backends/gil/gil_mode.hpp"
#include "core/errors.hpp"
#include "core/kernel.hpp"
#include "core/machine.hpp"
#include "core/mode.hpp"
#include "core/run.hpp"

namespace corescope {
namespace {

using namespace std::chrono_literals;
using gil::Gil;
using gil::GilThread;
using DropKind = Gil::DropKind;

// Runs body() on a thread of its own; if it has not returned by the deadline the test fails and
// the test process exits at once (its threads are stuck: there is nothing to join or unwind).
void run_with_deadline(std::function<void()> body, std::chrono::seconds deadline) {
  std::packaged_task<void()> task(std::move(body));
  auto done = task.get_future();
  std::thread runner(std::move(task));
  if (done.wait_for(deadline) != std::future_status::ready) {
    ADD_FAILURE() << "did not finish within " << deadline.count() << " s: deadlock or lost wake-up";
    std::fflush(nullptr);
    std::_Exit(1);
  }
  runner.join();
  done.get();  // rethrows an exception from body
}

// Runs body(t) on n threads, t = 0..n-1, under a deadline.
void run_threads_with_deadline(int n, std::function<void(int)> body,
                               std::chrono::seconds deadline) {
  run_with_deadline(
      [n, body = std::move(body)] {
        std::vector<std::thread> threads;
        for (int t = 0; t < n; ++t) threads.emplace_back(body, t);
        for (auto& th : threads) th.join();
      },
      deadline);
}

// What a GIL-holding thread does at a yield point (Worker::yield_point + on_drop_request).
void yield_point(Gil& g, GilThread& me) {
  if (me.drop_request.load(std::memory_order_relaxed)) {
    g.drop(me, DropKind::requested);
    g.take(me);
  }
}

TEST(Gil, NeverTwoHolders) {
  struct State {
    Gil gil{20us};
    std::atomic<int> inside{0}, max_inside{0};
    // plain memory: only correct if the GIL serializes (TSan checks too)
    long long unprotected = 0;
    std::atomic<long long> forced{0}, voluntary{0}, rounds{0};
    std::atomic<int> ready{0};
  };
  auto st = std::make_shared<State>();
  constexpr int kThreads = 4, kRounds = 20000;
  run_threads_with_deadline(
      kThreads,
      [st](int t) {
        GilThread me;
        std::mt19937 rng(static_cast<unsigned>(t));
        st->ready.fetch_add(1);
        while (st->ready.load() < kThreads) std::this_thread::yield();  // contend from the start
        // Keep going (bounded) until at least one forced switch has happened.
        const auto give_up = std::chrono::steady_clock::now() + 10s;
        st->gil.take(me);
        for (int r = 0;
             r < kRounds || (st->forced.load() == 0 && std::chrono::steady_clock::now() < give_up);
             ++r) {
          st->rounds.fetch_add(1, std::memory_order_relaxed);
          const int now = st->inside.fetch_add(1) + 1;
          int seen = st->max_inside.load();
          while (now > seen && !st->max_inside.compare_exchange_weak(seen, now)) {
          }
          // A read-modify-write spread over some work, so an overlap would lose updates.
          const long long before = st->unprotected;
          for (int spin = 0; spin < 100; ++spin)
            std::atomic_signal_fence(std::memory_order_seq_cst);
          st->unprotected = before + 1;
          st->inside.fetch_sub(1);
          if (me.drop_request.load(std::memory_order_relaxed)) st->forced.fetch_add(1);
          yield_point(st->gil, me);
          if (rng() % 4096 == 0) {  // a blocking call: release, wait a little, take back
            st->gil.drop(me, DropKind::voluntary);
            std::this_thread::yield();
            st->gil.take(me);
          }
        }
        st->gil.drop(me, DropKind::voluntary);
        EXPECT_EQ(me.acquires, me.forced_drops + me.voluntary_drops);  // every take was given back
        st->voluntary += me.voluntary_drops;
      },
      60s);
  EXPECT_EQ(st->max_inside.load(), 1);
  EXPECT_EQ(st->unprotected, st->rounds.load());
  EXPECT_GE(st->rounds.load(), static_cast<long long>(kThreads) * kRounds);
  // Both kinds of hand-off were exercised.
  EXPECT_GT(st->forced.load(), 0);
  EXPECT_GT(st->voluntary.load(), kThreads);
}

// Many threads, a tiny interval, random mixes of compute (with yield points) and blocking calls,
// under both policies: everything must finish (no lost wake-up, no forced drop waiting forever).
void stress(gil::Policy policy) {
  struct State {
    explicit State(gil::Policy p) : gil(20us, p) {}
    Gil gil;
    std::atomic<long long> sections{0};
    std::atomic<long long> forced{0}, requests{0}, acquires{0};
  };
  auto st = std::make_shared<State>(policy);
  constexpr int kThreads = 8, kRounds = 1500;
  run_threads_with_deadline(
      kThreads,
      [st](int t) {
        GilThread me;
        std::mt19937 rng(static_cast<unsigned>(t) * 7919u);
        for (int r = 0; r < kRounds; ++r) {
          st->gil.take(me);
          // Some "bytecode": spin with yield points for 0..~20 us.
          const auto until =
              std::chrono::steady_clock::now() + std::chrono::microseconds(rng() % 20);
          while (std::chrono::steady_clock::now() < until) yield_point(st->gil, me);
          st->sections.fetch_add(1);
          st->gil.drop(me, DropKind::voluntary);
          if (rng() % 8 == 0) std::this_thread::sleep_for(std::chrono::microseconds(rng() % 50));
        }
        st->forced += me.forced_drops;
        st->requests += me.drop_requests_made;
        st->acquires += me.acquires;
      },
      120s);
  EXPECT_EQ(st->sections.load(), 8LL * 1500);
  EXPECT_GE(st->acquires.load(), 8LL * 1500);
  // Every forced drop answered a request; requests that found the holder already leaving are
  // not answered by a forced drop, so there can be more requests than forced drops.
  EXPECT_LE(st->forced.load(), st->requests.load());
  EXPECT_EQ(st->acquires.load(), 8LL * 1500 + st->forced.load());
}

TEST(Gil, StressNoDeadlockCpythonPolicy) { stress(gil::Policy::cpython); }
TEST(Gil, StressNoDeadlockFifoPolicy) { stress(gil::Policy::fifo); }

TEST(Gil, ForcedSwitchHandsTheGilToTheWaiter) {
  struct State {
    Gil gil{2ms};
    GilThread a, b;
    std::atomic<bool> a_holds{false}, b_may_drop{false};
    std::uint64_t switches_before = 0, switches_at_return = 0, switches_after = 0;
  };
  auto st = std::make_shared<State>();
  run_with_deadline(
      [st] {
        std::thread a([st] {
          st->gil.take(st->a);
          st->a_holds = true;
          // CPU-bound "Python" code: runs until somebody asks for the GIL.
          while (!st->a.drop_request.load(std::memory_order_relaxed)) {
          }
          st->switches_before = st->gil.switch_number();
          st->gil.drop(st->a, DropKind::requested);
          // Forced switching: drop() returns only once another thread (B, the only other one)
          // has taken the GIL, so the hand-off is already counted.
          st->switches_at_return = st->gil.switch_number();
          st->b_may_drop = true;
          st->gil.take(st->a);  // waits until B lets go
          st->switches_after = st->gil.switch_number();
          st->gil.drop(st->a, DropKind::voluntary);
        });
        while (!st->a_holds) std::this_thread::yield();
        std::thread b([st] {
          st->gil.take(st->b);
          while (!st->b_may_drop) std::this_thread::yield();
          st->gil.drop(st->b, DropKind::voluntary);
        });
        a.join();
        b.join();
      },
      30s);
  EXPECT_EQ(st->switches_at_return, st->switches_before + 1);
  EXPECT_EQ(st->a.forced_drops, 1);
  EXPECT_EQ(st->b.drop_requests_made, 1);
  // B asked only after a whole interval of waiting.
  EXPECT_GE(st->b.wait_s, 2e-3);
  // A -> B, then B -> A: two hand-offs after A's first take.
  EXPECT_EQ(st->switches_after, st->switches_before + 2);
}

TEST(Gil, ALoneThreadIsNeverForcedOff) {
  struct State {
    Gil gil{200us};
    GilThread me;
    bool ever_asked = false;
  };
  auto st = std::make_shared<State>();
  run_with_deadline(
      [st] {
        st->gil.take(st->me);
        // 100 intervals of compute with yield points: with nobody waiting nobody may ask.
        const auto until = std::chrono::steady_clock::now() + 20ms;
        while (std::chrono::steady_clock::now() < until)
          st->ever_asked = st->ever_asked || st->me.drop_request.load(std::memory_order_relaxed);
        st->gil.drop(st->me, DropKind::voluntary);
      },
      30s);
  EXPECT_FALSE(st->ever_asked);
  EXPECT_EQ(st->me.forced_drops, 0);
  EXPECT_EQ(st->me.acquires, 1);
  EXPECT_EQ(st->gil.switch_number(), 1u);
}

TEST(Gil, BadPolicyAndReleaseNamesAreUsageErrors) {
  EXPECT_EQ(gil::parse_policy("cpython"), gil::Policy::cpython);
  EXPECT_EQ(gil::parse_policy("fifo"), gil::Policy::fifo);
  EXPECT_THROW(gil::parse_policy("python2"), UsageError);
  EXPECT_EQ(parse_gil_release("compute"), GilRelease::compute);
  EXPECT_THROW(parse_gil_release("all"), UsageError);
}

TEST(GilMode, PrepareRefusesBadIntervalsAndNames) {
  auto mode = find_mode("gil").make();
  for (double bad : {0.0, -1.0, 10.5, std::nan(""), 1e-12}) {
    RunSpec spec;
    spec.mode = "gil";
    spec.switch_interval_s = bad;
    EXPECT_THROW(mode->prepare(spec), UsageError) << bad;
  }
  RunSpec ok;
  ok.mode = "gil";
  ok.switch_interval_s = 10.0;
  EXPECT_NO_THROW(mode->prepare(ok));
  ok.gil_policy = "nope";
  EXPECT_THROW(mode->prepare(ok), UsageError);
  ok.gil_policy = "fifo";
  ok.gil_release = "nope";
  EXPECT_THROW(mode->prepare(ok), UsageError);
}

// A two-worker kernel that tells whether a kernel's blocking call releases the GIL: worker 0,
// inside blocking(), waits for worker 1 to run some (GIL-holding) code. Under --gil-release io
// it must see it; under none it must not (worker 1 cannot get the GIL while worker 0 holds it).
struct ProbeShared {
  std::atomic<bool> worker0_blocking{false};
  std::atomic<int> worker1_progress{0};
  std::atomic<bool> seen{false};
};

class BlockingProbe : public Kernel {
 public:
  explicit BlockingProbe(std::shared_ptr<ProbeShared> s) : s_(std::move(s)) {}
  void setup(Worker&, const Params&) override {}
  void iterate(Worker& w) override {
    if (w.id() == 0) {
      w.blocking([&] {
        s_->worker0_blocking = true;
        const auto until = std::chrono::steady_clock::now() + wait_;
        while (std::chrono::steady_clock::now() < until && s_->worker1_progress.load() == 0)
          std::this_thread::sleep_for(100us);
        s_->seen = s_->worker1_progress.load() > 0;
      });
    } else {
      // Python code spinning until worker 0 is inside its blocking call (yield points let the
      // GIL go to worker 0 when it asks); only then does it make progress.
      while (!s_->worker0_blocking.load()) w.yield_point();
      s_->worker1_progress.fetch_add(1);
    }
    w.barrier();
  }
  Verification verify(Worker&) override { return {true, 0.0, ""}; }
  std::chrono::milliseconds wait_{0};

 private:
  std::shared_ptr<ProbeShared> s_;
};

// Runs a test kernel (made by `make`) in gil mode, under a deadline.
RunResult run_gil(std::function<std::unique_ptr<Kernel>()> make, const std::string& release,
                  int workers, double interval_s, int reps) {
  KernelInfo info;
  info.name = "gil_probe";
  info.make = std::move(make);
  RunSpec spec;
  spec.kernel = info.name;
  spec.mode = "gil";
  spec.workers = workers;
  spec.threads_per_rank = workers;
  spec.switch_interval_s = interval_s;
  spec.gil_release = release;
  spec.params.reps = reps;
  spec.params.warmup = 0;
  auto mode = find_mode("gil").make();
  mode->prepare(spec);
  RunResult r;
  run_with_deadline([&] { r = mode->run(spec, info); }, 60s);
  return r;
}

RunResult run_probe(const std::string& release, std::chrono::milliseconds wait,
                    std::shared_ptr<ProbeShared> s) {
  return run_gil(
      [s, wait] {
        auto k = std::make_unique<BlockingProbe>(s);
        k->wait_ = wait;
        return k;
      },
      release, 2, 0.005, 1);
}

TEST(GilMode, KernelBlockingReleasesTheGilOnlyWhenAsked) {
  // io: worker 1 must get to run while worker 0 blocks (generous bound, normally immediate).
  auto io = std::make_shared<ProbeShared>();
  RunResult r = run_probe("io", 20000ms, io);
  EXPECT_EQ(r.status, "ok") << r.error;
  EXPECT_TRUE(io->seen.load());
  // none: worker 0 keeps the GIL through its blocking call, so worker 1 cannot have run yet;
  // the barrier afterwards still releases it, so the run completes.
  auto none = std::make_shared<ProbeShared>();
  r = run_probe("none", 50ms, none);
  EXPECT_EQ(r.status, "ok") << r.error;
  EXPECT_FALSE(none->seen.load());
}

// Python-level busy work for a fixed wall time, with a yield point per step: whoever holds the
// GIL keeps it until another worker has waited a whole interval, so over 40 intervals of
// overlapping spinning both workers wait, ask and are forced off, however loaded the machine.
class SpinKernel : public Kernel {
 public:
  void setup(Worker&, const Params&) override {}
  void iterate(Worker& w) override {
    const auto until = std::chrono::steady_clock::now() + 20ms;
    while (std::chrono::steady_clock::now() < until) w.yield_point();
    w.barrier();
  }
  Verification verify(Worker&) override { return {true, 0.0, ""}; }
};

TEST(GilMode, SamplesCarryGilStatistics) {
  for (const std::string release : {"io", "compute"}) {
    const RunResult r =
        run_gil([] { return std::make_unique<SpinKernel>(); }, release, 2, 0.0005, 2);
    ASSERT_EQ(r.status, "ok") << r.error;
    std::int64_t forced = 0, acquires = 0, requests = 0;
    double wait = 0;
    for (const auto& s : r.samples) {
      forced += s.gil_forced_switches;
      acquires += s.gil_acquires;
      requests += s.gil_drop_requests;
      wait += s.gil_wait_s;
    }
    if (release == "io") {
      EXPECT_GT(forced, 0);
      EXPECT_GE(requests, forced);
      EXPECT_GT(acquires, forced);
      EXPECT_GT(wait, 0.0005);  // at least one whole interval of waiting
    } else {
      // Spinning with the GIL released: no yield point ever runs holding it, so nobody is
      // forced off (a request may still happen if a holder is descheduled in the run loop).
      EXPECT_EQ(forced, 0);
    }
  }
}

// The GIL kernels under every release policy and the fifo policy: nesting of blocking scopes
// (a barrier inside a released iteration) must neither deadlock nor double-take.
TEST(GilMode, EveryReleaseAndPolicyCompletes) {
  for (const char* kernel : {"ep", "iowait", "convoy"}) {
    for (const char* release : {"none", "io", "compute"}) {
      for (const char* policy : {"cpython", "fifo"}) {
        const KernelInfo& k = find_kernel(kernel);
        RunSpec spec;
        spec.kernel = kernel;
        spec.mode = "gil";
        spec.workers = 3;
        spec.threads_per_rank = 3;
        spec.switch_interval_s = 0.001;
        spec.gil_release = release;
        spec.gil_policy = policy;
        spec.params = make_params(k, k.size_for_class(SizeClass::S, machine()), 2, 1, {});
        auto mode = find_mode("gil").make();
        mode->prepare(spec);
        RunResult r;
        run_with_deadline([&] { r = mode->run(spec, k); }, 120s);
        EXPECT_EQ(r.status, "ok") << kernel << " " << release << " " << policy << ": " << r.error;
        EXPECT_TRUE(r.verified) << kernel << " " << release << " " << policy << ": "
                                << r.verify_detail;
      }
    }
  }
}

}  // namespace
}  // namespace corescope
