// Unit tests of the core pieces: partitioning, parsing, parameters, the shared team, the
// outcome codec, headline statistics, and that a wrong answer is recorded as unverified.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <numeric>
#include <thread>

#include "kernels/registry.hpp"
#include "backends/registry.hpp"
#include "backends/shared/shared_team.hpp"
#include "core/errors.hpp"
#include "core/kernel.hpp"
#include "core/mode.hpp"
#include "core/outcome_codec.hpp"
#include "record/run_rows.hpp"
#include "core/suggest.hpp"
#include "core/text.hpp"

namespace corescope {
namespace {

TEST(BlockRange, CoversEverythingOnceAndBalances) {
  for (std::size_t n : {0ul, 1ul, 2ul, 7ul, 100003ul}) {
    for (int count : {1, 2, 3, 4, 7}) {
      std::size_t expect_begin = 0, min_size = n, max_size = 0;
      for (int id = 0; id < count; ++id) {
        const Range r = block_range(n, count, id);
        EXPECT_EQ(r.begin, expect_begin);
        expect_begin = r.end;
        min_size = std::min(min_size, r.size());
        max_size = std::max(max_size, r.size());
      }
      EXPECT_EQ(expect_begin, n);
      EXPECT_LE(max_size - min_size, 1u);
    }
  }
}

TEST(ParseCount, SuffixesAndErrors) {
  EXPECT_EQ(parse_count("4096", "--size"), 4096u);
  EXPECT_EQ(parse_count("4K", "--size"), 4096u);
  EXPECT_EQ(parse_count("3M", "--size"), 3u << 20);
  EXPECT_EQ(parse_count("1G", "--size"), 1u << 30);
  EXPECT_THROW(parse_count("abc", "--size"), UsageError);
  EXPECT_THROW(parse_count("12X", "--size"), UsageError);
  EXPECT_THROW(parse_count("-5", "--size"), UsageError);
  EXPECT_THROW(parse_count("99999999999999999999G", "--size"), UsageError);
}

TEST(Params, UnknownKeyAndValueAreUsageErrors) {
  const KernelInfo& ep = find_kernel("ep");
  EXPECT_NO_THROW(make_params(ep, 10, 1, 0, {"seed=7"}));
  EXPECT_THROW(make_params(ep, 10, 1, 0, {"nope=1"}), UsageError);
  EXPECT_THROW(make_params(ep, 10, 1, 0, {"seed"}), UsageError);
  EXPECT_EQ(make_params(ep, 10, 1, 0, {}).get("seed"), "12345");
  EXPECT_THROW(find_kernel("nope"), UsageError);
  EXPECT_THROW(find_mode("nope"), UsageError);
}

TEST(Suggest, EditDistanceCountsSwapsAsOneEdit) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("", "run"), 3u);
  EXPECT_EQ(edit_distance("run", "runn"), 1u);
  EXPECT_EQ(edit_distance("wokrers", "workers"), 1u);  // an adjacent swap
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("ca", "abc"), 3u);  // the restricted form: no edit of a swapped pair
}

TEST(Suggest, ClosestKeepsToNearNames) {
  const std::vector<std::string> modes = {"serial", "threads", "processes",
                                          "mpi",    "gil",     "py-threads"};
  EXPECT_EQ(closest("thread", modes), "threads");
  EXPECT_EQ(closest("proceses", modes), "processes");
  EXPECT_EQ(closest("thr", modes), "threads");  // an abbreviation
  EXPECT_EQ(closest("mip", modes), "mpi");
  EXPECT_EQ(closest("warp", modes), "");  // nothing near: no guess
  EXPECT_EQ(closest("x", modes), "");
  EXPECT_EQ(closest("", modes), "");
  EXPECT_EQ(closest("threads", modes), "");  // a name that exists is no mistake
  EXPECT_EQ(closest("--worker", {"--workers", "--warmup"}), "--workers");
  EXPECT_EQ(closest("runn", {"run", "sweep", "summary"}), "run");
  EXPECT_EQ(closest("ab", {"ac", "ad"}), "ac");  // ties: the first listed
}

TEST(Suggest, UnknownNameSaysWhatWasMeantAndWhatIsValid) {
  EXPECT_EQ(unknown_name("mode", "thread", {"serial", "threads"}),
            "unknown mode 'thread'; did you mean 'threads'? valid modes: serial, threads");
  EXPECT_EQ(unknown_name("mode", "warp", {"serial", "threads"}),
            "unknown mode 'warp'; valid modes: serial, threads");
  EXPECT_EQ(unknown_name("command", "x", {}), "unknown command 'x'");
}

TEST(Suggest, DidYouMeanIsWordedOnce) {
  EXPECT_EQ(did_you_mean("thread", {"serial", "threads"}), "did you mean 'threads'?");
  EXPECT_EQ(did_you_mean("atomc", {"none", "atomic"}, "sync=", ""), "did you mean sync=atomic?");
  EXPECT_EQ(did_you_mean("warp", {"serial", "threads"}), "");
}

TEST(SharedTeam, BarrierSeparatesPhases) {
  constexpr int n = 4, rounds = 200;
  SharedTeam team(n);
  std::atomic<int> counter{0};
  std::atomic<bool> bad{false};
  std::vector<std::thread> ts;
  for (int id = 0; id < n; ++id)
    ts.emplace_back([&] {
      for (int r = 0; r < rounds; ++r) {
        counter.fetch_add(1);
        team.barrier();
        if (counter.load() < (r + 1) * n) bad = true;  // someone passed before all arrived
        team.barrier();
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_FALSE(bad.load());
  EXPECT_EQ(counter.load(), n * rounds);
}

TEST(SharedTeam, AllreduceAndMessages) {
  constexpr int n = 3;
  SharedTeam team(n);
  std::vector<double> sums(n), maxes(n);
  std::vector<int> received(n, -1);
  std::vector<std::thread> ts;
  for (int id = 0; id < n; ++id)
    ts.emplace_back([&, id] {
      double v[2] = {static_cast<double>(id + 1), static_cast<double>(10 * id)};
      team.allreduce(id, std::span<double>(v, 1), Op::sum);
      sums[id] = v[0];
      team.allreduce(id, std::span<double>(v + 1, 1), Op::max);
      maxes[id] = v[1];
      const int msg = 100 + id;
      team.send(id, (id + 1) % n, &msg, sizeof msg);
      team.recv(id, (id + n - 1) % n, &received[id], sizeof(int));
    });
  for (auto& t : ts) t.join();
  for (int id = 0; id < n; ++id) {
    EXPECT_EQ(sums[id], 6.0);
    EXPECT_EQ(maxes[id], 20.0);
    EXPECT_EQ(received[id], 100 + (id + n - 1) % n);
  }
}

TEST(SharedTeam, AbortWakesWaiters) {
  SharedTeam team(3);
  std::atomic<int> aborted{0};
  std::vector<std::thread> ts;
  for (int id = 0; id < 2; ++id)  // the third worker never arrives
    ts.emplace_back([&, id] {
      try {
        if (id == 0)
          team.barrier();
        else {
          int x;
          team.recv(1, 2, &x, sizeof x);
        }
      } catch (const TeamAborted&) {
        aborted.fetch_add(1);
      }
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  team.abort();
  for (auto& t : ts) t.join();
  EXPECT_EQ(aborted.load(), 2);
}

TEST(OutcomeCodec, RoundTrip) {
  WorkerOutcome o;
  o.worker = 3;
  o.completed = true;
  o.verified = true;
  o.verify_error = 0.5;
  o.verify_detail = "detail";
  o.error = "";
  Sample s;
  s.rep = 1;
  s.wall_s = 2.5;
  s.peak_rss_bytes = 1234;
  o.samples = {s, s};
  o.metrics = {{"lost_updates", 7, "", "lost"}};
  std::vector<std::byte> buf = encode_outcome(o);
  const auto again = encode_outcome(o);
  buf.insert(buf.end(), again.begin(), again.end());
  std::size_t pos = 0;
  for (int i = 0; i < 2; ++i) {
    const WorkerOutcome d = decode_outcome(buf, pos);
    EXPECT_EQ(d.worker, 3);
    EXPECT_TRUE(d.verified);
    EXPECT_EQ(d.verify_detail, "detail");
    ASSERT_EQ(d.samples.size(), 2u);
    EXPECT_EQ(d.samples[1].wall_s, 2.5);
    EXPECT_EQ(d.samples[1].peak_rss_bytes, 1234);
    ASSERT_EQ(d.metrics.size(), 1u);
    EXPECT_EQ(d.metrics[0].value, 7);
  }
  EXPECT_EQ(pos, buf.size());
  buf.resize(buf.size() - 3);
  pos = 0;
  decode_outcome(buf, pos);
  EXPECT_THROW(decode_outcome(buf, pos), RuntimeFailure);
}

// A worker that ends before its first sample sends an outcome with no samples and no metrics;
// the asan build's UBSan fails this test if decoding hands memcpy the empty vector's null pointer.
TEST(OutcomeCodec, OutcomeWithoutSamplesRoundTrips) {
  WorkerOutcome o;
  o.worker = 1;
  o.error = "killed";
  const std::vector<std::byte> buf = encode_outcome(o);
  std::size_t pos = 0;
  const WorkerOutcome d = decode_outcome(buf, pos);
  EXPECT_EQ(pos, buf.size());
  EXPECT_EQ(d.worker, 1);
  EXPECT_FALSE(d.completed);
  EXPECT_EQ(d.error, "killed");
  EXPECT_TRUE(d.samples.empty());
  EXPECT_TRUE(d.metrics.empty());
}

TEST(Headline, MedianOfPerRepMaximum) {
  RunResult r;
  // rep 0: workers 1.0, 3.0 -> 3.0; rep 1: 2.0, 1.0 -> 2.0; rep 2: 5.0, 4.0 -> 5.0; median 3.0
  const double times[3][2] = {{1.0, 3.0}, {2.0, 1.0}, {5.0, 4.0}};
  for (int rep = 0; rep < 3; ++rep)
    for (int w = 0; w < 2; ++w) {
      Sample s;
      s.rep = rep;
      s.worker = w;
      s.wall_s = times[rep][w];
      r.samples.push_back(s);
    }
  r.cost = {6e9, 0};
  const Headline h = headline(r);
  EXPECT_DOUBLE_EQ(h.wall_s_median, 3.0);
  EXPECT_DOUBLE_EQ(h.wall_s_min, 2.0);
  EXPECT_DOUBLE_EQ(h.wall_s_max, 5.0);
  EXPECT_DOUBLE_EQ(h.gbytes_per_s, 2.0);
  EXPECT_TRUE(std::isnan(h.gflops_per_s));
}

// A kernel that computes a wrong answer on purpose: the run must be recorded as unverified.
class WrongKernel : public Kernel {
 public:
  void setup(Worker&, const Params&) override {}
  void iterate(Worker& w) override { value_ = w.allreduce(1.0, Op::sum); }
  Verification verify(Worker& w) override {
    Verification v;
    v.ok = value_ == w.count() + 1;  // off by one: never true
    v.detail = "sum is " + std::to_string(value_);
    return v;
  }

 private:
  double value_ = 0;
};

TEST(Verification, WrongAnswerIsRecordedAsSuch) {
  KernelInfo info = find_kernel("ep");
  info.make = [] { return std::make_unique<WrongKernel>(); };
  for (const char* mode_name : {"serial", "threads", "openmp"}) {
    const ModeInfo& mode_info = find_mode(mode_name);
    RunRequest request;
    request.workers = mode_info.single_worker() ? 1 : 2;
    request.size = "10";
    request.reps = 2;
    request.warmup = 0;
    const RunSpec spec = make_run_spec(mode_info, info, request);
    auto mode = mode_info.make();
    const RunResult r = mode->run(spec, info);
    EXPECT_EQ(r.status, "ok") << mode_name;
    EXPECT_FALSE(r.verified) << mode_name;
    EXPECT_NE(r.error.find("verification failed"), std::string::npos) << r.error;
  }
}

}  // namespace
}  // namespace corescope
