"""triad: a = b + 3 c with NumPy (kernels/triad.cpp's arrays: b_i = 1 + i mod 7, c_i = 0.5 (i mod 3),
exact, so every element is checked against b + s c). 24 bytes per element as STREAM counts."""
from corescope_py.kernels import arrays
from corescope_py.kernels.common import PoolPlanBase, block_range

COUNTERS = ()
SCALAR = 3.0


def fill(np, b, c, begin):
    i = np.arange(begin, begin + len(b), dtype=np.int64)
    b[:] = 1.0 + (i % 7)
    c[:] = 0.5 * (i % 3)


def triad(np, a, b, c, tmp):
    np.multiply(c, SCALAR, out=tmp)
    np.add(b, tmp, out=a)


def wrong(np, a, b, c, begin):
    i = np.arange(begin, begin + len(a), dtype=np.int64)
    bb, cc = 1.0 + (i % 7), 0.5 * (i % 3)
    return int(np.count_nonzero((a != bb + SCALAR * cc) | (b != bb) | (c != cc)))


def verdict(bad):
    return bad == 0, float(bad), "" if bad == 0 else "%d elements differ from b + s*c" % bad


class Kernel:
    def setup(self, w, p):
        import numpy as np
        self.np = np
        self.begin, end = block_range(p.size, w.count, w.id)
        n = end - self.begin
        self.a, self.b, self.c, self.tmp = (np.zeros(n) for _ in range(4))
        fill(np, self.b, self.c, self.begin)

    def iterate(self, w):
        triad(self.np, self.a, self.b, self.c, self.tmp)

    def verify(self, w):
        return verdict(int(w.allreduce(wrong(self.np, self.a, self.b, self.c, self.begin))))

    def verify_local(self, w):
        """This worker's block alone, no team operation (corescope isolate)."""
        return verdict(wrong(self.np, self.a, self.b, self.c, self.begin))

    def metrics(self, w):
        return []


def pool_task(arg, shared):
    import numpy as np
    lo, hi = arg
    a, b, c, tmp = arrays.attach(shared)
    triad(np, a[lo:hi], b[lo:hi], c[lo:hi], tmp[lo:hi])
    return hi - lo


class PoolPlan(PoolPlanBase):
    def __init__(self, p, n, ctx):
        import numpy as np
        self.np = np
        self.mem = arrays.PoolArrays(4, p.size)
        a, b, c, _ = self.mem.arrays
        a[:] = 0.0
        fill(np, b, c, 0)
        self.args = [block_range(p.size, n, i) for i in range(n)]
        self.done = 0

    def shared(self):
        return self.mem.handle()

    def collect(self, values):
        self.done = sum(values)

    def verify(self):
        a, b, c, _ = self.mem.arrays
        return verdict(wrong(self.np, a, b, c, 0))

    def close(self):
        self.mem.close()
