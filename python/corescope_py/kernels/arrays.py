"""NumPy arrays for the memory-bound kernels. SPMD teams: each worker allocates its own block
(first touch by the worker that computes on it). Pool: the queen puts the whole arrays in one
POSIX shared-memory block that every pool process maps once, and tasks work on slices of it."""
from multiprocessing import shared_memory

_attached = {}


class PoolArrays:
    """`count` float64 arrays of n elements each in one shared-memory block (the queen's side)."""

    def __init__(self, count, n):
        import numpy as np
        self.count, self.n = count, n
        self.shm = shared_memory.SharedMemory(create=True, size=max(8, count * n * 8))
        self.arrays = [np.ndarray((n,), dtype=np.float64, buffer=self.shm.buf, offset=k * n * 8) for k in range(count)]

    def handle(self):
        return (self.shm.name, self.count, self.n)

    def close(self):
        self.arrays = []
        self.shm.close()
        self.shm.unlink()


def attach(handle):
    """The arrays of a PoolArrays in a pool process (mapped once per process)."""
    import numpy as np
    name, count, n = handle
    if name not in _attached:
        # Pool processes share the queen's resource tracker (fork and spawn alike), so the
        # registration this adds is the queen's own, undone when she unlinks the block.
        shm = shared_memory.SharedMemory(name=name)
        _attached[name] = (shm, [np.ndarray((n,), dtype=np.float64, buffer=shm.buf, offset=k * n * 8)
                                 for k in range(count)])
    return _attached[name][1]
