"""Arithmetic the Python kernels share with the C++ kernels (kernels/kernel_util.hpp): the
counter-based random numbers, Knuth's MMIX generator and its closed-form jump, quantiles."""
import math

MASK = (1 << 64) - 1
LCG_MUL, LCG_ADD = 6364136223846793005, 1442695040888963407


def block_range(n, count, i):
    """The block [begin, end) of n items that worker i of count owns (as the C++ block_range)."""
    base, extra = divmod(n, count)
    begin = i * base + min(i, extra)
    return begin, begin + base + (1 if i < extra else 0)


def mix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def uniform01(x):
    return (mix64(x) >> 11) * 2.0 ** -53


def lcg_jump(x, steps):
    """The generator's state after `steps` steps from x (mod 2^64), in O(log steps)."""
    acc_mul, acc_add, mul, add = 1, 0, LCG_MUL, LCG_ADD
    while steps:
        if steps & 1:
            acc_mul = (acc_mul * mul) & MASK
            acc_add = (acc_add * mul + add) & MASK
        add = ((mul + 1) * add) & MASK
        mul = (mul * mul) & MASK
        steps >>= 1
    return (acc_mul * x + acc_add) & MASK


def lcg_run(x, steps):
    for _ in range(steps):
        x = (x * LCG_MUL + LCG_ADD) & MASK
    return x


def quantile(values, q):
    if not values:
        return math.nan
    v = sorted(values)
    pos = q * (len(v) - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def median(values):
    return quantile(values, 0.5)


class PoolPlanBase:
    """The queen's side of a pool kernel: `args` are the tasks of one repetition."""

    args = ()

    def shared(self):
        return None

    def tasks(self):
        return self.args

    def metrics(self):
        return []

    def close(self):
        pass
