"""Builds small corescope results files (HDF5 schema_version 1 or 2) for the analysis tests.

write_results() writes any rows following the contract exactly: every group is a set of 1-D
column datasets attached to one dimension scale (/runs/run, /samples/sample,
/isolation/trial), text as variable-length UTF-8, plus a compound copy under /tables that the
reader must ignore. With schema_version=2, /runs gets a memory_model column (where the rows do not
bring one) and every kernel metric column the attribute corescope_role = "kernel_metric", as
corescope 0.2 writes them. demo_rows() makes a complete synthetic study with known answers (e.g. the
threads/triad series follows Amdahl's law with f = 0.3 exactly and no noise).
"""
from __future__ import annotations

import json
import math

import h5py
import numpy as np

MIB = 1 << 20
PROVENANCE = {
    "software_version": "0.1.0", "created": "2024-05-01T12:00:00Z", "host": "testhost",
    "cpu_model": "Test CPU @ 3.0GHz", "cores": 4, "compiler": "GNU 12.2.0", "cxx_flags": "-O3",
    "mpi_library": "Open MPI v4.1.4", "hdf5_version": "1.10.8", "git_commit": "0123abcd",
}
# What schema_version 2 files record per mode (the test data's own copy of the contract).
MEMORY_MODEL = {"serial": "shared", "threads": "shared", "gil": "shared", "openmp": "shared",
                "processes": "private", "mpi": "private", "hybrid": "per-rank"}
# The kernel metric columns of demo_rows().
DEMO_KERNEL_METRICS = ("latency_s", "lost_updates", "ns_per_update", "io_latency_median_s",
                       "io_latency_p99_s", "io_ops_per_s", "load_imbalance")
UNITS = {"wall_s": "s", "cpu_s": "s", "compute_s": "s", "comm_s": "s", "gil_wait_s": "s",
         "rss_bytes": "bytes", "peak_rss_bytes": "bytes", "size": "1", "latency_s": "s",
         "switch_interval_s": "s", "wall_s_median": "s", "gbytes_per_s": "GB/s"}


def _column_array(name, values, fixed_strings=False):
    values = list(values)
    if values and all(isinstance(v, str) for v in values):
        if fixed_strings:
            width = max(1, max(len(v.encode()) for v in values))
            return np.array([v.encode() for v in values], dtype=f"S{width}")
        return np.array(values, dtype=h5py.string_dtype("utf-8"))
    if values and all(isinstance(v, (bool, int, np.integer)) for v in values):
        return np.array(values, dtype=np.int64)
    return np.array(values, dtype=np.float64)


def _write_group(f, group_name, dimension, columns, fixed_strings=False, roles=None):
    n = len(next(iter(columns.values()))) if columns else 0
    group = f.create_group(group_name)
    # The scale holds the row number, or the column of the same name where there is one
    # (/isolation has a `trial` column and a `trial` dimension).
    scale_values = columns.get(dimension, range(n))
    scale = group.create_dataset(dimension, data=np.asarray(list(scale_values), dtype=np.int64))
    scale.make_scale(dimension)
    for name, values in columns.items():
        if name == dimension:
            continue
        if len(values) != n:
            raise ValueError(f"{group_name}/{name}: {len(values)} rows, expected {n}")
        ds = group.create_dataset(name, data=_column_array(name, values, fixed_strings))
        ds.dims[0].attach_scale(scale)
        if name in UNITS:
            ds.attrs["units"] = UNITS[name]
        ds.attrs["long_name"] = name.replace("_", " ")
        if roles and name in roles:
            ds.attrs["corescope_role"] = roles[name]
    return group


def _rows_to_columns(rows):
    names = list(dict.fromkeys(k for r in rows for k in r))
    columns = {}
    for name in names:
        present = [r[name] for r in rows if name in r]
        if present and all(isinstance(v, str) for v in present):
            missing = ""
        elif present and all(isinstance(v, (bool, int, np.integer)) for v in present):
            missing = -1
        else:
            missing = math.nan
        columns[name] = [r.get(name, missing) for r in rows]
    return columns


def write_results(path, runs, samples=(), isolation=(), attrs=None, *, schema="corescope",
                  schema_version=1, fixed_strings=False, kernel_metrics=DEMO_KERNEL_METRICS, capacity=()):
    """Writes rows (lists of dicts, one dict per row) as a corescope results file. For
    schema_version 2, kernel_metrics names the /runs columns marked as kernel metrics."""
    roles = None
    if schema_version is not None and schema_version >= 2:
        runs = [dict(r, memory_model=r.get("memory_model", MEMORY_MODEL.get(r.get("mode"), ""))) for r in runs]
        roles = {name: "kernel_metric" for name in kernel_metrics}
    with h5py.File(path, "w") as f:
        if schema is not None:
            f.attrs["schema"] = schema
        if schema_version is not None:
            f.attrs["schema_version"] = np.int64(schema_version)
        for key, value in (PROVENANCE if attrs is None else attrs).items():
            f.attrs[key] = value
        run_columns = _rows_to_columns(runs)
        _write_group(f, "runs", "run", run_columns, fixed_strings, roles)
        if samples:
            _write_group(f, "samples", "sample", _rows_to_columns(samples), fixed_strings)
        if isolation:
            _write_group(f, "isolation", "trial", _rows_to_columns(isolation), fixed_strings)
        if capacity:
            _write_group(f, "capacity", "check", _rows_to_columns(capacity), fixed_strings)
        if runs:  # compound copy the reader must ignore
            tables = f.create_group("tables")
            tables.create_dataset("runs", data=np.array(
                [(r.get("kernel", "").encode(), r.get("workers", 1)) for r in runs],
                dtype=[("kernel", "S16"), ("workers", "i8")]))
    return path


# ---------------------------------------------------------------------------------------------
# A synthetic study covering every section of the report
# ---------------------------------------------------------------------------------------------

class _Study:
    def __init__(self, seed=7, reps=5):
        self.rng = np.random.default_rng(seed)
        self.reps = reps
        self.runs, self.samples, self.isolation = [], [], []

    def run(self, kernel, mode, workers, time_s, *, size=1_000_000, scaling="strong", noise=0.0,
            ranks=None, threads_per_rank=None, channel="", switch_interval_s=math.nan,
            params=None, status="ok", verified=1, error="", metrics=None, split=None,
            imbalance=1.0, memory=None, cpus=None, pin="", gbytes=math.nan, gflops=math.nan):
        """Adds one run whose slowest worker takes time_s (times (1 + noise * N(0,1)) per rep)."""
        index = len(self.runs)
        per_process = mode in ("serial", "mpi", "processes")
        if ranks is None:
            ranks = workers if per_process else 1
        if threads_per_rank is None:
            threads_per_rank = workers // ranks
        row = {"run_id": f"r{index:04d}", "kernel": kernel, "mode": mode, "workers": workers,
               "ranks": ranks, "threads_per_rank": threads_per_rank, "size": int(size),
               "size_label": "M", "scaling": scaling, "reps": self.reps, "warmup": 1,
               "channel": channel, "switch_interval_s": float(switch_interval_s),
               "gil_release": "io" if mode == "gil" else "", "gil_policy": "cpython" if mode == "gil" else "",
               "verified": int(verified),
               "status": status, "error": error, "wall_s_median": float(time_s),
               "gbytes_per_s": float(gbytes), "gflops_per_s": float(gflops),
               "started": "2024-05-01T12:00:00Z", "host": "testhost", "launcher": "none",
               "slurm_job_id": "", "command": f"corescope run {kernel} --mode {mode}",
               "params": json.dumps(params or {}), "oversubscribed": 0, "pin": pin}
        row.update(metrics or {})
        self.runs.append(row)
        if status == "failed":
            return index
        compute_frac, comm_frac, gil_frac = split or (0.9, 0.1, 0.0)
        for rep in range(self.reps):
            t = time_s * (1.0 + noise * self.rng.standard_normal()) if noise else time_s
            for worker in range(workers):
                # worker 0 is the slowest; the others' compute is shorter by the imbalance
                wall = t if worker == 0 else t * (1.0 - 0.01 * worker / workers)
                compute = wall * compute_frac / (imbalance if worker else 1.0)
                rank = worker // threads_per_rank
                mem = memory(worker, rank) if memory else 50 * MIB
                self.samples.append({
                    "run": index, "rep": rep, "worker": worker, "rank": rank,
                    "thread": worker % threads_per_rank,
                    "cpu": (cpus[worker] if cpus else worker % 4), "wall_s": wall,
                    "cpu_s": wall * 0.95, "compute_s": compute, "comm_s": wall * comm_frac,
                    "gil_wait_s": wall * gil_frac, "gil_acquires": 10 if mode == "gil" else 0,
                    "gil_forced_switches": 3 if mode == "gil" else 0, "rss_bytes": mem,
                    "peak_rss_bytes": mem, "alloc_bytes": 8 * MIB, "minor_faults": 100,
                    "major_faults": 0, "vol_ctx_switches": 2, "invol_ctx_switches": 1,
                    "pss_bytes": -1, "uss_bytes": -1})
        return index


def amdahl(t1, f, p):
    return t1 * (f + (1.0 - f) / p)


def demo_rows(seed=7):
    """(runs, samples, isolation) of a synthetic study with known answers."""
    s = _Study(seed)
    triad_bytes = 24 * 8_000_000
    # Memory: a process costs 10 MiB of runtime; the arrays (triad_bytes) are split between the
    # processes, or shared by the threads of one process.
    def threads_memory(p):
        return lambda worker, rank: 10 * MIB + triad_bytes
    def process_memory(p):
        return lambda worker, rank: 10 * MIB + triad_bytes // p

    s.run("triad", "serial", 1, 0.2, size=8_000_000, memory=threads_memory(1), gbytes=0.96)
    for p in (1, 2, 4):  # threads/triad: Amdahl with f = 0.3, no noise
        s.run("triad", "threads", p, amdahl(0.2, 0.3, p), size=8_000_000, memory=threads_memory(p),
              gbytes=triad_bytes / amdahl(0.2, 0.3, p) / 1e9)
        s.run("triad", "openmp", p, amdahl(0.19, 0.25, p), size=8_000_000, memory=threads_memory(p),
              noise=0.01)
        s.run("triad", "processes", p, amdahl(0.21, 0.35, p), size=8_000_000,
              memory=process_memory(p), channel="shm", noise=0.3 if p == 4 else 0.01)
        s.run("triad", "mpi", p, amdahl(0.2, 0.32, p), size=8_000_000, memory=process_memory(p),
              noise=0.01)
    s.run("triad", "hybrid", 4, amdahl(0.2, 0.3, 4), size=8_000_000, ranks=2, threads_per_rank=2,
          memory=lambda worker, rank: 10 * MIB + triad_bytes // 2, noise=0.01)
    s.run("triad", "hybrid", 1, 0.2, size=8_000_000, ranks=1, threads_per_rank=1, noise=0.01)

    # CPU-bound ep: threads scale, gil does not.
    s.run("ep", "serial", 1, 1.0, size=10_000_000, split=(1.0, 0.0, 0.0))
    for p in (1, 2, 4):
        s.run("ep", "threads", p, amdahl(1.0, 0.02, p), size=10_000_000, noise=0.01, split=(0.98, 0.02, 0.0))
        s.run("ep", "gil", p, 1.0 * (1 + 0.05 * (p - 1)), size=10_000_000, switch_interval_s=0.005,
              noise=0.01, split=(1.0 / p, 0.0, (p - 1) / p))
        s.run("ep", "processes", p, amdahl(1.02, 0.03, p), size=10_000_000, noise=0.01, channel="pipe")
        s.run("ep", "mpi", p, amdahl(1.01, 0.03, p), size=10_000_000, noise=0.01)
        # weak scaling: 10M samples per worker
        s.run("ep", "threads", p, 1.0 * (1 + 0.04 * (p - 1)), size=10_000_000 * p, scaling="weak",
              noise=0.01)
    s.run("ep", "mpi", 8, 0.2, size=10_000_000, status="failed", verified=0,
          error="rank 3 exited with signal 9")
    # Pinned to one CPU: no speedup.
    s.run("ep", "threads", 4, 1.02, size=10_000_000, pin="one", cpus=[0, 0, 0, 0], noise=0.01)
    s.run("ep", "threads", 1, 1.0, size=10_000_000, pin="one", cpus=[0], noise=0.01)

    # I/O-bound: gil and threads both gain.
    for p in (1, 2, 4):
        s.run("iowait", "gil", p, 0.5 / (p * 0.95) if p > 1 else 0.5, size=1000,
              switch_interval_s=0.005, noise=0.01, split=(0.05, 0.9, 0.05))
        s.run("iowait", "threads", p, 0.5 / (p * 0.97) if p > 1 else 0.5, size=1000, noise=0.01,
              split=(0.05, 0.95, 0.0))

    # Convoy: I/O latency grows with the switch interval under the GIL.
    for interval in (0.001, 0.005, 0.02):
        s.run("convoy", "gil", 2, 1.0, size=1000, switch_interval_s=interval, noise=0.01,
              metrics={"io_latency_median_s": 50e-6 + interval, "io_latency_p99_s": 80e-6 + 2 * interval,
                       "io_ops_per_s": 1.0 / (50e-6 + interval)})
    s.run("convoy", "threads", 2, 1.0, size=1000, noise=0.01,
          metrics={"io_latency_median_s": 50e-6, "io_latency_p99_s": 90e-6, "io_ops_per_s": 2e4})

    # Ping-pong: latency = a + size / bandwidth per channel.
    channels = [("threads", "shared", 0.2e-6, 10e9), ("processes", "shm", 0.5e-6, 8e9),
                ("processes", "pipe", 4e-6, 2e9), ("processes", "file", 30e-6, 0.5e9),
                ("processes", "socket", 8e-6, 1.5e9), ("mpi", "mpi", 1e-6, 6e9)]
    for mode, channel, a, bandwidth in channels:
        for size in (8, 1024, 65536, 1 << 20):
            latency = a + size / bandwidth
            s.run("pingpong", mode, 2, latency * 2000, size=size, channel=channel, noise=0.01,
                  metrics={"latency_s": latency})

    # Critical sections: unsynchronized updates get lost (and fail verification).
    costs = {"none": 1.0, "atomic": 8.0, "mutex": 40.0, "critical": 45.0, "reduce": 0.8}
    for mode in ("threads", "openmp", "processes"):
        for sync, ns in costs.items():
            lost = 12345.0 if (sync == "none" and mode != "processes") else 0.0
            s.run("critical", mode, 4, ns * 1e-9 * 4e6, size=4_000_000, noise=0.01,
                  params={"sync": sync}, verified=0 if lost else 1,
                  metrics={"ns_per_update": ns, "lost_updates": lost})

    # Farm: the queen hands out work; dynamic balances it, static does not.
    # (params as corescope records them: every declared key, defaults filled in)
    for schedule, imbalance in (("static", 1.6), ("dynamic", 1.05)):
        for p in (1, 2, 4):
            s.run("farm", "threads", p, amdahl(2.0, 0.05, p) * (imbalance if p > 1 else 1.0),
                  size=1000, params={"schedule": schedule, "alpha": "1.5", "base": "1000", "grain": "1",
                                     "seed": "2024"},
                  imbalance=imbalance if p > 1 else 1.0, noise=0.01,
                  metrics={"load_imbalance": imbalance if p > 1 else 1.0})

    # A wrong answer is shown, never plotted.
    s.run("stencil", "threads", 4, 0.1, size=1_000_000, verified=0)

    for mode in ("threads", "processes", "mpi"):
        for fault in ("crash", "abort", "exit", "leak", "stray-write", "hang"):
            threads = mode == "threads"
            team_dies = (threads and fault in ("crash", "abort", "exit")) or \
                        (mode == "mpi" and fault in ("crash", "abort", "exit"))
            survivors = 0 if team_dies else 3
            if threads and fault == "hang":
                survivors = 0
            corrupted = 2 if (threads and fault == "stray-write") else 0
            survivors -= corrupted  # survivors completed AND verified
            s.isolation.append({
                "mode": mode, "fault": fault, "victim": 1, "workers": 4, "survivors": survivors,
                "corrupted": corrupted, "killed": 3 if (mode == "mpi" and team_dies) else 0,
                "hung": 1 if (threads and fault == "hang") else 0,
                "detect_s": 1.5 if mode == "mpi" else 0.01,
                "victim_peak_rss_bytes": 300 * MIB if fault == "leak" else 40 * MIB,
                "others_peak_rss_growth_bytes": 256 * MIB if (threads and fault == "leak") else 0,
                "exit_code": 134 if fault == "abort" else 0, "kernel": "triad", "trial": 0})
    return s.runs, s.samples, s.isolation


def write_demo(path, **kwargs):
    runs, samples, isolation = demo_rows()
    return write_results(path, runs, samples, isolation, **kwargs)


def write_minimal(path, **kwargs):
    """One serial run with two repetitions of one worker: the smallest valid file."""
    runs = [{"run_id": "only", "kernel": "triad", "mode": "serial", "workers": 1, "ranks": 1,
             "threads_per_rank": 1, "size": 1000, "scaling": "strong", "verified": 1,
             "status": "ok", "params": "{}", "wall_s_median": 0.5}]
    samples = [{"run": 0, "rep": r, "worker": 0, "rank": 0, "thread": 0, "cpu": 0,
                "wall_s": w} for r, w in enumerate([0.4, 0.6])]
    return write_results(path, runs, samples, **kwargs)


def subset(runs, samples, keep):
    """The runs whose index is in keep, with their samples re-pointed at the new run rows."""
    new_index = {old: new for new, old in enumerate(sorted(keep))}
    return ([runs[i] for i in sorted(keep)],
            [dict(s, run=new_index[s["run"]]) for s in samples if s["run"] in new_index])


def write_small(path, **kwargs):
    """serial, threads x1 and threads x2 of triad plus one failed run: a quick complete file."""
    runs, samples, _ = demo_rows()
    keep = [i for i, r in enumerate(runs) if r["kernel"] == "triad" and r["mode"] in ("serial", "threads")
            and r["workers"] <= 2]
    keep.append(next(i for i, r in enumerate(runs) if r["status"] == "failed"))
    runs, samples = subset(runs, samples, keep)
    return write_results(path, runs, samples, **kwargs)
