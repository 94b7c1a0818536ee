"""ep: Monte Carlo estimate of pi from counter-based random numbers, as kernels/ep.cpp: sample i's
point comes from mix64(seed + 2i) and mix64(seed + 2i + 1), so the hit count is the C++ kernel's,
for any team. impl=python: a pure-Python loop (holds the GIL); impl=numpy: the same arithmetic on
uint64 arrays of 65536 samples, whose loops run with the GIL released."""
import math


from corescope_py.kernels.common import PoolPlanBase, block_range, mix64

COUNTERS = ()
CHUNK = 1 << 16


def hits_python(lo, hi, seed):
    hits = 0
    scale = 2.0 ** -53
    for i in range(lo, hi):
        key = seed + 2 * i
        x = (mix64(key) >> 11) * scale
        y = (mix64(key + 1) >> 11) * scale
        if x * x + y * y < 1.0:
            hits += 1
    return hits


def _mix64_np(np, x):
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def hits_numpy(lo, hi, seed):
    import numpy as np
    hits = 0
    scale = 2.0 ** -53
    with np.errstate(over="ignore"):
        for start in range(lo, hi, CHUNK):
            i = np.arange(start, min(hi, start + CHUNK), dtype=np.uint64)
            key = np.uint64(seed) + np.uint64(2) * i
            x = (_mix64_np(np, key) >> np.uint64(11)).astype(np.float64) * scale
            y = (_mix64_np(np, key + np.uint64(1)) >> np.uint64(11)).astype(np.float64) * scale
            hits += int(np.count_nonzero(x * x + y * y < 1.0))
    return hits


def count_hits(lo, hi, seed, impl):
    return (hits_numpy if impl == "numpy" else hits_python)(lo, hi, seed)


def verdict(hits, n):
    p = math.pi / 4.0
    estimate = 4.0 * hits / n
    sigma = 4.0 * math.sqrt(p * (1.0 - p) / n)
    error = abs(estimate - math.pi)
    ok = error <= 5.0 * sigma and 0 <= hits <= n
    return ok, error, "" if ok else "pi estimate %r is %.1f sigma away from pi" % (estimate, error / sigma)


def results(hits, n):
    return [("ep_hits", hits, "", "ep: samples inside the quarter circle (identical in every mode)"),
            ("pi_estimate", 4.0 * hits / n, "", "ep: estimate of pi")]


class Kernel:
    def setup(self, w, p):
        self.n = p.size
        self.lo, self.hi = block_range(p.size, w.count, w.id)
        self.seed = p.get_int("seed")
        self.impl = p.get("impl")
        self.hits = -1

    def iterate(self, w):
        self.hits = w.allreduce(count_hits(self.lo, self.hi, self.seed, self.impl))

    def verify(self, w):
        return verdict(self.hits, self.n)

    def metrics(self, w):
        return results(self.hits, self.n)


def pool_task(arg, shared):
    lo, hi, seed, impl = arg
    return count_hits(lo, hi, seed, impl)


class PoolPlan(PoolPlanBase):
    """One task per worker's block, as the SPMD kernel splits the samples."""

    def __init__(self, p, n, ctx):
        self.n = p.size
        self.args = [block_range(p.size, n, i) + (p.get_int("seed"), p.get("impl")) for i in range(n)]
        self.hits = -1

    def collect(self, values):
        self.hits = sum(values)

    def verify(self):
        return verdict(self.hits, self.n)

    def metrics(self):
        return results(self.hits, self.n)

