"""pingpong: worker 0 and worker 1 bounce a message of --size bytes through the channel: a
multiprocessing Pipe (pipe), a pair of queues (queue) or a shared-memory buffer with two
semaphores (shm); the other workers idle at the barrier (kernels/pingpong.cpp). round_trips=auto:
about 64 MiB of traffic per iteration, between 4 and 1000 round trips. The message carries the
hop number in its first and last 8 bytes, checked on every hop; the rest is a fixed pattern
checked at the end. latency_s = median iteration time / (2 round trips)."""
import struct
import time

from corescope_py.kernels.common import median

COUNTERS = ()


def round_trips(p):
    v = p.get("round_trips")
    if v != "auto":
        return int(v)
    return max(4, min(1000, int(64.0 * 1024 * 1024 / max(p.size, 1))))


def pattern(n):
    return bytes(((i * 131 + 7) >> 1) & 0xFF for i in range(min(n, 256))) * (n // 256 + 1)


class Kernel:
    def setup(self, w, p):
        self.bytes = p.size
        self.trips = round_trips(p)
        self.body = bytearray(pattern(self.bytes)[:self.bytes])
        self.channel = w.channel()
        self.hop = self.bad = 0
        self.last = b""
        self.times = []

    def stamp(self, hop):
        head = struct.pack("<Q", hop)[:min(8, self.bytes)]
        self.body[:len(head)] = head
        if self.bytes >= 16:
            self.body[-8:] = struct.pack("<Q", hop)
        return bytes(self.body)

    def stamped(self, msg, hop):
        head = struct.pack("<Q", hop)[:min(8, self.bytes)]
        return (len(msg) == self.bytes and msg[:len(head)] == head
                and (self.bytes < 16 or msg[-8:] == struct.pack("<Q", hop)))

    def iterate(self, w):
        t0 = time.perf_counter()
        if w.id < 2:
            ch, me = self.channel, w.id
            for _ in range(self.trips):
                if me == 0:
                    ch.send(0, self.stamp(self.hop))
                    msg = ch.recv(0, self.bytes)
                else:
                    msg = ch.recv(1, self.bytes)
                if not self.stamped(msg, self.hop):
                    self.bad += 1
                if me == 1:
                    ch.send(1, msg)
                self.last = msg
                self.hop += 1
        self.times.append(time.perf_counter() - t0)
        w.barrier()

    def verify(self, w):
        bad = self.bad
        if (w.id < 2 and self.hop and self.bytes > 16
                and self.last[8:-8] != bytes(pattern(self.bytes)[8:self.bytes - 8])):
            bad += 1
        bad = w.allreduce(bad)
        return bad == 0, float(bad), "" if bad == 0 else "%d messages arrived damaged" % bad

    def metrics(self, w):
        latency = w.allreduce(median(self.times) / (2.0 * self.trips) if w.id < 2 else 0.0, "max")
        return [("latency_s", latency, "s", "pingpong: median half round trip"),
                ("round_trips", self.trips, "", "pingpong: round trips per timed iteration")]
