"""critical: the founding notes' lock example in Python. Even workers do x = x + 1, odd workers
x = x - 2, M times each per iteration, on one shared value:
  sync=none    no lock: a race (threads: a plain attribute of a shared object; processes: a
               multiprocessing.Value read and written without its lock)
  sync=mutex   threading.Lock (threads) / the multiprocessing.Value's own lock (processes, pool)
  sync=reduce  a private sum per worker, added to the shared value once per iteration
As in kernels/critical.cpp each update also adds 1 to a tally in the high half of the same int64
(word = tally * 2^32 + value), in the same store, so lost_updates = expected - found tally is
exact and the value must be a real mix of the updates that survived."""
from corescope_py.kernels.common import PoolPlanBase

COUNTERS = ("counter",)
TALLY = 1 << 32


def increment(index):
    return TALLY + (1 if index % 2 == 0 else -2)


def update(counter, sync, m, inc):
    obj, lock = counter.get_obj(), counter.get_lock()
    if sync == "none":
        for _ in range(m):
            obj.value = obj.value + inc
    elif sync == "mutex":
        for _ in range(m):
            with lock:
                obj.value = obj.value + inc
    else:
        mine = 0
        for _ in range(m):
            mine = mine + inc
        with lock:
            obj.value = obj.value + mine


def decode(word):
    word = ((word + (1 << 63)) % (1 << 64)) - (1 << 63)  # as int64
    tally = (word + (1 << 31)) >> 32
    return tally, word - tally * TALLY


def check(word, sync, n, m, iterations):
    """(ok, error, detail, lost, expected, value) for the final counter of a team of n."""
    tally, value = decode(word)
    plus, minus = (n + 1) // 2, n // 2
    per = iterations * m
    expected = per * n
    lost = expected - tally
    if sync != "none":
        ok = tally == expected and value == per * plus - 2 * per * minus
        detail = "" if ok else "sync=%s lost %d of %d updates (value %d, expected %d)" % (
            sync, lost, expected, value, per * plus - 2 * per * minus)
        return ok, float(lost), detail, lost, expected, value
    three_a = value + 2 * tally
    a = three_a // 3
    b = tally - a
    ok = 0 <= tally <= expected and three_a % 3 == 0 and 0 <= a <= per * plus and 0 <= b <= per * minus
    detail = "" if ok else ("counter (tally %d, value %d) is not any mix of the +1 and -2 updates issued"
                            % (tally, value))
    return ok, 0.0, detail, lost, expected, value


def results(lost, expected, value, ns):
    return [("lost_updates", lost, "", "critical: updates lost to the race (expected minus found)"),
            ("lost_fraction", lost / expected if expected else 0.0, "", "critical: lost updates / updates issued"),
            ("updates_issued", expected, "", "critical: updates issued by the team, all iterations"),
            ("counter_value", value, "", "critical: final value of the shared counter"),
            ("ns_per_update", ns, "ns", "critical: median iteration time of the slowest worker / M")]


class Kernel:
    def setup(self, w, p):
        import time
        self.clock = time.perf_counter
        self.m, self.sync = p.size, p.get("sync")
        self.counter = w.counter("counter")
        self.inc = increment(w.id)
        self.times = []
        self.outcome = None

    def iterate(self, w):
        t0 = self.clock()
        update(self.counter, self.sync, self.m, self.inc)
        self.times.append(self.clock() - t0)

    def verify(self, w):
        from corescope_py.kernels.common import median
        w.barrier()
        iters = len(self.times)
        if w.allreduce(iters, "min") != w.allreduce(iters, "max"):
            return False, 0.0, "workers ran different numbers of iterations"
        ok, err, detail, lost, expected, value = check(self.counter.get_obj().value, self.sync, w.count, self.m, iters)
        ns = w.allreduce(median(self.times) * 1e9 / self.m, "max")
        self.outcome = results(lost, expected, value, ns)
        return ok, err, detail

    def metrics(self, w):
        return self.outcome


def pool_task(arg, shared):
    index, sync, m = arg
    update(shared, sync, m, increment(index))
    return index


class PoolPlan(PoolPlanBase):
    """n tasks per repetition, task i updating as worker i would; the Value reaches the pool
    processes through the pool's initializer."""

    def __init__(self, p, n, ctx):
        self.value = ctx.Value("q", 0)
        self.n, self.m, self.sync = n, p.size, p.get("sync")
        self.args = [(i, self.sync, self.m) for i in range(n)]
        self.iterations = 0

    def shared(self):
        return self.value

    def collect(self, values):
        self.iterations += 1

    def verify(self):
        ok, err, detail, lost, expected, value = check(self.value.get_obj().value, self.sync, self.n, self.m,
                                                       self.iterations)
        self.outcome = results(lost, expected, value, float("nan"))
        return ok, err, detail

    def metrics(self):
        return self.outcome
