"""intervals.py against hand-computed cases: the exact order-statistic interval of a median, a
bootstrap whose distribution can be enumerated, reproducibility, and the B/A classification."""
import math

import numpy as np
import pytest

from corescope_analysis import intervals
from corescope_analysis.intervals import Interval, classify, median_ci, ratio_ci


def test_median_ci_exact_order_statistics_n10():
    # Bin(10, 1/2): P(B <= 1) = 11/1024, so [x(2), x(9)] covers 1 - 22/1024 = 97.85 %;
    # [x(3), x(8)] would cover only 1 - 2*56/1024 = 89.1 % < 95 %.
    ci = median_ci([7, 1, 10, 3, 5, 2, 9, 4, 8, 6])
    assert (ci.point, ci.lo, ci.hi, ci.n) == (5.5, 2.0, 9.0, 10)
    assert ci.level == pytest.approx(1 - 22 / 1024)


def test_median_ci_exact_small_n():
    # n = 6: [min, max] covers 1 - 2/64 = 96.9 %; n = 5 cannot reach 95 %: [min, max] at 93.75 %
    six = median_ci([3, 1, 2, 6, 5, 4])
    assert (six.lo, six.hi, six.point) == (1, 6, 3.5) and six.level == pytest.approx(1 - 2 / 64)
    five = median_ci([5, 1, 3, 2, 4])
    assert (five.lo, five.hi, five.point) == (1, 5, 3) and five.level == pytest.approx(1 - 2 / 32)
    # n = 20: P(B <= 5) = 21700/1048576 -> k = 6: [x(6), x(15)] covers 95.86 %
    twenty = median_ci(np.arange(1, 21))
    assert (twenty.lo, twenty.hi) == (6, 15)
    assert twenty.level == pytest.approx(1 - 2 * 21700 / 2 ** 20)


def test_median_ci_ignores_nan_and_handles_empty():
    assert median_ci([np.nan, 2.0, np.nan]).n == 1
    assert math.isnan(median_ci([]).point)


def test_ratio_ci_enumerable_bootstrap():
    # num = [1, 3]: a resampled median is 1, 2 or 3 with probabilities 1/4, 1/2, 1/4; den = [1]
    # is always 1. The 2.5 % and 97.5 % quantiles of the ratio are therefore 1 and 3.
    r = ratio_ci([1.0, 3.0], [1.0])
    assert (r.point, r.lo, r.hi, r.n) == (2.0, 1.0, 3.0, 1)


def test_ratio_ci_constant_samples_and_degenerate():
    r = ratio_ci([2.0, 2.0, 2.0], [1.0, 1.0, 1.0, 1.0])
    assert (r.point, r.lo, r.hi, r.n) == (2.0, 2.0, 2.0, 3)
    assert math.isnan(ratio_ci([], [1.0]).point)
    assert math.isnan(ratio_ci([1.0], [0.0]).point)
    single = ratio_ci([2.0], [1.0])
    assert single.point == 2.0 and math.isnan(single.lo)


def test_ratio_ci_seeded_and_reproducible():
    rng = np.random.default_rng(3)
    a, b = 1 + 0.1 * rng.standard_normal(15), 2 + 0.1 * rng.standard_normal(15)
    first, again = ratio_ci(a, b), ratio_ci(a, b)
    assert first == again
    other = ratio_ci(a, b, seed=99)
    assert (other.lo, other.hi) != (first.lo, first.hi)
    assert first.lo < first.point < first.hi
    assert first.point == pytest.approx(np.median(a) / np.median(b))


def test_ratio_ci_covers_the_true_ratio_of_a_known_population():
    # 200 draws from two populations whose medians are 1 and 2: a 95 % interval misses 0.5
    # rarely; over 40 independent tries, at most a handful may (binomial, p = 0.05).
    rng = np.random.default_rng(11)
    misses = 0
    for _ in range(40):
        a = rng.uniform(0.5, 1.5, 40)
        b = rng.uniform(1.0, 3.0, 40)
        r = ratio_ci(a, b, resamples=500)
        misses += not (r.lo <= 0.5 <= r.hi)
    assert misses <= 6


def test_classify_with_floor():
    # compare's words, the floor as its threshold: the whole interval decides
    assert classify(Interval(1.2, 1.1, 1.3, 5)) == "slower"
    assert classify(Interval(0.8, 0.7, 0.9, 5)) == "faster"
    assert classify(Interval(1.02, 0.98, 1.05, 5)) == "inconclusive"
    # outside 1, but inside the noise floor
    assert classify(Interval(1.03, 1.01, 1.035, 5), floor=0.04) == "no difference"
    assert classify(Interval(0.98, 1 / 1.04, 1.0, 5), floor=0.04) == "no difference"
    # crossing the floor: neither
    assert classify(Interval(1.05, 1.01, 1.09, 5), floor=0.04) == "inconclusive"
    assert classify(Interval(1.06, 1.05, 1.09, 5), floor=0.04) == "slower"
    assert classify(Interval(1.0, math.nan, math.nan, 1)) == ""


def test_fmt_interval():
    assert intervals.fmt_interval(Interval(2, 1.5, 2.5, 3), suffix="×") == "1.5–2.5×"
    assert intervals.fmt_interval(math.nan, 1.0) == "–"


def test_mann_whitney_separates_disjoint_samples():
    assert intervals.mann_whitney_p([1, 2, 3, 4, 5, 6], [11, 12, 13, 14, 15, 16]) < 0.01
    assert intervals.mann_whitney_p([1, 2, 3, 4], [1, 2, 3, 4]) > 0.5


def test_ratio_ci_grouped_resamples_runs_then_repetitions():
    # three runs whose repetitions sit at 1.0, 1.1 and 1.2 (tiny spread): resampling repetitions
    # alone keeps the middle run's values at the median (about 1.05-1.15); resampling runs first
    # draws all-1.0 or all-1.2 runs with probability 1/27 each (> 2.5 %), so the run-aware interval
    # reaches both ends
    a = np.concatenate([m + np.linspace(-0.001, 0.001, 10) for m in (1.0, 1.1, 1.2)])
    runs = np.repeat([0, 1, 2], 10)
    b = 1.0 + np.linspace(-0.001, 0.001, 10)
    plain = intervals.ratio_ci(a, b)
    grouped = intervals.ratio_ci(a, b, num_groups=runs)
    assert grouped.point == plain.point == pytest.approx(1.1)
    assert 1.03 < plain.lo and plain.hi < 1.17
    assert grouped.lo < 1.002 and grouped.hi > 1.198
    # one run: the same as without groups, draw for draw
    assert intervals.ratio_ci(a, b, num_groups=np.zeros(30)) == plain
