// core/stats: every figure here is computed by hand from the definitions in stats.hpp.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/stats.hpp"

using namespace corescope::stats;

TEST(Stats, MedianAndQuantile) {
  EXPECT_DOUBLE_EQ(median({3, 1, 2}), 2);
  EXPECT_DOUBLE_EQ(median({4, 1, 3, 2}), 2.5);
  EXPECT_DOUBLE_EQ(median({NAN, 5, 1}), 3);  // NaN ignored
  EXPECT_TRUE(std::isnan(median({})));
  EXPECT_DOUBLE_EQ(quantile({1, 2, 3, 4}, 0.25), 1.75);
  EXPECT_DOUBLE_EQ(quantile({1, 2, 3, 4}, 1.0), 4);
}

TEST(Stats, MedianIntervalIsTheExactOrderStatisticInterval) {
  // n = 10: P(2 <= B <= 8), B ~ Bin(10, 1/2) = 1 - 2 * (1 + 10) / 1024 = 0.978515625 >= 0.95, while
  // P(3 <= B <= 7) = 1 - 2 * (1 + 10 + 45) / 1024 = 0.890625 < 0.95: the interval is [x(2), x(9)].
  const Interval i = median_ci({10, 9, 8, 7, 6, 5, 4, 3, 2, 1});
  EXPECT_DOUBLE_EQ(i.point, 5.5);
  EXPECT_DOUBLE_EQ(i.lo, 2);
  EXPECT_DOUBLE_EQ(i.hi, 9);
  EXPECT_DOUBLE_EQ(i.coverage, 1 - 22.0 / 1024);
  EXPECT_EQ(i.n, 10u);
  // n = 5 cannot reach 95 %: [min, max] with coverage 1 - 2/32.
  const Interval small = median_ci({5, 1, 4, 2, 3});
  EXPECT_DOUBLE_EQ(small.lo, 1);
  EXPECT_DOUBLE_EQ(small.hi, 5);
  EXPECT_DOUBLE_EQ(small.coverage, 0.9375);
  // A lower level narrows it: 0.89 admits j = 3.
  const Interval narrow = median_ci({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.89);
  EXPECT_DOUBLE_EQ(narrow.lo, 3);
  EXPECT_DOUBLE_EQ(narrow.hi, 8);
}

TEST(Stats, MedianIntervalCoversTheTrueMedianAtItsLevel) {
  // 2,000 samples of n = 15 from an exponential (true median ln 2): the exact interval's coverage
  // (0.9648 for n = 15) must show in the hit rate, within binomial noise (sd ~ 0.004).
  std::mt19937_64 gen(7);
  std::exponential_distribution<double> e(1.0);
  int hits = 0;
  double coverage = 0;
  for (int t = 0; t < 2000; ++t) {
    std::vector<double> x(15);
    for (auto& v : x) v = e(gen);
    const Interval i = median_ci(x);
    coverage = i.coverage;
    hits += (i.lo <= std::log(2.0) && std::log(2.0) <= i.hi) ? 1 : 0;
  }
  EXPECT_NEAR(hits / 2000.0, coverage, 0.02);
  EXPECT_GE(coverage, 0.95);
}

TEST(Stats, GroupedRatioIntervalResamplesRunsThenRepetitions) {
  // Three runs at 1.0, 1.1, 1.2 (tiny spread within each): resampling repetitions alone keeps the
  // middle run at the median; resampling runs first draws three copies of the first (or last) run
  // with probability 1/27 > 2.5 %, so the run-aware interval reaches both ends.
  std::vector<double> a, b;
  std::vector<std::int64_t> runs;
  for (int r = 0; r < 3; ++r)
    for (int i = 0; i < 10; ++i) {
      a.push_back(1.0 + 0.1 * r + 0.0002 * (i - 4.5));
      runs.push_back(r);
    }
  for (int i = 0; i < 10; ++i) b.push_back(1.0 + 0.0002 * (i - 4.5));
  const auto plain = ratio_ci(a, b);
  const auto grouped = ratio_ci_grouped(a, runs, b, {});
  EXPECT_NEAR(grouped.point, 1.1, 1e-9);
  EXPECT_DOUBLE_EQ(grouped.point, plain.point);
  EXPECT_GT(plain.lo, 1.03);
  EXPECT_LT(plain.hi, 1.17);
  EXPECT_LT(grouped.lo, 1.002);
  EXPECT_GT(grouped.hi, 1.198);
  // one run on each side: exactly ratio_ci
  const auto one = ratio_ci_grouped(a, std::vector<std::int64_t>(a.size(), 7), b, {});
  EXPECT_DOUBLE_EQ(one.lo, plain.lo);
  EXPECT_DOUBLE_EQ(one.hi, plain.hi);
}

TEST(Stats, RatioIntervalIsReproducibleAndContainsTheTruth) {
  const Interval flat = ratio_ci({2, 2, 2, 2}, {1, 1, 1});
  EXPECT_DOUBLE_EQ(flat.point, 2);
  EXPECT_DOUBLE_EQ(flat.lo, 2);
  EXPECT_DOUBLE_EQ(flat.hi, 2);
  std::mt19937_64 gen(3);
  std::normal_distribution<double> noise(1.0, 0.05);
  std::vector<double> a(30), b(30);
  for (auto& v : a) v = 2 * noise(gen);
  for (auto& v : b) v = noise(gen);
  const Interval r1 = ratio_ci(a, b, 0.95, 11), r2 = ratio_ci(a, b, 0.95, 11),
                 r3 = ratio_ci(a, b, 0.95, 12);
  EXPECT_DOUBLE_EQ(r1.lo, r2.lo);
  EXPECT_DOUBLE_EQ(r1.hi, r2.hi);
  EXPECT_NE(r1.lo, r3.lo);  // another seed, another resampling
  EXPECT_LT(r1.lo, 2.0);
  EXPECT_GT(r1.hi, 2.0);
  EXPECT_LT(r1.hi - r1.lo, 0.2);
  EXPECT_TRUE(std::isnan(ratio_ci({}, {1}).point));
}

TEST(Stats, MannWhitneyExactSmallSamples) {
  // n1 = n2 = 3: 20 equally likely arrangements, U = 0 in one of them: p = 2/20.
  RankTest t = mann_whitney({1, 2, 3}, {4, 5, 6});
  EXPECT_TRUE(t.exact);
  EXPECT_DOUBLE_EQ(t.u, 0);
  EXPECT_DOUBLE_EQ(t.p, 0.1);
  t = mann_whitney({4, 5, 6}, {1, 2, 3});
  EXPECT_DOUBLE_EQ(t.u, 9);
  EXPECT_DOUBLE_EQ(t.p, 0.1);
  // n1 = 2, n2 = 1: 3 arrangements, U = 0 in one: p = 2/3.
  t = mann_whitney({1, 2}, {3});
  EXPECT_NEAR(t.p, 2.0 / 3, 1e-12);
  // Interleaved: U = 4.5 is the centre of 0..9, p = 1.
  EXPECT_DOUBLE_EQ(mann_whitney({1, 4, 5}, {2, 3, 6}).p, 1.0);
}

TEST(Stats, MannWhitneyNormalApproximationWithTies) {
  const RankTest same = mann_whitney({1, 1, 1, 1}, {1, 1, 1, 1});
  EXPECT_FALSE(same.exact);
  EXPECT_DOUBLE_EQ(same.p, 1.0);
  // 40 values each, b shifted by far more than the spread: p tiny; a vs itself: p near 1.
  std::vector<double> a, b;
  for (int i = 0; i < 40; ++i) {
    a.push_back(1.0 + 0.01 * (i % 7));
    b.push_back(1.5 + 0.01 * (i % 5));
  }
  const RankTest far = mann_whitney(a, b);
  EXPECT_FALSE(far.exact);
  EXPECT_LT(far.p, 1e-10);
  EXPECT_GT(mann_whitney(a, a).p, 0.9);
  EXPECT_DOUBLE_EQ(mann_whitney({}, {1, 2}).p, 1.0);
}
