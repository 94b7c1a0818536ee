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
    ratio twin/cell of the median times with its 95 % interval, taken as compare takes B/A
    (state_ratio)."""
    columns = ["kernel", "series_label", "workers", "ratio", "lo", "hi", "n", "state"]
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
        state, r, _, _ = state_ratio(cell, twin)
        rows.append({"kernel": cell["kernel"], "series_label": cell["series_label"], "workers": int(cell["workers"]),
                     "ratio": r.point, "lo": r.lo, "hi": r.hi, "n": r.n, "state": state})
    return pd.DataFrame(rows, columns=columns)


def state_ratio(a, b):
    """B/A of two summary rows' median times as `corescope compare` takes it: on the repetitions
    of one machine state both met where there is one (stats.matched_times), else on all clean
    repetitions; the interval holds at least the run-to-run band of both rows' run spreads
    (intervals.with_run_band). (state label or "", Interval, times of A, times of B)."""
    m = stats.matched_times(a.get("_every_rep"), b.get("_every_rep"))
    if m is not None:
        state, ta, ga, tb, gb = m
    else:
        state, tb, ta, gb, ga = "", stats.times_of(b), stats.times_of(a), stats.runs_of(b), stats.runs_of(a)
    r = with_run_band(ratio_ci(tb, ta, num_groups=gb, den_groups=ga), gb, ga,
                      stats.usable_run_sigma(b.get("run_sigma"), b.get("run_sigma_df")),
                      stats.usable_run_sigma(a.get("run_sigma"), a.get("run_sigma_df")))
    return state, r, ta, tb


def ratio_basis(state: str, interval) -> str:
    """What a state_ratio was taken from, for the page: "n 12" or "n 12, same state: fast"."""
    return f"n {interval.n}" + (f", same state: {state}" if state else "")


def noise_floor(pairs: pd.DataFrame) -> float:
    """How far apart two measurements of the same cell landed: the largest max(r, 1/r) - 1 over
    the A/A ratios r; smaller differences are no difference. (Each ratio's interval says how sure
    that ratio is; the floor says what this machine did to identical cells.) NaN without pairs."""
    if pairs.empty:
        return math.nan
    r = pd.to_numeric(pairs["ratio"], errors="coerce").to_numpy(dtype=float)
    r = r[np.isfinite(r) & (r > 0)]
    return float(np.max(np.maximum(r, 1.0 / r)) - 1.0) if r.size else math.nan


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
        state, r, ta, tb = state_ratio(a, b)
        a_s, b_s = (float(np.median(ta)), float(np.median(tb))) if state else (a["median_s"], b["median_s"])
        rows.append({"kernel": b["kernel"], "series_label": b["series_label"], "workers": int(b["workers"]),
                     "a_s": a_s, "b_s": b_s, "ratio": r.point, "lo": r.lo, "hi": r.hi,
                     "n_a": int(ta.size), "n_b": int(tb.size), "p_value": mann_whitney_p(tb, ta),
                     "state": state, "verdict": classify(r, floor)})
    return pd.DataFrame(rows, columns=columns)
