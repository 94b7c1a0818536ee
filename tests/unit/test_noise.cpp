// The disturbance records: the record-time rule on synthetic samples, the /proc/stat parsers on
// canned text, the speed probe, and a real run's file carrying the new columns (docs/dev/noise.md).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>

#include "backends/registry.hpp"
#include "core/disturbance.hpp"
#include "core/mode.hpp"
#include "core/platform.hpp"
#include "core/speed_probe.hpp"
#include "kernels/registry.hpp"
#include "record/recorder.hpp"
#include "record/run_rows.hpp"

namespace corescope {
namespace {

namespace d = disturbance;

// A repetition nothing disturbed: 50 ms on CPU 0 throughout, no steal, no switches, the worker
// the only runnable task.
Sample clean() {
  Sample s;
  s.wall_s = 0.05;
  s.cpu_start = s.cpu = 0;
  s.steal_s = 0.0;
  s.invol_ctx_switches = s.vol_ctx_switches = 0;
  s.runnable_start = 1;
  return s;
}

// One worker on a 2-CPU machine.
d::Context serial_on_two() {
  return {
      .oversubscribed = false, .local_workers = 1, .team_cpus = 2, .host_cpus = 2, .tick_s = 0.01};
}

TEST(DisturbanceRule, CleanSampleAndUnknownInputsSetNoBit) {
  EXPECT_EQ(d::classify(clean(), serial_on_two()), 0);
  Sample unknown;  // defaults: NaN steal, -1 CPUs, runnable and counters of -1 where unknown
  unknown.wall_s = 0.05;
  unknown.invol_ctx_switches = unknown.vol_ctx_switches = -1;
  EXPECT_EQ(d::classify(unknown, serial_on_two()), 0);
}

TEST(DisturbanceRule, StealAboveFivePercentAfterOneTickOfRounding) {
  Sample s = clean();
  s.steal_s = 0.01;  // one tick: maybe nothing was stolen at all
  EXPECT_EQ(d::classify(s, serial_on_two()), 0);
  s.steal_s = 0.02;  // two ticks: more than 10 ms of 50 ms
  EXPECT_EQ(d::classify(s, serial_on_two()), d::kSteal);
  s.wall_s = 1.0;
  s.steal_s = 0.05;  // at least 40 ms of 1 s: 4 %
  EXPECT_EQ(d::classify(s, serial_on_two()), 0);
  s.steal_s = 0.07;  // at least 60 ms of 1 s: 6 %
  EXPECT_EQ(d::classify(s, serial_on_two()), d::kSteal);
}

TEST(DisturbanceRule, InvoluntarySwitchesBeyondTwoPlusTwentyPerSecond) {
  Sample s = clean();
  s.invol_ctx_switches = 3;  // 50 ms: allowance 2 + 1
  EXPECT_EQ(d::classify(s, serial_on_two()), 0);
  s.invol_ctx_switches = 4;
  EXPECT_EQ(d::classify(s, serial_on_two()), d::kSwitches);
  s.wall_s = 1.0;  // allowance 22
  s.invol_ctx_switches = 22;
  EXPECT_EQ(d::classify(s, serial_on_two()), 0);
  s.invol_ctx_switches = 23;
  EXPECT_EQ(d::classify(s, serial_on_two()), d::kSwitches);
}

TEST(DisturbanceRule, MigrationOfAWorkerThatNeverBlocked) {
  Sample s = clean();
  s.cpu = 1;
  EXPECT_EQ(d::classify(s, serial_on_two()), d::kMigration);
  s.vol_ctx_switches = -1;  // not known whether it blocked: the move counts
  EXPECT_EQ(d::classify(s, serial_on_two()), d::kMigration);
  s.vol_ctx_switches = 3;  // it slept (a barrier, the GIL) and was woken elsewhere: by design
  EXPECT_EQ(d::classify(s, serial_on_two()), 0);
  s = clean();
  s.cpu_start = -1;
  s.cpu = 1;
  EXPECT_EQ(d::classify(s, serial_on_two()), 0);
}

TEST(DisturbanceRule, TimeOffTheCpuOfAWorkerThatNeverBlocked) {
  Sample s = clean();
  s.cpu_s = 0.05 - 0.0029;  // 2.9 ms off its CPU in 50 ms: within 5 % + 0.5 ms (3.0 ms)
  EXPECT_EQ(d::classify(s, serial_on_two()), 0);
  s.cpu_s = 0.05 - 0.0031;
  EXPECT_EQ(d::classify(s, serial_on_two()), d::kOffCpu);
  // One preemption of 10 ms (a stolen vCPU, less than the two ticks steal needs) is one switch,
  // within the switch allowance: only the CPU clock shows it.
  s.cpu_s = 0.04;
  s.invol_ctx_switches = 1;
  EXPECT_EQ(d::classify(s, serial_on_two()), d::kOffCpu);
  s.vol_ctx_switches = 1;  // it blocked (a barrier, a sleep): waiting is not lost time
  EXPECT_EQ(d::classify(s, serial_on_two()), 0);
  s.vol_ctx_switches = -1;  // not known whether it blocked: not judged
  EXPECT_EQ(d::classify(s, serial_on_two()), 0);
  s.vol_ctx_switches = 0;
  d::Context pool = serial_on_two();
  pool.own_window = false;  // a pool's sample: its tasks' CPU time under the repetition's wall time
  EXPECT_EQ(d::classify(s, pool), 0);
  s.cpu_s = std::nan("");  // no CPU clock: not judged
  EXPECT_EQ(d::classify(s, serial_on_two()), 0);
  // With more workers than CPUs, waiting for a CPU is the experiment.
  s.cpu_s = 0.02;
  const d::Context over{
      .oversubscribed = true, .local_workers = 4, .team_cpus = 2, .host_cpus = 2, .tick_s = 0.01};
  s.runnable_start = 4;
  EXPECT_EQ(d::classify(s, over), 0);
}

TEST(DisturbanceRule, OtherRunnableTasksBeyondTheIdleCpus) {
  Sample s = clean();
  s.runnable_start = 2;  // one other task, one idle CPU for it
  EXPECT_EQ(d::classify(s, serial_on_two()), 0);
  s.runnable_start = 3;
  EXPECT_EQ(d::classify(s, serial_on_two()), d::kCompetition);
  // Two workers on two CPUs leave none idle.
  const d::Context pair{
      .oversubscribed = false, .local_workers = 2, .team_cpus = 2, .host_cpus = 2, .tick_s = 0.01};
  s.runnable_start = 2;
  EXPECT_EQ(d::classify(s, pair), 0);
  s.runnable_start = 3;
  EXPECT_EQ(d::classify(s, pair), d::kCompetition);
  // Two workers held to one CPU (--pin one) leave the other CPU idle.
  const d::Context pinned{
      .oversubscribed = true, .local_workers = 2, .team_cpus = 1, .host_cpus = 2, .tick_s = 0.01};
  s.runnable_start = 3;
  EXPECT_EQ(d::classify(s, pinned), 0);
  s.runnable_start = 4;
  EXPECT_EQ(d::classify(s, pinned), d::kCompetition);
}

TEST(DisturbanceRule, OversubscribedCellsSwitchAndMoveByDesign) {
  const d::Context over{
      .oversubscribed = true, .local_workers = 4, .team_cpus = 2, .host_cpus = 2, .tick_s = 0.01};
  Sample s = clean();
  s.invol_ctx_switches = 100;
  s.cpu = 1;
  s.runnable_start = 4;  // the team's own four workers
  EXPECT_EQ(d::classify(s, over), 0);
  // What the experiment does not cause is still flagged: steal and other tasks.
  s.steal_s = 0.03;
  s.runnable_start = 5;
  EXPECT_EQ(d::classify(s, over), d::kSteal | d::kCompetition);
  // The same sample in a cell that is not oversubscribed has every bit.
  const d::Context fits{
      .oversubscribed = false, .local_workers = 2, .team_cpus = 2, .host_cpus = 2, .tick_s = 0.01};
  EXPECT_EQ(d::classify(s, fits), d::kSteal | d::kSwitches | d::kMigration | d::kCompetition);
}

// ---------------------------------------------------------------- /proc/stat

constexpr const char* kProcStat =
    "cpu  100 2 30 4000 5 0 6 70 0 0\n"
    "cpu0 50 1 15 2000 2 0 3 30 0 0\n"
    "cpu1 50 1 15 2000 3 0 3 40 0 0\n"
    "cpu10 1 1 1 1 1 1 1 999 0 0\n"
    "cpu3 1 2 3 4\n"
    "intr 12345 1 2 3 0 0\n"
    "ctxt 987654\n"
    "btime 1700000000\n"
    "processes 4242\n"
    "procs_running 3\n"
    "procs_blocked 0\n"
    "softirq 1 2 3\n";

TEST(ProcStat, StealIsTheEighthNumberOfTheCpusOwnLine) {
  EXPECT_EQ(platform::parse_steal_ticks(kProcStat, 0), 30);
  EXPECT_EQ(platform::parse_steal_ticks(kProcStat, 1), 40);
  EXPECT_EQ(platform::parse_steal_ticks(kProcStat, 10), 999);  // not cpu1's line
  EXPECT_EQ(platform::parse_steal_ticks(kProcStat, 2), -1);    // no such line
  EXPECT_EQ(platform::parse_steal_ticks(kProcStat, 3), -1);    // a kernel without steal
  EXPECT_EQ(platform::parse_steal_ticks(kProcStat, -1), -1);
  EXPECT_EQ(platform::parse_steal_ticks("", 0), -1);
}

TEST(ProcStat, ProcsRunning) {
  EXPECT_EQ(platform::parse_procs_running(kProcStat), 3);
  EXPECT_EQ(platform::parse_procs_running("cpu  1 2 3\nprocs_blocked 4\n"), -1);
  EXPECT_EQ(platform::parse_procs_running("procs_running 17"), 17);  // first line, no newline
  EXPECT_EQ(platform::parse_procs_running("procs_running x\n"), -1);
}

TEST(ProcStat, LiveSnapshotCountsTheReaderAndKnowsItsCpu) {
  platform::SchedSnapshot snap;
  ASSERT_TRUE(snap.read());
  EXPECT_GE(snap.procs_running(), 1);
  EXPECT_GE(snap.steal_ticks(platform::current_cpu()), 0);
  const double tick = platform::clock_tick_seconds();
  EXPECT_TRUE(std::isfinite(tick) && tick > 0 && tick <= 0.01 + 1e-12) << tick;
  EXPECT_GE(platform::load_average_1m(), 0.0);
}

// ---------------------------------------------------------------- the speed probe

TEST(SpeedProbe, PositiveFiniteAndGrowsWithItsLength) {
  const double t = speed_probe();
  EXPECT_TRUE(std::isfinite(t) && t > 0) << t;
  const double short_s = speed_probe(2000), long_s = speed_probe(200000);
  EXPECT_GT(short_s, 0);
  EXPECT_GT(long_s, 10 * short_s) << short_s << " " << long_s;  // 100 times the steps
}

// ---------------------------------------------------------------- a real run's file

class RunFile : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "corescope-noise-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::filesystem::path dir_;
};

TEST_F(RunFile, EveryModeRecordsTheDisturbanceColumns) {
  const std::string file = (dir_ / "noise.h5").string();
  const char* modes[] = {"serial", "threads", "gil", "openmp", "processes"};
  for (const char* mode_name : modes) {
    const ModeInfo& info = find_mode(mode_name);
    const RunRequest request{
        .workers = info.single_worker() ? 1 : 2, .size = "S", .reps = 3, .warmup = 1};
    const RunSpec spec = make_run_spec(info, find_kernel("ep"), request);
    RunResult r = info.make()->run(spec, find_kernel("ep"));
    ASSERT_EQ(r.status, "ok") << mode_name << ": " << r.error;
    r.run_id = new_run_id();
    record::append(file, file_provenance(), result_rows(r));
  }

  const record::Table runs = record::read_group(file, "runs");
  ASSERT_EQ(runs.rows(), std::size(modes));
  for (std::size_t i = 0; i < runs.rows(); ++i) EXPECT_GE(runs.number("load_1m", i), 0.0) << i;

  const record::Table samples = record::read_group(file, "samples");
  ASSERT_EQ(samples.rows(), 3u * (1 + 2 * (std::size(modes) - 1)));
  const int cpus = platform::online_cpu_count();
  for (std::size_t i = 0; i < samples.rows(); ++i) {
    const std::string row =
        "sample " + std::to_string(i) + " of run " + std::to_string(samples.integer("run", i));
    EXPECT_GE(samples.integer("cpu_start", i), 0) << row;
    EXPECT_LT(samples.integer("cpu_start", i), cpus) << row;
    const double probe = samples.number("probe_s", i);
    EXPECT_TRUE(std::isfinite(probe) && probe > 0 && probe < 1.0) << row << ": " << probe;
    EXPECT_GE(samples.integer("runnable_start", i), 1) << row;
    const double steal = samples.number("steal_s", i);
    EXPECT_TRUE(std::isfinite(steal) && steal >= 0) << row << ": " << steal;
    EXPECT_GE(samples.integer("disturbed", i), 0) << row;
    EXPECT_LE(samples.integer("disturbed", i), 31) << row;  // bits 1 to 16
  }
  EXPECT_EQ(samples.find("probe_s")->units, "s");
  EXPECT_EQ(samples.find("steal_s")->units, "s");
  EXPECT_NE(samples.find("disturbed")->long_name.find("docs/noise.md"), std::string::npos);
}

}  // namespace
}  // namespace corescope
