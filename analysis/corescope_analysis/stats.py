"""Generic statistics of corescope runs: pure functions of DataFrames and arrays, no file I/O,
no plots, nothing specific to one claim (the per-claim tables live in sections/).

Vocabulary
  config   one (kernel, mode, workers, size, scaling, channel, switch interval, params, ...)
           cell; all runs of a config are pooled.
  series   the configs of one kernel/mode/setting that differ only in the number of workers
           (for weak scaling: with the same size per worker).
  time     of a repetition: the slowest worker's wall_s (max over workers), as the design says.

Strong scaling: speedup S(p) = T(1)/T(p), efficiency S/p.  Weak scaling: efficiency T(1)/T(p),
scaled speedup p*T(1)/T(p).  T(1) is the same mode's 1-worker run of the same series.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

CV_THRESHOLD = 0.1          # coefficient of variation above which a cell is flagged noisy
MIN_REPS = 3                # fewer repetitions than this are flagged

# Columns that tell configs apart (those present in the file are used).
# memory_model follows from the mode; it is kept so that every cell says it.
# Provenance per run (/runs, newer files): runs of different builds or hosts never pool.
PROVENANCE_COLUMNS = ["host", "software_version", "git_commit", "compiler", "cxx_flags", "build_type"]
# Settings of Python-mode runs (newer files).
PYTHON_COLUMNS = ["python_version", "python_gil", "start_method"]
# nodes: the hosts a run's processes spanned (io fills it for older files): a team of 2 ranks on
# one node and the same team on two nodes are two cells.
CONFIG_COLUMNS = ["kernel", "mode", "memory_model", "scaling", "size", "workers", "ranks", "threads_per_rank",
                  "nodes", "channel", "switch_interval_s", "gil_release", "gil_policy", "params", "pin"] + \
    PYTHON_COLUMNS + ["twin"] + PROVENANCE_COLUMNS
# Settings that make a series: CONFIG_COLUMNS without workers/size/ranks/threads_per_rank.
# The A/A twin of a cell (twin = 1) is a series of its own, kept out of plots, fits and verdicts.
SETTING_COLUMNS = ["channel", "switch_interval_s", "gil_release", "gil_policy", "params", "pin"] + \
    PYTHON_COLUMNS + ["twin"] + PROVENANCE_COLUMNS
# Numbers every run has in /runs, summarized as the median over a config's runs (the kernel
# metrics a file marks are summarized the same way: summarize(metrics=...)).
RUN_NUMBERS = ["gbytes_per_s", "gflops_per_s", "footprint_pss_bytes", "runtime_overhead_bytes"]


# ---------------------------------------------------------------------------------------------
# Elementary statistics and scaling laws
# ---------------------------------------------------------------------------------------------

def describe(values) -> dict:
    """n, median, quartiles (linear interpolation), IQR, min, max, mean, sample std, CV."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return {k: math.nan for k in ("median", "q1", "q3", "iqr", "min", "max", "mean", "std", "cv")} | {"n": 0}
    q1, median, q3 = np.percentile(x, [25, 50, 75])
    mean = float(x.mean())
    std = float(x.std(ddof=1)) if n > 1 else math.nan
    cv = std / mean if n > 1 and mean != 0 else math.nan
    return {"n": n, "median": float(median), "q1": float(q1), "q3": float(q3), "iqr": float(q3 - q1),
            "min": float(x.min()), "max": float(x.max()), "mean": mean, "std": std, "cv": cv}


def load_imbalance(per_worker_times) -> float:
    """max / mean over workers (1 = perfectly balanced)."""
    x = np.asarray(per_worker_times, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0 or x.mean() <= 0:
        return math.nan
    return float(x.max() / x.mean())


@dataclass(frozen=True)
class AmdahlFit:
    """T(p) = t1 * (f + (1 - f) / p), fitted by least squares on the points given."""
    t1: float             # fitted 1-worker time [s]
    serial_fraction: float  # f; < 0 means superlinear speedup, > 1 slowdown with workers
    r2: float             # coefficient of determination of the time fit (NaN if undefined)
    rms_s: float          # root-mean-square residual [s]
    n_points: int

    def time(self, p):
        return amdahl_time(self.t1, self.serial_fraction, p)

    def speedup(self, p):
        return amdahl_speedup(self.serial_fraction, p)


def amdahl_time(t1, f, p):
    p = np.asarray(p, dtype=float)
    return t1 * (f + (1.0 - f) / p)


def amdahl_speedup(f, p):
    p = np.asarray(p, dtype=float)
    return 1.0 / (f + (1.0 - f) / p)


def amdahl_fit(workers, times) -> AmdahlFit | None:
    """Fits T = a + b/p (linear in 1/p), so t1 = a + b and f = a / t1. Needs two distinct p."""
    p = np.asarray(workers, dtype=float)
    t = np.asarray(times, dtype=float)
    ok = np.isfinite(p) & np.isfinite(t) & (p > 0)
    p, t = p[ok], t[ok]
    if np.unique(p).size < 2:
        return None
    design = np.column_stack([np.ones_like(p), 1.0 / p])
    (a, b), *_ = np.linalg.lstsq(design, t, rcond=None)
    t1 = a + b
    if t1 == 0:
        return None
    residual = t - (a + b / p)
    ss_res = float(residual @ residual)
    ss_tot = float(((t - t.mean()) ** 2).sum())
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else math.nan
    return AmdahlFit(t1=float(t1), serial_fraction=float(a / t1), r2=r2,
                     rms_s=math.sqrt(ss_res / t.size), n_points=int(t.size))


def karp_flatt(speedup, workers):
    """Experimentally determined serial fraction e = (1/S - 1/p) / (1 - 1/p); NaN for p <= 1."""
    s = np.asarray(speedup, dtype=float)
    p = np.asarray(workers, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = (1.0 / s - 1.0 / p) / (1.0 - 1.0 / p)
    return np.where(p > 1, e, np.nan)


def gustafson_speedup(alpha, p):
    """Gustafson's scaled speedup p - alpha (p - 1) for serial fraction alpha."""
    p = np.asarray(p, dtype=float)
    return p - alpha * (p - 1.0)


def gustafson_fit(workers, scaled_speedups) -> tuple[float, float, int]:
    """Least-squares alpha of S = p - alpha (p - 1) over points with p > 1: (alpha, rms, n)."""
    p = np.asarray(workers, dtype=float)
    s = np.asarray(scaled_speedups, dtype=float)
    ok = np.isfinite(p) & np.isfinite(s) & (p > 1)
    p, s = p[ok], s[ok]
    if p.size == 0:
        return math.nan, math.nan, 0
    x = p - 1.0
    alpha = float(((p - s) * x).sum() / (x * x).sum())
    residual = s - gustafson_speedup(alpha, p)
    return alpha, float(math.sqrt((residual ** 2).mean())), int(p.size)


def speedup_and_efficiency(t_base, t_p, p, scaling):
    """(speedup, efficiency) against a 1-worker time. Strong: T1/Tp and S/p.
    Weak: scaled speedup p*T1/Tp and T1/Tp."""
    if not (np.isfinite(t_base) and np.isfinite(t_p)) or t_p <= 0 or t_base <= 0:
        return math.nan, math.nan
    ratio = t_base / t_p
    if scaling == "weak":
        return p * ratio, ratio
    return ratio, ratio / p


# ---------------------------------------------------------------------------------------------
# From samples to per-repetition and per-run numbers
# ---------------------------------------------------------------------------------------------

def finite(series) -> pd.Series:
    """Boolean mask of the finite numbers in a column (text, None and NaN are False)."""
    x = pd.to_numeric(pd.Series(series), errors="coerce").astype(float)
    return pd.Series(np.isfinite(x.to_numpy()), index=x.index)


def _valid(series: pd.Series) -> pd.Series:
    """Negative values mean "unavailable" in the file."""
    x = pd.to_numeric(series, errors="coerce").astype(float)
    return x.where(x >= 0)


def sample_speed(samples: pd.DataFrame, runs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per sample (index = /samples row): speed_factor (probe_s / the fastest probe_s of the same
    host and CPU at the start, NaN without a probe), slow (speed factor above SLOW_FACTOR) and
    disturbed (the record-time bitmask is not 0, or slow). Files without those columns give
    speed factor NaN and nothing disturbed."""
    from .intervals import SLOW_FACTOR
    out = pd.DataFrame(index=samples.index)
    out["speed_factor"] = math.nan
    if "probe_s" in samples:
        probe = pd.to_numeric(samples["probe_s"], errors="coerce").astype(float)
        probe = probe.where(probe > 0)
        cpu = samples["cpu_start"] if "cpu_start" in samples else samples.get("cpu", pd.Series(-1, index=samples.index))
        if runs is not None and "host" in runs:
            # probes are compared per host, CPU and probe kind (a merged file may hold two kinds)
            key_of_run = runs["host"].astype(str)
            if "probe_kind" in runs:
                key_of_run = key_of_run + "\x1f" + runs["probe_kind"].fillna("").astype(str)
            host = key_of_run.reindex(samples["run"]).to_numpy()
        else:
            host = np.full(len(samples), "")
        key = pd.DataFrame({"host": host, "cpu": pd.to_numeric(cpu, errors="coerce").to_numpy(),
                            "probe": probe.to_numpy()},
                           index=samples.index)
        reference = key.groupby(["host", "cpu"], dropna=False)["probe"].transform("min")
        out["speed_factor"] = (key["probe"] / reference).astype(float)
    out["slow"] = (out["speed_factor"] > SLOW_FACTOR).fillna(False)
    flag = pd.to_numeric(samples["disturbed"], errors="coerce").fillna(0) if "disturbed" in samples \
        else pd.Series(0, index=samples.index)
    out["disturbed"] = (flag > 0) | out["slow"]
    return out


def rep_table(samples: pd.DataFrame, runs: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (run, rep): time_s = max wall_s over workers, imbalance = max/mean of the
    workers' compute_s (wall_s where compute_s is not recorded), mean compute/comm/GIL-wait;
    disturbed (any sample disturbed, see sample_speed), disturbed_samples, flagged_samples (samples
    with record-time disturbance bits, leaving the slow-CPU rule out), speed_factor (the
    slowest worker's) and time_norm_s (time_s / the speed factor of the worker with the most
    compute_s; NaN without a probe)."""
    cols = ["run", "rep", "time_s", "imbalance", "compute_s", "comm_s", "gil_wait_s", "workers_seen",
            "disturbed", "disturbed_samples", "flagged_samples", "speed_factor", "time_norm_s"]
    if samples is None or samples.empty or "wall_s" not in samples:
        return pd.DataFrame(columns=cols)
    s = pd.DataFrame({"run": samples["run"], "rep": samples["rep"], "wall_s": _valid(samples["wall_s"])})
    for name in ("compute_s", "comm_s", "gil_wait_s"):
        s[name] = _valid(samples[name]) if name in samples else np.nan
    speed = sample_speed(samples, runs)
    s["disturbed"] = speed["disturbed"].astype(int)
    # record-time bits alone (a slow sample with bits is flagged too, as in record/cells.cpp)
    bits = pd.to_numeric(samples["disturbed"], errors="coerce").fillna(0) if "disturbed" in samples \
        else pd.Series(0, index=samples.index)
    s["flagged"] = (bits > 0).astype(int)
    s["speed_factor"] = speed["speed_factor"]
    s = s[s["wall_s"].notna()]
    if s.empty:
        return pd.DataFrame(columns=cols)
    basis = s["compute_s"].where(s["compute_s"] > 0)
    s["basis"] = basis
    g = s.groupby(["run", "rep"], sort=True)
    out = g.agg(time_s=("wall_s", "max"), wall_mean=("wall_s", "mean"),
                basis_max=("basis", "max"), basis_mean=("basis", "mean"), basis_n=("basis", "count"),
                compute_s=("compute_s", "mean"), comm_s=("comm_s", "mean"),
                gil_wait_s=("gil_wait_s", "mean"), workers_seen=("wall_s", "size"),
                disturbed_samples=("disturbed", "sum"), flagged_samples=("flagged", "sum"),
                speed_factor=("speed_factor", "max"))
    # speed-normalised: the repetition's time / the speed factor of its critical worker (the one
    # with the most compute_s, wall_s where not recorded), whose speed set the time (docs/dev/noise.md)
    busy = s["compute_s"].where(s["compute_s"].notna(), s["wall_s"])
    critical = s.loc[busy.groupby([s["run"], s["rep"]]).idxmax()]
    factor = critical.set_index(["run", "rep"])["speed_factor"].reindex(out.index)
    out["time_norm_s"] = out["time_s"] / factor
    use_compute = out["basis_n"] == out["workers_seen"]
    out["imbalance"] = np.where(use_compute, out["basis_max"] / out["basis_mean"],
                                out["time_s"] / out["wall_mean"])
    out["disturbed"] = out["disturbed_samples"] > 0
    return out.reset_index()[cols]


def run_table(runs: pd.DataFrame, samples: pd.DataFrame | None) -> pd.DataFrame:
    """Per run (index = /runs row): good (status ok and not verified=0), cpus_used, memory."""
    out = pd.DataFrame(index=runs.index)
    out["good"] = (runs["status"] == "ok") & (runs["verified"] != 0)
    out["cpus_used"] = np.nan
    out["footprint_bytes"] = np.nan
    out["memory_source"] = ""
    if samples is not None and not samples.empty:
        if "cpu" in samples:
            cpu = samples[pd.to_numeric(samples["cpu"], errors="coerce") >= 0]
            out["cpus_used"] = cpu.groupby("run")["cpu"].nunique().reindex(runs.index)
        mem = _footprint_from_samples(runs, samples)
        out["footprint_bytes"] = mem["bytes"]
        out["memory_source"] = mem["source"]
    if "footprint_pss_bytes" in runs:
        pss = _valid(runs["footprint_pss_bytes"]).where(lambda v: v > 0)
        out.loc[pss.notna(), "memory_source"] = "footprint_pss_bytes"
        out["footprint_bytes"] = pss.combine_first(out["footprint_bytes"])
    out["per_worker_bytes"] = out["footprint_bytes"] / runs["workers"]
    return out


def _footprint_from_samples(runs: pd.DataFrame, samples: pd.DataFrame) -> pd.DataFrame:
    """Total memory of a run's team: the sum over its processes of each process's peak.
    A process is a worker when there is one per worker (serial, mpi, processes), the whole
    team when ranks == 1 (threads, gil, openmp) and a rank otherwise (hybrid). PSS (shared
    pages split between the processes sharing them) is used where every process of the run
    has it, else peak RSS, else RSS."""
    result = pd.DataFrame({"bytes": np.nan, "source": ""}, index=runs.index)
    s = samples[["run"]].copy()
    ranks = runs["ranks"].reindex(s["run"]).to_numpy()
    workers = runs["workers"].reindex(s["run"]).to_numpy()
    worker = samples["worker"].to_numpy() if "worker" in samples else np.zeros(len(s))
    rank = samples["rank"].to_numpy() if "rank" in samples else worker
    s["process"] = np.where(ranks == workers, worker, np.where(ranks <= 1, 0, rank))
    processes = s.groupby("run")["process"].nunique()
    for source in ("pss_bytes", "peak_rss_bytes", "rss_bytes"):
        if source not in samples:
            continue
        s["value"] = _valid(samples[source])
        per_process = s[s["value"].notna()].groupby(["run", "process"])["value"].max()
        if per_process.empty:
            continue
        complete = per_process.groupby(level=0).size() == processes.reindex(
            per_process.index.get_level_values(0).unique())
        total = per_process.groupby(level=0).sum()[complete]
        fill = result["bytes"].isna() & result.index.isin(total.index)
        result.loc[fill, "bytes"] = total.reindex(result.index)[fill]
        result.loc[fill, "source"] = source
    return result


def unit_size(size, workers, scaling):
    """The size that stays fixed along a series: the total (strong) or per worker (weak)."""
    if size is None or size < 0:
        return -1.0
    return float(size) / workers if scaling == "weak" else float(size)


def _key(value):
    """Hashable, NaN-free form of a key value (NaN -> None, numpy -> Python)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def params_label(params: str) -> str:
    """{"sync":"none"} -> sync=none."""
    if not params:
        return ""
    try:
        obj = json.loads(params)
    except ValueError:
        return params
    if isinstance(obj, dict):
        return ", ".join(f"{k}={v}" for k, v in obj.items())
    return params


def _params_dict(params: str) -> dict:
    try:
        obj = json.loads(params) if params else {}
    except ValueError:
        return {"params": params}
    return obj if isinstance(obj, dict) else {"params": params}


def param_value(params: str, key: str) -> str:
    try:
        obj = json.loads(params) if params else {}
    except ValueError:
        return ""
    return str(obj.get(key, "")) if isinstance(obj, dict) else ""


def format_count(value) -> str:
    """8 -> "8", 65536 -> "64Ki", 1048576 -> "1Mi", 8000000 -> "8M", 1.5 -> "1.5"."""
    if not np.isfinite(value):
        return "?"
    if value != int(value) or abs(value) < 1000:
        return f"{value:g}"
    v = int(value)
    for suffix, factor in (("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
        if v % factor == 0:
            return f"{v // factor}{suffix}"
    for suffix, factor in (("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if v % factor == 0:
            return f"{v // factor}{suffix}"
    return f"{v:g}" if v < 10**6 else f"{v:.3g}"


# ---------------------------------------------------------------------------------------------
# The summary: one row per config
# ---------------------------------------------------------------------------------------------

# The columns of a summary (summarize), as an empty summary has them.
EMPTY_SUMMARY_COLUMNS = [
    "kernel", "mode", "workers", "size", "scaling", "median_s", "speedup", "efficiency", "memory_model",
    "ranks", "threads_per_rank", "nodes", "channel", "switch_interval_s", "gil_release", "gil_policy", "params", "pin",
    "host", "size_label", "status", "n_runs", "n_excluded", "n", "q1_s", "q3_s", "iqr_s", "min_s", "max_s",
    "mean_s", "cv", "imbalance", "compute_s", "comm_s", "gil_wait_s", "cpus_used", "footprint_bytes",
    "per_worker_bytes", "memory_source", "run_ids", "flags", "unit_size", "t1_s", "karp_flatt", "serial_s",
    "speedup_vs_serial", "series", "series_label", "median_lo_s", "median_hi_s", "n_disturbed", "disturbed_share",
    "mostly_disturbed", "slow_runs", "speed_factor", "median_norm_s", "_times", "_time_runs", "_norm_times",
    "_norm_runs", "_every_rep", "twin", "speedup_lo", "speedup_hi",
    "efficiency_lo", "efficiency_hi", "speedup_vs_serial_lo", "speedup_vs_serial_hi", "base_row", "serial_row",
    "n_base", "speedup_norm", "speedup_norm_lo", "speedup_norm_hi", "speedup_matched", "speedup_matched_lo",
    "speedup_matched_hi", "matched_state", "n_matched", "speedup_all", "speedup_all_lo", "speedup_all_hi",
    "speedup_basis", "speedup_vs_serial_basis", "run_sigma", "run_sigma_df"]


def summarize(runs: pd.DataFrame, samples: pd.DataFrame | None,
              cv_threshold: float = CV_THRESHOLD, metrics=(), include_disturbed: bool = False) -> pd.DataFrame:
    """One row per config with timing statistics, rates, memory, speedups and flags, plus the
    median over its runs of RUN_NUMBERS and of each column named in metrics (kernel metrics).

    Statistics come from the config's good runs (status ok, verified not 0). A config with no
    good run is still listed (status failed/incomplete/unverified), with its times if any, but
    gets no speedup and serves as nobody's baseline. No runs give an empty frame with the
    columns of a summary.

    Disturbed repetitions (rep_table) are left out unless include_disturbed; a cell with fewer
    than MIN_CLEAN clean ones keeps them all and is flagged "mostly disturbed". The
    repetition times used are kept in the column _times (an array per cell; not exported)."""
    from .intervals import MIN_CLEAN, median_ci
    if runs.empty:
        return pd.DataFrame(columns=EMPTY_SUMMARY_COLUMNS + [m for m in RUN_NUMBERS + list(metrics)
                                                            if m not in EMPTY_SUMMARY_COLUMNS])
    reps = rep_table(samples, runs)
    per_run = run_table(runs, samples)
    key_columns = [c for c in CONFIG_COLUMNS if c in runs.columns]
    groups: dict = {}   # config key -> positions of its runs
    for position, values in enumerate(runs[key_columns].itertuples(index=False)):
        groups.setdefault(tuple(_key(v) for v in values), []).append(position)
    labels = runs.index.to_numpy()
    # columns as arrays, indexed by run position (the loop below runs once per config)
    good_all = per_run["good"].to_numpy(dtype=bool)
    status_all = runs["status"].to_numpy(dtype=object)
    verified_all = runs["verified"].to_numpy()
    wall_median_all = pd.to_numeric(runs["wall_s_median"], errors="coerce").to_numpy(dtype=float)
    text_all = {c: runs[c].to_numpy(dtype=object) for c in ("size_label", "run_id") if c in runs}
    per_run_all = {c: per_run[c].to_numpy(dtype=float)
                   for c in ("cpus_used", "footprint_bytes", "per_worker_bytes")}
    source_all = per_run["memory_source"].to_numpy(dtype=object)
    metrics_all = {m: pd.to_numeric(runs[m], errors="coerce").to_numpy(dtype=float)
                   for m in dict.fromkeys(RUN_NUMBERS + list(metrics)) if m in runs.columns}
    rep_columns = ["run", "time_s", "imbalance", "compute_s", "comm_s", "gil_wait_s", "disturbed", "disturbed_samples",
                   "flagged_samples", "workers_seen", "speed_factor", "time_norm_s"]
    reps_by_run = {}
    if not reps.empty:
        for run, frame in reps.groupby("run"):
            reps_by_run[run] = {c: frame[c].to_numpy(dtype=float) for c in rep_columns}

    def first_text(values):
        found = [v for v in values if isinstance(v, str) and v]
        return found[0] if found else ""

    rows = []
    for key, positions in groups.items():
        positions = np.asarray(positions)
        good = good_all[positions]
        used = positions[good] if good.any() else positions
        if good.any():
            status = "ok"
        else:
            statuses = set(status_all[positions])
            status = next((s for s in ("failed", "incomplete") if s in statuses), None) or \
                ("unverified" if (verified_all[positions] == 0).any() else sorted(statuses)[0])
        row = dict(zip(key_columns, key))
        rep_parts = [reps_by_run[labels[p]] for p in used if labels[p] in reps_by_run]
        rep_data = {c: np.concatenate([part[c] for part in rep_parts]) if rep_parts else np.array([])
                    for c in rep_columns}
        flags = []
        rep_data["slow_run"] = slow_run_mask(rep_data) if slow_runs_apply(row) \
            else np.zeros(rep_data["time_s"].size, dtype=bool)
        slow_runs = int(np.unique(rep_data["run"][rep_data["slow_run"]]).size)
        if slow_runs:
            flags.append(f"{slow_runs} slow run(s) left out")
            rep_data["disturbed"] = np.where(rep_data["slow_run"], 1.0, rep_data["disturbed"])
        every_rep = rep_data   # before disturbed repetitions are left out: the matched-state speedup
        disturbed = rep_data["disturbed"] > 0
        clean = ~disturbed
        mostly_disturbed = False
        if disturbed.any() and not include_disturbed:
            if clean.sum() >= MIN_CLEAN:
                rep_data = {c: v[clean] for c, v in rep_data.items()}
            else:
                mostly_disturbed = True
                flags.append(f"mostly disturbed ({int(clean.sum())} clean of {disturbed.size} repetitions; all used)")
        seen = every_rep["workers_seen"]
        n_samples = float(np.nansum(seen))
        # a slow run's samples count as disturbed, all of them
        disturbed_share = float(np.nansum(np.where(every_rep["slow_run"], seen, every_rep["disturbed_samples"]))) \
            / n_samples if n_samples > 0 else math.nan
        times = rep_data["time_s"]
        time_runs = rep_data["run"]
        norm_times = np.asarray(rep_data["time_norm_s"], dtype=float)
        if times.size == 0:
            times = wall_median_all[used]
            time_runs = labels[used].astype(float)
            flags.append("no samples: time is /runs wall_s_median")
        stats = describe(times)
        interval = median_ci(times)
        n_excluded = int(len(positions) - good.sum()) if good.any() else 0
        cpus = per_run_all["cpus_used"][used]
        row.update({
            "size_label": first_text(text_all["size_label"][used]) if "size_label" in text_all else "",
            "status": status, "n_runs": int(len(used)), "n_excluded": n_excluded,
            "n": stats["n"], "median_s": stats["median"], "q1_s": stats["q1"], "q3_s": stats["q3"],
            "iqr_s": stats["iqr"], "min_s": stats["min"], "max_s": stats["max"], "mean_s": stats["mean"],
            "cv": stats["cv"], "median_lo_s": interval.lo, "median_hi_s": interval.hi,
            "n_disturbed": int(disturbed.sum()), "disturbed_share": disturbed_share,
            "mostly_disturbed": mostly_disturbed, "slow_runs": slow_runs,
            "speed_factor": _median(rep_data["speed_factor"]),
            "median_norm_s": _median(rep_data["time_norm_s"]),
            "_times": np.asarray(times, dtype=float),
            "_time_runs": time_runs,
            "_norm_times": norm_times[np.isfinite(norm_times)],
            "_norm_runs": rep_data["run"][np.isfinite(norm_times)],
            "_every_rep": every_rep,
            "imbalance": _median(rep_data["imbalance"]),
            "compute_s": _median(rep_data["compute_s"]),
            "comm_s": _median(rep_data["comm_s"]),
            "gil_wait_s": _median(rep_data["gil_wait_s"]),
            "cpus_used": float(np.nanmax(cpus)) if np.isfinite(cpus).any() else math.nan,
            "footprint_bytes": _median(per_run_all["footprint_bytes"][used]),
            "per_worker_bytes": _median(per_run_all["per_worker_bytes"][used]),
            "memory_source": first_text(source_all[used]),
            "run_ids": " ".join(str(v) for v in text_all["run_id"][used] if v) if "run_id" in text_all else "",
        })
        for metric, values in metrics_all.items():
            row[metric] = _median(values[used])
        if status != "ok":
            flags.insert(0, status)
        if np.isfinite(stats["cv"]) and stats["cv"] > cv_threshold:
            flags.append(f"noisy (CV {stats['cv']:.2f} > {cv_threshold:g})")
        if 0 < stats["n"] < MIN_REPS:
            flags.append(f"only {stats['n']} repetition(s)")
        if n_excluded:
            flags.append(f"{n_excluded} failed/unverified run(s) left out")
        row["flags"] = "; ".join(flags)
        rows.append(row)
    summary = pd.DataFrame(rows)
    for name in ("size", "workers", "ranks", "threads_per_rank", "nodes", "switch_interval_s"):
        if name in summary:  # None (from NaN keys) back to numbers
            summary[name] = pd.to_numeric(summary[name], errors="coerce")
    for name, default in (("memory_model", ""), ("channel", ""), ("switch_interval_s", math.nan), ("gil_release", ""),
                          ("gil_policy", ""),
                          ("params", ""), ("pin", ""), ("host", ""), ("ranks", 1), ("nodes", 1),
                          ("threads_per_rank", 1), ("twin", 0)):
        if name not in summary:
            summary[name] = default
    for name in SETTING_COLUMNS:   # provenance and Python settings of older files: absent
        if name not in summary:
            summary[name] = ""
    summary["unit_size"] = [unit_size(s, w, sc) for s, w, sc in
                            zip(summary["size"], summary["workers"], summary["scaling"])]
    sort_cols = ["kernel", "mode", "scaling", "unit_size", "channel", "params", "switch_interval_s",
                 "threads_per_rank", "workers"]
    summary = summary.sort_values(sort_cols, kind="stable", na_position="first").reset_index(drop=True)
    summary = add_speedups(summary)   # base_row / serial_row are positions in this order
    summary = add_series_labels(summary)
    order = ["kernel", "mode", "workers", "size", "scaling", "median_s", "speedup", "efficiency"]
    rest = [c for c in summary.columns if c not in order]
    return summary[order + rest]


def _median(values) -> float:
    try:
        x = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        x = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size else math.nan


def _series_base(row) -> tuple:
    return (row["kernel"], row["mode"], row["scaling"], row["unit_size"]) + \
        tuple(_key(row[c]) for c in SETTING_COLUMNS)


def series_key(row) -> tuple:
    """Series identity: the base plus, for a mode with per-rank memory (ranks of threads, e.g.
    hybrid), the threads per rank (1x4 and 4x1 differ)."""
    hybrid_tag = int(row["threads_per_rank"]) if row.get("memory_model") == "per-rank" else None
    return _series_base(row) + (hybrid_tag,)


def _serial_key(row) -> tuple:
    return (row["kernel"], row["unit_size"], row["params"]) + tuple(_key(row[c]) for c in PROVENANCE_COLUMNS)


def times_of(row) -> np.ndarray:
    times = row.get("_times") if hasattr(row, "get") else None
    if isinstance(times, np.ndarray) and times.size:
        return times
    return np.array([row["median_s"]], dtype=float)


def runs_of(row):
    """The run of each of times_of(row), or None (then intervals resample repetitions only)."""
    runs = row.get("_time_runs") if hasattr(row, "get") else None
    times = row.get("_times") if hasattr(row, "get") else None
    if isinstance(runs, np.ndarray) and isinstance(times, np.ndarray) and runs.size == times.size and runs.size:
        return runs
    return None


def add_speedups(summary: pd.DataFrame) -> pd.DataFrame:
    """Adds t1_s, speedup, efficiency, karp_flatt, serial_s, speedup_vs_serial (see module doc),
    each ratio's 95 % interval (`*_lo`, `*_hi`: seeded bootstrap over the repetitions of both
    cells, intervals.ratio_ci), base_row / serial_row (the summary row of each baseline, -1
    if none) and n_base (the baseline's repetitions). speedup (and efficiency) is the matched-state
    speedup (speedup_matched) where there is one, else the one over all clean repetitions, which
    speedup_all always holds; speedup_basis says which ("same state: fast", "same state: factor
    1.50-1.65", "clean repetitions"; "" for a baseline or without one). speedup_vs_serial is
    taken the same way (speedup_vs_serial_basis). The intervals of speedup, efficiency and
    speedup_vs_serial (and of speedup_matched, speedup_all) hold at least the run-to-run band of
    the kernel's pooled run spread (run_sigma, with run_sigma_df degrees of freedom; used from
    MIN_RUN_DF on: intervals.with_run_band)."""
    from .intervals import ratio_ci, with_run_band
    s = summary.copy().reset_index(drop=True)
    sigmas = pooled_run_sigma(s)
    ok = s["status"] == "ok"
    one = s[ok & (s["workers"] == 1) & (s["twin"].map(_key) != 1)] if "twin" in s else s[ok & (s["workers"] == 1)]
    same_mode = {}
    for position, row in one.iterrows():
        same_mode.setdefault(_series_base(row), position)
    serial = {}
    for position, row in one[one["mode"] == "serial"].iterrows():
        serial.setdefault(_serial_key(row), []).append((row["scaling"], position))

    names = ("t1_s", "speedup", "speedup_lo", "speedup_hi", "efficiency", "efficiency_lo", "efficiency_hi",
             "karp_flatt", "serial_s", "speedup_vs_serial", "speedup_vs_serial_lo", "speedup_vs_serial_hi",
             "speedup_norm", "speedup_norm_lo", "speedup_norm_hi", "speedup_matched", "speedup_matched_lo",
             "speedup_matched_hi", "matched_state", "n_matched", "speedup_all", "speedup_all_lo", "speedup_all_hi",
             "speedup_basis", "speedup_vs_serial_basis", "base_row", "serial_row", "n_base", "run_sigma",
             "run_sigma_df")
    cols = {c: [] for c in names}
    for position, row in s.iterrows():
        p, scaling = int(row["workers"]), row["scaling"]
        sigma, sigma_df = sigmas.get(_run_pool_key(row), (math.nan, 0))
        cols["run_sigma"].append(sigma)
        cols["run_sigma_df"].append(sigma_df)
        sigma = usable_run_sigma(sigma, sigma_df)
        base = _series_base(row)
        b = same_mode.get(base)
        if b is None:  # a 1-worker run recorded under the other scaling label is the same run
            other = ("weak" if scaling == "strong" else "strong",)
            b = same_mode.get(base[:2] + other + base[3:])
        candidates = serial.get(_serial_key(row), [])
        sr = next((q for sc, q in candidates if sc == scaling), candidates[0][1] if candidates else None)
        if row["status"] != "ok":
            b = sr = None
        times = times_of(row)
        for prefix, ref in (("speedup", b), ("speedup_vs_serial", sr)):
            basis = ""   # of speedup_vs_serial (the speedup's own is set below, with its matched state)
            if ref is None or not np.isfinite(row["median_s"]):
                values = (math.nan,) * 3
            elif ref == position:
                values = (1.0, 1.0, 1.0)
            else:
                factor = p if scaling == "weak" else 1.0
                # against serial, the repetitions of both in one machine state where there is
                # such a state (as the speedup below), else all clean ones
                mv = matched_speedup(s.loc[ref].get("_every_rep"), row.get("_every_rep"), sigma) \
                    if prefix == "speedup_vs_serial" else None
                if mv is not None:
                    r, basis = mv[0], f"same state: {mv[1]}"
                else:
                    r = with_run_band(ratio_ci(times_of(s.loc[ref]), times, num_groups=runs_of(s.loc[ref]),
                                               den_groups=runs_of(row)), runs_of(s.loc[ref]), runs_of(row), sigma)
                    basis = "clean repetitions" if np.isfinite(r.point) else ""
                values = (r.point * factor, r.lo * factor, r.hi * factor)
            if prefix == "speedup_vs_serial":
                cols["speedup_vs_serial_basis"].append(basis)
            cols[prefix].append(values[0])
            cols[prefix + "_lo"].append(values[1])
            cols[prefix + "_hi"].append(values[2])
            if prefix == "speedup":
                eff = tuple(v / p for v in values)   # strong: S/p; weak: (p T1/Tp)/p = T1/Tp
                cols["efficiency"].append(eff[0])
                cols["efficiency_lo"].append(eff[1])
                cols["efficiency_hi"].append(eff[2])
        # the same speedup from speed-normalised times (beside the raw one, never instead of it)
        norm = row.get("_norm_times")
        base_norm = s.loc[b].get("_norm_times") if b is not None and b != position else None
        if isinstance(norm, np.ndarray) and norm.size and isinstance(base_norm, np.ndarray) and base_norm.size:
            r = ratio_ci(base_norm, norm, num_groups=s.loc[b].get("_norm_runs"), den_groups=row.get("_norm_runs"))
            factor = p if scaling == "weak" else 1.0
            values = (r.point * factor, r.lo * factor, r.hi * factor)
        else:
            values = (1.0,) * 3 if b is not None and b == position else (math.nan,) * 3
        for suffix, v in zip(("", "_lo", "_hi"), values):
            cols["speedup_norm" + suffix].append(v)
        # the same speedup from repetitions of both cells in the same machine state
        m = matched_speedup(s.loc[b].get("_every_rep"), row.get("_every_rep"), sigma) \
            if b is not None and b != position else None
        if m is not None:
            factor = p if scaling == "weak" else 1.0
            values = (m[0].point * factor, m[0].lo * factor, m[0].hi * factor, m[1], m[2])
        else:
            values = (1.0, 1.0, 1.0, "", 0) if b is not None and b == position else (math.nan,) * 3 + ("", 0)
        for name, v in zip(("speedup_matched", "speedup_matched_lo", "speedup_matched_hi", "matched_state",
                            "n_matched"), values):
            cols[name].append(v)
        # The speedup the report states (and fits, plots and verdicts use) is the matched-state one
        # where there is one: the slow-CPU rule keeps a cell's fast repetitions when it has 3, so
        # over all clean repetitions a fast baseline often meets a mostly slow team (docs/dev/noise.md).
        # The speedup over all clean repetitions stays beside it as speedup_all.
        for suffix in ("", "_lo", "_hi"):
            cols["speedup_all" + suffix].append(cols["speedup" + suffix][-1])
        if m is not None:
            for suffix, v in zip(("", "_lo", "_hi"), values[:3]):
                cols["speedup" + suffix][-1] = v
                cols["efficiency" + suffix][-1] = v / p
            cols["speedup_basis"].append(f"same state: {m[1]}")
        else:
            cols["speedup_basis"].append("clean repetitions" if np.isfinite(cols["speedup"][-1]) and b != position
                                         else "")
        sp = cols["speedup"][-1]
        cols["t1_s"].append(s.loc[b, "median_s"] if b is not None else math.nan)
        cols["serial_s"].append(s.loc[sr, "median_s"] if sr is not None else math.nan)
        cols["karp_flatt"].append(float(karp_flatt(sp, p)) if scaling == "strong" else math.nan)
        cols["base_row"].append(b if b is not None else -1)
        cols["serial_row"].append(sr if sr is not None else -1)
        cols["n_base"].append(int(s.loc[b, "n"]) if b is not None else 0)
    for name, values in cols.items():
        s[name] = values
    return s


def slow_runs_apply(config: dict) -> bool:
    """The slow-run rule applies to CPU-bound kernels (CPU_BOUND_KERNELS), whose work per
    repetition is fixed arithmetic, in modes without a GIL (switch_interval_s NaN): with a GIL the
    hand-offs between workers vary from run to run by themselves, and that is the mode's behaviour."""
    try:
        interval = float(config.get("switch_interval_s"))
    except (TypeError, ValueError):   # None or "" in a file without the column
        interval = math.nan
    return config.get("kernel") in CPU_BOUND_KERNELS and not np.isfinite(interval)


def slow_run_mask(reps: dict) -> np.ndarray:
    """The repetitions (of one cell, summarize's rep dict) that belong to a slow run: a run whose
    median time is more than SLOW_RUN_FACTOR times the median of the cell's other runs' medians,
    and whose speed-normalised median is too (where both sides have probes) — slower than the
    cell's other runs by more than the machine's speed explains. Only repetitions without
    record-time bits are compared (all, when fewer than MIN_CLEAN are); a cell of one run has
    none. Applied where slow_runs_apply; record/cells.cpp's mark_slow_runs is the same rule
    (docs/dev/noise.md)."""
    from .intervals import MIN_CLEAN, SLOW_RUN_FACTOR
    runs = np.asarray(reps["run"])
    out = np.zeros(runs.size, dtype=bool)
    keep = np.asarray(reps["flagged_samples"]) == 0
    if keep.sum() < MIN_CLEAN:
        keep = np.ones(runs.size, dtype=bool)
    times, norm = np.asarray(reps["time_s"], dtype=float), np.asarray(reps["time_norm_s"], dtype=float)
    ids = list(dict.fromkeys(runs[keep].tolist()))
    if len(ids) < 2:
        return out
    raw = {r: _median(times[keep & (runs == r)]) for r in ids}
    normed = {r: _median(norm[keep & (runs == r)]) for r in ids}
    for r in ids:
        others = [q for q in ids if q != r]
        ref_raw = _median([raw[q] for q in others])
        ref_norm = _median([normed[q] for q in others])
        slow = raw[r] > SLOW_RUN_FACTOR * ref_raw
        if np.isfinite(normed[r]) and np.isfinite(ref_norm):
            slow = slow and normed[r] > SLOW_RUN_FACTOR * ref_norm
        if slow:
            out |= runs == r
    return out


def state_windows(factors_a, factors_b):
    """The machine states two sets of repetitions are matched in (docs/dev/noise.md): windows
    [x, 1.10 x] of the speed factor (that of a repetition's slowest worker), x = 1 (the fast state:
    every factor within the slow-CPU threshold) or any factor of either side, smallest x first.
    Yields (label, inside_a, inside_b): label "fast", or "factor X-Y" for a window [X, Y]. NaN
    factors are in none. The same windows as record/cells.cpp's matched_state_times."""
    from .intervals import SLOW_FACTOR
    fa, fb = np.asarray(factors_a, dtype=float), np.asarray(factors_b, dtype=float)
    starts = np.unique(np.concatenate([[1.0], fa[np.isfinite(fa)], fb[np.isfinite(fb)]]))
    for x in starts[starts >= 1.0]:
        hi = x * SLOW_FACTOR
        label = "fast" if x == 1.0 else f"factor {x:.2f}-{hi:.2f}"
        # factors are >= 1 by construction; the fast window takes everything up to the threshold
        yield label, (fa >= x) & (fa <= hi), (fb >= x) & (fb <= hi)


def matched_times(reps_a, reps_b):
    """The repetitions of two cells (their rep dicts, summarize's _every_rep) that ran in one
    machine state — speed factors (of the repetition's slowest worker) within one window
    [x, 1.10 x], state_windows — leaving out those with record-time disturbance bits (all of a
    cell's, if fewer than MIN_CLEAN are without): (state label, times_a, runs_a, times_b, runs_b)
    for the window where the smaller side has the most repetitions, at least MIN_CLEAN on both
    (ties: the faster window); None without probes or without such a window (docs/dev/noise.md).
    record/cells.cpp's matched_state_times is the same rule."""
    from .intervals import MIN_CLEAN
    if not isinstance(reps_a, dict) or not isinstance(reps_b, dict):
        return None

    def usable(r):
        if not r or "speed_factor" not in r or np.size(r["time_s"]) == 0:
            return None
        keep = r["flagged_samples"] == 0
        if "slow_run" in r:
            keep &= ~np.asarray(r["slow_run"], dtype=bool)
        if keep.sum() < MIN_CLEAN:
            keep = np.ones_like(keep, dtype=bool)
        return {c: np.asarray(v)[keep] for c, v in r.items()}

    a, b = usable(reps_a), usable(reps_b)
    if a is None or b is None:
        return None
    best = None
    for state, ina, inb in state_windows(a["speed_factor"], b["speed_factor"]):
        n = min(int(ina.sum()), int(inb.sum()))
        if n >= MIN_CLEAN and (best is None or n > best[2]):
            best = (state, (ina, inb), n)
    if best is None:
        return None
    ina, inb = best[1]
    return best[0], a["time_s"][ina], a["run"][ina], b["time_s"][inb], b["run"][inb]


def matched_speedup(base_reps, reps, sigma: float = math.nan):
    """The speedup from the repetitions of a cell and its baseline in one machine state
    (matched_times): (Interval, state label, n = the smaller side's count), or None. The interval
    holds at least the run-to-run band of a pooled run spread sigma (intervals.with_run_band)."""
    from .intervals import ratio_ci, with_run_band
    m = matched_times(base_reps, reps)
    if m is None:
        return None
    state, ta, ga, tb, gb = m
    return with_run_band(ratio_ci(ta, tb, num_groups=ga, den_groups=gb), ga, gb, sigma), state, min(ta.size, tb.size)


def run_spread(reps) -> tuple[float, int]:
    """How far the medians of a cell's runs lie apart in one machine state: (sum of squared
    deviations of their logs from their mean, degrees of freedom = runs - 1), from the repetitions
    without record-time bits and outside slow runs, in the cell's own 10 % window of the speed
    factor (state_windows) that holds the most repetitions of runs with at least 2 in it (all of
    them where the file has no probes); (0, 0) with fewer than 2 such runs."""
    if not isinstance(reps, dict) or np.size(reps.get("time_s", [])) == 0:
        return 0.0, 0
    keep = np.asarray(reps["flagged_samples"]) == 0
    if "slow_run" in reps:
        keep &= ~np.asarray(reps["slow_run"], dtype=bool)
    t = np.asarray(reps["time_s"], dtype=float)[keep]
    g = np.asarray(reps["run"])[keep]
    f = np.asarray(reps.get("speed_factor", np.full(keep.size, np.nan)), dtype=float)[keep]
    windows = [m for _, m, _ in state_windows(f, f)] if np.isfinite(f).any() else [np.ones(t.size, dtype=bool)]
    best = None
    for inside in windows:
        ids = [r for r in dict.fromkeys(g[inside].tolist()) if (g[inside] == r).sum() >= 2]
        n = int(sum((g[inside] == r).sum() for r in ids))
        if len(ids) >= 2 and (best is None or n > best[0]):
            best = (n, inside, ids)
    if best is None:
        return 0.0, 0
    _, inside, ids = best
    logs = np.log([np.median(t[inside & (g == r)]) for r in ids])
    return float(((logs - logs.mean()) ** 2).sum()), len(ids) - 1


def _run_pool_key(row) -> tuple:
    """A kernel's cells of one provenance and one Python (a Python mode's kernel is other code;
    record/cells.cpp's provenance key holds python_version too)."""
    columns = PROVENANCE_COLUMNS + ["python_version"]
    return (row["kernel"],) + tuple(_key(row[c]) if c in row else None for c in columns)


def pooled_run_sigma(summary: pd.DataFrame) -> dict:
    """Per kernel, provenance and Python (_run_pool_key): (sigma, degrees of freedom), sigma the pooled
    standard deviation of the log of a run's median about its cell's mean (run_spread over the kernel's ok cells).
    One ratio's 2-3 runs per side are too few to measure how much runs of one cell differ; a
    file's cells of one kernel together are not (docs/dev/noise.md)."""
    acc: dict = {}
    for _, row in summary.iterrows():
        if row.get("status") != "ok":
            continue
        ss, df = run_spread(row.get("_every_rep"))
        if df:
            a = acc.setdefault(_run_pool_key(row), [0.0, 0])
            a[0] += ss
            a[1] += df
    return {k: (math.sqrt(ss / df), df) for k, (ss, df) in acc.items()}


def usable_run_sigma(sigma, df) -> float:
    """A pooled run spread where it has at least MIN_RUN_DF degrees of freedom, else NaN (no band:
    intervals.with_run_band); record/cells.hpp's RunSigma::usable is the same gate."""
    from .intervals import MIN_RUN_DF
    try:
        sigma, df = float(sigma), float(df)
    except (TypeError, ValueError):
        return math.nan
    return sigma if np.isfinite(sigma) and df >= MIN_RUN_DF else math.nan


def add_series_labels(summary: pd.DataFrame) -> pd.DataFrame:
    """series (an integer id) and series_label ("processes channel=pipe"), naming per kernel only
    the settings that vary among that kernel's rows."""
    s = summary.copy()
    keys = [series_key(r) for _, r in s.iterrows()]
    ids = {k: i for i, k in enumerate(dict.fromkeys(keys))}
    s["series"] = [ids[k] for k in keys]
    labels = []
    varying, varying_params = {}, {}
    for (kernel, mode), frame in s.groupby(["kernel", "mode"]):
        varying[kernel, mode] = [c for c in ["unit_size"] + SETTING_COLUMNS
                                 if c in frame and frame[c].map(_key).nunique(dropna=False) > 1]
        parsed = [_params_dict(p) for p in frame["params"]]
        keys = dict.fromkeys(k for d in parsed for k in d)
        varying_params[kernel, mode] = [k for k in keys if len({str(d.get(k)) for d in parsed}) > 1]
    for _, row in s.iterrows():
        parts = [row["mode"]]
        if row.get("memory_model") == "per-rank":
            parts.append(f"{int(row['threads_per_rank'])} thr/rank")
        for c in varying[row["kernel"], row["mode"]]:
            value = row[c]
            if c == "unit_size":
                parts.append(("n/worker=" if row["scaling"] == "weak" else "n=") + format_count(value))
            elif c == "switch_interval_s":
                if np.isfinite(value):
                    parts.append(f"switch={value * 1e3:g} ms")
            elif c == "params":
                shown = varying_params[row["kernel"], row["mode"]]
                values = _params_dict(value)
                parts.extend(f"{k}={values[k]}" for k in shown if k in values)
            elif c in ("gil_release", "gil_policy"):
                if value and row["mode"] == "gil":
                    parts.append(f"{c[4:]}={value}")
            elif value:
                parts.append(f"{c}={value}")
        if row["scaling"] == "weak":
            parts.append("(weak)")
        labels.append(" ".join(parts))
    s["series_label"] = labels
    return s


def scaling_fits(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per series with at least two worker counts among its ok rows: the Amdahl fit of
    time vs workers (strong scaling) or Gustafson's alpha (weak), and the best point."""
    rows = []
    ok = summary[(summary["status"] == "ok") & finite(summary["median_s"]) & plausible(summary)]
    for series, frame in ok.groupby("series"):
        if frame["workers"].nunique() < 2:
            continue
        first = frame.iloc[0]
        best = frame.loc[frame["workers"].idxmax()]
        row = {"series": series, "kernel": first["kernel"], "mode": first["mode"],
               "scaling": first["scaling"], "series_label": first["series_label"],
               "unit_size": first["unit_size"], "n_points": int(len(frame)),
               "workers_max": int(best["workers"]), "speedup_at_max": best["speedup"],
               "efficiency_at_max": best["efficiency"], "serial_fraction": math.nan,
               "t1_fit_s": math.nan, "r2": math.nan, "rms_s": math.nan,
               "gustafson_alpha": math.nan, "gustafson_rms": math.nan}
        if first["scaling"] == "strong":
            fit = amdahl_fit(frame["workers"], frame["median_s"])
            if fit is not None:
                row.update(serial_fraction=fit.serial_fraction, t1_fit_s=fit.t1, r2=fit.r2,
                           rms_s=fit.rms_s)
        else:
            alpha, rms, _ = gustafson_fit(frame["workers"], frame["speedup"])
            row.update(gustafson_alpha=alpha, gustafson_rms=rms)
        rows.append(row)
    columns = ["series", "kernel", "mode", "scaling", "series_label", "unit_size", "n_points",
               "workers_max", "speedup_at_max", "efficiency_at_max", "serial_fraction", "t1_fit_s",
               "r2", "rms_s", "gustafson_alpha", "gustafson_rms"]
    return pd.DataFrame(rows, columns=columns)


def with_fits(summary: pd.DataFrame, fits: pd.DataFrame) -> pd.DataFrame:
    """summary plus each row's series' serial_fraction / fit quality / Gustafson alpha."""
    if fits.empty:
        out = summary.copy()
        for c in ("serial_fraction", "fit_r2", "gustafson_alpha"):
            out[c] = math.nan
        return out
    extra = fits[["series", "serial_fraction", "r2", "gustafson_alpha"]].rename(columns={"r2": "fit_r2"})
    return summary.merge(extra, on="series", how="left")


# ---------------------------------------------------------------------------------------------
# Exports
# ---------------------------------------------------------------------------------------------

def extrap_records(summary: pd.DataFrame, reps: pd.DataFrame | None = None,
                   runs: pd.DataFrame | None = None) -> list[dict]:
    """Extra-P JSON Lines records: per ok config, params {p: workers, n: size}, the repetition
    times its statistics use as value (disturbed ones left out as there), callpath =
    kernel.scaling.series, metric "time". (reps and runs are accepted for older callers.)"""
    records = []
    for _, row in summary[summary["status"] == "ok"].iterrows():
        values = [float(v) for v in times_of(row) if np.isfinite(v)]
        if not values:
            continue
        label = row["series_label"].replace(" ", "_")
        records.append({"params": {"p": int(row["workers"]), "n": int(row["size"])},
                        "callpath": f"{row['kernel']}.{row['scaling']}.{label}",
                        "metric": "time", "value": values})
    return records


# ---------------------------------------------------------------------------------------------
# Impossible findings
# ---------------------------------------------------------------------------------------------

# Kernels whose work is pure computation: their efficiency cannot exceed 1 (no cache effect
# makes a core do more than its own share of arithmetic).
CPU_BOUND_KERNELS = ("ep", "dgemm", "reduce")
# Kernels whose workers spend their time waiting (sleep, fsync, a pipe): waits overlap however
# few the CPUs are, so their speedup is bounded by the workers, not by the CPUs (4 sleepers on 2
# CPUs run about 4x faster than 1; the GIL claim of the founding notes rests on exactly that).
WAITING_KERNELS = ("iowait",)
IMPLAUSIBLE_TOLERANCE = 0.05
ONE_CPU_PINS = ("one",)


def cell_cpus(row, cores=None) -> int:
    """The CPUs a cell could use at once: 1 when pinned to one CPU, else its workers, at most the
    machine's cores where the file says them."""
    if str(row.get("pin", "")).strip().lower() in ONE_CPU_PINS:
        return 1
    p = int(row["workers"])
    return min(p, int(cores)) if cores else p


def mark_implausible(summary: pd.DataFrame, cores=None, tolerance: float = IMPLAUSIBLE_TOLERANCE) -> pd.DataFrame:
    """Adds cpus and implausible (the reason, or ""): a speedup (against the mode's own 1-worker
    cell or against serial) above the CPUs the cell had by more than the tolerance (above its
    workers for a kernel that waits, WAITING_KERNELS), or a
    CPU-bound kernel's efficiency whose whole interval lies above 1 + tolerance. Such rows are
    kept out of fits and verdicts; report.py shows them at the top of the page."""
    s = summary.copy()
    cpus, reasons = [], []
    for _, row in s.iterrows():
        c = cell_cpus(row, cores)
        cpus.append(c)
        why = []
        if row["status"] == "ok" and row["workers"] > 1:   # a 1-worker cell is a baseline, not a speedup
            waits = row["kernel"] in WAITING_KERNELS
            limit = int(row["workers"]) if waits else c
            for column, against in (("speedup", "its own 1-worker cell"), ("speedup_vs_serial", "serial")):
                value = row.get(column, math.nan)
                if np.isfinite(value) and value > limit * (1 + tolerance):
                    why.append(f"speedup {value:.2f}× against {against} with {limit} worker(s) that wait" if waits
                               else f"speedup {value:.2f}× against {against} on {c} CPU(s)")
            if row["kernel"] in CPU_BOUND_KERNELS and row["scaling"] == "strong" and \
                    np.isfinite(row.get("efficiency_lo", math.nan)) and row["efficiency_lo"] > 1 + tolerance:
                why.append(f"efficiency interval {row['efficiency_lo']:.2f}–{row['efficiency_hi']:.2f} lies above "
                           f"{1 + tolerance:g} for a CPU-bound kernel")
        reasons.append("; ".join(why))
    s["cpus"] = cpus
    s["implausible"] = reasons
    s["flags"] = ["; ".join(f for f in (flags, "implausible: " + why if why else "") if f)
                  for flags, why in zip(s["flags"], reasons)]
    return s


def verdict_from_interval(lo, hi, threshold, above: bool = True) -> str:
    """'supported' when the whole interval lies beyond the threshold on the side the claim wants
    (above, or below with above=False), 'contradicted' when it lies wholly on the other side,
    'inconclusive' when it straddles the threshold or is unknown."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "inconclusive"
    if (lo > threshold) if above else (hi < threshold):
        return "supported"
    if (hi <= threshold) if above else (lo >= threshold):
        return "contradicted"
    return "inconclusive"


def plausible(summary: pd.DataFrame) -> pd.Series:
    """Rows that may enter fits and verdicts: not implausible and not an A/A twin."""
    mask = pd.Series(True, index=summary.index)
    if "implausible" in summary:
        mask &= summary["implausible"].fillna("") == ""
    if "twin" in summary:
        mask &= pd.to_numeric(summary["twin"], errors="coerce").fillna(0) != 1
    return mask
