"""The emulated GIL (gil mode) beside the real one (py-threads, py-processes: CPython itself).

Every comparison is a pair of figures, each with its 95 % interval, and a stated agreement
criterion applied to the interval of the pair's difference or ratio:
  agree     the whole interval lies inside the tolerance
  differ    the whole interval lies outside it
  inconclusive the interval straddles a bound (or is unknown)
The comparisons and their tolerances (TOLERANCE):
  ep (CPU-bound) speedup T1/Tp at p = 2, 4 threads, gil vs py-threads: difference within ±0.1
      (p = 1 is each side's reference, shown in the table)
  convoy (I/O thread beside K = 1 CPU-bound thread): I/O calls per second, gil / py-threads
      within ±30 %, at every switch interval both sides ran (the effect of the interval)
  iowait (sleepers) speedup at 4 threads: both at least 3.5×
  what the interpreter costs: ep per sample, py-threads 1 worker (pure Python) / serial C++, the
      same number of samples (other sizes are compared per sample, and say so)
  critical sync=none: lost updates in py-threads and py-processes (measured, no criterion)
Both sides of every pair leave out disturbed repetitions by one rule (same_rule_summary): the
record-time bits of /samples `disturbed`, which the Python samples carry as the C++ ones do. The
slow-CPU part (the speed probe) is not applied to either side, because the Python samples have
no probe (docs/user/python.md, docs/dev/noise.md).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .. import stats
from ..intervals import NAN_INTERVAL, Interval, fmt_interval, ratio_ci
from ..page import Section, esc, fmt_num, fmt_time, fmt_x, html_table

CLAIM = ("The emulated GIL behaves as CPython's: the same speedups for CPU-bound and waiting threads, "
         "the same convoy behind a CPU-bound thread, at the same switch interval.")
FILL = ("for w in 1 2; do corescope run -k ep -m gil -w $w -s S -o {file}; "
        "corescope run -k ep -m py-threads -w $w -s S -p impl=python -o {file}; done")

SPEEDUP_TOLERANCE = 0.1     # ep speedup, gil - py-threads
CONVOY_TOLERANCE = 0.30     # convoy I/O calls per second, gil / py-threads - 1
SLEEPERS_FLOOR = 3.5        # iowait speedup at SLEEPERS_WORKERS threads, both sides
SLEEPERS_WORKERS = 4
VERDICT_OF = {"agree": "supported", "differ": "contradicted", "inconclusive": "inconclusive"}


def decide(lo: float, hi: float, low: float, high: float) -> str:
    """agree: [lo, hi] inside [low, high]; differ: wholly outside; inconclusive otherwise."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "inconclusive"
    if low <= lo and hi <= high:
        return "agree"
    if hi < low or lo > high:
        return "differ"
    return "inconclusive"


COMPARED_MODES = ("gil", "py-threads", "py-processes", "serial")


def same_rule_summary(runs: pd.DataFrame, samples: pd.DataFrame | None, metrics=(),
                      include_disturbed: bool = False) -> pd.DataFrame:
    """The summary of the compared modes' runs, their disturbed repetitions judged by the
    record-time rule alone: probe_s is blanked for every sample, so no sample is slow and none
    gets a speed factor. The Python samples have no probe, and a rule that could leave out a gil
    repetition for a slow CPU but never a py-threads one would compare the two sides by
    different rules."""
    if runs.empty or "mode" not in runs:
        return stats.summarize(runs, samples, metrics=metrics, include_disturbed=include_disturbed)
    runs = runs[runs["mode"].isin(COMPARED_MODES)]
    if samples is not None and "run" in samples:
        samples = samples[samples["run"].isin(runs.index)]
        if "probe_s" in samples:
            samples = samples.assign(probe_s=math.nan)
    return stats.summarize(runs, samples, metrics=metrics, include_disturbed=include_disturbed)


def _ok(summary: pd.DataFrame) -> pd.DataFrame:
    return summary[(summary["status"] == "ok") & (summary["scaling"] == "strong")]


def _is_python_ep(params) -> bool:
    return stats.param_value(params, "impl") in ("", "python")


def _python_gil(frame: pd.DataFrame) -> pd.DataFrame:
    """Python runs of an interpreter with a GIL (a free-threaded one is another question)."""
    if "python_gil" not in frame:
        return frame
    gil = pd.to_numeric(frame["python_gil"], errors="coerce")
    return frame[gil.isna() | (gil == 1)]


def _default_gil(frame: pd.DataFrame) -> pd.DataFrame:
    """gil rows with CPython's settings: the GIL released around I/O, CPython's hand-off."""
    for column, preferred in (("gil_release", "io"), ("gil_policy", "cpython")):
        if column in frame and (frame[column] == preferred).any():
            frame = frame[frame[column] == preferred]
    return frame


def _at_interval(frame: pd.DataFrame, interval: float) -> pd.DataFrame:
    return frame[np.isclose(pd.to_numeric(frame["switch_interval_s"], errors="coerce"), interval)]


def _common_interval(frame: pd.DataFrame) -> float:
    intervals = pd.to_numeric(frame["switch_interval_s"], errors="coerce").dropna()
    if intervals.empty:
        return math.nan
    return 0.005 if np.isclose(intervals, 0.005).any() else float(intervals.mode().iloc[0])


def _series_at(frame: pd.DataFrame, workers: int) -> pd.Series | None:
    """The row of `workers` in the longest series of the frame (ties: the first)."""
    if frame.empty or "series" not in frame:
        rows = frame[frame["workers"] == workers]
        return rows.iloc[0] if not rows.empty else None
    counts = frame.groupby("series")["workers"].nunique()
    for series in counts.sort_values(ascending=False, kind="stable").index:
        rows = frame[(frame["series"] == series) & (frame["workers"] == workers)]
        if not rows.empty:
            return rows.iloc[0]
    return None


def _speedup(row) -> Interval:
    if row is None or not np.isfinite(row.get("speedup", math.nan)):
        return NAN_INTERVAL
    return Interval(float(row["speedup"]), float(row.get("speedup_lo", math.nan)),
                    float(row.get("speedup_hi", math.nan)), int(row.get("n", 0)))


def ep_pairs(summary: pd.DataFrame) -> pd.DataFrame:
    """ep speedup over its own 1-worker run at 1, 2, 4 threads: gil (CPython's settings, the
    default switch interval) vs py-threads (pure Python, an interpreter with a GIL)."""
    ok = _ok(summary)
    gil = _default_gil(ok[(ok["kernel"] == "ep") & (ok["mode"] == "gil")])
    if not gil.empty:
        gil = _at_interval(gil, _common_interval(gil))
    py = _python_gil(ok[(ok["kernel"] == "ep") & (ok["mode"] == "py-threads")])
    py = py[py["params"].map(_is_python_ep).astype(bool)]
    if not py.empty and py["switch_interval_s"].notna().any():
        py = _at_interval(py, _common_interval(py))
    rows = []
    for workers in (1, 2, 4):
        g, p = _speedup(_series_at(gil, workers)), _speedup(_series_at(py, workers))
        if not (np.isfinite(g.point) and np.isfinite(p.point)):
            continue
        lo, hi = g.lo - p.hi, g.hi - p.lo
        # one thread is each side's own reference (speedup 1 by definition): shown, not judged
        outcome = "reference" if workers == 1 else decide(lo, hi, -SPEEDUP_TOLERANCE, SPEEDUP_TOLERANCE)
        rows.append({"workers": workers, "gil": g.point, "gil_lo": g.lo, "gil_hi": g.hi, "py": p.point,
                     "py_lo": p.lo, "py_hi": p.hi, "diff": g.point - p.point, "diff_lo": lo, "diff_hi": hi,
                     "outcome": outcome})
    return pd.DataFrame(rows, columns=["workers", "gil", "gil_lo", "gil_hi", "py", "py_lo", "py_hi", "diff",
                                       "diff_lo", "diff_hi", "outcome"])


def _rates(row) -> np.ndarray:
    """Per repetition: the I/O calls (size) over the repetition's time."""
    return float(row["size"]) / stats.times_of(row)


def convoy_pairs(summary: pd.DataFrame, cpu_threads: int = 1) -> pd.DataFrame:
    """Convoy with K CPU-bound threads (K + 1 workers): I/O calls per second per repetition, gil
    (CPython's settings) / py-threads, at every switch interval both sides ran."""
    ok = _ok(summary)
    workers = cpu_threads + 1
    gil = _default_gil(ok[(ok["kernel"] == "convoy") & (ok["mode"] == "gil") & (ok["workers"] == workers)])
    py = _python_gil(ok[(ok["kernel"] == "convoy") & (ok["mode"] == "py-threads") & (ok["workers"] == workers)])
    rows = []
    for interval in sorted(set(pd.to_numeric(py["switch_interval_s"], errors="coerce").dropna())):
        g, p = _at_interval(gil, interval), _at_interval(py, interval)
        if g.empty or p.empty:
            continue
        g, p = g.iloc[0], p.iloc[0]
        r = ratio_ci(_rates(g), _rates(p))
        rows.append({"switch_interval_s": interval, "gil": float(np.median(_rates(g))),
                     "py": float(np.median(_rates(p))), "ratio": r.point, "ratio_lo": r.lo, "ratio_hi": r.hi,
                     "n": r.n, "gil_metric": g.get("io_ops_per_s", math.nan),
                     "py_metric": p.get("io_ops_per_s", math.nan),
                     "outcome": decide(r.lo, r.hi, 1 - CONVOY_TOLERANCE, 1 + CONVOY_TOLERANCE)})
    return pd.DataFrame(rows, columns=["switch_interval_s", "gil", "py", "ratio", "ratio_lo", "ratio_hi", "n",
                                       "gil_metric", "py_metric", "outcome"])


def sleepers(summary: pd.DataFrame, workers: int = SLEEPERS_WORKERS) -> pd.DataFrame:
    """iowait (sleeps) speedup at `workers` threads in gil and py-threads; each must reach
    SLEEPERS_FLOOR: holds when the interval lies above it, fails when wholly below."""
    ok = _ok(summary)
    ok = ok[(ok["kernel"] == "iowait")
            & ok["params"].map(lambda p: stats.param_value(p, "wait") in ("", "sleep")).astype(bool)]
    rows = []
    for mode, frame in (("gil", _default_gil(ok[ok["mode"] == "gil"])),
                        ("py-threads", _python_gil(ok[ok["mode"] == "py-threads"]))):
        s = _speedup(_series_at(frame, workers))
        if np.isfinite(s.point):
            outcome = "agree" if s.lo >= SLEEPERS_FLOOR else "differ" if s.hi < SLEEPERS_FLOOR else "inconclusive"
            rows.append({"mode": mode, "workers": workers, "speedup": s.point, "lo": s.lo, "hi": s.hi,
                         "outcome": outcome})
    return pd.DataFrame(rows, columns=["mode", "workers", "speedup", "lo", "hi", "outcome"])


def interpreter_cost(summary: pd.DataFrame) -> pd.DataFrame:
    """ep per sample: py-threads with 1 worker (pure Python) over serial C++. Pairs of the same
    number of samples first; without one, the closest sizes, compared per sample (same_n False)."""
    ok = _ok(summary)
    serial = ok[(ok["kernel"] == "ep") & (ok["mode"] == "serial") & (ok["workers"] == 1)]
    py = _python_gil(ok[(ok["kernel"] == "ep") & (ok["mode"] == "py-threads") & (ok["workers"] == 1)])
    py = py[py["params"].map(_is_python_ep).astype(bool)]
    columns = ["size_py", "size_serial", "same_n", "per_sample_py_s", "per_sample_serial_s", "ratio",
               "ratio_lo", "ratio_hi", "n"]
    if serial.empty or py.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    same = sorted(set(py["size"]) & set(serial["size"]))
    pairs = [(py[py["size"] == n].iloc[0], serial[serial["size"] == n].iloc[0]) for n in same]
    if not pairs:
        p = py.iloc[0]
        s = serial.loc[(serial["size"] - p["size"]).abs().idxmin()]
        pairs = [(p, s)]
    for p, s in pairs:
        per_py, per_serial = stats.times_of(p) / float(p["size"]), stats.times_of(s) / float(s["size"])
        r = ratio_ci(per_py, per_serial)
        rows.append({"size_py": int(p["size"]), "size_serial": int(s["size"]), "same_n": p["size"] == s["size"],
                     "per_sample_py_s": float(np.median(per_py)), "per_sample_serial_s": float(np.median(per_serial)),
                     "ratio": r.point, "ratio_lo": r.lo, "ratio_hi": r.hi, "n": r.n})
    return pd.DataFrame(rows, columns=columns)


def lost_updates(runs: pd.DataFrame) -> pd.DataFrame:
    """critical sync=none in the Python modes (and gil, the emulation): lost updates per run."""
    columns = ["mode", "workers", "runs", "lost_median", "lost_min", "lost_max", "issued", "lost_frac"]
    if runs.empty or "lost_updates" not in runs:
        return pd.DataFrame(columns=columns)
    frame = runs[(runs["kernel"] == "critical") & (runs["status"] == "ok")
                 & runs["mode"].isin(["gil", "py-threads", "py-processes"])
                 & runs["params"].map(lambda p: stats.param_value(p, "sync") == "none").astype(bool)].copy()
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame["lost"] = pd.to_numeric(frame["lost_updates"], errors="coerce")
    frame["issued"] = pd.to_numeric(frame["updates_issued"], errors="coerce") if "updates_issued" in frame else math.nan
    out = frame.groupby(["mode", "workers"]).agg(runs=("lost", "size"), lost_median=("lost", "median"),
                                                 lost_min=("lost", "min"), lost_max=("lost", "max"),
                                                 issued=("issued", "median")).reset_index()
    out["lost_frac"] = out["lost_median"] / out["issued"]
    return out[columns]


def _interval_text(lo, hi, digits=3, suffix=""):
    return fmt_interval(lo, hi, digits, suffix)


def build(ctx) -> Section:
    sec = ctx.section("cpython", "Emulated GIL vs real CPython",
                      "gil mode emulates CPython's GIL in C++; py-threads runs the same experiments in "
                      "CPython's own threads (py-processes: one interpreter per worker). Each pair below "
                      "has its 95 % intervals and a criterion: <i>agree</i> when the interval of the "
                      "difference (ep speedups: within ±0.1) or of the ratio (convoy I/O calls per second: "
                      "within ±30 %) lies wholly inside the tolerance, <i>differ</i> when wholly outside, "
                      "<i>inconclusive</i> otherwise; the sleepers must both reach 3.5× at 4 threads. The "
                      "interpreter's cost compares the same number of ep samples in serial C++ and in one "
                      "pure-Python thread. Both sides leave out disturbed repetitions by the same rule: "
                      "the record-time bits (steal, involuntary switches, migration, competing tasks), "
                      "which the Python samples record as the C++ ones do; the slow-CPU probe is not "
                      "applied to either side, since the Python samples have none.", claim=CLAIM, fill=FILL)
    results = ctx.results
    summary = same_rule_summary(results.runs, results.samples, results.kernel_metrics, ctx.include_disturbed)
    outcomes = []

    def judged(frame, text):
        """One finding per row of a comparison; its outcome counts toward the verdict."""
        for _, r in frame.iterrows():
            if r["outcome"] != "reference":
                outcomes.append(r["outcome"])
                sec.findings.append(text(r))

    ep = ep_pairs(summary)
    judged(ep, lambda r: (
        f"ep (CPU-bound), {int(r['workers'])} thread(s): speedup gil {fmt_x(r['gil'])} "
        f"({_interval_text(r['gil_lo'], r['gil_hi'], 3, '×')}), py-threads {fmt_x(r['py'])} "
        f"({_interval_text(r['py_lo'], r['py_hi'], 3, '×')}); difference {r['diff']:+.2f} "
        f"({_interval_text(r['diff_lo'], r['diff_hi'])}), within ±{SPEEDUP_TOLERANCE:g}: {r['outcome']}."))
    convoy = convoy_pairs(summary)
    judged(convoy, lambda r: (
        f"Convoy, K = 1 CPU-bound thread, switch interval {fmt_time(r['switch_interval_s'])}: "
        f"I/O calls per second gil {fmt_num(r['gil'], 4)}, py-threads {fmt_num(r['py'], 4)} "
        f"(per repetition; the I/O worker's own io_ops_per_s {fmt_num(r['gil_metric'], 4)} and "
        f"{fmt_num(r['py_metric'], 4)}); ratio {fmt_x(r['ratio'])} "
        f"({_interval_text(r['ratio_lo'], r['ratio_hi'], 3, '×')}, n {int(r['n'])}), within "
        f"±{CONVOY_TOLERANCE:.0%}: {r['outcome']}."))
    if len(convoy) > 1:
        lo, hi = convoy.iloc[0], convoy.iloc[-1]
        sec.findings.append(
            f"Effect of the switch interval ({fmt_time(lo['switch_interval_s'])} → "
            f"{fmt_time(hi['switch_interval_s'])}): I/O calls per second gil {fmt_num(lo['gil'], 4)} → "
            f"{fmt_num(hi['gil'], 4)}, py-threads {fmt_num(lo['py'], 4)} → {fmt_num(hi['py'], 4)}.")
    judged(sleepers(summary), lambda r: (
        f"Sleepers (iowait), {int(r['workers'])} threads, {esc(r['mode'])}: speedup {fmt_x(r['speedup'])} "
        f"({_interval_text(r['lo'], r['hi'], 3, '×')}); at least {SLEEPERS_FLOOR:g}×: "
        f"{ {'agree': 'yes', 'differ': 'no', 'inconclusive': 'inconclusive'}[r['outcome']] }."))

    cost = interpreter_cost(summary)
    for _, r in cost.iterrows():
        same = (f"the same {int(r['size_py'])} samples" if r["same_n"] else
                f"per sample: {int(r['size_py'])} samples in Python, {int(r['size_serial'])} in C++ "
                f"(no pair of the same size)")
        sec.findings.append(
            f"What the interpreter costs: ep {fmt_time(r['per_sample_py_s'])} per sample in one pure-Python "
            f"thread, {fmt_time(r['per_sample_serial_s'])} in serial C++ ({same}): "
            f"{fmt_num(r['ratio'], 3)}× ({_interval_text(r['ratio_lo'], r['ratio_hi'])}, n {int(r['n'])}).")

    lost = lost_updates(ctx.results.runs)
    for _, r in lost.iterrows():
        frac = f", {r['lost_frac']:.1%} of {fmt_num(r['issued'], 6)} issued" if np.isfinite(r["lost_frac"]) else ""
        sec.findings.append(
            f"critical sync=none, {esc(r['mode'])}, {int(r['workers'])} workers: {fmt_num(r['lost_median'], 6)} "
            f"updates lost (median of {int(r['runs'])} run(s), range {fmt_num(r['lost_min'], 6)}–"
            f"{fmt_num(r['lost_max'], 6)}{frac}).")

    if not ep.empty:
        sec.tables.append(html_table(ep, ["workers", "gil", "py", "diff", "outcome"],
                                     {c: (lambda v: fmt_num(v, 3)) for c in ("gil", "py", "diff")},
                                     headers={"gil": "speedup gil", "py": "speedup py-threads",
                                              "diff": "gil − py-threads"}))
    if not convoy.empty:
        sec.tables.append(html_table(convoy, ["switch_interval_s", "gil", "py", "ratio", "outcome"],
                                     {"switch_interval_s": fmt_time, "gil": lambda v: fmt_num(v, 4),
                                      "py": lambda v: fmt_num(v, 4), "ratio": lambda v: fmt_num(v, 3)},
                                     headers={"switch_interval_s": "switch interval", "gil": "I/O calls/s gil",
                                              "py": "I/O calls/s py-threads", "ratio": "gil / py-threads"}))
    sec.verdict = overall(outcomes, has_data=bool(sec.findings))
    return sec


def overall(outcomes: list, has_data: bool) -> str:
    """The section's verdict from the comparisons' outcomes: all agree -> supported, all differ ->
    contradicted, both -> mixed, any inconclusive and nothing against -> inconclusive; figures
    without any comparison -> measured; nothing -> no data."""
    if not outcomes:
        return "measured" if has_data else "no data"
    kinds = set(outcomes)
    if kinds == {"agree"}:
        return "supported"
    if kinds == {"differ"}:
        return "contradicted"
    if {"agree", "differ"} <= kinds:
        return "mixed"
    return "inconclusive"
