"""reduce: the dot product x.y with NumPy, then an allreduce (kernels/reduce.cpp: x_i = ((i mod 16)
+ 1) / 16, y_i = 2, every partial sum exact, so the answer is known in closed form)."""
from corescope_py.kernels import arrays
from corescope_py.kernels.common import PoolPlanBase, block_range

COUNTERS = ()


def expected_dot(n):
    blocks, r = divmod(n, 16)
    return 17.0 * blocks + r * (r + 1.0) / 16.0


def fill(np, x, y, begin):
    i = np.arange(begin, begin + len(x), dtype=np.int64)
    x[:] = ((i % 16) + 1) / 16.0
    y[:] = 2.0


def verdict(found, n):
    want = expected_dot(n)
    err = abs(found - want)
    return err == 0.0, err, "" if err == 0.0 else "dot product %r != %r" % (found, want)


def results(found):
    return [("dot", found, "", "reduce: the dot product computed")]


class Kernel:
    def setup(self, w, p):
        import numpy as np
        self.np, self.n = np, p.size
        begin, end = block_range(p.size, w.count, w.id)
        self.x, self.y = np.empty(end - begin), np.empty(end - begin)
        fill(np, self.x, self.y, begin)
        self.result = 0.0

    def iterate(self, w):
        self.result = w.allreduce(float(self.np.dot(self.x, self.y)))

    def verify(self, w):
        return verdict(self.result, self.n)

    def metrics(self, w):
        return results(self.result)


def pool_task(arg, shared):
    import numpy as np
    lo, hi = arg
    x, y = arrays.attach(shared)
    return float(np.dot(x[lo:hi], y[lo:hi]))


class PoolPlan(PoolPlanBase):
    def __init__(self, p, n, ctx):
        import numpy as np
        self.n = p.size
        self.mem = arrays.PoolArrays(2, p.size)
        fill(np, *self.mem.arrays, 0)
        self.args = [block_range(p.size, n, i) for i in range(n)]
        self.result = 0.0

    def shared(self):
        return self.mem.handle()

    def collect(self, values):
        self.result = sum(values)

    def verify(self):
        return verdict(self.result, self.n)

    def metrics(self):
        return results(self.result)

    def close(self):
        self.mem.close()
