"""Scaling: one worker vs many (speedup, efficiency, Amdahl and Gustafson fits, Karp–Flatt)."""
from __future__ import annotations

import numpy as np

from .. import plots, stats
from ..intervals import fmt_interval
from ..page import Section, esc, fmt_num, fmt_pct, fmt_time, fmt_x, html_table

CLAIM = ('Sequential programming is simpler but often slower; computers with multiple cores can actually run '
         'multiple instructions simultaneously.')
FILL = 'corescope sweep -k triad,ep -m serial,threads,processes -w 1,2 -s S -o {file}'


def on_nodes(row) -> str:
    """The words " on N nodes" for a cell whose processes spanned several hosts (/runs nodes)."""
    nodes = row.get("nodes", 1)
    return f" on {int(nodes)} nodes" if nodes == nodes and nodes > 1 else ""


def capacity_findings(ctx, sec: Section) -> None:
    """Efficiency against the ideal and against the parallel capacity measured during the study
    (/capacity), for each kernel's best cell at the largest team that has a capacity check."""
    rows = ctx.ok_rows()
    if "efficiency_vs_capacity" not in rows:
        return
    rows = rows[stats.finite(rows["efficiency_vs_capacity"])]
    for kernel, g in rows.groupby("kernel", sort=False):
        top = g[g["workers"] == g["workers"].max()]
        best = top.loc[top["speedup"].idxmax()]
        sec.findings.append(
            f"{esc(kernel)}, {esc(best['series_label'])}, {int(best['workers'])} workers: efficiency "
            f"{fmt_pct(best['efficiency'])} of the ideal "
            f"({fmt_interval(best['efficiency_lo'], best['efficiency_hi'], 2)}), "
            f"{fmt_pct(best['efficiency_vs_capacity'])} of the {fmt_x(best['capacity'])} the machine delivered "
            f"({fmt_interval(best['efficiency_vs_capacity_lo'], best['efficiency_vs_capacity_hi'], 2)}).")


def build(ctx) -> Section:
    sec = ctx.section("scaling", "Scaling: one worker vs many",
                      "Speedup S(p) = T(1)/T(p) of each mode against its own 1-worker run, with "
                      "the ideal S = p; the dotted curves are least-squares Amdahl fits "
                      "T(p) = T1·(f + (1 − f)/p) whose serial fraction f is listed below with the fit's "
                      "R². Efficiency is S/p (strong scaling) or T(1)/T(p) (weak scaling, where "
                      "the problem grows with p). Only ok, verified runs enter.", claim=CLAIM, fill=FILL)
    kernels = ctx.scaling_kernels()
    if not kernels:
        sec.skipped.append("no kernel has ok runs at two or more worker counts in this file")
        return sec
    best_overall = []
    for kernel in kernels:
        ctx.figure(sec, f"speedup_{plots.safe_name(kernel)}.png", f"{kernel}: speedup vs workers",
                    plots.speedup, ctx.summary, ctx.fits, kernel, cores=ctx.cores)
        ctx.figure(sec, f"efficiency_{plots.safe_name(kernel)}.png", f"{kernel}: efficiency vs workers",
                    plots.efficiency, ctx.summary, kernel, cores=ctx.cores)
        rows = ctx.ok_rows(kernel)
        rows = rows[(rows["mode"] != "serial") & (rows["workers"] > 1) & stats.finite(rows["speedup_vs_serial"])]
        if not rows.empty:
            best = rows.loc[rows["speedup_vs_serial"].idxmax()]
            best_overall.append(best)
            serial_t = best["serial_s"]
            sec.findings.append(
                f"<b>{esc(kernel)}</b>: serial run {fmt_time(serial_t)}; fastest parallel "
                f"{esc(best['series_label'])} with {int(best['workers'])} workers{on_nodes(best)} "
                f"{fmt_time(best['median_s'])} = {fmt_x(best['speedup_vs_serial'])} faster than serial "
                f"(95 % interval {fmt_interval(best['speedup_vs_serial_lo'], best['speedup_vs_serial_hi'], 3, '×')}, "
                f"n {int(best['n'])} and {int(best['n_base'])} repetitions"
                + (f"; from the repetitions of both in one machine state, {esc(best['speedup_vs_serial_basis'][12:])}"
                   if str(best.get("speedup_vs_serial_basis", "")).startswith("same state: ") else "") + ")"
                + (f"; against its own 1-worker run {fmt_x(best['speedup'])} "
                   f"({fmt_interval(best['speedup_lo'], best['speedup_hi'], 3, '×')}"
                   + (f", repetitions of both in the same machine state, {esc(best['matched_state'])}, "
                      f"n {int(best['n_matched'])}; over all clean repetitions {fmt_x(best['speedup_all'])}"
                      if np.isfinite(best.get("speedup_matched", np.nan)) else "") + ")"
                   if np.isfinite(best.get("speedup", np.nan)) else "")
                + (f"; speed-normalised {fmt_x(best['speedup_norm'])} "
                   f"({fmt_interval(best['speedup_norm_lo'], best['speedup_norm_hi'], 3, '×')}; times divided by "
                   "the speed factor of the worker that set them, docs/noise.md)"
                   if np.isfinite(best.get("speedup_norm", np.nan)) else "") + ".")
    capacity_findings(ctx, sec)
    strong = ctx.fits[ctx.fits["scaling"] == "strong"]
    if not strong.empty:
        sec.tables.append("<p>Amdahl fits (strong scaling), one row per series:</p>" + html_table(
            strong, ["kernel", "series_label", "n_points", "workers_max", "speedup_at_max",
                     "efficiency_at_max", "serial_fraction", "t1_fit_s", "r2", "rms_s"],
            {"speedup_at_max": fmt_x, "efficiency_at_max": fmt_pct, "serial_fraction": lambda v: fmt_num(v, 3),
             "t1_fit_s": fmt_time, "rms_s": fmt_time, "r2": lambda v: fmt_num(v, 4)},
            headers={"series_label": "series", "n_points": "points", "workers_max": "max p",
                     "speedup_at_max": "S(max p)", "efficiency_at_max": "E(max p)",
                     "serial_fraction": "Amdahl f", "t1_fit_s": "fitted T1", "r2": "R²",
                     "rms_s": "RMS residual"}))
        sec.tables.append('<p class="small">Two-point fits are exact by construction (R² = 1); '
                          "f &lt; 0 means superlinear speedup, f &gt; 1 a slowdown with more workers.</p>")
    weak = ctx.fits[ctx.fits["scaling"] == "weak"]
    if not weak.empty:
        sec.tables.append("<p>Weak scaling, Gustafson's law S = p − α(p − 1) fitted to the "
                          "measured scaled speedup p·T(1)/T(p):</p>" + html_table(
                              weak, ["kernel", "series_label", "n_points", "workers_max", "speedup_at_max",
                                     "efficiency_at_max", "gustafson_alpha", "gustafson_rms"],
                              {"speedup_at_max": fmt_x, "efficiency_at_max": fmt_pct,
                               "gustafson_alpha": lambda v: fmt_num(v, 3),
                               "gustafson_rms": lambda v: fmt_num(v, 3)},
                              headers={"series_label": "series", "speedup_at_max": "scaled S(max p)",
                                       "efficiency_at_max": "E(max p)", "gustafson_alpha": "α",
                                       "gustafson_rms": "RMS residual"}))
    kf = ctx.ok_rows()
    kf = kf[stats.finite(kf["karp_flatt"])]
    if not kf.empty:
        # the node count per cell, where any cell of the file ran on more than one node
        spread = "nodes" in kf and kf["nodes"].max() > 1
        sec.tables.append("<details><summary>Karp–Flatt serial fraction e(p) per point</summary>" + html_table(
            kf, ["kernel", "series_label", "workers"] + (["nodes"] if spread else []) +
            ["median_s", "speedup", "karp_flatt"],
            {"median_s": fmt_time, "speedup": fmt_x, "karp_flatt": lambda v: fmt_num(v, 3)},
            headers={"series_label": "series", "median_s": "median T(p)", "karp_flatt": "e(p)"})
            + '<p class="small">e(p) that grows with p points at overhead that grows with the team '
              "(communication, synchronisation, contention) rather than a fixed serial part.</p></details>")
    short = ctx.ok_rows()
    short = short[(short["median_s"] < 1e-3) & (short["workers"] > 1)]
    if len(short):
        sec.findings.append(f"{len(short)} parallel cell(s) took less than 1 ms per repetition; at that "
                            "length thread start-up and synchronisation dominate, so speedups understate "
                            "what larger problems (size M or L) reach.")
    if best_overall:
        top = max(best_overall, key=lambda r: r["speedup_vs_serial"])
        sec.verdict = stats.verdict_from_interval(top["speedup_vs_serial_lo"], top["speedup_vs_serial_hi"], 1.5)
        sec.findings.insert(0, f"Best speedup over the serial run: {fmt_x(top['speedup_vs_serial'])} "
                               f"({fmt_interval(top['speedup_vs_serial_lo'], top['speedup_vs_serial_hi'], 3, '×')}; "
                               f"{esc(top['kernel'])}, {esc(top['series_label'])}, "
                               f"{int(top['workers'])} workers{on_nodes(top)})"
                               + (f" on a machine with {ctx.cores} cores" if ctx.cores else "")
                               + "; criterion: the interval lies above 1.5×.")
    elif (ctx.summary["mode"] == "serial").any() and (ctx.summary["implausible"] != "").any():
        sec.verdict = "inconclusive"
        sec.findings.append("Every parallel cell's speedup over the serial run is implausible (more than the "
                            'CPUs it had; <a href="#implausible">listed at the top</a>): a baseline was disturbed, '
                            "so this file cannot answer the claim.")
    else:
        sec.verdict = "measured"
        sec.findings.append("No serial-mode runs to compare with; speedups are against each "
                            "mode's own 1-worker run.")
    return sec
