// Cells (record/cells.hpp): grouping runs by configuration and provenance, the disturbed-repetition
// rule, per-cell statistics, speedups and compare's verdicts; and merge of files written by two
// builds keeping their runs apart.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "record/cells.hpp"
#include "record/recorder.hpp"
#include "record/run_rows.hpp"
#include "record/table.hpp"

namespace fs = std::filesystem;
using namespace corescope;
using namespace corescope::record;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A run row as the recorder writes it (only the columns cells read).
struct RunRow {
  std::string kernel = "ep", mode = "threads";
  Int workers = 2, ranks = 1, threads = 2;
  std::string pin = "none";
  Int twin = 0, round = -1;
  std::string host = "h1", git_commit = "abc";
  std::string status = "ok";
};

// One sample: run row, repetition, worker, wall time; the noise columns H1 records.
struct SampleRow {
  Int run, rep, worker;
  double wall_s;
  Int disturbed = 0;
  double probe_s = kNaN;
  Int cpu_start = 0;
};

Table runs_table(const std::vector<RunRow>& rows) {
  Table t;
  TableBuilder b(t);
  for (const auto& r : rows) {
    b.row();
    b.str("kernel", r.kernel);
    b.str("mode", r.mode);
    b.i64("workers", r.workers);
    b.i64("ranks", r.ranks);
    b.i64("threads_per_rank", r.threads);
    b.i64("size", 1000);
    b.str("scaling", "strong");
    b.str("channel", "atomic");
    b.str("pin", r.pin);
    b.str("params", "{}");
    b.f64("switch_interval_s", kNaN);
    b.i64("twin", r.twin);
    b.i64("round", r.round);
    b.str("host", r.host);
    b.str("git_commit", r.git_commit);
    b.str("status", r.status);
    b.i64("verified", 1);
    b.f64("bytes_per_iteration", 8e6);
    b.f64("flops_per_iteration", kNaN);
  }
  b.finish();
  return t;
}

Table samples_table(const std::vector<SampleRow>& rows, bool noise_columns = true) {
  Table t;
  TableBuilder b(t);
  for (const auto& s : rows) {
    b.row();
    b.i64("run", s.run);
    b.i64("rep", s.rep);
    b.i64("worker", s.worker);
    b.f64("wall_s", s.wall_s);
    if (noise_columns) {
      b.i64("disturbed", s.disturbed);
      b.f64("probe_s", s.probe_s);
      b.i64("cpu_start", s.cpu_start);
    }
  }
  b.finish();
  return t;
}

// Samples of one single-worker run: one per time.
std::vector<SampleRow> reps_of(Int run, const std::vector<double>& times) {
  std::vector<SampleRow> out;
  for (std::size_t i = 0; i < times.size(); ++i)
    out.push_back({run, static_cast<Int>(i), 0, times[i]});
  return out;
}

std::vector<double> sorted(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST(Cells, RoundsOfACellPoolAndOtherConfigurationsStayApart) {
  RunRow round0, round1, twin, pinned, other_kernel;
  round0.round = 0;
  round1.round = 1;
  twin.twin = 1;
  pinned.pin = "one";
  other_kernel.kernel = "triad";
  const Table runs = runs_table({round0, round1, twin, pinned, other_kernel});
  std::vector<SampleRow> s;
  // each run a quarter slower than the one before (less than a slow run: kSlowRunFactor)
  const auto times_of_run = [](Int run) {
    return std::vector<double>{1.0 + 0.25 * run, 1.1 + 0.25 * run, 1.2 + 0.25 * run};
  };
  for (Int run = 0; run < 5; ++run)
    for (auto& x : reps_of(run, times_of_run(run))) s.push_back(x);
  const auto cells = group_cells(runs, samples_table(s));
  ASSERT_EQ(cells.size(), 4u);
  EXPECT_EQ(cells[0].runs, (std::vector<std::size_t>{0, 1}));
  std::vector<double> both = times_of_run(0);
  for (double v : times_of_run(1)) both.push_back(v);
  EXPECT_EQ(sorted(cells[0].times), sorted(both));
  EXPECT_EQ(cells[1].config.twin, 1);
  EXPECT_EQ(cells[2].config.pin, "one");
  EXPECT_EQ(cells[3].config.kernel, "triad");
  EXPECT_DOUBLE_EQ(cells[0].median.point, (1.2 + 1.25) / 2);
}

TEST(Cells, ARepetitionTakesItsSlowestWorker) {
  const Table runs = runs_table({RunRow{}});
  const auto cells = group_cells(
      runs, samples_table({{0, 0, 0, 1.0}, {0, 0, 1, 3.0}, {0, 1, 0, 2.0}, {0, 1, 1, 0.5}}));
  ASSERT_EQ(cells.size(), 1u);
  EXPECT_EQ(sorted(cells[0].times), (std::vector<double>{2.0, 3.0}));
}

TEST(Cells, ProvenanceSeparatesCellsOfTheSameConfiguration) {
  RunRow a, b, c;
  b.git_commit = "def";
  c.host = "h2";
  const auto cells = group_cells(runs_table({a, b, c}),
                                 samples_table({{0, 0, 0, 1.0}, {1, 0, 0, 2.0}, {2, 0, 0, 3.0}}));
  ASSERT_EQ(cells.size(), 3u);
  EXPECT_EQ(cells[0].config.key(), cells[1].config.key());
  EXPECT_EQ(cells[0].provenance.differences(cells[1].provenance), "git_commit");
  EXPECT_EQ(cells[0].provenance.differences(cells[2].provenance), "host");
  // Old files without the columns: every field "" -> one provenance.
  Table old = runs_table({a, a});
  std::erase_if(old.columns,
                [](const Column& col) { return col.name == "git_commit" || col.name == "host"; });
  EXPECT_EQ(group_cells(old, samples_table({{0, 0, 0, 1.0}, {1, 0, 0, 2.0}})).size(), 1u);
}

TEST(Cells, DisturbedRepetitionsAreExcludedUnlessAsked) {
  // 6 repetitions, two disturbed by the record-time bitmask (steal, migration) on one worker.
  std::vector<SampleRow> s = reps_of(0, {1.0, 1.1, 9.0, 1.2, 8.0, 1.3});
  s[2].disturbed = 1;
  s[4].disturbed = 4;
  s.push_back({0, 2, 1, 0.5});  // the other worker of repetition 2: clean, but its rep is disturbed
  const Table runs = runs_table({RunRow{}});
  const auto clean = group_cells(runs, samples_table(s));
  ASSERT_EQ(clean.size(), 1u);
  EXPECT_EQ(clean[0].disturbed, 2u);
  EXPECT_NEAR(clean[0].disturbed_share(), 2.0 / 6.0, 1e-12);
  EXPECT_FALSE(clean[0].mostly_disturbed);
  EXPECT_EQ(sorted(clean[0].times), (std::vector<double>{1.0, 1.1, 1.2, 1.3}));
  EXPECT_DOUBLE_EQ(clean[0].median.point, 1.15);
  const auto all = group_cells(runs, samples_table(s), {true});
  EXPECT_EQ(all[0].times.size(), 6u);
  EXPECT_DOUBLE_EQ(all[0].median.point, 1.25);
}

TEST(Cells, FewerThanThreeCleanRepetitionsUseAllAndFlagTheCell) {
  std::vector<SampleRow> s = reps_of(0, {1.0, 5.0, 6.0, 1.1});
  s[1].disturbed = 2;
  s[2].disturbed = 8;
  const auto cells = group_cells(runs_table({RunRow{}}), samples_table(s));
  EXPECT_TRUE(cells[0].mostly_disturbed);
  EXPECT_EQ(cells[0].times.size(), 4u);
  // Two repetitions, both clean: nothing to exclude, no flag.
  const auto two = group_cells(runs_table({RunRow{}}), samples_table(reps_of(0, {1.0, 1.1})));
  EXPECT_FALSE(two[0].mostly_disturbed);
}

TEST(Cells, NormalisedTimeUsesTheCriticalWorkersSpeed) {
  // Worker 0 ran on a CPU 1.5x slower than its best and set the time; worker 1, at full speed,
  // waited for it, so its wall is as long. At full speed the repetition takes 1.0 / 1.5.
  std::vector<SampleRow> s = {{0, 0, 0, 1.0, 0, 1.5e-3, 0},
                              {0, 0, 1, 1.0, 0, 1.0e-3, 1},
                              {0, 1, 0, 0.7, 0, 1.0e-3, 0},
                              {0, 1, 1, 0.7, 0, 1.0e-3, 1}};
  Table samples = samples_table(s);
  Column compute;
  compute.name = "compute_s";
  compute.values = std::vector<double>{1.0, 0.6, 0.7, 0.5};
  samples.columns.push_back(compute);
  const auto cells = group_cells(runs_table({RunRow{}}), samples, {true});
  ASSERT_EQ(cells[0].repetitions.size(), 2u);
  EXPECT_NEAR(cells[0].repetitions[0].normalised_s, 1.0 / 1.5, 1e-12);
  EXPECT_NEAR(cells[0].repetitions[1].normalised_s, 0.7, 1e-12);
  // compare --speed-normalised: the cell's times are the normalised ones
  EXPECT_EQ(sorted(cells[0].times), (std::vector<double>{0.7, 1.0}));
  const auto normalised = group_cells(runs_table({RunRow{}}), samples, {true, true});
  ASSERT_EQ(normalised[0].times.size(), 2u);
  EXPECT_NEAR(sorted(normalised[0].times)[0], 1.0 / 1.5, 1e-12);
  EXPECT_NEAR(sorted(normalised[0].times)[1], 0.7, 1e-12);
}

TEST(Cells, SlowCpuRuleComparesAProbeWithTheFastestOfTheSameHostAndCpu) {
  // CPU 0's fastest probe is 1.0 ms: 1.2 ms is slow (factor 1.2 > 1.10), 1.05 ms is not.
  // CPU 1 was never faster than 1.2 ms: its 1.2 ms probes are its normal speed.
  std::vector<SampleRow> s = reps_of(0, {1.0, 2.0, 1.1, 1.2, 1.3});
  const double probes[] = {1.0e-3, 1.2e-3, 1.05e-3, 1.2e-3, 1.2e-3};
  const Int cpus[] = {0, 0, 0, 1, 1};
  for (std::size_t i = 0; i < s.size(); ++i) {
    s[i].probe_s = probes[i];
    s[i].cpu_start = cpus[i];
  }
  const Table runs = runs_table({RunRow{}});
  const Table samples = samples_table(s);
  const auto factor = speed_factors(samples, {"h1"});
  EXPECT_NEAR(factor[1], 1.2, 1e-12);
  EXPECT_NEAR(factor[2], 1.05, 1e-12);
  EXPECT_DOUBLE_EQ(factor[3], 1.0);
  const auto cells = group_cells(runs, samples);
  EXPECT_EQ(cells[0].disturbed, 1u);
  EXPECT_EQ(sorted(cells[0].times), (std::vector<double>{1.0, 1.1, 1.2, 1.3}));
  // The same CPU on another host has its own reference.
  RunRow other;
  other.host = "h2";
  std::vector<SampleRow> both = s;
  both.push_back({1, 0, 0, 3.0, 0, 0.5e-3, 0});
  const auto two_hosts = speed_factors(samples_table(both), {"h1", "h2"});
  EXPECT_NEAR(two_hosts[1], 1.2, 1e-12);
  EXPECT_DOUBLE_EQ(two_hosts[5], 1.0);
  // Speed-normalised time: wall / factor of the repetition (2.0 / 1.2).
  const auto with_all = group_cells(runs, samples, {true});
  EXPECT_NEAR(with_all[0].repetitions[1].normalised_s, 2.0 / 1.2, 1e-12);
  // No probe column at all: nothing is slow.
  EXPECT_EQ(group_cells(runs, samples_table(s, false))[0].disturbed, 0u);
}

// A Python run has no probe (NaN in every sample) beside C++ runs that have one: its samples are
// not judged by the slow-CPU rule (no factor, never slow), only by their `disturbed` bits, and
// they do not move the C++ samples' reference.
TEST(Cells, MissingProbeIsNotJudgedSlow) {
  RunRow cxx, py;
  py.mode = "py-threads";
  std::vector<SampleRow> s = reps_of(0, {1.0, 2.0, 1.1});
  s[0].probe_s = 1.0e-3;
  s[1].probe_s = 2.0e-3;  // slow: factor 2
  s[2].probe_s = 1.0e-3;
  for (const auto& x : reps_of(1, {1.0, 2.0, 1.1, 1.2})) s.push_back(x);  // probe_s NaN
  s[4].disturbed = 2;  // a Python sample the record-time rule flagged (its 2.0 s repetition)
  const Table samples = samples_table(s);
  const auto factor = speed_factors(samples, {"h1", "h1"});
  EXPECT_NEAR(factor[1], 2.0, 1e-12);
  for (std::size_t i = 3; i < s.size(); ++i) EXPECT_TRUE(std::isnan(factor[i])) << i;
  const auto cells = group_cells(runs_table({cxx, py}), samples);
  ASSERT_EQ(cells.size(), 2u);
  EXPECT_EQ(cells[0].disturbed, 1u);  // the slow C++ repetition
  EXPECT_EQ(cells[1].disturbed, 1u);  // only the flagged Python one: no probe is not "slow"
  EXPECT_EQ(sorted(cells[1].times), (std::vector<double>{1.0, 1.1, 1.2}));
}

// A file whose ep serial ran mostly fast against one where it ran mostly slow (the machine's
// state, not the code): compared on wall times B looks 1.6x slower; on the repetitions of the
// state both have, the slow one, it is the same.
TEST(Compare, MatchedStateComparesRepetitionsOfOneMachineState) {
  auto cell_of = [](int fast, int slow, Int bits_on_first = 0) {
    std::vector<SampleRow> s;
    for (int i = 0; i < fast + slow; ++i) {
      const bool is_slow = i >= fast;
      s.push_back(
          {0, i, 0, is_slow ? 1.6 : 1.0, i == 0 ? bits_on_first : 0, is_slow ? 1.6e-3 : 1.0e-3, 0});
    }
    s.push_back({0, fast + slow, 0, 1.0, 0, 1.0e-3, 0});  // the fastest probe: the reference
    return group_cells(runs_table({RunRow{}}), samples_table(s));
  };
  const auto a = cell_of(9, 4), b = cell_of(1, 10);
  const auto plain = compare_cells(a, b, 0.03, {}, States::all_reps);
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_EQ(plain[0].verdict, "slower");
  EXPECT_EQ(plain[0].state, "");
  const auto matched = compare_cells(a, b, 0.03, {}, States::matched_only);
  ASSERT_EQ(matched.size(), 1u);
  EXPECT_EQ(matched[0].state, "factor 1.60-1.76");
  EXPECT_EQ(matched[0].n_a, 4u);
  EXPECT_EQ(matched[0].n_b, 10u);
  EXPECT_DOUBLE_EQ(matched[0].ratio.point, 1.0);
  EXPECT_EQ(matched[0].verdict, "no difference");
  // A repetition with record-time bits is left out of its state: B's third fast one here.
  EXPECT_EQ(compare_cells(cell_of(9, 2), cell_of(2, 10), 0.03, {}, States::matched_only)[0].state,
            "fast");
  EXPECT_EQ(
      compare_cells(cell_of(9, 2), cell_of(2, 10, 2), 0.03, {}, States::matched_only)[0].verdict,
      "no matched state");
  // Fewer than 3 of a state on either side: nothing to compare.
  const auto none = compare_cells(cell_of(9, 2), cell_of(1, 10), 0.03, {}, States::matched_only);
  EXPECT_EQ(none[0].verdict, "no matched state");
  EXPECT_FALSE(std::isfinite(none[0].ratio.point));
  // The default: the matched state where there is one, else all clean repetitions.
  const auto by_default = compare_cells(a, b, 0.03);
  EXPECT_EQ(by_default[0].state, "factor 1.60-1.76");
  EXPECT_EQ(by_default[0].verdict, "no difference");
  const auto fallback = compare_cells(cell_of(9, 2), cell_of(1, 10), 0.03);
  EXPECT_EQ(fallback[0].state, "");
  EXPECT_EQ(fallback[0].verdict,
            "slower");  // A's fast clean repetitions against all of B's (too few clean)
}

TEST(Cells, FailedRunsCountButGiveNoRepetitions) {
  RunRow ok, failed;
  failed.status = "failed";
  const auto cells =
      group_cells(runs_table({ok, failed}), samples_table({{0, 0, 0, 1.0}, {1, 0, 0, 50.0}}));
  ASSERT_EQ(cells.size(), 1u);
  EXPECT_EQ(cells[0].failed_runs, 1u);
  EXPECT_EQ(cells[0].times, (std::vector<double>{1.0}));
}

TEST(Cells, SpeedupIsOverTheOneWorkerCellOfTheSameProvenance) {
  RunRow one, two, two_elsewhere;
  one.workers = one.threads = 1;
  two_elsewhere.host = "h2";
  std::vector<SampleRow> s = reps_of(0, {2.0, 2.1, 1.9, 2.0, 2.05});
  for (auto& x : reps_of(1, {1.0, 1.05, 0.95, 1.0, 1.02})) s.push_back(x);
  for (auto& x : reps_of(2, {1.0, 1.0, 1.0})) s.push_back(x);
  const auto cells = group_cells(runs_table({one, two, two_elsewhere}), samples_table(s));
  ASSERT_EQ(cells.size(), 3u);
  const auto sp = speedup(cells[1], cells);
  ASSERT_TRUE(sp.has_value());
  EXPECT_DOUBLE_EQ(sp->point, 2.0 / 1.0);
  EXPECT_LE(sp->lo, 2.0);
  EXPECT_GE(sp->hi, 2.0);
  EXPECT_FALSE(speedup(cells[0], cells).has_value());  // the baseline itself
  EXPECT_FALSE(speedup(cells[2], cells).has_value());  // no 1-worker cell on h2
}

// The 1-worker cell ran mostly fast, the 2-worker cell mostly slow: the plain speedup (1.25) mixes
// states, the same-state one takes the slow repetitions of both (3.2 / 1.6 = 2).
TEST(Cells, MatchedSpeedupTakesBothCellsInOneMachineState) {
  RunRow one, two;
  one.workers = one.threads = 1;
  std::vector<SampleRow> s;
  auto add = [&s](Int run, int fast, int slow, double fast_s, Int bits_on_first_slow = 0) {
    for (int i = 0; i < fast + slow; ++i) {
      const bool is_slow = i >= fast;
      s.push_back({run, i, 0, is_slow ? 1.6 * fast_s : fast_s, i == fast ? bits_on_first_slow : 0,
                   is_slow ? 1.6e-3 : 1.0e-3, 0});
    }
  };
  add(0, 9, 4, 2.0);
  add(1, 1, 10, 1.0);
  const auto cells = group_cells(runs_table({one, two}), samples_table(s));
  ASSERT_EQ(cells.size(), 2u);
  const auto sp = speedup(cells[1], cells);
  ASSERT_TRUE(sp.has_value());
  // The plain speedup leaves the slow repetitions out (docs/dev/noise.md): 2.0 / 1.0 from 9 and 1
  // fast ones, and the 2-worker cell is "mostly disturbed", so it uses all: 2.0 / 1.6.
  EXPECT_TRUE(cells[1].mostly_disturbed);
  EXPECT_DOUBLE_EQ(sp->point, 2.0 / 1.6);
  const auto m = matched_speedup(cells[1], cells);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->state, "factor 1.60-1.76");
  EXPECT_EQ(m->n, 4u);
  EXPECT_DOUBLE_EQ(m->ratio.point, 2.0);
  EXPECT_LE(m->ratio.lo, 2.0);
  EXPECT_GE(m->ratio.hi, 2.0);
  EXPECT_FALSE(matched_speedup(cells[0], cells).has_value());  // the baseline itself
  // A slow baseline repetition with record-time bits leaves 3 slow ones: still matched, n = 3;
  // without probes there is no state to match.
  s.clear();
  add(0, 9, 4, 2.0, 2);
  add(1, 1, 10, 1.0);
  const auto flagged = group_cells(runs_table({one, two}), samples_table(s));
  ASSERT_TRUE(matched_speedup(flagged[1], flagged).has_value());
  EXPECT_EQ(matched_speedup(flagged[1], flagged)->n, 3u);
  // Two slow states: the baseline met factor 1.5 (3.0 s), the team 1.5 (1.5 s) 4 times and 1.9
  // (1.9 s) 8 times. "Slow" as one state would set 3.0 against 1.9; the window [1.5, 1.65] sets
  // 3.0 against 1.5.
  s.clear();
  for (int i = 0; i < 12; ++i)
    s.push_back({0, i, 0, i < 4 ? 2.0 : 3.0, 0, i < 4 ? 1.0e-3 : 1.5e-3, 0});
  for (int i = 0; i < 13; ++i)
    s.push_back({1, i, 0,
                 i == 0  ? 1.0
                 : i < 5 ? 1.5
                         : 1.9,
                 0,
                 i == 0  ? 1.0e-3
                 : i < 5 ? 1.5e-3
                         : 1.9e-3,
                 0});
  const auto banded = group_cells(runs_table({one, two}), samples_table(s));
  const auto w = matched_speedup(banded[1], banded);
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->state, "factor 1.50-1.65");
  EXPECT_EQ(w->n, 4u);
  EXPECT_DOUBLE_EQ(w->ratio.point, 2.0);
  for (auto& x : s) x.probe_s = kNaN;
  const auto unprobed = group_cells(runs_table({one, two}), samples_table(s));
  EXPECT_FALSE(matched_speedup(unprobed[1], unprobed).has_value());
  EXPECT_TRUE(speedup(unprobed[1], unprobed).has_value());
}

// A run of a CPU-bound cell 1.6x slower than its other two at the same CPU speed is a slow run:
// its repetitions count as disturbed and leave the statistics. Not so where the probe explains
// the slowness, where the run is less than kSlowRunFactor slower, or for a kernel that is not
// CPU-bound.
TEST(Cells, ASlowRunOfACpuBoundCellCountsAsDisturbed) {
  RunRow r0, r1, r2;
  auto cell_with = [&](const std::string& kernel, double third_s, double third_probe) {
    r0.kernel = r1.kernel = r2.kernel = kernel;
    std::vector<SampleRow> s;
    for (Int run = 0; run < 3; ++run)
      for (Int i = 0; i < 4; ++i)
        s.push_back({run, i, 0, run == 2 ? third_s : 1.0 + 0.01 * i, 0,
                     run == 2 ? third_probe : 1.0e-3, 0});
    return group_cells(runs_table({r0, r1, r2}), samples_table(s)).at(0);
  };
  const Cell slow = cell_with("ep", 1.6, 1.0e-3);
  EXPECT_EQ(slow.slow_runs, 1u);
  EXPECT_EQ(slow.disturbed, 4u);
  EXPECT_EQ(slow.times.size(), 8u);
  EXPECT_NEAR(slow.median.point, 1.015, 1e-12);
  EXPECT_TRUE(std::all_of(slow.repetitions.begin(), slow.repetitions.end(),
                          [](const Repetition& r) { return r.slow_run == (r.run == 2); }));
  // the probe says the CPU was 1.6x slower: slow CPU (disturbed too), not a slow run
  const Cell explained = cell_with("ep", 1.6, 1.6e-3);
  EXPECT_EQ(explained.slow_runs, 0u);
  EXPECT_EQ(explained.disturbed, 4u);
  EXPECT_EQ(cell_with("ep", 1.25, 1.0e-3).slow_runs, 0u);    // below kSlowRunFactor
  EXPECT_EQ(cell_with("triad", 1.6, 1.0e-3).slow_runs, 0u);  // not CPU-bound
  EXPECT_EQ(cell_with("triad", 1.6, 1.0e-3).disturbed, 0u);
}

// The run spread of a kernel pools its cells. Three runs per cell: the 1- and 2-worker threads
// cells' runs agree (1, 1, 1 and 0.5, 0.5, 0.5: 0 and 2 degrees of freedom each), two more ep
// cells' runs have medians 1, 1.1 and 1.21 (log deviations -ln 1.1, 0, ln 1.1: 2 (ln 1.1)^2 each):
// sigma = sqrt(4 (ln 1.1)^2 / 8) with 8 degrees of freedom; a triad cell's runs do not count for
// ep. The speedup's bootstrap interval is [2, 2] (its runs agree); it gets the band
// 2 exp(+-1.959964 sigma sqrt(1/3 + 1/3)). With two runs per cell and one spread cell (3 degrees
// of freedom, fewer than kMinRunDf) the interval stays [2, 2].
TEST(Cells, RunSpreadPoolsAKernelsCellsAndWidensItsSpeedupIntervals) {
  RunRow one, two, spread_a, spread_b, triad;
  one.workers = one.threads = 1;
  spread_a.mode = "processes";
  spread_b.mode = "mpi";
  triad.kernel = "triad";
  const auto build = [&](bool full) {
    std::vector<RunRow> rows;
    std::vector<SampleRow> s;
    const auto add_cell = [&](const RunRow& row, std::vector<double> medians) {
      if (!full) medians.resize(2);
      for (double m : medians) {
        const Int run = static_cast<Int>(rows.size());
        rows.push_back(row);
        for (Int i = 0; i < 3; ++i) s.push_back({run, i, 0, m});
      }
    };
    add_cell(one, {1.0, 1.0, 1.0});
    add_cell(two, {0.5, 0.5, 0.5});
    add_cell(spread_a, {1.0, 1.1, 1.21});
    if (full) add_cell(spread_b, {1.0, 1.1, 1.21});
    add_cell(triad, {1.0, 2.0, 4.0});
    return group_cells(runs_table(rows), samples_table(s, false));
  };
  const double ln11 = std::log(1.1);
  const auto cells = build(true);
  ASSERT_EQ(cells.size(), 5u);
  EXPECT_NEAR(run_spread(cells[2]).sum_squares, 2 * ln11 * ln11, 1e-12);
  EXPECT_EQ(run_spread(cells[2]).df, 2u);
  EXPECT_EQ(run_spread(cells[0]).sum_squares, 0.0);
  const RunSigma sigma = cells[1].run_sigma;
  EXPECT_NEAR(sigma.sigma, std::sqrt(4 * ln11 * ln11 / 8), 1e-12);
  EXPECT_EQ(sigma.df, 8u);
  const auto sp = speedup(cells[1], cells);
  ASSERT_TRUE(sp.has_value());
  const double half = 1.959964 * sigma.sigma * std::sqrt(2.0 / 3.0);
  EXPECT_DOUBLE_EQ(sp->point, 2.0);
  EXPECT_NEAR(sp->lo, 2.0 * std::exp(-half), 1e-9);
  EXPECT_NEAR(sp->hi, 2.0 * std::exp(half), 1e-9);
  const auto narrow = build(false);
  ASSERT_EQ(narrow.size(), 4u);
  EXPECT_EQ(narrow[1].run_sigma.df, 3u);
  EXPECT_GT(narrow[1].run_sigma.sigma, 0.0);
  const auto unwidened = speedup(narrow[1], narrow);
  ASSERT_TRUE(unwidened.has_value());
  EXPECT_DOUBLE_EQ(unwidened->lo, 2.0);
  EXPECT_DOUBLE_EQ(unwidened->hi, 2.0);
}

// B/A holds at least the run-to-run band of both files: each file has the compared ep cell (three
// runs that agree: 1.0 s in A, 1.2 s in B) and two ep cells whose runs have medians 1, 1.1, 1.21,
// so sigma = sqrt(4 (ln 1.1)^2 / 6) in each (6 degrees of freedom); the bootstrap interval [1.2,
// 1.2] becomes 1.2 exp(+-1.959964 sqrt(sigma^2/3 + sigma^2/3)).
TEST(Compare, RatioHoldsTheRunToRunBandOfBothFiles) {
  RunRow cell, spread_a, spread_b;
  spread_a.mode = "processes";
  spread_b.mode = "mpi";
  const auto file = [&](double cell_s) {
    std::vector<RunRow> rows;
    std::vector<SampleRow> s;
    const auto add_cell = [&](const RunRow& row, const std::vector<double>& medians) {
      for (double m : medians) {
        const Int run = static_cast<Int>(rows.size());
        rows.push_back(row);
        for (Int i = 0; i < 3; ++i) s.push_back({run, i, 0, m});
      }
    };
    add_cell(cell, {cell_s, cell_s, cell_s});
    add_cell(spread_a, {1.0, 1.1, 1.21});
    add_cell(spread_b, {1.0, 1.1, 1.21});
    return group_cells(runs_table(rows), samples_table(s, false));
  };
  const auto a = file(1.0), b = file(1.2);
  const auto result = compare_cells(a, b, 0.03);
  ASSERT_EQ(result.size(), 3u);
  const double ln11 = std::log(1.1), sigma = std::sqrt(4 * ln11 * ln11 / 6);
  EXPECT_NEAR(a[0].run_sigma.sigma, sigma, 1e-12);
  const double half = 1.959964 * std::sqrt(2 * sigma * sigma / 3);
  EXPECT_NEAR(result[0].ratio.point, 1.2, 1e-12);
  EXPECT_NEAR(result[0].ratio.lo, 1.2 * std::exp(-half), 1e-9);
  EXPECT_NEAR(result[0].ratio.hi, 1.2 * std::exp(half), 1e-9);
  EXPECT_EQ(result[0].verdict, "slower");  // 1.2 exp(-half) = 1.06 > 1.03
  // one side without enough runs to pool (2 degrees of freedom): the other side's sigma for both
  EXPECT_NEAR(stats::with_run_band({1.2, 1.2, 1.2, 9}, {0, 1, 2}, {0, 1, 2}, NAN, sigma).lo,
              1.2 * std::exp(-half), 1e-9);
  EXPECT_DOUBLE_EQ(stats::with_run_band({1.2, 1.2, 1.2, 9}, {0, 1, 2}, {0, 1, 2}, NAN, NAN).lo,
                   1.2);
}

TEST(Compare, VerdictNeedsTheWholeIntervalBeyondTheThreshold) {
  EXPECT_EQ(verdict({1.2, 1.1, 1.3, 10}, 0.03), "slower");
  EXPECT_EQ(verdict({1.2, 1.02, 1.3, 10}, 0.03), "inconclusive");  // the interval crosses 1.03
  EXPECT_EQ(verdict({1.05, 1.04, 1.06, 10}, 0.0), "slower");
  EXPECT_EQ(verdict({0.8, 0.7, 0.9, 10}, 0.03), "faster");
  EXPECT_EQ(verdict({0.98, 0.975, 0.985, 10}, 0.03), "no difference");  // inside [1/1.03, 1.03]
  EXPECT_EQ(verdict({1.0, 0.95, 1.02, 10}, 0.03), "inconclusive");      // crosses 1/1.03
  EXPECT_EQ(verdict({1.0, 1.0, 1.0, 10}, 0.0), "no difference");
  EXPECT_EQ(verdict({kNaN, kNaN, kNaN, 0}, 0.03), "inconclusive");
}

TEST(Compare, MatchesOnConfigurationAndListsCellsOfOneFile) {
  RunRow a_ep, a_triad, b_ep, b_reduce;
  a_triad.kernel = "triad";
  b_ep.git_commit = "other-build";
  b_reduce.kernel = "reduce";
  const std::vector<double> base = {1.00, 1.01, 0.99, 1.02, 0.98, 1.00, 1.01, 0.99, 1.00, 1.03};
  std::vector<double> slow;
  for (double t : base) slow.push_back(1.2 * t);
  std::vector<SampleRow> sa = reps_of(0, base);
  for (auto& x : reps_of(1, base)) sa.push_back(x);
  std::vector<SampleRow> sb = reps_of(0, slow);
  for (auto& x : reps_of(1, base)) sb.push_back(x);
  const auto a = group_cells(runs_table({a_ep, a_triad}), samples_table(sa));
  const auto b = group_cells(runs_table({b_ep, b_reduce}), samples_table(sb));
  const auto result = compare_cells(a, b, 0.03);
  ASSERT_EQ(result.size(), 3u);
  EXPECT_EQ(result[0].a->config.kernel, "ep");
  EXPECT_EQ(result[0].b->provenance.git_commit, "other-build");
  EXPECT_NEAR(result[0].ratio.point, 1.2, 1e-12);
  EXPECT_GT(result[0].ratio.lo, 1.03);
  EXPECT_LT(result[0].test.p, 0.01);
  EXPECT_EQ(result[0].verdict, "slower");
  EXPECT_EQ(result[1].verdict, "only in A");
  EXPECT_EQ(result[1].a->config.kernel, "triad");
  EXPECT_EQ(result[2].verdict, "only in B");
  EXPECT_EQ(result[2].b->config.kernel, "reduce");
  // --ignore workers: A's 2-worker cell meets B's 1-worker cell of the same kernel and mode.
  RunRow one_worker;
  one_worker.workers = one_worker.threads = 1;
  const auto b1 = group_cells(runs_table({one_worker}), samples_table(reps_of(0, slow)));
  EXPECT_EQ(compare_cells(a, b1, 0.03)[0].verdict, "only in A");
  const auto ignoring = compare_cells(a, b1, 0.03, {"workers"});
  ASSERT_EQ(ignoring.size(), 2u);
  EXPECT_EQ(ignoring[0].verdict, "slower");
  EXPECT_EQ(ignoring[0].b->config.workers, 1);
  // A file against itself: every ratio exactly 1, "no difference".
  for (const auto& c : compare_cells(a, a, 0.0)) {  // an interval around 1 crosses a threshold of 0
    EXPECT_EQ(c.verdict, c.ratio.lo == 1.0 && c.ratio.hi == 1.0 ? "no difference" : "inconclusive");
    EXPECT_DOUBLE_EQ(c.ratio.point, 1.0);
  }
}

// Two files written through the real row builder and recorder by two builds (the provenance of
// the second is given explicitly, as another build would record it), merged: the merged file
// keeps both runs' provenance, and its cells never pool them.
TEST(Compare, MergeOfTwoBuildsKeepsTheirRunsApart) {
  std::string pattern = (fs::temp_directory_path() / "corescope-compare-XXXXXX").string();
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr) << std::strerror(errno);
  const fs::path dir = pattern;
  RunResult r;
  r.spec.kernel = "ep";
  r.spec.mode = "threads";
  r.spec.workers = 2;
  r.spec.ranks = 1;
  r.spec.threads_per_rank = 2;
  r.spec.scaling = "strong";
  r.status = "ok";
  r.verified = true;
  for (int rep = 0; rep < 5; ++rep) {
    Sample s;
    s.rep = rep;
    s.wall_s = 0.01 * (1 + rep);
    r.samples.push_back(s);
  }
  RunProvenance mine = this_provenance();
  RunProvenance other = mine;
  other.git_commit = mine.git_commit + "-other";
  r.run_id = new_run_id();
  append((dir / "a.h5").string(), file_provenance(), result_rows(r, mine));
  r.run_id = new_run_id();
  append((dir / "b.h5").string(), file_provenance(), result_rows(r, other));
  merge((dir / "all.h5").string(), {(dir / "a.h5").string(), (dir / "b.h5").string()});

  const Table runs = read_group((dir / "all.h5").string(), "runs");
  ASSERT_EQ(runs.rows(), 2u);
  EXPECT_EQ(runs.text("git_commit", 0), mine.git_commit);
  EXPECT_EQ(runs.text("git_commit", 1), other.git_commit);
  EXPECT_EQ(runs.text("cpu_model", 0), mine.cpu_model);
  EXPECT_EQ(runs.text("compiler", 1), mine.compiler);
  const auto cells = read_cells((dir / "all.h5").string());
  ASSERT_EQ(cells.size(), 2u);
  EXPECT_EQ(cells[0].times.size(), 5u);
  EXPECT_EQ(cells[1].times.size(), 5u);
  EXPECT_EQ(cells[0].provenance.differences(cells[1].provenance), "git_commit");
  // compare pairs them by configuration and names what differs.
  const auto result =
      compare_cells(read_cells((dir / "a.h5").string()), read_cells((dir / "b.h5").string()), 0.03);
  ASSERT_EQ(result.size(), 1u);
  EXPECT_TRUE(result[0].verdict == "no difference" || result[0].verdict == "inconclusive")
      << result[0].verdict;
  fs::remove_all(dir);
}
