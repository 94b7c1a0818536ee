"""How far the numbers of a file can be trusted, and how they compare with another file:
the A/A noise floor (twin cells), the parallel capacity the machine delivered (/capacity), the
speed factor of each CPU over the study, and the B/A comparison with a baseline file."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from . import stats
from .intervals import classify, mann_whitney_p, ratio_ci, with_run_band

# What must agree for two cells to be "the same cell" in an A/A pair (twin apart) or in two
# files (provenance apart: comparing two builds or two machines is the point).
MATCH_COLUMNS = ["kernel", "mode", "scaling", "size", "workers", "ranks", "threads_per_rank", "channel",
                 "switch_interval_s", "gil_release", "gil_policy", "params", "pin"] + stats.PYTHON_COLUMNS


def _match_key(row, columns) -> tuple:
    return tuple(stats._key(row[c]) if c in row else None for c in columns)


def _twin(summary: pd.DataFrame) -> pd.Series:
    if "twin" not in summary:
        return pd.Series(False, index=summary.index)
    return pd.to_numeric(summary["twin"], errors="coerce").fillna(0) == 1


def aa_pairs(summary: pd.DataFrame) -> pd.DataFrame:
    """Each ok twin cell (twin = 1) beside its cell (twin = 0, same settings and provenance): the
    ratio twin/cell of the median times with its 95 % interval."""
    columns = ["kernel", "series_label", "workers", "ratio", "lo", "hi", "n"]
    ok = summary[(summary["status"] == "ok") & stats.finite(summary["median_s"])]
    twins = ok[_twin(ok)]
    if twins.empty:
        return pd.DataFrame(columns=columns)
    key_columns = MATCH_COLUMNS + stats.PROVENANCE_COLUMNS
    cells = {}
    for _, row in ok[~_twin(ok)].iterrows():
        cells.setdefault(_match_key(row, key_columns), row)
    rows = []
    for _, twin in twins.iterrows():
        cell = cells.get(_match_key(twin, key_columns))
        if cell is None:
            continue
        r = ratio_ci(stats.times_of(twin), stats.times_of(cell))
        rows.append({"kernel": cell["kernel"], "series_label": cell["series_label"], "workers": int(cell["workers"]),
                     "ratio": r.point, "lo": r.lo, "hi": r.hi, "n": r.n})
    return pd.DataFrame(rows, columns=columns)


def noise_floor(pairs: pd.DataFrame) -> float:
    """The largest distance from 1 that an A/A interval reaches: two runs of the same cell can
    differ by this much, so smaller differences are no difference. NaN without pairs."""
    if pairs.empty:
        return math.nan
    reach = np.fmax((pairs["hi"] - 1.0).abs(), (1.0 - pairs["lo"]).abs()).to_numpy(dtype=float)
    reach = reach[np.isfinite(reach)]
    return float(reach.max()) if reach.size else math.nan


def capacity_table(capacity: pd.DataFrame | None) -> pd.DataFrame:
    """Per (mode, workers) of the capacity checks: how many, min, median and max capacity."""
    columns = ["mode", "workers", "checks", "min", "median", "max"]
    if capacity is None or capacity.empty:
        return pd.DataFrame(columns=columns)
    frame = capacity.assign(capacity=pd.to_numeric(capacity["capacity"], errors="coerce"),
                            workers=pd.to_numeric(capacity["workers"], errors="coerce"))
    frame = frame[np.isfinite(frame["capacity"]) & np.isfinite(frame["workers"])]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    out = frame.groupby(["mode", "workers"]).agg(checks=("capacity", "size"), min=("capacity", "min"),
                                                 median=("capacity", "median"), max=("capacity", "max"))
    out = out.reset_index()
    out["workers"] = out["workers"].astype(int)
    return out[columns]


def capacity_sentence(row) -> str:
    return (f"{int(row['workers'])} CPUs delivered {row['min']:.2f}–{row['max']:.2f}× of one during this study "
            f"({row['mode']}, median {row['median']:.2f}×, {int(row['checks'])} check(s))")


def add_capacity_efficiency(summary: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """efficiency_vs_capacity (with _lo/_hi): speedup divided by the median capacity measured for
    the same number of workers (the processes check for modes with private memory, the threads
    check otherwise); NaN where no check matches."""
    s = summary.copy()
    for c in ("efficiency_vs_capacity", "efficiency_vs_capacity_lo", "efficiency_vs_capacity_hi", "capacity"):
        s[c] = math.nan
    if table.empty:
        return s
    lookup = {(m, int(w)): v for m, w, v in zip(table["mode"], table["workers"], table["median"])}
    for i, row in s.iterrows():
        if row["scaling"] != "strong" or row["workers"] < 2:
            continue
        kind = "processes" if row.get("memory_model") == "private" else "threads"
        cap = lookup.get((kind, int(row["workers"]))) or lookup.get(
            ("threads" if kind == "processes" else "processes", int(row["workers"])))
        if cap and cap > 0:
            s.at[i, "capacity"] = cap
            for suffix in ("", "_lo", "_hi"):
                s.at[i, "efficiency_vs_capacity" + suffix] = row["speedup" + suffix] / cap
    return s


def speed_table(samples: pd.DataFrame | None, runs: pd.DataFrame) -> pd.DataFrame:
    """Speed factor of every sample with a probe, in recording order, labelled by host and CPU."""
    columns = ["order", "cpu_label", "speed_factor"]
    if samples is None or samples.empty or "probe_s" not in samples:
        return pd.DataFrame(columns=columns)
    speed = stats.sample_speed(samples, runs)
    cpu = samples["cpu_start"] if "cpu_start" in samples else samples["cpu"]
    host = runs["host"].reindex(samples["run"]).to_numpy()
    hosts = len({h for h in host if h})
    labels = [f"{h} CPU {int(c)}" if hosts > 1 else f"CPU {int(c)}" for h, c in zip(host, cpu)]
    frame = pd.DataFrame({"order": np.arange(len(samples)), "cpu_label": labels,
                          "speed_factor": speed["speed_factor"].to_numpy(dtype=float)})
    return frame[np.isfinite(frame["speed_factor"])].reset_index(drop=True)


def compare(summary_b: pd.DataFrame, summary_a: pd.DataFrame, floor: float = math.nan) -> pd.DataFrame:
    """Cells present in both summaries (ok, not twins), matched by MATCH_COLUMNS: B/A of the median
    times with its 95 % interval, the Mann-Whitney p-value and faster / slower / no difference
    (beyond the noise floor). As `corescope compare` does by default, a pair is compared on its
    repetitions of one machine state where it has one (stats.matched_times; `state` names it),
    else on all clean repetitions (state ""); the interval holds at least the run-to-run band of
    both files' run spreads (intervals.with_run_band)."""
    columns = ["kernel", "series_label", "workers", "a_s", "b_s", "ratio", "lo", "hi", "n_a", "n_b", "p_value",
               "state", "verdict"]

    def usable(s):
        return s[(s["status"] == "ok") & stats.finite(s["median_s"]) & ~_twin(s)]

    cells_a = {}
    for _, row in usable(summary_a).iterrows():
        cells_a.setdefault(_match_key(row, MATCH_COLUMNS), row)
    rows = []
    for _, b in usable(summary_b).iterrows():
        a = cells_a.get(_match_key(b, MATCH_COLUMNS))
        if a is None:
            continue
        m = stats.matched_times(a.get("_every_rep"), b.get("_every_rep"))
        if m is not None:
            state, ta, ga, tb, gb = m
            a_s, b_s = float(np.median(ta)), float(np.median(tb))
        else:
            state, tb, ta, gb, ga = "", stats.times_of(b), stats.times_of(a), stats.runs_of(b), stats.runs_of(a)
            a_s, b_s = a["median_s"], b["median_s"]
        # B/A holds at least the run-to-run band of each file's runs of the kernel (as corescope compare)
        r = with_run_band(ratio_ci(tb, ta, num_groups=gb, den_groups=ga), gb, ga,
                          stats.usable_run_sigma(b.get("run_sigma"), b.get("run_sigma_df")),
                          stats.usable_run_sigma(a.get("run_sigma"), a.get("run_sigma_df")))
        rows.append({"kernel": b["kernel"], "series_label": b["series_label"], "workers": int(b["workers"]),
                     "a_s": a_s, "b_s": b_s, "ratio": r.point, "lo": r.lo, "hi": r.hi,
                     "n_a": int(ta.size), "n_b": int(tb.size), "p_value": mann_whitney_p(tb, ta),
                     "state": state, "verdict": classify(r, floor)})
    return pd.DataFrame(rows, columns=columns)
