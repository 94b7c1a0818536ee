"""The Python kernels, one module each. A kernel's module declares COUNTERS (shared int64
counters the team makes for it), a Kernel class (SPMD against team.Worker: setup, iterate,
verify, metrics) and, where a pool runs it, pool_task(arg, shared) and PoolPlan (the queen's
side). Which Python modes run which kernel is declared once, in corescope's table
(src/backends/python/python_kernels.cpp); `python3 -m corescope_py list` says what the modules
here can run, and the python.modes test checks that the two agree."""
import importlib
import os


def names():
    """The kernels: the modules of this package that define a Kernel class, in name order (each
    module is imported: for `list`, not for a run)."""
    modules = sorted(f[:-3] for f in os.listdir(os.path.dirname(__file__)) if f.endswith(".py") and f != "__init__.py")
    return [m for m in modules if hasattr(importlib.import_module(__name__ + "." + m), "Kernel")]


def find(name):
    """The module of kernel `name`, imported alone; KeyError when there is none."""
    if not name.isidentifier() or not os.path.exists(os.path.join(os.path.dirname(__file__), name + ".py")):
        raise KeyError(name)
    module = importlib.import_module(__name__ + "." + name)
    if not hasattr(module, "Kernel"):
        raise KeyError(name)
    return module


def kinds(module):
    """The Python modes a kernel's module can run: every kernel runs in threads and processes, a
    pool needs pool_task and PoolPlan."""
    return ("threads", "processes") + (("pool",) if hasattr(module, "pool_task") and hasattr(module, "PoolPlan")
                                       else ())
