"""convoy: worker 0 is an I/O thread making --size blocking calls (time.sleep of io_us, which
releases the GIL) per iteration and timing each; workers 1..K run Knuth's MMIX generator in chunks
of 256 steps until the I/O thread has finished its calls (kernels/convoy.cpp). Under CPython's GIL
each call ends with the I/O thread waiting for a CPU thread to let go (one switch interval);
processes have no shared GIL. Metrics as the C++ kernel: io_ops_per_s, io_latency_median_s,
io_latency_p99_s, cpu_steps_per_s. Verification: every call made and none shorter than io_us;
each CPU worker's state equals the closed-form jump over the steps it reports."""
import time

from corescope_py.kernels.common import LCG_ADD, LCG_MUL, MASK, lcg_jump, mix64, quantile

COUNTERS = ("finished",)
STEPS = 256


class Kernel:
    def setup(self, w, p):
        self.ops = p.size
        self.io_s = p.get_int("io_us") * 1e-6
        self.warmup = p.warmup
        self.total = p.warmup + p.reps
        self.finished = w.counter("finished").get_obj()  # only grows; read and written without a lock
        self.iterations = 0
        self.latency = []
        self.loop_s = 0.0
        self.done = 0
        self.shortest = float("inf")
        self.seed = self.x = mix64(w.id)
        self.chunks = self.timed_chunks = 0

    def iterate(self, w):
        self.iterations += 1
        if w.id == 0:
            self.io_loop()
        else:
            self.cpu_loop()

    def io_loop(self):
        timed = self.iterations > self.warmup
        loop0 = time.perf_counter()
        for _ in range(self.ops):
            t0 = time.perf_counter()
            time.sleep(self.io_s)
            t1 = time.perf_counter()
            self.shortest = min(self.shortest, t1 - t0)
            if timed:
                self.latency.append(t1 - t0)
            self.done += 1
        if timed:
            self.loop_s += time.perf_counter() - loop0
        self.finished.value = self.iterations

    def cpu_loop(self):
        timed = self.iterations > self.warmup
        x, chunks, mul, add, finished, it = self.x, 0, LCG_MUL, LCG_ADD, self.finished, self.iterations
        while True:
            for _ in range(STEPS):
                x = (x * mul + add) & MASK
            chunks += 1
            if finished.value >= it:
                break
        self.x = x
        self.chunks += chunks
        if timed:
            self.timed_chunks += chunks

    def verify(self, w):
        why = ""
        if self.finished.value != self.total:
            why = "the I/O thread finished %d iterations, expected %d" % (self.finished.value, self.total)
        elif w.id == 0 and self.done != self.ops * self.total:
            why = "%d I/O calls made, expected %d" % (self.done, self.ops * self.total)
        elif w.id == 0 and self.done and self.shortest < self.io_s:
            why = "an I/O call returned before io_us had passed"
        elif w.id != 0 and lcg_jump(self.seed, self.chunks * STEPS) != self.x:
            why = "the generator state after %d chunks is wrong" % self.chunks
        return not why, 0.0 if not why else 1.0, "" if not why else "worker %d: %s" % (w.id, why)

    def metrics(self, w):
        chunks, loop_s = w.allreduce_list([self.timed_chunks, self.loop_s if w.id == 0 else 0.0])
        ops = len(self.latency)
        return [("io_ops_per_s", ops / self.loop_s if self.loop_s > 0 else 0.0, "1/s",
                 "convoy: blocking calls per second made by the I/O thread (timed repetitions)"),
                ("io_latency_median_s", quantile(self.latency, 0.5), "s",
                 "convoy: median time of one I/O call, GIL re-acquisition included"),
                ("io_latency_p99_s", quantile(self.latency, 0.99), "s", "convoy: 99th percentile of the I/O call time"),
                ("cpu_steps_per_s", chunks * STEPS / loop_s if loop_s > 0 else 0.0, "1/s",
                 "convoy: generator steps per second of all CPU workers together (timed repetitions)")]
