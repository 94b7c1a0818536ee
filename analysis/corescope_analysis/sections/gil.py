"""GIL: no gain for CPU-bound threads, a gain for I/O-bound ones; the convoy effect."""
from __future__ import annotations

import math

import pandas as pd

from .. import noise, plots, stats
from ..intervals import fmt_interval
from ..page import Section, esc, fmt_time, fmt_x

CLAIM = ("The GIL prevents the true benefits of multi-threading for CPU-bound work; threads can still be "
         "used when waiting or doing I/O-bound operations.")
FILL = "corescope sweep -k ep,iowait -m gil,threads -w 1,2 -s S -o {file}"


def pick_series(frame: pd.DataFrame) -> pd.DataFrame:
    """Of several series, the one with the most worker counts (ties: the first)."""
    if frame.empty:
        return frame
    counts = frame.groupby("series")["workers"].nunique()
    return frame[frame["series"] == counts.idxmax()]


def gil_comparison(summary: pd.DataFrame, cpu_kernel="ep", io_kernel="iowait") -> pd.DataFrame:
    """Speedup vs workers of a CPU-bound and an I/O-bound kernel in gil and threads modes.
    One series per (kernel, mode): the most common switch interval, then the longest series."""
    parts = []
    ok = summary[(summary["status"] == "ok") & stats.finite(summary["speedup"]) & stats.plausible(summary)]
    for kernel in (cpu_kernel, io_kernel):
        for mode in ("gil", "threads"):
            frame = ok[(ok["kernel"] == kernel) & (ok["mode"] == mode) & (ok["scaling"] == "strong")]
            if frame.empty:
                continue
            if mode == "gil":
                # the default-like settings: GIL released around I/O only, CPython's hand-off,
                # then the most common switch interval
                for column, preferred in (("gil_release", "io"), ("gil_policy", "cpython")):
                    if column in frame and (frame[column] == preferred).any():
                        frame = frame[frame[column] == preferred]
                if frame["switch_interval_s"].notna().any():
                    common = frame["switch_interval_s"].mode().iloc[0]
                    frame = frame[frame["switch_interval_s"] == common]
            frame = pick_series(frame)
            parts.append(frame.assign(bound="CPU-bound" if kernel == cpu_kernel else "I/O-bound"))
    return pd.concat(parts, ignore_index=True) if parts else summary.iloc[0:0]


def convoy_table(summary: pd.DataFrame) -> pd.DataFrame:
    """I/O latency of the convoy kernel per mode, workers and GIL switch interval."""
    columns = ["mode", "workers", "switch_interval_s", "io_latency_median_s", "io_latency_p99_s",
               "io_ops_per_s"]
    if "io_latency_median_s" not in summary:
        return pd.DataFrame(columns=columns)
    frame = summary[(summary["kernel"] == "convoy") & (summary["status"] == "ok")
                    & stats.finite(summary["io_latency_median_s"])].copy()
    for c in columns:
        if c not in frame:
            frame[c] = math.nan
    return frame[columns].sort_values(["mode", "workers", "switch_interval_s"]).reset_index(drop=True)


def convoy_findings(ctx, sec: Section) -> None:
    """The convoy figure and its numbers: the GIL's cost to an I/O thread beside a CPU-bound one."""
    table = convoy_table(ctx.summary)
    ctx.figure(sec, "convoy.png", "I/O latency vs GIL switch interval", plots.convoy, table)
    gil_rows = table[(table["mode"] == "gil") & stats.finite(table["switch_interval_s"])]
    if not gil_rows.empty:
        lo = gil_rows.loc[gil_rows["switch_interval_s"].idxmin()]
        hi = gil_rows.loc[gil_rows["switch_interval_s"].idxmax()]
        text = (f"Convoy: with a {fmt_time(lo['switch_interval_s'])} switch interval an I/O operation took "
                f"{fmt_time(lo['io_latency_median_s'])} (median)")
        if hi["switch_interval_s"] != lo["switch_interval_s"]:
            text += f", with {fmt_time(hi['switch_interval_s'])} {fmt_time(hi['io_latency_median_s'])}"
        ref = table[table["mode"] != "gil"]
        if not ref.empty:
            text += f"; without a GIL ({esc(ref['mode'].iloc[0])}) {fmt_time(ref['io_latency_median_s'].median())}"
        sec.findings.append(text + ".")


def build(ctx) -> Section:
    sec = ctx.section("gil", "GIL: CPU-bound vs I/O-bound threads",
                      "The same thread team with and without a CPython-style GIL. ep is CPU-bound "
                      "(all work holds the GIL); iowait spends its time in blocking calls, during which "
                      "the GIL is released. The convoy figure shows what the GIL costs an I/O thread "
                      "that shares the interpreter with a CPU-bound one: it waits up to one switch "
                      "interval for the GIL after every I/O completion.", claim=CLAIM, fill=FILL)
    comparison = gil_comparison(ctx.summary)
    ctx.figure(sec, "gil.png", "speedup of CPU-bound and I/O-bound threads with and without the GIL",
                plots.gil, comparison)
    at_max = {}
    for (kernel, mode), g in comparison.groupby(["kernel", "mode"]):
        top = g.loc[g["workers"].idxmax()]
        at_max[kernel, mode] = top
        sec.findings.append(f"{esc(g['bound'].iloc[0])} {esc(kernel)}, {esc(mode)}: speedup "
                            f"{fmt_x(top['speedup'])} ({fmt_interval(top['speedup_lo'], top['speedup_hi'], 3, '×')}) "
                            f"with {int(top['workers'])} threads.")
    for kernel in ("ep", "iowait"):
        gil_top, thr_top = at_max.get((kernel, "gil")), at_max.get((kernel, "threads"))
        if gil_top is not None and thr_top is not None and gil_top["workers"] == thr_top["workers"]:
            state, r, _, _ = noise.state_ratio(thr_top, gil_top)
            sec.findings.append(f"GIL slowdown, {esc(kernel)} with {int(gil_top['workers'])} threads: gil takes "
                                f"{r.point:.2f}× the time of threads ({fmt_interval(r, digits=3, suffix='×')}, "
                                f"{noise.ratio_basis(state, r)}).")
    convoy_findings(ctx, sec)
    cpu, io_ = at_max.get(("ep", "gil")), at_max.get(("iowait", "gil"))
    if cpu is not None and io_ is not None:
        # CPU-bound: the interval lies below 1.25x; I/O-bound: above max(1.5, p/2)
        cpu_flat = stats.verdict_from_interval(cpu["speedup_lo"], cpu["speedup_hi"], 1.25, above=False)
        io_gains = stats.verdict_from_interval(io_["speedup_lo"], io_["speedup_hi"], max(1.5, 0.5 * io_["workers"]))
        both = {cpu_flat, io_gains}
        sec.verdict = both.pop() if len(both) == 1 else "inconclusive" if "inconclusive" in both else "mixed"
    elif cpu is not None or io_ is not None:
        sec.verdict = "mixed"
        sec.findings.append("Only one of the CPU-bound (ep) and I/O-bound (iowait) kernels was run in gil mode.")
    elif sec.findings:
        sec.verdict = "no data"
        sec.findings.append("No gil-mode runs in this file (corescope run --mode gil); the numbers "
                            "above are threads without a GIL.")
    return sec
