"""Switching: under the GIL one thread runs at a time (time split into compute, communication
and GIL wait)."""
from __future__ import annotations

import math

import pandas as pd

from .. import plots, stats
from ..page import Section, esc, fmt_num, fmt_pct, fmt_time

CLAIM = ('Under the GIL only one thread runs at a time; to give the illusion of multi-tasking, threaded programs '
         'must rapidly switch between threads.')
FILL = 'corescope sweep -k ep -m gil,threads -w 1,2 -s S -o {file}'


def forced_switches(runs, samples) -> list:
    """Per gil cell with more than one thread (kernel, workers, switch interval): forced GIL
    switches per repetition, summed over the team, as median and mean over the repetitions, and
    per thread (the mean per worker and repetition, as `corescope summary` prints it)."""
    if samples is None or "gil_forced_switches" not in samples:
        return []
    gil = runs[(runs["mode"] == "gil") & (runs["workers"] > 1)]
    s = samples[samples["run"].isin(gil.index)]
    s = s.assign(forced=pd.to_numeric(s["gil_forced_switches"], errors="coerce")).dropna(subset=["forced"])
    s = s[s["forced"] >= 0]
    if s.empty:
        return []
    per_rep = s.groupby(["run", "rep"]).agg(forced=("forced", "sum"), threads=("forced", "size")).reset_index()
    cell = gil[["kernel", "workers", "switch_interval_s"]]
    per_rep = per_rep.join(cell, on="run")
    out = []
    for (kernel, workers, interval), g in per_rep.groupby(["kernel", "workers", "switch_interval_s"], dropna=False):
        out.append(f"gil, {esc(kernel)}, {int(workers)} threads"
                   + (f", switch interval {fmt_time(interval)}" if math.isfinite(interval) else "")
                   + f": {fmt_num(g['forced'].median(), 3)} forced thread switches per repetition (team total, "
                     f"median of {len(g)}; mean {fmt_num(g['forced'].mean(), 3)}), "
                     f"{fmt_num(g['forced'].sum() / g['threads'].sum(), 3)} per thread and repetition.")
    return out


def build(ctx) -> Section:
    sec = ctx.section("switching", "Time breakdown: compute, communication and GIL wait",
                      "Each repetition's time split, as the mean over workers, into computing, "
                      "communicating or synchronising, and waiting for the (emulated) GIL; the grey "
                      "rest is idle time of the faster workers. Under the GIL the waiting grows with "
                      "the number of threads because only the holder computes.", claim=CLAIM, fill=FILL)
    kernels = ctx.scaling_kernels()
    order = [k for k in ("ep", "iowait", "triad") if k in kernels] + \
        [k for k in kernels if k not in ("ep", "iowait", "triad")]
    for kernel in order:
        ctx.figure(sec, f"breakdown_{plots.safe_name(kernel)}.png",
                    f"{kernel}: time per repetition split by activity", plots.breakdown, ctx.summary, kernel)
    gil_rows = ctx.ok_rows(mode="gil")
    gil_rows = gil_rows[stats.finite(gil_rows["gil_wait_s"]) & (gil_rows["workers"] > 1)]
    if not gil_rows.empty:
        for kernel, g in gil_rows.groupby("kernel"):
            top = g.loc[g["workers"].idxmax()]
            share = top["gil_wait_s"] / top["median_s"] if top["median_s"] > 0 else math.nan
            sec.findings.append(f"gil, {esc(kernel)}, {int(top['workers'])} threads, per repetition of "
                                f"{fmt_time(top['median_s'])}: each thread computed {fmt_time(top['compute_s'])}, "
                                f"waited {fmt_time(top['gil_wait_s'])} for the GIL ({fmt_pct(share)}) and "
                                f"{fmt_time(top['comm_s'])} in team operations (barriers, reductions).")
    for text in forced_switches(ctx.results.runs, ctx.results.samples):
        sec.findings.append(text)
    if ctx.ok_rows(mode="gil").empty:
        sec.verdict = "no data"
        sec.findings.append("No gil-mode runs in this file; the figures show compute and "
                            "communication only.")
    elif not sec.findings:
        sec.verdict = "measured" if sec.figures else "no data"
    else:
        gil_ep = gil_rows[gil_rows["kernel"] == "ep"] if not gil_rows.empty else gil_rows
        if not gil_ep.empty:
            top = gil_ep.loc[gil_ep["workers"].idxmax()]
            share = top["gil_wait_s"] / top["median_s"]
            expected = 1 - 1 / top["workers"]
            sec.verdict = "supported" if share > 0.5 * expected else "contradicted"
            sec.findings.append(f"With {int(top['workers'])} CPU-bound threads, one at a time means each waits "
                                f"≈ {fmt_pct(expected)} of the time; measured {fmt_pct(share)}.")
        else:
            sec.verdict = "measured"
    return sec
