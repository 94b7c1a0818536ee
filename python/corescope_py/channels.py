"""Point-to-point channels between worker 0 and worker 1 (pingpong): a multiprocessing Pipe, a
pair of queues, or a shared-memory buffer with two semaphores. Each is made before the workers
start, for threads (queue.Queue, threading primitives) or processes (the start method's context)."""
import multiprocessing
import queue
import threading


class PipeChannel:
    def __init__(self, kind, ctx):
        self.ends = multiprocessing.Pipe() if kind == "threads" else ctx.Pipe()

    def send(self, me, data):
        self.ends[me].send_bytes(data)

    def recv(self, me, nbytes):
        return self.ends[me].recv_bytes()


class QueueChannel:
    def __init__(self, kind, ctx):
        make = queue.Queue if kind == "threads" else ctx.Queue
        self.inbox = (make(), make())  # inbox[i]: what worker i receives

    def send(self, me, data):
        self.inbox[1 - me].put(data)

    def recv(self, me, nbytes):
        return self.inbox[me].get()


class ShmChannel:
    """One buffer of up to 64 MiB in shared memory; a semaphore per direction says 'your turn'."""

    CAPACITY = 64 << 20

    def __init__(self, kind, ctx):
        if kind == "threads":
            self.buf = bytearray(self.CAPACITY)
            self.ready = (threading.Semaphore(0), threading.Semaphore(0))
        else:
            self.buf = ctx.RawArray("B", self.CAPACITY)
            self.ready = (ctx.Semaphore(0), ctx.Semaphore(0))

    def send(self, me, data):
        memoryview(self.buf).cast("B")[:len(data)] = data
        self.ready[1 - me].release()

    def recv(self, me, nbytes):
        self.ready[me].acquire()
        return bytes(memoryview(self.buf).cast("B")[:nbytes])


CHANNELS = {"pipe": PipeChannel, "queue": QueueChannel, "shm": ShmChannel}


def make(name, kind, ctx):
    return CHANNELS[name](kind, ctx)
