"""One CPU: concurrency without parallelism (pinned or oversubscribed runs)."""
from __future__ import annotations

import pandas as pd

from .. import stats
from ..intervals import fmt_interval
from ..page import Section, esc, fmt_time, fmt_x, html_table

CLAIM = "On a computer with only one CPU, concurrency is simply an illusion."
FILL = "corescope sweep -k ep -m threads -w 1,2 --pin one -s S -o {file}"
NOT_PINNED = {"", "none", "no", "off", "false", "0"}


def one_cpu_rows(summary: pd.DataFrame, single_cpu_machine: bool = False) -> pd.DataFrame:
    """Ok configs with more than one worker that ran on one CPU: pin "one" (corescope run --pin
    one), another pin setting with every sample on the same CPU, or any run on a machine with a
    single hardware thread. (An
    unpinned run whose workers happened to end every repetition on the same CPU is no proof:
    `cpu` is sampled once per repetition.)"""
    pin = summary["pin"].astype(str).str.strip().str.lower()
    cpus = summary["cpus_used"]
    on_one = ((pin == "one") & (cpus.isna() | (cpus == 1))) \
        | (~pin.isin(NOT_PINNED | {"one", "cores"}) & (cpus == 1)) | single_cpu_machine
    return summary[(summary["status"] == "ok") & (summary["workers"] > 1) & on_one
                   & stats.plausible(summary)].reset_index(drop=True)


def build(ctx) -> Section:
    sec = ctx.section("one_cpu", "One CPU: concurrency without parallelism",
                      "Runs pinned to one CPU (the run's pin setting, with every worker reporting "
                      "that CPU), or any run on a machine with one hardware thread, can only "
                      "interleave their workers, so they should gain nothing; runs with more workers "
                      "than cores are oversubscribed and gain at most the number of cores.", claim=CLAIM, fill=FILL)
    pus = ctx.attr_int("pus") or ctx.cores
    rows = one_cpu_rows(ctx.summary, single_cpu_machine=pus == 1)
    if not rows.empty:
        sec.tables.append(html_table(rows, ["kernel", "series_label", "workers", "median_s", "speedup",
                                            "speedup_vs_serial"],
                                     {"median_s": fmt_time, "speedup": fmt_x, "speedup_vs_serial": fmt_x},
                                     headers={"series_label": "series", "median_s": "median time",
                                              "speedup_vs_serial": "vs serial"}))
        best = rows.loc[rows["speedup"].idxmax()]
        sec.findings.append(f"{len(rows)} configuration(s) ran all their workers on one CPU; the best speedup "
                            f"among them was {fmt_x(best['speedup'])} "
                            f"({fmt_interval(best['speedup_lo'], best['speedup_hi'], 3, '×')}, {int(best['workers'])} "
                            "workers); criterion: the interval lies below 1.25×.")
        sec.verdict = stats.verdict_from_interval(best["speedup_lo"], best["speedup_hi"], 1.25, above=False)
    if ctx.cores:
        over = ctx.ok_rows()
        over = over[(over["workers"] > ctx.cores) & stats.finite(over["speedup"])
                    & (over["scaling"] == "strong")]
        if not over.empty:
            best = over.loc[over["speedup"].idxmax()]
            sec.findings.append(f"With more workers than the {ctx.cores} cores, the best speedup was "
                                f"{fmt_x(best['speedup'])} ({esc(best['kernel'])}, {esc(best['series_label'])}, "
                                f"{int(best['workers'])} workers).")
            if sec.verdict == "no data":
                sec.verdict = stats.verdict_from_interval(best["speedup_lo"], best["speedup_hi"], ctx.cores * 1.1,
                                                          above=False)
    if not sec.findings:
        sec.skipped.append("no runs pinned to one CPU and none with more workers than cores "
                           "(run e.g. with more workers than cores, or pinned to one core)")
    return sec
