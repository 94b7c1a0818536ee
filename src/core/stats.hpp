// Statistics every command shares: medians, a distribution-free interval of a median, a bootstrap
// interval of a ratio of medians, and the Mann-Whitney U test. Pure functions over plain vectors;
// NaN values are ignored everywhere.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace corescope::stats {

// The median (mean of the two middle values for even n); NaN for no values.
double median(std::vector<double> x);
// The q-quantile by linear interpolation between order statistics (q in [0,1]); NaN for no values.
double quantile(std::vector<double> x, double q);

struct Interval {
  double point = 0, lo = 0, hi = 0;
  std::size_t n = 0;    // values it was computed from
  double coverage = 0;  // the interval's actual coverage: exact intervals reach `level` or more;
                        // fewer than 6 values cannot reach 95 %, so [min, max] is given with its
                        // smaller coverage (1 - 2^(1-n))
};

// Interval of the median from order statistics: [x_(j), x_(n+1-j)] with the largest j whose
// binomial coverage is at least `level`. Exact for any continuous distribution; no resampling.
Interval median_ci(std::vector<double> x, double level = 0.95);

// Percentile bootstrap interval of median(num) / median(den): both samples are resampled
// independently `resamples` times with a generator seeded by `seed` (reproducible).
Interval ratio_ci(const std::vector<double>& num, const std::vector<double>& den,
                  double level = 0.95, std::uint64_t seed = 1, int resamples = 2000);

// The same, where each value belongs to a group (the run that measured it; `num_groups` and
// `den_groups` parallel to the values, or empty): a side with two or more groups is resampled in
// two stages, first its groups with replacement, then the values within each drawn group, so
// that the interval holds the run-to-run variation as well as the repetition-to-repetition one
// (repetitions of one run share its conditions and are not independent). A side with one group
// is resampled as in ratio_ci. The point estimate is the same.
Interval ratio_ci_grouped(const std::vector<double>& num,
                          const std::vector<std::int64_t>& num_groups,
                          const std::vector<double>& den,
                          const std::vector<std::int64_t>& den_groups, double level = 0.95,
                          std::uint64_t seed = 1, int resamples = 2000);

// The interval widened, where needed, to hold point * exp(+-z sqrt(sa^2/k_a + sb^2/k_b)): the band
// that run-to-run variation alone puts around a ratio of two medians from k_a and k_b runs (the
// distinct values of `a_groups` and `b_groups`; at least 1), sa and sb being the standard
// deviation of the log of a run's median on each side (one NaN: the other for both). Unchanged
// where both are NaN or the point is not positive. The report's intervals.with_run_band is the
// same.
Interval with_run_band(const Interval& r, const std::vector<std::int64_t>& a_groups,
                       const std::vector<std::int64_t>& b_groups, double sigma_a, double sigma_b,
                       double z = 1.959964);

// Two-sided Mann-Whitney U test of "a and b come from the same distribution". u is a's U
// statistic (pairs with a > b, ties counting 1/2). The p-value is exact (all rank arrangements)
// when there are no ties and both samples have at most 30 values, else the normal approximation
// with tie and continuity corrections. p = 1 when either sample is empty.
struct RankTest {
  double u = 0, p = 1;
  bool exact = false;
};
RankTest mann_whitney(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace corescope::stats
