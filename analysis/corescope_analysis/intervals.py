"""95 % intervals for the figures the report states, the disturbed-repetition rule and the
comparison of two cells.

- median_ci: the distribution-free interval of a median from order statistics (exact: its
  coverage follows from the binomial distribution of how many values fall below the median).
- ratio_ci: median(num) / median(den) with a seeded percentile bootstrap over runs, then the
  repetitions within them (over repetitions alone when a side has one run)
  (each side resampled on its own); the same seed gives the same interval.
- classify: faster / slower / no difference / inconclusive of a B/A time ratio, given a noise floor.

The analysis-time disturbance rule (docs/dev/noise.md, the C++ side implements the same):
reference probe = min probe_s over the file's samples of the same (host, cpu_start);
speed_factor = probe_s / reference; a sample is slow when speed_factor > SLOW_FACTOR; a
repetition is disturbed when any of its samples has disturbed != 0 or is slow.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LEVEL = 0.95
SEED = 1
RESAMPLES = 2000
SLOW_FACTOR = 1.10        # speed factor above which a sample's CPU counts as slow
MIN_CLEAN = 3             # fewer clean repetitions than this: use all, flag "mostly disturbed"
SLOW_RUN_FACTOR = 1.30    # a CPU-bound cell's run this much slower than its other runs is a slow run


@dataclass(frozen=True)
class Interval:
    point: float
    lo: float
    hi: float
    n: int                 # observations behind it (for a ratio: the smaller side)
    level: float = LEVEL   # coverage actually reached (an order-statistic interval of few values reaches less)

    def contains(self, value: float) -> bool:
        return self.lo <= value <= self.hi

    def scaled(self, factor: float) -> "Interval":
        return Interval(self.point * factor, self.lo * factor, self.hi * factor, self.n, self.level)


NAN_INTERVAL = Interval(math.nan, math.nan, math.nan, 0, math.nan)


def _finite(values) -> np.ndarray:
    x = np.asarray(values, dtype=float).ravel()
    return x[np.isfinite(x)]


def _binom_cdf_half(k: int, n: int) -> float:
    """P(B <= k) for B ~ Binomial(n, 1/2)."""
    if k < 0:
        return 0.0
    return sum(math.comb(n, i) for i in range(0, min(k, n) + 1)) / 2.0 ** n


def median_ci(values, level: float = LEVEL) -> Interval:
    """The order-statistic interval [x_(k), x_(n+1-k)] (1-based, sorted) with the largest k whose
    coverage 1 - 2 P(B <= k-1), B ~ Bin(n, 1/2), is at least level. With too few values for that
    (n < 6 at 95 %) it is [min, max] and `level` says the coverage reached (n = 5: 93.75 %)."""
    x = np.sort(_finite(values))
    n = int(x.size)
    if n == 0:
        return NAN_INTERVAL
    point = float(np.median(x))
    best_k, coverage = 1, 1.0 - 2.0 * _binom_cdf_half(0, n)
    for k in range(2, n // 2 + 1):
        c = 1.0 - 2.0 * _binom_cdf_half(k - 1, n)
        if c < level:
            break
        best_k, coverage = k, c
    return Interval(point, float(x[best_k - 1]), float(x[n - best_k]), n, coverage)


def _boot_medians(x: np.ndarray, rng: np.random.Generator, resamples: int) -> np.ndarray:
    index = rng.integers(0, x.size, size=(resamples, x.size))
    return np.median(x[index], axis=1)


def _groups(values: np.ndarray, groups) -> list[np.ndarray]:
    """The finite values split by group (one group when groups is None or does not fit)."""
    x = np.asarray(values, dtype=float).ravel()
    if groups is None or np.asarray(groups).size != x.size:
        return [x[np.isfinite(x)]]
    g = np.asarray(groups).ravel()
    keep = np.isfinite(x)
    x, g = x[keep], g[keep]
    return [x[g == key] for key in dict.fromkeys(g.tolist())]


def _boot_medians_grouped(groups: list[np.ndarray], rng: np.random.Generator, resamples: int) -> np.ndarray:
    """Two-stage bootstrap medians: draw the groups with replacement, then values within each
    (vectorised: groups padded to the largest with NaN, medians over the values present)."""
    k = len(groups)
    sizes = np.array([g.size for g in groups])
    width = int(sizes.max())
    table = np.full((k, width), np.nan)
    for j, g in enumerate(groups):
        table[j, :g.size] = g
    drawn = rng.integers(0, k, size=(resamples, k))                       # which group
    within = np.floor(rng.random((resamples, k, width)) * sizes[drawn][..., None]).astype(int)
    values = table[drawn[..., None], within]
    values[np.arange(width)[None, None, :] >= sizes[drawn][..., None]] = np.nan   # beyond that group's size
    return np.nanmedian(values.reshape(resamples, -1), axis=1)


def ratio_ci(num, den, level: float = LEVEL, seed: int = SEED, resamples: int = RESAMPLES,
             num_groups=None, den_groups=None) -> Interval:
    """median(num) / median(den) with a percentile bootstrap interval (num and den resampled
    independently, `resamples` times, generator seeded with `seed`). With groups (the run of each
    value, parallel to it), a side of two or more runs is resampled in two stages — its runs with
    replacement, then the values within each drawn run — so that the interval holds run-to-run
    variation too (repetitions of one run share its conditions); the C++ side does the same
    (stats::ratio_ci_grouped)."""
    a, b = _finite(num), _finite(den)
    if a.size == 0 or b.size == 0:
        return NAN_INTERVAL
    mb = float(np.median(b))
    if mb == 0:
        return NAN_INTERVAL
    point = float(np.median(a)) / mb
    n = int(min(a.size, b.size))
    if a.size == 1 and b.size == 1:
        return Interval(point, math.nan, math.nan, n, math.nan)
    rng = np.random.default_rng(seed)
    ga, gb = _groups(num, num_groups), _groups(den, den_groups)
    if len(ga) > 1 or len(gb) > 1:
        boot_a = _boot_medians_grouped(ga, rng, resamples)
        boot_b = _boot_medians_grouped(gb, rng, resamples)
    else:
        boot_a = _boot_medians(a, rng, resamples)
        boot_b = _boot_medians(b, rng, resamples)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = boot_a / boot_b
    ratios = ratios[np.isfinite(ratios)]
    if ratios.size == 0:
        return Interval(point, math.nan, math.nan, n, math.nan)
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(ratios, [tail, 1.0 - tail])
    return Interval(point, float(lo), float(hi), n, level)


Z95 = 1.959964           # two-sided 95 % quantile of the normal distribution
MIN_RUN_DF = 4            # degrees of freedom below which a pooled run spread is not used


def with_run_band(interval: Interval, runs_a, runs_b, sigma: float, sigma_b: float | None = None,
                  z: float = Z95) -> Interval:
    """The interval widened, where needed, to hold point * exp(+-z sqrt(sigma^2/k_a + sigma_b^2/k_b)):
    the band that run-to-run variation alone puts around a ratio of two medians from k_a and k_b
    runs (the distinct values of runs_a and runs_b), sigma and sigma_b being the standard deviation
    of the log of a run's median on each side (sigma_b None: sigma for both; one NaN: the other for
    both), pooled over a file's cells (stats.pooled_run_sigma). A bootstrap over the runs of one
    ratio sees only its own 2-3 runs per side, too few to measure that variation (docs/dev/noise.md).
    Unchanged where both are NaN or the interval has no point. record/cells.cpp's
    stats::with_run_band is the same."""
    sigma_a = sigma
    sigma_b = sigma if sigma_b is None else sigma_b
    if not math.isfinite(sigma_a):
        sigma_a = sigma_b
    if not math.isfinite(sigma_b):
        sigma_b = sigma_a
    if not (math.isfinite(sigma_a) and math.isfinite(interval.point) and interval.point > 0):
        return interval
    k_a = max(1, len(set(np.asarray(runs_a).ravel().tolist()))) if runs_a is not None else 1
    k_b = max(1, len(set(np.asarray(runs_b).ravel().tolist()))) if runs_b is not None else 1
    half = z * math.sqrt(sigma_a ** 2 / k_a + sigma_b ** 2 / k_b)
    lo = interval.point * math.exp(-half)
    hi = interval.point * math.exp(half)
    lo = lo if not math.isfinite(interval.lo) else min(interval.lo, lo)
    hi = hi if not math.isfinite(interval.hi) else max(interval.hi, hi)
    return Interval(interval.point, lo, hi, interval.n, interval.level)


def classify(interval: Interval, floor: float = 0.0) -> str:
    """A B/A time ratio in the outcome words of `corescope compare` (record::verdict), with the
    noise floor as its threshold: 'slower' (B takes longer) when the whole interval lies above
    1 + floor, 'faster' when it lies below 1 / (1 + floor), 'no difference' when it lies between
    the two, 'inconclusive' when it crosses either; '' without an interval."""
    if not (math.isfinite(interval.lo) and math.isfinite(interval.hi)):
        return ""
    above = 1.0 + (floor if math.isfinite(floor) else 0.0)
    if interval.lo > above:
        return "slower"
    if interval.hi < 1.0 / above:
        return "faster"
    if interval.lo >= 1.0 / above and interval.hi <= above:
        return "no difference"
    return "inconclusive"


def fmt_interval(interval_or_lo, hi=None, digits: int = 3, suffix: str = "") -> str:
    """'1.82–1.97×' style text of an interval (or of lo, hi)."""
    if hi is None:
        lo, hi = interval_or_lo.lo, interval_or_lo.hi
    else:
        lo = interval_or_lo
    try:
        lo, hi = float(lo), float(hi)
    except (TypeError, ValueError):
        return "–"
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "–"
    return f"{lo:.{digits}g}–{hi:.{digits}g}{suffix}"


def mann_whitney_p(a, b) -> float:
    """Two-sided Mann-Whitney U p-value (scipy), NaN where it cannot be computed."""
    x, y = _finite(a), _finite(b)
    if x.size == 0 or y.size == 0:
        return math.nan
    try:
        from scipy.stats import mannwhitneyu
    except ImportError:
        return math.nan
    try:
        return float(mannwhitneyu(x, y, alternative="two-sided").pvalue)
    except ValueError:
        return math.nan
