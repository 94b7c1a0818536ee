"""Faults injected into one worker (corescope's Python fault trials and tests): set
CORESCOPE_PY_FAULT=KIND:VICTIM[:REP] in the driver's environment. The victim injects right
before its timed repetition REP (default 0); in py-pool the victim is the task index.
  abort     os.abort() (SIGABRT)
  segv      a store to address 0 through ctypes (SIGSEGV)
  exit      os._exit(3)
  raise     a Python exception
  hang      while True: pass (keeps the GIL between switch intervals, as any Python loop)
  leak      grows a list by 1 MiB blocks, LEAK_MB in all (default 256), then goes on
"""
import os


class Fault:
    def __init__(self, kind, victim, rep):
        self.kind, self.victim, self.rep = kind, victim, rep

    def inject(self):
        if self.kind == "abort":
            os.abort()
        elif self.kind == "segv":
            import ctypes
            ctypes.memset(0, 1, 1)
        elif self.kind == "exit":
            os._exit(3)
        elif self.kind == "raise":
            raise RuntimeError("fault injected by CORESCOPE_PY_FAULT")
        elif self.kind == "hang":
            while True:
                pass
        elif self.kind == "leak":
            global _leaked
            _leaked = [bytearray(b"x" * (1 << 20)) for _ in range(int(os.environ.get("CORESCOPE_PY_LEAK_MB", "256")))]


_leaked = None
KINDS = ("abort", "segv", "exit", "raise", "hang", "leak")


def from_env():
    text = os.environ.get("CORESCOPE_PY_FAULT", "")
    if not text:
        return None
    parts = text.split(":")
    if parts[0] not in KINDS or len(parts) < 2:
        raise SystemExit("CORESCOPE_PY_FAULT=%s: expected KIND:VICTIM[:REP], KIND one of %s" % (text, ", ".join(KINDS)))
    return Fault(parts[0], int(parts[1]), int(parts[2]) if len(parts) > 2 else 0)
