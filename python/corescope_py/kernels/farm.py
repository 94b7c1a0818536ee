"""farm: the bee hive (kernels/farm.cpp). N tasks of Pareto-distributed cost (a seeded draw every
worker knows); task i runs steps_i steps of Knuth's MMIX generator from its own seed.
  schedule=static   each bee takes one pre-assigned block of consecutive tasks
  schedule=dynamic  bees take the next `grain` tasks from a shared counter under its lock
                    (py-pool: the queen hands out tasks of `grain` to whichever pool process is free)
Verification: every task ran once per iteration (count and index sum over the team) and the sum of
the final generator states equals the closed-form jump-ahead of every task."""
import math
import time

from corescope_py.kernels.common import MASK, PoolPlanBase, block_range, lcg_jump, lcg_run, mix64, uniform01

COUNTERS = ("q0", "q1")
COST_CAP = 1e4


def task_seed(seed, task):
    return mix64(seed ^ (0xA5A5A5A5 + task))


def task_steps(seed, task, alpha, base):
    u = 1.0 - uniform01((seed + 0x51ED27 * (task + 1)) & MASK)
    return int(math.floor(base * min(u ** (-1.0 / alpha), COST_CAP)))


def costs(p):
    seed, alpha, base = p.get_int("seed"), p.get_float("alpha"), p.get_float("base")
    return seed, [task_steps(seed, i, alpha, base) for i in range(p.size)]


def run_tasks(seed, steps, lo, hi):
    """(tasks done, sum of their indices, sum of their results mod 2^64)."""
    total = 0
    for i in range(lo, hi):
        total = (total + lcg_run(task_seed(seed, i), steps[i])) & MASK
    return hi - lo, (lo + hi - 1) * (hi - lo) // 2, total


def expected_sum(seed, steps):
    return sum(lcg_jump(task_seed(seed, i), s) for i, s in enumerate(steps)) & MASK


def verdict(done, index_sum, total, n, iterations, want):
    ok_count = done == n * iterations and index_sum == iterations * n * (n - 1) // 2
    if not ok_count:
        return False, 1.0, ("%d task runs (index sum %d), expected %d tasks run once per iteration"
                            % (done, index_sum, n * iterations))
    if total != want:
        return False, 1.0, "task result sum %d != %d" % (total, want)
    return True, 0.0, ""


def fetch_add(counter, k):
    with counter.get_lock():
        obj = counter.get_obj()
        first = obj.value
        obj.value = first + k
    return first


class Kernel:
    def setup(self, w, p):
        self.n = p.size
        self.seed, self.steps = costs(p)
        self.dynamic = p.get("schedule") == "dynamic"
        self.grain = p.get_int("grain")
        self.lo, self.hi = block_range(self.n, w.count, w.id)
        self.queues = (w.counter("q0"), w.counter("q1"))
        self.iterations = 0
        self.busy = []
        self.done = self.index_sum = self.requests = 0
        self.total = 0

    def iterate(self, w):
        t0 = time.perf_counter()
        self.total, self.requests, t = 0, 0, self.iterations
        if self.dynamic:
            if w.id == 0:  # the other counter was last used an iteration ago: rearm it
                self.queues[(t + 1) % 2].get_obj().value = 0
            while True:
                first = fetch_add(self.queues[t % 2], self.grain)
                self.requests += 1
                if first >= self.n:
                    break
                self.account(run_tasks(self.seed, self.steps, first, min(self.n, first + self.grain)))
        else:
            self.account(run_tasks(self.seed, self.steps, self.lo, self.hi))
        self.busy.append(time.perf_counter() - t0)
        self.iterations += 1
        w.barrier()  # the queen waits for every bee

    def account(self, result):
        done, index_sum, total = result
        self.done += done
        self.index_sum += index_sum
        self.total = (self.total + total) & MASK

    def verify(self, w):
        limbs = [(self.total >> (16 * k)) & 0xFFFF for k in range(4)]
        summed = w.allreduce_list([self.done, self.index_sum] + limbs)
        total = sum(int(v) << (16 * k) for k, v in enumerate(summed[2:])) & MASK
        busy = sum(self.busy)
        self.busy_max, self.busy_sum = w.allreduce(busy, "max"), w.allreduce(busy)
        self.requests_all = w.allreduce(self.requests)
        return verdict(int(summed[0]), int(summed[1]), total, self.n, self.iterations,
                       expected_sum(self.seed, self.steps))

    def metrics(self, w):
        mean = self.busy_sum / w.count
        return [("load_imbalance", self.busy_max / mean if mean > 0 else 1.0, "",
                 "farm: busiest bee's busy time / mean"),
                ("busy_max_s", self.busy_max, "s", "farm: busiest worker's busy time, summed over iterations"),
                ("busy_mean_s", mean, "s", "farm: mean busy time, summed over iterations"),
                ("queue_requests", self.requests_all, "",
                 "farm: requests to the shared queue in the last iteration (dynamic)"),
                ("task_steps", sum(self.steps), "", "farm: generator steps of all tasks (the work of one iteration)")]


def pool_task(arg, shared):
    seed, lo, hi = arg
    return run_tasks(seed, shared, lo, hi)


class PoolPlan(PoolPlanBase):
    """static: one block per pool process; dynamic: tasks of `grain`, taken by whichever process is
    free (the pool's own queue). The task costs reach the processes through the initializer."""

    def __init__(self, p, n, ctx):
        self.n = p.size
        self.seed, self.steps = costs(p)
        grain = p.get_int("grain")
        blocks = ([block_range(self.n, n, i) for i in range(n)] if p.get("schedule") == "static"
                  else [(lo, min(self.n, lo + grain)) for lo in range(0, self.n, grain)])
        self.args = [(self.seed, lo, hi) for lo, hi in blocks]
        self.done = self.index_sum = self.iterations = 0
        self.total = 0

    def shared(self):
        return self.steps

    def collect(self, values):
        self.iterations += 1
        self.total = 0
        for done, index_sum, total in values:
            self.done += done
            self.index_sum += index_sum
            self.total = (self.total + total) & MASK

    def verify(self):
        return verdict(self.done, self.index_sum, self.total, self.n, self.iterations,
                       expected_sum(self.seed, self.steps))

    def metrics(self):
        return [("task_steps", sum(self.steps), "", "farm: generator steps of all tasks (the work of one iteration)")]
