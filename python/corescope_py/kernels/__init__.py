"""The Python kernels, one module each. A module declares MODES (the Python modes that run it:
threads, processes, pool), COUNTERS (shared int64 counters the team makes for it), a Kernel
class (SPMD against team.Worker: setup, iterate, verify, metrics) and, where a pool runs it,
pool_task(arg, shared) and PoolPlan (the queen's side)."""
import importlib

NAMES = ("ep", "triad", "reduce", "iowait", "convoy", "critical", "farm", "pingpong")


def find(name):
    if name not in NAMES:
        raise KeyError(name)
    return importlib.import_module("corescope_py.kernels." + name)
