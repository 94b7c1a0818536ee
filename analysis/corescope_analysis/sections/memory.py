"""Memory: a process has its own address space, threads share one (footprint vs workers)."""
from __future__ import annotations

import math

import pandas as pd

from .. import plots, stats
from ..page import MIB, Section, esc, fmt_mib

CLAIM = ("A process has its own memory within its address space; all its threads share that address "
         "space (each thread has its own stack).")
FILL = "corescope sweep -k triad -m threads,processes -w 1,2 -s S -o {file}"
# What each memory model (/runs memory_model) means for the team's memory.
KINDS = {"private": "processes have their own memory", "shared": "threads share one address space",
         "per-rank": "private per rank, shared by a rank's threads"}


def memory_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Footprint per config where known: kernel, mode, workers, total and per worker."""
    frame = summary[stats.finite(summary["footprint_bytes"]) & (summary["status"] == "ok")]
    return frame[["kernel", "mode", "memory_model", "series", "series_label", "scaling", "size", "workers",
                  "footprint_bytes", "per_worker_bytes", "memory_source"]
                 + (["runtime_overhead_bytes"] if "runtime_overhead_bytes" in frame else [])] \
        .reset_index(drop=True)


def build(ctx) -> Section:
    sec = ctx.section("memory", "Memory: own address space vs shared address space",
                      "Memory of the team vs the number of workers. Modes with private memory "
                      "(a process per worker) give every worker an address space of its own: data is not "
                      "shared but split or copied, and every process carries its own runtime. "
                      "Modes with shared memory (threads of one process) live in one address space, so a "
                      "worker adds only its stack and private buffers. Footprint = sum over "
                      "the team's processes of each process's peak (PSS where the OS provides it, "
                      "which splits shared pages fairly, else peak RSS).", claim=CLAIM, fill=FILL)
    table = memory_table(ctx.summary)
    if table.empty:
        sec.skipped.append("no runs with memory measurements in this file")
        return sec
    kernels = [k for k in dict.fromkeys(table["kernel"])]
    preferred = [k for k in ("triad", "stencil", "dgemm", "reduce", "ep") if k in kernels] + \
        [k for k in kernels if k not in ("triad", "stencil", "dgemm", "reduce", "ep")]
    drawn = 0
    for kernel in preferred:
        if drawn >= 3:
            break
        if ctx.figure(sec, f"memory_{plots.safe_name(kernel)}.png",
                       f"{kernel}: memory per worker and total footprint vs workers",
                       plots.memory, ctx.summary, kernel):
            drawn += 1
    growth, models = {}, {}
    for kernel in preferred:
        rows = table[(table["kernel"] == kernel) & (table["scaling"] == "strong")]
        for series, g in rows.groupby("series"):
            if g["workers"].nunique() < 2:
                continue
            lo, hi = g.loc[g["workers"].idxmin()], g.loc[g["workers"].idxmax()]
            growth.setdefault(lo["mode"], (kernel, lo, hi))
            models.setdefault(lo["mode"], lo["memory_model"])
        if {"private", "shared"} <= set(models.values()) or len(growth) >= 4:
            break
    process_modes = [m for m in growth if models[m] == "private"]
    thread_modes = [m for m in growth if models[m] == "shared"]
    for mode in process_modes + thread_modes + [m for m in growth if m not in process_modes + thread_modes]:
        kernel, lo, hi = growth[mode]
        kind = KINDS.get(models[mode], "memory model unknown")
        sec.findings.append(
            f"{esc(mode)} ({esc(kind)}), {esc(kernel)}: total footprint "
            f"{fmt_mib(lo['footprint_bytes'])} with {int(lo['workers'])} worker(s), "
            f"{fmt_mib(hi['footprint_bytes'])} with {int(hi['workers'])} "
            f"({_growth_text(lo['footprint_bytes'], hi['footprint_bytes'])}); per worker "
            f"{fmt_mib(hi['per_worker_bytes'])}.")
    if "runtime_overhead_bytes" in table:
        overhead = table.groupby("mode")["runtime_overhead_bytes"].median().dropna()
        if not overhead.empty:
            sec.findings.append("Runtime overhead per process (median): " + ", ".join(
                f"{esc(m)} {fmt_mib(v)}" for m, v in overhead.items()) + ".")
    # Structure: how many processes each mode's team had (from /runs: ranks).
    for mode in process_modes + thread_modes:
        kernel, lo, hi = growth[mode]
        ranks = ctx.summary[(ctx.summary["series"] == hi["series"]) & (ctx.summary["workers"] == hi["workers"])]
        if len(ranks):
            n_proc = int(ranks["ranks"].iloc[0])
            sec.findings.append(f"{esc(mode)}: {int(hi['workers'])} workers ran in {n_proc} process(es)"
                                + (" — one address space shared by all" if n_proc == 1 else
                                   " — an address space each" if n_proc == int(hi["workers"]) else "") + ".")
    if process_modes and thread_modes:
        p_cost = max(_extra_cost(*growth[m][1:]) for m in process_modes)
        t_cost = max(_extra_cost(*growth[m][1:]) for m in thread_modes)
        base = min(float(growth[m][1]["footprint_bytes"]) for m in process_modes + thread_modes)
        margin = max(MIB, 0.02 * base)
        sec.findings.append(f"Each extra worker added {fmt_mib(p_cost)} as a process and {fmt_mib(t_cost)} "
                            f"as a thread (criterion: processes cost more than threads by at least "
                            f"{fmt_mib(margin)}).")
        if p_cost - t_cost > margin:
            sec.verdict = "supported"
        else:
            sec.verdict = "mixed"
            sec.findings.append("No extra memory cost of separate processes was seen beyond the noise: a "
                                "forked process shares its parent's pages until it writes them "
                                "(copy-on-write), PSS splits shared pages between the processes, and "
                                "each process holds only its own part of the data.")
    else:
        sec.verdict = "measured" if growth else "no data"
        sec.findings.append("Both a mode with private memory (processes) and one with shared memory "
                            "(threads) with two or more worker counts are needed to compare them.")
    return sec


def _extra_cost(lo, hi) -> float:
    """Footprint added per extra worker between the smallest and the largest team."""
    dp = float(hi["workers"]) - float(lo["workers"])
    return (float(hi["footprint_bytes"]) - float(lo["footprint_bytes"])) / dp if dp > 0 else math.nan


def _growth_text(lo, hi) -> str:
    if not (plots.is_finite(lo) and plots.is_finite(hi)) or lo <= 0:
        return "growth unknown"
    change = (float(hi) - float(lo)) / float(lo)
    if abs(change) < 0.005:
        return "±0%"
    return f"{'+' if change > 0 else '−'}{abs(change) * 100:.0f}%"
