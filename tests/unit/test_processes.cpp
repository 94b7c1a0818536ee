// The processes mode's supervisor and channels: messages of every size arrive intact over every
// channel, exchanges of large messages do not deadlock, team-shared memory and the flock team
// lock really are shared across processes, and a worker that is SIGKILLed, throws or hangs is
// reported while nothing (child process, zombie, /dev/shm segment, temp file) is left behind.
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <set>
#include <thread>

#include "kernels/registry.hpp"
#include "backends/registry.hpp"
#include "backends/processes/channels/channel.hpp"
#include "backends/processes/supervisor.hpp"
#include "core/errors.hpp"
#include "core/kernel.hpp"
#include "core/mode.hpp"
#include "core/run.hpp"

namespace corescope::processes {
namespace {

// Names in a directory that start with `prefix`.
std::set<std::string> entries(const std::string& dir, const std::string& prefix) {
  std::set<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (std::strncmp(e->d_name, prefix.c_str(), prefix.size()) == 0) out.insert(e->d_name);
    closedir(d);
  }
  return out;
}

// What a team may leave behind: its temp dir and shared-memory names carry the supervisor's pid.
struct Leftovers {
  std::set<std::string> shm, tmp;
  static Leftovers now() {
    const std::string mine = "corescope-" + std::to_string(getpid()) + "-";
    const char* t = std::getenv("TMPDIR");
    return {entries("/dev/shm", mine), entries(t && *t ? t : "/tmp", mine)};
  }
};

// Every child of this test process has been reaped: waitpid finds none, zombie or alive.
bool no_children() {
  int status = 0;
  return waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD;
}

RunSpec spec_for(int workers, const std::string& channel, std::size_t size = 1, int reps = 3,
                 int warmup = 1) {
  RunSpec s;
  s.kernel = "test";
  s.mode = "processes";
  s.workers = s.ranks = workers;
  s.channel = channel;
  s.params.size = size;
  s.params.reps = reps;
  s.params.warmup = warmup;
  return s;
}

// A kernel written inline: setup/iterate/verify from lambdas.
struct LambdaKernel : Kernel {
  std::function<void(Worker&, const Params&)> on_setup = [](Worker&, const Params&) {};
  std::function<void(Worker&)> on_iterate = [](Worker&) {};
  std::function<bool(Worker&)> on_verify = [](Worker&) { return true; };
  void setup(Worker& w, const Params& p) override { on_setup(w, p); }
  void iterate(Worker& w) override { on_iterate(w); }
  Verification verify(Worker& w) override {
    w.barrier();  // the run loop goes straight from a worker's last iteration to its check
    Verification v;
    v.ok = w.allreduce(on_verify(w) ? 1.0 : 0.0, Op::min) > 0.5;
    return v;
  }
};

KernelInfo info_of(std::function<std::unique_ptr<Kernel>()> make) {
  KernelInfo k;
  k.name = "test";
  k.cost = [](const Params&, int) { return Cost{}; };
  k.memory_bytes = [](const Params&, int) { return 0.0; };
  k.make = std::move(make);
  return k;
}

class EveryChannel : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    before_ = Leftovers::now();
    ASSERT_TRUE(no_children());
  }
  void TearDown() override {
    EXPECT_TRUE(no_children()) << "a worker process was not reaped";
    const Leftovers after = Leftovers::now();
    EXPECT_EQ(after.shm, before_.shm) << "a shared-memory segment was left in /dev/shm";
    EXPECT_EQ(after.tmp, before_.tmp) << "a team directory was left in the temp dir";
  }
  Leftovers before_;
};

std::string channel_name(const ::testing::TestParamInfo<std::string>& p) { return p.param; }

// Each worker sends a message of every size to the next worker and receives from the previous
// one; payloads depend on (sender, size), so a lost, reordered or mixed-up message fails.
TEST_P(EveryChannel, MessagesOfEverySizeArriveIntactAndInOrder) {
  const std::vector<std::size_t> sizes{0, 1, 7, 8, 64, 4095, 4096, 65537, 1u << 20, (3u << 20) + 5};
  auto make = [&] {
    auto k = std::make_unique<LambdaKernel>();
    auto bad = std::make_shared<int>(0);
    k->on_iterate = [sizes, bad](Worker& w) {
      const int next = (w.id() + 1) % w.count(), prev = (w.id() + w.count() - 1) % w.count();
      for (std::size_t n : sizes) {
        std::vector<unsigned char> out(n), in(n, 0xEE);
        for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<unsigned char>(i * 7 + n + w.id());
        // Large messages both ways at once: sendrecv must not deadlock on full buffers.
        w.sendrecv(next, out.data(), n, prev, in.data(), n);
        for (std::size_t i = 0; i < n; ++i)
          if (in[i] != static_cast<unsigned char>(i * 7 + n + prev)) ++*bad;
      }
      // Plain send/recv in a ring order that cannot deadlock: even ids send first.
      const std::size_t n = 200000;
      std::vector<double> out(n / 8, w.id() + 0.5), in(n / 8, -1);
      if (w.id() % 2 == 0) {
        w.send(next, out.data(), n / 8 * sizeof(double));
        w.recv(prev, in.data(), n / 8 * sizeof(double));
      } else {
        w.recv(prev, in.data(), n / 8 * sizeof(double));
        w.send(next, out.data(), n / 8 * sizeof(double));
      }
      for (double x : in)
        if (x != prev + 0.5) ++*bad;
    };
    k->on_verify = [bad](Worker&) { return *bad == 0; };
    return k;
  };
  for (int workers : {2, 4}) {
    const TeamReport r = run_team(spec_for(workers, GetParam(), 1, 2, 0), info_of(make));
    ASSERT_EQ(r.culprit, -1) << r.failure;
    for (const auto& s : r.workers) {
      EXPECT_EQ(s.end, WorkerEnd::completed) << s.outcome.error;
      EXPECT_TRUE(s.outcome.verified);
      EXPECT_EQ(s.outcome.samples.size(), 2u);
    }
  }
}

TEST_P(EveryChannel, CollectivesGiveIdenticalResultsEverywhere) {
  auto make = [] {
    auto k = std::make_unique<LambdaKernel>();
    auto ok = std::make_shared<bool>(true);
    k->on_iterate = [ok](Worker& w) {
      std::vector<double> v(70);  // more than one round of the shm slots
      for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(w.id() * 100 + i);
      auto sum = v, mn = v, mx = v;
      w.allreduce(sum, Op::sum);
      w.allreduce(mn, Op::min);
      w.allreduce(mx, Op::max);
      const double n = w.count();
      for (std::size_t i = 0; i < v.size(); ++i) {
        const double expect_sum = 100.0 * n * (n - 1) / 2 + n * static_cast<double>(i);
        *ok = *ok && sum[i] == expect_sum && mn[i] == static_cast<double>(i) &&
              mx[i] == (n - 1) * 100 + static_cast<double>(i);
      }
      for (int b = 0; b < 50; ++b) w.barrier();
    };
    k->on_verify = [ok](Worker&) { return *ok; };
    return k;
  };
  const TeamReport r = run_team(spec_for(3, GetParam()), info_of(make));
  ASSERT_EQ(r.culprit, -1) << r.failure;
  for (const auto& s : r.workers) EXPECT_TRUE(s.outcome.verified) << s.worker;
}

// The founding notes' +1 / -2 example across processes: the non-atomic update is exact only
// because team_lock (flock) excludes the others; the atomic_ref one needs real shared memory.
TEST_P(EveryChannel, TeamSharedMemoryAndTeamLockWorkAcrossProcesses) {
  constexpr int kUpdates = 2000;
  auto make = [] {
    auto k = std::make_unique<LambdaKernel>();
    auto words = std::make_shared<std::int64_t*>(nullptr);
    k->on_setup = [words](Worker& w, const Params&) {
      *words = static_cast<std::int64_t*>(w.team_shared(128));
    };
    k->on_iterate = [words](Worker& w) {
      std::int64_t* x = *words;
      for (int i = 0; i < kUpdates; ++i) {
        w.team_lock();
        const std::int64_t seen =
            std::atomic_ref<std::int64_t>(x[0]).load(std::memory_order_relaxed);
        std::atomic_ref<std::int64_t>(x[0]).store(seen + (w.id() % 2 ? -2 : 1),
                                                  std::memory_order_relaxed);
        w.team_unlock();
        std::atomic_ref<std::int64_t>(x[8]).fetch_add(1);
      }
    };
    k->on_verify = [words](Worker& w) {
      std::int64_t expect = 0;
      for (int id = 0; id < w.count(); ++id) expect += (id % 2 ? -2 : 1) * kUpdates * 3;  // 3 reps
      return (*words)[0] == expect &&
             (*words)[8] == static_cast<std::int64_t>(w.count()) * kUpdates * 3;
    };
    return k;
  };
  const TeamReport r = run_team(spec_for(3, GetParam(), 1, 3, 0), info_of(make));
  ASSERT_EQ(r.culprit, -1) << r.failure;
  for (const auto& s : r.workers) EXPECT_TRUE(s.outcome.verified) << s.worker;
}

// Worker 1 is SIGKILLed mid-run while the others wait for it.
TEST_P(EveryChannel, WorkerKilledMidRunIsReportedAndNothingIsLeft) {
  auto make = [] {
    auto k = std::make_unique<LambdaKernel>();
    k->on_iterate = [n = 0](Worker& w) mutable {
      if (w.id() == 1 && ++n == 3) raise(SIGKILL);
      double x = 1;
      w.sendrecv((w.id() + 1) % w.count(), &x, sizeof x, (w.id() + w.count() - 1) % w.count(), &x,
                 sizeof x);
      w.barrier();
    };
    return k;
  };
  const auto t0 = std::chrono::steady_clock::now();
  const TeamReport r = run_team(spec_for(3, GetParam(), 1, 100, 1), info_of(make));
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(took, 4.0) << "the survivors should notice within a fraction of a second";
  ASSERT_EQ(r.culprit, 1);
  EXPECT_EQ(r.workers[1].end, WorkerEnd::died);
  EXPECT_EQ(r.workers[1].signal, SIGKILL);
  EXPECT_NE(r.failure.find("killed by signal 9"), std::string::npos) << r.failure;
  for (int id : {0, 2}) {
    EXPECT_EQ(r.workers[static_cast<std::size_t>(id)].end, WorkerEnd::aborted);
    EXPECT_FALSE(r.workers[static_cast<std::size_t>(id)].killed_by_supervisor)
        << "should have stopped by itself";
  }
  const RunResult result = to_run_result(spec_for(3, GetParam()), r);
  EXPECT_EQ(result.status, "failed");
  EXPECT_NE(result.error.find("worker 1: killed by signal 9"), std::string::npos) << result.error;
}

TEST_P(EveryChannel, WorkerThatThrowsStopsTheTeam) {
  auto make = [] {
    auto k = std::make_unique<LambdaKernel>();
    k->on_iterate = [](Worker& w) {
      if (w.id() == 2) throw RuntimeFailure("injected failure");
      w.barrier();
    };
    return k;
  };
  const TeamReport r = run_team(spec_for(3, GetParam()), info_of(make));
  ASSERT_EQ(r.culprit, 2);
  EXPECT_EQ(r.workers[2].end, WorkerEnd::failed);
  EXPECT_EQ(r.failure, "injected failure");
  EXPECT_EQ(r.workers[0].end, WorkerEnd::aborted);
}

TEST_P(EveryChannel, WatchdogKillsAHungWorker) {
  auto make = [] {
    auto k = std::make_unique<LambdaKernel>();
    k->on_iterate = [](Worker& w) {
      if (w.id() == 0)
        for (;;)
          std::this_thread::sleep_for(
              std::chrono::milliseconds(10));  // hangs, never checks anything
      w.barrier();
    };
    return k;
  };
  TeamOptions o;
  o.timeout_s = 0.5;
  o.grace_s = 0.3;
  const TeamReport r = run_team(spec_for(2, GetParam()), info_of(make), o);
  EXPECT_TRUE(r.timed_out);
  ASSERT_EQ(r.culprit, 0);
  EXPECT_TRUE(r.workers[0].killed_by_supervisor);
  EXPECT_EQ(r.workers[1].end, WorkerEnd::aborted);
  EXPECT_FALSE(r.workers[1].killed_by_supervisor);
}

INSTANTIATE_TEST_SUITE_P(Processes, EveryChannel, ::testing::ValuesIn(channel_names()),
                         channel_name);

TEST(ProcessesBadInput, UnknownChannelListsTheChannels) {
  try {
    run_team(spec_for(2, "carrier-pigeon"),
             info_of([] { return std::make_unique<LambdaKernel>(); }));
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("shm, pipe, file, socket"), std::string::npos) << e.what();
  }
}

TEST(ProcessesBadInput, TempDirNotWritable) {
  const char* old = std::getenv("TMPDIR");
  const std::string saved = old ? old : "";
  setenv("TMPDIR", "/proc/self/this-is-not-a-dir", 1);
  try {
    run_team(spec_for(2, "shm"), info_of([] { return std::make_unique<LambdaKernel>(); }));
    ADD_FAILURE() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("TMPDIR"), std::string::npos) << e.what();
  }
  if (old)
    setenv("TMPDIR", saved.c_str(), 1);
  else
    unsetenv("TMPDIR");
  EXPECT_TRUE(no_children());
}

TEST(ProcessesBadInput, SharedMemoryTooSmallIsRefusedBeforeAnyFork) {
  // 3000 workers need ~9 million rings: far more than any /dev/shm.
  try {
    run_team(spec_for(3000, "shm"), info_of([] { return std::make_unique<LambdaKernel>(); }));
    ADD_FAILURE() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("/dev/shm"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(no_children());
}

}  // namespace
}  // namespace corescope::processes

namespace corescope::processes {
namespace {

// pingpong's stamps cover messages shorter than, equal to and longer than 8 and 16 bytes.
TEST(PingPong, VerifiesAtAwkwardSizesOverProcessesAndThreads) {
  const KernelInfo& k = find_kernel("pingpong");
  for (const char* mode : {"processes", "threads"})
    for (std::size_t size : {1, 7, 8, 9, 15, 16, 17, 4097}) {
      RunSpec spec = spec_for(3, mode == std::string("processes") ? "socket" : "event", size, 2, 1);
      spec.kernel = "pingpong";
      spec.mode = mode;
      spec.params = make_params(k, size, 2, 1, {"round_trips=5"});
      auto m = find_mode(mode).make();
      m->prepare(spec);
      const RunResult r = m->run(spec, k);
      EXPECT_EQ(r.status, "ok") << mode << " " << size << ": " << r.error;
      EXPECT_TRUE(r.verified) << mode << " " << size << ": " << r.verify_detail;
      ASSERT_FALSE(r.metrics.empty());
      EXPECT_EQ(r.metrics[0].name, "latency_s");
      EXPECT_GT(r.metrics[0].value, 0.0);
    }
}

}  // namespace
}  // namespace corescope::processes
