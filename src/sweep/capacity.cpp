// The parallel capacity check (capacity.hpp).
#include "sweep/capacity.hpp"

#include <sched.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <cmath>
#include <new>
#include <thread>

#include "core/errors.hpp"
#include "core/machine.hpp"
#include "core/platform.hpp"
#include "core/speed_probe.hpp"
#include "core/text.hpp"

namespace corescope::sweep {

namespace {

double now_s() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// The team's meeting point and results, in memory that forked workers share too. Only
// lock-free atomics and plain doubles, so the same layout works for threads and processes.
struct Board {
  std::atomic<int> arrived{0};
  std::atomic<int> phase{0};
  std::atomic<int> failed{0};
  int workers = 0, trials = 0;
  double deadline = 0;  // CLOCK_MONOTONIC seconds: waiting past it fails the check
  // [trial]: worker 0 alone; then [trial][worker]: everyone at once.
  double* alone() { return reinterpret_cast<double*>(this + 1); }
  double* together() { return alone() + trials; }
};
static_assert(std::atomic<int>::is_always_lock_free);

bool late(Board& b) {
  if (b.failed.load() || now_s() > b.deadline) {
    b.failed.store(1);
    return true;
  }
  return false;
}

// A sense-counting barrier; false if the deadline passed (a worker never came).
bool meet(Board& b, int& phase) {
  const int next = phase + 1;
  if (b.arrived.fetch_add(1) + 1 == b.workers) {
    b.arrived.store(0);
    b.phase.store(next);
  } else {
    // Spin (a sleeping worker would hand its CPU to another task), but let a team mate that
    // shares this CPU run now and then, or a loaded machine makes every meeting a time slice.
    for (unsigned spins = 1; b.phase.load() != next; ++spins) {
      if (late(b)) return false;
      platform::cpu_relax();  // the lone worker's CPU may share a core with this one
      if (spins % 4096 == 0) ::sched_yield();
    }
  }
  phase = next;
  return true;
}

// Each trial: worker 0 runs the loop alone while the others wait at the barrier, then everyone
// runs it at once. The waiting workers spin, so the sweep's CPUs stay with the team: a worker
// that slept would hand its CPU to another task for the lone run (measured on the 2-vCPU VM
// under load: lone runs 3-7x slower in bursts, "capacities" of 5-13). Alternating the two inside
// every trial lets both see the same moment of the machine.
void work(Board& b, int worker) {
  int phase = 0;
  for (int t = 0; t < b.trials; ++t) {
    if (!meet(b, phase)) return;
    if (worker == 0) b.alone()[t] = capacity_loop_s();
    if (!meet(b, phase)) return;
    b.together()[t * b.workers + worker] = capacity_loop_s();
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n == 0 ? NAN : n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// The trials on `workers` workers (the caller is worker 0): fills one_s and all_s, NaN if the
// team failed.
void run_team(Capacity& c, bool processes) {
  const int workers = c.workers, trials = c.trials;
  const std::size_t bytes =
      sizeof(Board) + sizeof(double) * static_cast<std::size_t>((workers + 1) * trials);
  c.one_s = c.all_s = NAN;
  void* mem = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return;
  Board& b = *new (mem) Board;
  b.workers = workers;
  b.trials = trials;
  b.deadline = now_s() + 10;
  std::vector<std::thread> threads;
  std::vector<pid_t> children;
  for (int w = 1; w < workers; ++w) {
    if (!processes) {
      threads.emplace_back([&b, w] { work(b, w); });
      continue;
    }
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid == 0) {  // the worker: the loop and atomics only, then out without cleanup
      platform::die_with_parent();
      if (::getppid() == parent) work(b, w);
      ::_exit(0);
    }
    if (pid < 0) {
      b.failed.store(1);
      break;
    }
    children.push_back(pid);
  }
  work(b, 0);
  for (auto& t : threads) t.join();
  for (pid_t pid : children) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (!b.failed.load()) {
    std::vector<double> slowest;
    for (int t = 0; t < trials; ++t)
      slowest.push_back(
          *std::max_element(b.together() + t * workers, b.together() + (t + 1) * workers));
    c.one_s = median(std::vector<double>(b.alone(), b.alone() + trials));
    c.all_s = median(slowest);
  }
  b.~Board();
  ::munmap(mem, bytes);
}

}  // namespace

double capacity_loop_s() {
  // The speed probe's work (ep's kind of hashing, throughput-bound), one timing of about 2.5 ms
  // here: longer than a scheduler time slice, so a CPU time-shared with other tasks shows (a
  // 0.125 ms loop fitted inside one slice). Throughput-bound, so two CPUs that slow each other
  // when both are busy (hardware threads of one core, or a host's shared resources) show too: a
  // latency-bound chain read a capacity of 2 on the development VM while ep's two workers got
  // about 1.5x of one (docs/dev/noise.md).
  constexpr std::uint64_t kSamples = 550000;
  return speed_probe(kSamples, 1);
}

Capacity measure_capacity(const std::string& mode, int workers, int trials) {
  CS_CHECK(mode == "threads" || mode == "processes");
  CS_CHECK(workers >= 1 && trials >= 1);
  Capacity c;
  c.mode = mode;
  c.workers = workers;
  c.trials = trials;
  c.started = iso_now();
  run_team(c, mode == "processes");
  c.capacity = workers * c.one_s / c.all_s;
  return c;
}

record::Table capacity_rows(const std::vector<Capacity>& checks, const CapacityTag& tag) {
  record::Table t;
  record::TableBuilder b(t);
  for (const auto& c : checks) {
    b.row();
    b.str("sweep_id", tag.sweep_id, "id of the corescope sweep invocation that made the check");
    b.str("sweep_plan", tag.sweep_plan, "hash of the sweep's plan");
    b.i64("round", tag.round, "", "the sweep's round (0-based) the check was made at the start of");
    b.str("mode", c.mode, "threads or processes (forked)");
    b.i64("workers", c.workers, "",
          "workers that ran the loop at once: the CPUs the sweep may use");
    b.i64("trials", c.trials, "", "times the loop was run each way");
    b.f64("one_s", c.one_s, "s", "median time of the loop on one worker alone");
    b.f64("all_s", c.all_s, "s",
          "median over trials of the slowest worker's time, all workers at once");
    b.f64("capacity", c.capacity, "", "workers x one_s / all_s: CPUs' worth of work delivered");
    b.str("started", c.started, "start of the check, ISO 8601 UTC");
    b.str("host", machine().host, "host name");
  }
  b.finish();
  return t;
}

}  // namespace corescope::sweep
