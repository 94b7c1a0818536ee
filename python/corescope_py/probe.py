"""What the driver measures outside the timed region: the interpreter, thread CPU time, memory,
page faults and context switches (Linux /proc and getrusage), and the scheduler records of
docs/dev/noise.md (the CPU, runnable tasks, steal time), read as the C++ run loop reads them."""
import math
import os
import resource
import sys
import sysconfig
import time


def decide_gil(is_gil_enabled, gil_disabled_build):
    """1 if the interpreter runs with a GIL, 0 if free-threaded. is_gil_enabled is
    sys._is_gil_enabled (3.13 on) or None where the interpreter has none; gil_disabled_build is
    sysconfig's Py_GIL_DISABLED. A free-threaded build may still run with its GIL re-enabled
    (PYTHON_GIL=1): what sys._is_gil_enabled() says wins."""
    if is_gil_enabled is not None:
        return 1 if is_gil_enabled() else 0
    return 0 if gil_disabled_build else 1


def gil_state():
    return decide_gil(getattr(sys, "_is_gil_enabled", None), bool(sysconfig.get_config_var("Py_GIL_DISABLED")))


def status_bytes(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return -1


def smaps_rollup():
    """(pss, uss) of this process in bytes; -1 where the OS cannot tell."""
    pss = uss = -1
    try:
        with open("/proc/self/smaps_rollup") as f:
            fields = {}
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
                    fields[parts[0][:-1]] = int(parts[1]) * 1024
        pss = fields.get("Pss", -1)
        if "Private_Clean" in fields:
            uss = fields["Private_Clean"] + fields.get("Private_Dirty", 0)
    except OSError:
        pass
    return pss, uss


def current_cpu(tid=None):
    """The CPU the calling thread (or thread `tid` of this process) runs on or last ran on: field
    39 of its /proc stat line (Python 3.11 has no os.sched_getcpu); -1 where it cannot be read."""
    path = "/proc/thread-self/stat" if tid is None else "/proc/self/task/%d/stat" % tid
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            text = os.read(fd, 4096)
        finally:
            os.close(fd)
        return int(text[text.rindex(b")") + 2:].split()[36])
    except (OSError, ValueError, IndexError):
        return -1


try:
    TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")  # steal is counted in these (1/USER_HZ)
except (ValueError, OSError, ZeroDivisionError):
    TICK_S = math.nan


def read_proc_stat():
    """The whole of /proc/stat in one pread, as bytes (b"" where it cannot be read). The kernel
    writes the whole text at once when the buffer holds it; a full buffer may have cut it short,
    so it is read again with a larger one."""
    try:
        fd = os.open("/proc/stat", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return b""
    try:
        size = 4096
        while True:
            data = os.pread(fd, size, 0)
            if len(data) < size:
                return data
            size *= 2
    except OSError:
        return b""
    finally:
        os.close(fd)


def _line_after(text, key):
    """The rest of the line of /proc/stat that starts with `key` (bytes), or None."""
    if text.startswith(key):
        start = len(key)
    else:
        at = text.find(b"\n" + key)
        if at < 0:
            return None
        start = at + 1 + len(key)
    end = text.find(b"\n", start)
    return text[start:] if end < 0 else text[start:end]


def procs_running(text):
    """Runnable tasks on the machine, the reader included (procs_running); -1 if unknown."""
    rest = _line_after(text, b"procs_running ")
    try:
        return int(rest) if rest is not None else -1
    except ValueError:
        return -1


def steal_ticks(text, cpu):
    """The running total of CPU `cpu`'s steal time in clock ticks (the eighth number of its cpuN
    line); -1 if unknown."""
    if cpu is None or cpu < 0:
        return -1
    rest = _line_after(text, b"cpu%d " % cpu)
    fields = rest.split() if rest is not None else []
    try:
        return int(fields[7]) if len(fields) >= 8 else -1
    except ValueError:
        return -1


def steal_seconds(after, before, cpu):
    """Steal time of `cpu` between two /proc/stat texts, in seconds; NaN if unknown."""
    a, b = steal_ticks(after, cpu), steal_ticks(before, cpu)
    return (a - b) * TICK_S if a >= 0 and b >= 0 else math.nan


class SchedRecord:
    """The C++ run loop's scheduler record (docs/dev/noise.md): each repetition's /proc/stat read ends
    the previous repetition's steal window (for that repetition's cpu_start) and starts the next;
    one more read after the last repetition ends its window."""

    def __init__(self):
        self.before = None

    def read(self, samples, text=None):
        """Takes a read (or the text of one taken elsewhere); the last sample of `samples`, if
        any, gets its steal time since the read before."""
        now = read_proc_stat() if text is None else text
        if samples and self.before is not None:
            samples[-1]["steal_s"] = steal_seconds(now, self.before, samples[-1]["cpu_start"])
        self.before = now
        return now


class Usage:
    """The calling thread's counters at one moment."""

    __slots__ = ("cpu_s", "minor", "major", "vol", "invol")

    def __init__(self):
        self.cpu_s = time.thread_time()
        r = resource.getrusage(getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF))
        self.minor, self.major, self.vol, self.invol = r.ru_minflt, r.ru_majflt, r.ru_nvcsw, r.ru_nivcsw


def sample(rep, worker, rank, thread, wall_s, before, after, comm_s=0.0, last=False, base_pss=-1,
           cpu_start=-1, runnable_start=-1):
    """One /samples row as a dict (the names of docs/user/results-format.md). steal_s is NaN until the
    SchedRecord read after the repetition fills it; probe_s is never sent (docs/user/python.md)."""
    pss, uss = smaps_rollup() if last else (-1, -1)
    return {
        "rep": rep, "worker": worker, "rank": rank, "thread": thread, "cpu": current_cpu(),
        "cpu_start": cpu_start, "runnable_start": runnable_start, "steal_s": math.nan,
        "wall_s": wall_s, "cpu_s": after.cpu_s - before.cpu_s, "comm_s": comm_s,
        "compute_s": max(0.0, wall_s - comm_s),
        "rss_bytes": status_bytes("VmRSS"), "peak_rss_bytes": status_bytes("VmHWM"),
        "minor_faults": after.minor - before.minor, "major_faults": after.major - before.major,
        "vol_ctx_switches": after.vol - before.vol, "invol_ctx_switches": after.invol - before.invol,
        "pss_bytes": pss, "uss_bytes": uss, "base_pss_bytes": base_pss,
    }


def base_pss():
    return smaps_rollup()[0]


def die_with_parent(parent=None):
    """Linux: this process gets SIGKILL when its parent dies (best effort). `parent` is the pid
    the parent had when it started this process: a parent that died before the request was made
    (the child is then already an orphan, and would never get the signal) ends this process now."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except (OSError, AttributeError):
        pass
    if parent is not None and os.getppid() != parent:
        os._exit(1)
