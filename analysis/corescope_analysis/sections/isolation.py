"""Isolation: a fault in one worker (process vs thread), from the /isolation trials."""
from __future__ import annotations

import math

import pandas as pd

from .. import plots
from ..page import Section, esc, fmt_mib, fmt_num, fmt_pct, fmt_time, html_table

CLAIM = ("An error or memory leak in one process will not hurt the execution of another process; "
         "this is not necessarily the case for threads.")
FILL = ("corescope isolate --kernel triad --fault crash --victim 1 --modes processes,threads --workers 2 "
        "--run-seconds 1 --out {file}")
LEAK_SHARED_BYTES = 1 << 20  # other workers' peak RSS growth above this = they saw the leak


def isolation_matrix(isolation: pd.DataFrame | None) -> pd.DataFrame:
    """Per (mode, fault): how many of the *other* workers finished unharmed, and what else
    happened. unharmed_frac = mean over trials of survivors / (workers - 1); survivors are the
    other workers that completed and verified, so corrupted ones are already excluded."""
    columns = ["mode", "memory_model", "fault", "trials", "unharmed_frac", "survivors", "others", "corrupted",
               "killed", "hung", "detect_s", "others_growth_bytes", "victim_peak_rss_bytes",
               "leak_shared"]
    if isolation is None or isolation.empty or not {"mode", "fault"} <= set(isolation.columns):
        return pd.DataFrame(columns=columns)
    iso = isolation.copy()
    if "memory_model" not in iso:
        iso["memory_model"] = ""

    def num(name, default=0.0):
        return pd.to_numeric(iso[name], errors="coerce") if name in iso else pd.Series(default, index=iso.index)

    workers = num("workers", math.nan)
    others = (workers - 1).clip(lower=1)
    survivors = num("survivors", math.nan)
    corrupted = num("corrupted").fillna(0).clip(lower=0)
    iso["_unharmed"] = (survivors / others).clip(0, 1)
    iso["_others"], iso["_survivors"], iso["_corrupted"] = others, survivors, corrupted
    iso["_killed"], iso["_hung"] = num("killed").fillna(0), num("hung").fillna(0)
    iso["_detect"] = num("detect_s", math.nan).where(lambda v: v >= 0)
    iso["_growth"] = num("others_peak_rss_growth_bytes", math.nan)
    iso["_victim"] = num("victim_peak_rss_bytes", math.nan).where(lambda v: v >= 0)
    out = iso.groupby(["mode", "memory_model", "fault"], sort=False).agg(
        trials=("_unharmed", "size"), unharmed_frac=("_unharmed", "mean"),
        survivors=("_survivors", "median"), others=("_others", "median"),
        corrupted=("_corrupted", "sum"), killed=("_killed", "sum"), hung=("_hung", "sum"),
        detect_s=("_detect", "median"), others_growth_bytes=("_growth", "median"),
        victim_peak_rss_bytes=("_victim", "median")).reset_index()
    out["leak_shared"] = out["others_growth_bytes"] > LEAK_SHARED_BYTES
    return out[columns]


def build(ctx) -> Section:
    sec = ctx.section("isolation", "Isolation: a fault in one worker",
                      "One worker (the victim) is made to crash, abort, exit, leak memory, write into "
                      "memory it does not own, or hang. Each cell shows the share of the other workers "
                      "that still finished with correct results (green = unharmed), how many were "
                      "corrupted or killed, and — hatched — a leak that showed up in the other "
                      "workers' memory.", claim=CLAIM, fill=FILL)
    matrix = isolation_matrix(ctx.results.isolation)
    ctx.figure(sec, "isolation.png", "isolation matrix: mode × fault", plots.isolation, matrix)
    if matrix.empty:
        return sec
    by_mode = matrix.groupby("mode")["unharmed_frac"].mean()
    for mode, g in matrix.groupby("mode", sort=False):
        harmed = g[g["unharmed_frac"] < 0.999]
        leak = g[g["leak_shared"]]
        text = f"{esc(mode)}: others unharmed in {fmt_pct(by_mode[mode])} of cases"
        if not harmed.empty:
            text += "; harmed by " + ", ".join(esc(f) for f in harmed["fault"])
        if not leak.empty:
            text += f"; the leak raised the others' peak memory by {fmt_mib(leak['others_growth_bytes'].max())}"
        detect = g["detect_s"].median()
        if plots.is_finite(detect):
            text += f"; faults detected after {fmt_time(detect)} (median)"
        sec.findings.append(text + ".")
    sec.tables.append(html_table(
        matrix.assign(survived=[f"{fmt_num(s, 3)}/{fmt_num(o, 3)}" for s, o in
                                zip(matrix["survivors"], matrix["others"])]),
        ["mode", "memory_model", "fault", "trials", "survived", "unharmed_frac", "corrupted", "killed", "hung",
         "detect_s", "others_growth_bytes"],
        {"unharmed_frac": fmt_pct, "detect_s": fmt_time, "others_growth_bytes": fmt_mib,
         "corrupted": lambda v: fmt_num(v, 6), "killed": lambda v: fmt_num(v, 6), "hung": lambda v: fmt_num(v, 6)},
        row_class=lambda r: "bad" if r["unharmed_frac"] < 0.999 else "",
        headers={"memory_model": "memory", "survived": "others survived (median)",
                 "unharmed_frac": "others unharmed", "detect_s": "detected after",
                 "others_growth_bytes": "others' memory growth"}))
    model = matrix.drop_duplicates("mode").set_index("mode")["memory_model"]
    private = [m for m in by_mode.index if model[m] == "private"]
    shared = [m for m in by_mode.index if model[m] == "shared"]
    if private and shared:
        p_best, s_best = max(private, key=by_mode.get), max(shared, key=by_mode.get)
        sec.verdict = "supported" if by_mode[p_best] > by_mode[s_best] else "contradicted"
        sec.findings.append(f"Criterion: the best mode with private memory ({esc(p_best)}, "
                            f"{fmt_pct(by_mode[p_best])}) keeps the others unharmed more often than the best "
                            f"mode with shared memory ({esc(s_best)}, {fmt_pct(by_mode[s_best])}).")
    else:
        sec.verdict = "measured"
        sec.findings.append("The verdict compares modes whose workers have private memory with modes whose "
                            "workers share it; this file "
                            + ("has only one of the two." if private or shared else
                               "does not say which modes are which (no memory_model)."))
    for mode in private:
        if by_mode[mode] < 0.999:
            sec.findings.append(f"Note: {esc(mode)} gives every worker its own memory, yet a fault in one harmed "
                                "the others: a launcher such as mpirun takes the whole job down when one of its "
                                "processes dies.")
    return sec
