"""Task farm: the queen bee (main worker) hands out jobs to the worker bees."""
from __future__ import annotations

import os

from .. import noise, stats
from ..intervals import fmt_interval
from ..page import Section, esc, flag_class, fmt_num, fmt_time, fmt_x, html_table

CLAIM = "The main program acts as the queen bee and assigns jobs to worker bees."
FILL = ("for s in static dynamic; do for w in 1 2; do corescope run -k farm -m threads -w $w "
        "-p schedule=$s --out {file}; done; done")


def farm_schedule(params: str) -> str:
    """The farm's task distribution: params schedule (variant in older files)."""
    return stats.param_value(params, "schedule") or stats.param_value(params, "variant") or "?"


def build(ctx) -> Section:
    sec = ctx.section("farm", "Queen bee and worker bees: a task farm",
                      "The farm kernel has a main worker hand out tasks of uneven cost: statically "
                      "(each worker gets a fixed share up front) or dynamically (an idle worker asks "
                      "for the next task). Load imbalance is max/mean of the workers' compute time "
                      "per repetition (1 = perfectly balanced).", claim=CLAIM, fill=FILL)
    rows = ctx.ok_rows("farm")
    if rows.empty:
        sec.skipped.append("no farm runs in this file")
        return sec
    # The scaling section (built first) drew the farm's speedup figure if it had a series.
    if os.path.join(ctx.outdir, "speedup_farm.png") in ctx.figures:
        sec.figures.append(("speedup_farm.png", "farm: speedup vs workers (also under Scaling)"))
    rows = rows.assign(variant=rows["params"].map(farm_schedule))
    if "load_imbalance" in rows and stats.finite(rows["load_imbalance"]).any():
        # the kernel's own measure: busiest worker's busy time / mean busy time
        rows = rows.assign(imbalance=rows["load_imbalance"].where(stats.finite(rows["load_imbalance"]),
                                                                  rows["imbalance"]))
    sec.tables.append(html_table(rows, ["mode", "variant", "workers", "median_s", "speedup", "imbalance", "flags"],
                                 {"median_s": fmt_time, "speedup": fmt_x, "imbalance": lambda v: fmt_num(v, 3)},
                                 row_class=flag_class, headers={"median_s": "median time",
                                                                "variant": "schedule"}))
    top = rows[rows["workers"] == rows["workers"].max()]
    for _, row in top.iterrows():
        sec.findings.append(f"{esc(row['mode'])}, {esc(row['variant'])}, {int(row['workers'])} workers: "
                            f"speedup {fmt_x(row['speedup'])}, imbalance {fmt_num(row['imbalance'], 3)}.")
    for (mode, workers), g in top.groupby(["mode", "workers"]):
        static, dynamic = g[g["variant"] == "static"], g[g["variant"] == "dynamic"]
        if not static.empty and not dynamic.empty:
            state, r, _, _ = noise.state_ratio(dynamic.iloc[0], static.iloc[0])
            sec.findings.append(f"{esc(mode)}, {int(workers)} workers: static takes {r.point:.2f}× the time of "
                                f"dynamic ({fmt_interval(r, digits=3, suffix='×')}, {noise.ratio_basis(state, r)}).")
    # the queen hands out the jobs and the workers do them at once: the best farm speedup at the
    # largest team has its interval above 1
    best = top.loc[top["speedup"].idxmax()] if stats.finite(top["speedup"]).any() else None
    if best is not None and best["workers"] > 1:
        sec.verdict = stats.verdict_from_interval(best["speedup_lo"], best["speedup_hi"], 1.0)
        sec.findings.append(f"Criterion: the workers share the queen's jobs, so the best farm speedup with "
                            f"{int(best['workers'])} workers ({fmt_x(best['speedup'])}, "
                            f"{fmt_interval(best['speedup_lo'], best['speedup_hi'], 3, '×')}) lies above 1×.")
    else:
        sec.verdict = "measured"
    return sec
