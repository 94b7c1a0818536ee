"""What the driver measures outside the timed region: the interpreter, thread CPU time, memory,
page faults and context switches (Linux /proc and getrusage)."""
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


def current_cpu():
    try:
        with open("/proc/thread-self/stat") as f:
            text = f.read()
        return int(text[text.rindex(")") + 2:].split()[36])
    except (OSError, ValueError, IndexError):
        return -1


class Usage:
    """The calling thread's counters at one moment."""

    __slots__ = ("cpu_s", "minor", "major", "vol", "invol")

    def __init__(self):
        self.cpu_s = time.thread_time()
        r = resource.getrusage(getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF))
        self.minor, self.major, self.vol, self.invol = r.ru_minflt, r.ru_majflt, r.ru_nvcsw, r.ru_nivcsw


def sample(rep, worker, rank, thread, wall_s, before, after, comm_s=0.0, last=False, base_pss=-1):
    """One /samples row as a dict (the names of docs/results-format.md)."""
    pss, uss = smaps_rollup() if last else (-1, -1)
    return {
        "rep": rep, "worker": worker, "rank": rank, "thread": thread, "cpu": current_cpu(),
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
