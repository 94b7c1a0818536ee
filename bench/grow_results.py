#!/usr/bin/env python3
"""Grows a corescope results file to N runs without running N kernels (for bench/append_scaling.sh).

The rows of the runs already in FILE are repeated, in place, until /runs has N rows: every
column of /runs and /samples and both compound copies in /tables are extended with copies of the
existing rows, run_id is made unique and /samples/run points at the copied run. The layout
(chunking, dimension scales, attributes) stays the one corescope wrote.
Usage: grow_results.py FILE N
"""
import sys

import h5py
import numpy as np


def grow(path, target):
    with h5py.File(path, "r+") as f:
        runs, samples = f["runs"], f["samples"]
        n_runs = len(runs["run"])
        n_samples = len(samples["sample"])
        if target <= n_runs:
            return
        copies = -(-target // n_runs)  # whole copies of the existing runs, cut at target
        sample_run = samples["run"][...]
        per_run = [np.flatnonzero(sample_run == r) for r in range(n_runs)]
        run_rows = np.tile(np.arange(n_runs), copies)[:target]
        copy_of = np.repeat(np.arange(copies), n_runs)[:target]
        sample_rows = np.concatenate([per_run[r] for r in run_rows])
        sample_links = np.concatenate([np.full(len(per_run[r]), i) for i, r in enumerate(run_rows)])

        def extend(group, rows, dim):
            for name, ds in group.items():
                values = ds[...]
                new = np.arange(len(rows)) if name == dim else values[rows]
                ds.resize((len(rows),))
                ds[...] = new
            return group

        run_ids = runs["run_id"].asstr()[...][run_rows]
        extend(runs, run_rows, "run")
        runs["run_id"][...] = np.array([f"{rid[:24]}{c:08x}" for rid, c in zip(run_ids, copy_of)], dtype=object)
        extend(samples, sample_rows, "sample")
        samples["run"][...] = sample_links
        for name, rows, field, values in (
            ("runs", run_rows, "run_id", [s.encode() for s in runs["run_id"].asstr()[...]]),
            ("samples", sample_rows, "run", sample_links),
        ):
            table = f["tables"][name]
            records = table[...][rows]
            records[field] = values
            table.resize((len(rows),))
            table[...] = records


if __name__ == "__main__":
    grow(sys.argv[1], int(sys.argv[2]))
