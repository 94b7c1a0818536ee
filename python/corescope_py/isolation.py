"""`corescope isolate` in the Python modes (docs/user/isolation.md, docs/user/python.md): the isolation loop
of one worker and its fault, in the driver. corescope's trial sets CORESCOPE_PY_ISOLATE
(FAULT:VICTIM:RUN_S:INJECT_S:LEAK_BYTES_PER_S:MEM_LIMIT_BYTES) and CORESCOPE_PY_ISOLATE_REPORT
(the trial's event file); every worker then writes the same event lines as a C++ worker of an
isolate trial (start, warm, inject, done, fail; the driver adds supervisor and ended), and the
trial's supervisor reads and classifies them exactly as it does for the C++ modes.

The loop: setup, warm-up iterations, one local check, the start line (one barrier: the last team
operation), then iterations for RUN_S seconds with no team operation, then the worker's own
check (Kernel.verify_local) and a `done` line. The victim injects its fault INJECT_S seconds after
the start line:
  crash   a store to address 0 through ctypes (SIGSEGV)
  abort   os.abort() (SIGABRT)
  exit    os._exit(3)
  leak    1 MiB blocks, touched, until LEAK_BYTES_PER_S x (time since the fault); MEM_LIMIT_BYTES > 0
          first caps the victim's process (RLIMIT_AS = its size now + the limit)
  hang    while True: pass (the interpreter still switches threads every switch interval)
"""
import os
import resource
import time

FAULTS = ("crash", "abort", "exit", "leak", "hang")
LEAK_CHUNK = 1 << 20


class Plan:
    def __init__(self, fault, victim, run_s, inject_s, leak_rate, mem_limit, report):
        self.fault, self.victim, self.run_s, self.inject_s = fault, victim, run_s, inject_s
        self.leak_rate, self.mem_limit, self.report = leak_rate, mem_limit, report


def from_env():
    """The trial's plan, or None outside an isolate trial."""
    text = os.environ.get("CORESCOPE_PY_ISOLATE", "")
    if not text:
        return None
    parts = text.split(":")
    if len(parts) != 6 or parts[0] not in FAULTS:
        raise SystemExit("CORESCOPE_PY_ISOLATE=%s: expected FAULT:VICTIM:RUN_S:INJECT_S:LEAK_RATE:MEM_LIMIT, "
                         "FAULT one of %s" % (text, ", ".join(FAULTS)))
    return Plan(parts[0], int(parts[1]), float(parts[2]), float(parts[3]), float(parts[4]), int(parts[5]),
                os.environ.get("CORESCOPE_PY_ISOLATE_REPORT", ""))


class EventLog:
    """The trial's event file: one os.write() per line to a file opened O_APPEND, so the lines of
    threads and processes never interleave. Times are time.monotonic() (CLOCK_MONOTONIC, the C++
    workers' clock)."""

    def __init__(self, path):
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600) if path else -1

    def line(self, text):
        if self.fd >= 0:
            os.write(self.fd, (text.replace("\n", " ").replace("\r", " ") + "\n").encode())

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def memory():
    from corescope_py.probe import status_bytes
    return status_bytes("VmRSS"), status_bytes("VmHWM")


class Injector:
    """The victim's fault, checked after each of its iterations past the start line."""

    def __init__(self, plan, log, wid):
        self.plan, self.log, self.wid = plan, log, wid
        self.injected_at = -1.0
        self.leaked = []

    def after_iteration(self, start, now):
        if self.injected_at < 0:
            if now - start >= self.plan.inject_s:
                self.inject(now)
        elif self.plan.fault == "leak":
            self.leak_until(now)

    def inject(self, now):
        self.injected_at = now
        fault = self.plan.fault
        self.log.line("inject %d %.6f %s" % (self.wid, now, fault))
        if fault == "crash":
            import ctypes
            ctypes.memset(0, 1, 1)
            raise RuntimeError("the crash fault did not crash (a store to address 0 was survived)")
        if fault == "abort":
            os.abort()
        if fault == "exit":
            os._exit(3)
        if fault == "hang":
            while True:
                pass
        if self.plan.mem_limit > 0:
            size = vm_size()
            _, hard = resource.getrlimit(resource.RLIMIT_AS)
            resource.setrlimit(resource.RLIMIT_AS, (size + self.plan.mem_limit, hard))
        self.leak_until(now)

    def leak_until(self, now):
        due = self.plan.leak_rate * (now - self.injected_at)
        while (len(self.leaked) + 1) * LEAK_CHUNK <= due:
            try:
                self.leaked.append(bytearray(b"x" * LEAK_CHUNK))  # written, so every page is resident
            except MemoryError:
                raise MemoryError("out of memory after leaking %d MiB" % len(self.leaked)) from None


def vm_size():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def run_isolated(w, module, p, plan):
    """One worker's isolation loop (module docstring); returns its outcome for the result pipe.
    An exception is written as a `fail` line and re-raised."""
    log = EventLog(plan.report)
    log.line("start %d %d %d %d %.6f" % (w.id, os.getpid(), w.rank, w.thread, time.monotonic()))
    try:
        kernel = module.Kernel()
        kernel.setup(w, p)
        for _ in range(p.warmup):
            kernel.iterate(w)
        kernel.verify_local(w)  # every code path has run once before the start line
        w.barrier()  # the start line: the last team operation
        start = time.monotonic()
        rss, peak = memory()
        log.line("warm %d %.6f %d %d" % (w.id, start, rss, peak))
        injector = Injector(plan, log, w.id) if w.id == plan.victim else None
        while True:
            now = time.monotonic()
            if now - start >= plan.run_s:
                break
            kernel.iterate(w)
            if injector:
                injector.after_iteration(start, time.monotonic())
        ok, error, detail = kernel.verify_local(w)
        rss, peak = memory()
        log.line("done %d %.6f %d %d %d %s" % (w.id, time.monotonic(), 1 if ok else 0, rss, peak, detail))
        return {"worker": w.id, "samples": [], "completed": True, "verified": ok, "verify_error": error,
                "verify_detail": detail}
    except BaseException as exc:
        log.line("fail %d %.6f %s: %s" % (w.id, time.monotonic(), type(exc).__name__, exc))
        raise
    finally:
        log.close()


def supervisor(plan):
    """The driver's own process belongs to the trial (it runs no worker in py-processes and
    py-pool): the trial's leftovers check includes it."""
    log = EventLog(plan.report)
    log.line("supervisor 0 %d" % os.getpid())
    log.close()


def ended(plan, wid, how):
    """How worker `wid` ended that shipped no outcome, as the driver saw it."""
    log = EventLog(plan.report)
    log.line("ended %d %s" % (wid, how))
    log.close()


def worker_pids(plan):
    """worker -> pid, from the start lines of the event file."""
    pids = {}
    try:
        with open(plan.report) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[0] == "start":
                    pids[int(parts[1])] = int(parts[2])
    except OSError:
        pass
    return pids
