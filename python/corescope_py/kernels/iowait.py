"""iowait: --size real blocking waits per iteration split among the workers, as kernels/iowait.cpp:
wait=sleep (time.sleep of wait_us), wait=fsync (a 4 KiB os.pwrite to the worker's own file, then
os.fsync), wait=pipe (select() on the worker's own pipe for wait_us, then an 8-byte token written
and read back). CPython releases the GIL in each of these calls. Verification: every wait was made
and lasted at least wait_us (sleep, pipe), every token came back (pipe), the file holds the last
block written to each slot (fsync)."""
import multiprocessing.util
import os
import select
import shutil
import struct
import tempfile
import time

from corescope_py.kernels.common import PoolPlanBase, block_range, mix64

COUNTERS = ()
BLOCK = 4096
SLOTS = 256


def block_bytes(wid, n):
    return struct.pack("<Q", mix64((wid << 48) ^ n)) * (BLOCK // 8)


class Waiter:
    """One worker's waits and its evidence."""

    def __init__(self, kind, wait_us, wid):
        self.kind, self.wait_s, self.wid = kind, wait_us * 1e-6, wid
        self.done, self.shortest, self.bad_tokens = 0, float("inf"), 0
        self.dir = self.fd = self.pipe = None
        if kind == "fsync":
            self.dir = tempfile.mkdtemp(prefix="corescope-pyiowait-")
            self.fd = os.open(os.path.join(self.dir, "worker%d" % wid), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        elif kind == "pipe":
            self.pipe = os.pipe()

    def wait(self):
        if self.kind == "sleep":
            t0 = time.monotonic()
            time.sleep(self.wait_s)
            self.shortest = min(self.shortest, time.monotonic() - t0)
        elif self.kind == "fsync":
            os.pwrite(self.fd, block_bytes(self.wid, self.done), (self.done % SLOTS) * BLOCK)
            os.fsync(self.fd)
        else:
            token = struct.pack("<Q", mix64(self.done ^ (self.wid << 40)))
            t0 = time.monotonic()
            select.select([self.pipe[0]], [], [], self.wait_s)  # nothing was written: the timeout
            self.shortest = min(self.shortest, time.monotonic() - t0)
            os.write(self.pipe[1], token)
            if os.read(self.pipe[0], 8) != token:
                self.bad_tokens += 1
        self.done += 1

    def check(self, expected):
        why = ""
        if self.done != expected:
            why = "%d waits done, expected %d" % (self.done, expected)
        elif self.kind != "fsync" and self.done and self.shortest < self.wait_s:
            why = "a wait lasted %g s, less than the %g s asked for" % (self.shortest, self.wait_s)
        elif self.bad_tokens:
            why = "%d pipe tokens came back wrong" % self.bad_tokens
        elif self.kind == "fsync":
            why = self.check_file()
        self.close()
        return why

    def check_file(self):
        slots = min(self.done, SLOTS)
        for slot in range(slots):
            last = slot + (self.done - 1 - slot) // SLOTS * SLOTS
            if os.pread(self.fd, BLOCK, slot * BLOCK) != block_bytes(self.wid, last):
                return "block %d of the file holds wrong bytes" % slot
        size = os.lseek(self.fd, 0, os.SEEK_END)
        return "" if size == slots * BLOCK else "the file has %d bytes, expected %d" % (size, slots * BLOCK)

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.pipe:
            for fd in self.pipe:
                os.close(fd)
            self.pipe = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


class Kernel:
    def setup(self, w, p):
        lo, hi = block_range(p.size, w.count, w.id)
        self.mine = hi - lo
        self.expected = self.mine * (p.warmup + p.reps)
        self.waiter = Waiter(p.get("wait"), p.get_int("wait_us"), w.id)

    def iterate(self, w):
        for _ in range(self.mine):
            self.waiter.wait()

    def verify(self, w):
        why = self.waiter.check(self.expected)
        return not why, 0.0 if not why else 1.0, "" if not why else "worker %d: %s" % (w.id, why)

    def metrics(self, w):
        return []


_waiters = {}


def pool_task(arg, shared):
    """One wait; each pool process keeps its own waiter (file or pipe) for the whole run."""
    kind, wait_us = arg
    waiter = _waiters.get(os.getpid())
    if waiter is None:
        waiter = _waiters[os.getpid()] = Waiter(kind, wait_us, os.getpid() & 0xFFFF)
        # the pool process's file and directory go when it exits (a pool process ends by returning
        # from its loop, which runs multiprocessing's exit finalizers)
        multiprocessing.util.Finalize(waiter, waiter.close, exitpriority=10)
    waiter.wait()
    return waiter.shortest


class PoolPlan(PoolPlanBase):
    """One task per wait: the pool's processes take them as they become free."""

    def __init__(self, p, n, ctx):
        self.kind, self.wait_s = p.get("wait"), p.get_int("wait_us") * 1e-6
        self.args = [(self.kind, p.get_int("wait_us"))] * p.size
        self.shortest = float("inf")

    def collect(self, values):
        self.shortest = min([self.shortest] + values)

    def verify(self):
        ok = self.kind == "fsync" or self.shortest >= self.wait_s
        return (ok, 0.0 if ok else self.wait_s - self.shortest,
                "" if ok else "a wait lasted %g s, less than asked" % self.shortest)
