"""The damaged files of tests/integration/damaged_files.sh.

  damaged_corpus.py fixed BASE DIR              truncations and structural edits of BASE
  damaged_corpus.py flips BASE FRESH DIR SEED   flipped bytes drawn from SEED

The flips of one seed are the same on every machine and every run as long as BASE is (the
committed tests/data/damaged-base.h5.gz); those in FRESH, a file the test has just written and
whose layout varies from run to run, reach what a committed file cannot (another layout) and are
replayed from the damaged file the test keeps when one fails.
"""
import os
import random
import shutil
import sys

import h5py
import numpy as np

BASE_FLIPS = 32   # half in the first 4 KiB (superblock, root group), half anywhere after it
FRESH_FLIPS = 8   # anywhere


def put(directory, name, blob):
    with open(os.path.join(directory, name), "wb") as out:
        out.write(blob)


def flip(directory, prefix, data, offset, mask):
    blob = bytearray(data)
    blob[offset] ^= mask
    put(directory, f"{prefix}-flip-{offset}-x{mask:02x}.h5", bytes(blob))


def flips(base, fresh, directory, seed):
    rng = random.Random(seed)  # Mersenne Twister: the same draws for a seed in every Python 3
    data = open(base, "rb").read()
    head = min(4096, len(data))
    for k in range(BASE_FLIPS):
        offset = rng.randrange(head) if k < BASE_FLIPS // 2 else rng.randrange(head, len(data))
        flip(directory, "base", data, offset, rng.randrange(1, 256))
    data = open(fresh, "rb").read()
    for _ in range(FRESH_FLIPS):
        flip(directory, "fresh", data, rng.randrange(len(data)), rng.randrange(1, 256))


def edit(base, directory, name, change):
    path = os.path.join(directory, name)
    shutil.copy(base, path)
    with h5py.File(path, "r+") as f:
        change(f)


def retype(f, column, values):
    del f[column]
    f.create_dataset(column, data=values, maxshape=(None,) * np.ndim(values), chunks=True)


def fixed(base, directory):
    data = open(base, "rb").read()
    n = len(data)
    for size in sorted({0, 1, 8, 100, 512, 1024, 2048, 4096, n // 4, n // 2, 3 * n // 4, n - 4096, n - 100, n - 1}):
        put(directory, f"trunc-{size}.h5", data[:size])
    e = lambda name, change: edit(base, directory, name, change)  # noqa: E731
    e("type-text-as-int.h5", lambda f: retype(f, "runs/kernel", np.arange(2, dtype=np.int64)))
    e("type-int-as-text.h5", lambda f: retype(f, "runs/workers", np.array([b"a", b"b"], dtype=object)))
    e("type-float32.h5", lambda f: retype(f, "runs/wall_s_median", np.ones(2, dtype=np.float32)))
    e("type-int8-link.h5", lambda f: retype(f, "samples/run", np.zeros(len(f["samples/run"]), dtype=np.int8)))
    e("missing-run_id.h5", lambda f: f.__delitem__("runs/run_id"))
    e("missing-scale.h5", lambda f: f.__delitem__("runs/run"))
    e("missing-samples-run.h5", lambda f: f.__delitem__("samples/run"))
    e("missing-tables.h5", lambda f: f.__delitem__("tables"))
    e("length-long.h5", lambda f: retype(f, "runs/mode", np.array([b"x"] * 3, dtype=object)))
    e("length-short.h5", lambda f: retype(f, "samples/wall_s", np.ones(1)))
    e("two-d.h5", lambda f: retype(f, "runs/size", np.ones((2, 2), dtype=np.int64)))
    e("link-out-of-range.h5", lambda f: f["samples/run"].__setitem__(0, 99))
    e("runs-not-a-group.h5", lambda f: (f.__delitem__("runs"), f.create_dataset("runs", data=np.ones(2))))
    e("compound-wrong.h5", lambda f: retype(f, "tables/runs", np.ones(2)))


if __name__ == "__main__":
    if sys.argv[1] == "fixed":
        fixed(sys.argv[2], sys.argv[3])
    else:
        flips(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
