"""Critical sections: a lock protects x = x + 1; without one, updates get lost."""
from __future__ import annotations

import math

import pandas as pd

from .. import plots, stats
from ..page import Section, esc, fmt_num, html_table

CLAIM = ("Threads must be synchronized: a lock protects a critical section such as x = x + 1 in one "
         "thread and x = x - 2 in another.")
FILL = ("for s in none atomic mutex; do corescope run -k critical -m threads -w 2 -p sync=$s "
        "--out {file}; done")


def critical_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Critical-section kernel per (mode, workers, sync variant): median ns per update and lost
    updates over complete runs. Unverified runs are kept (lost updates make the count wrong,
    which is the point of sync=none) and counted in `unverified`."""
    columns = ["mode", "memory_model", "workers", "sync", "ns_per_update", "lost_updates", "runs", "unverified"]
    if "ns_per_update" not in runs and "lost_updates" not in runs:
        return pd.DataFrame(columns=columns)
    frame = runs[(runs["kernel"] == "critical") & (runs["status"] == "ok")].copy()
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame["sync"] = frame["params"].map(lambda p: stats.param_value(p, "sync") or "?")
    for c in ("ns_per_update", "lost_updates"):
        frame[c] = pd.to_numeric(frame[c], errors="coerce") if c in frame else math.nan
    if "memory_model" not in frame:
        frame["memory_model"] = ""
    out = frame.groupby(["mode", "memory_model", "workers", "sync"]).agg(
        ns_per_update=("ns_per_update", "median"), lost_updates=("lost_updates", "median"),
        runs=("status", "size"), unverified=("verified", lambda v: int((v == 0).sum())))
    return out.reset_index()[columns]


def build(ctx) -> Section:
    sec = ctx.section("critical", "Critical sections: locks and lost updates",
                      "All workers update one shared counter. Without synchronisation (sync=none) the "
                      "read-modify-write of x = x + 1 races and updates get lost; atomics, a mutex, "
                      "an OpenMP critical section or a reduction keep the count right at their own cost "
                      "per update. Runs with lost updates fail verification on purpose and are shown "
                      "here, not in the scaling plots.", claim=CLAIM, fill=FILL)
    table = critical_table(ctx.results.runs)
    ctx.figure(sec, "critical.png", "cost per update and lost updates per synchronisation variant",
                plots.critical, table)
    if table.empty:
        return sec
    sec.tables.append(html_table(table, ["mode", "workers", "sync", "ns_per_update", "lost_updates", "runs",
                                         "unverified"],
                                 {"ns_per_update": lambda v: fmt_num(v, 3), "lost_updates": lambda v: fmt_num(v, 6)},
                                 headers={"ns_per_update": "ns/update", "lost_updates": "lost updates"}))
    none = table[table["sync"] == "none"]
    locked = table[table["sync"] != "none"]
    for _, row in none.iterrows():
        sec.findings.append(f"{esc(row['mode'])}, {int(row['workers'])} workers, no lock: "
                            f"{fmt_num(row['lost_updates'], 6)} updates lost.")
    if not locked.empty:
        cheapest = locked.loc[locked["ns_per_update"].idxmin()] if locked["ns_per_update"].notna().any() else None
        dearest = locked.loc[locked["ns_per_update"].idxmax()] if locked["ns_per_update"].notna().any() else None
        if cheapest is not None:
            sec.findings.append(f"Synchronised updates cost from {fmt_num(cheapest['ns_per_update'])} ns "
                                f"({esc(cheapest['sync'])}, {esc(cheapest['mode'])}) to "
                                f"{fmt_num(dearest['ns_per_update'])} ns ({esc(dearest['sync'])}, "
                                f"{esc(dearest['mode'])}); lost updates with any synchronisation: "
                                f"{fmt_num(locked['lost_updates'].fillna(0).sum(), 6)}.")
    # the race needs memory the workers share: one address space, or a rank's threads
    shared = none[none["memory_model"].isin(["shared", "per-rank"])]
    if not shared.empty and not locked.empty:
        lost = (shared["lost_updates"] > 0).any()
        safe = (locked["lost_updates"].fillna(0) == 0).all()
        sec.verdict = "supported" if (lost and safe) else "mixed" if (lost or safe) else "contradicted"
    else:
        sec.verdict = "measured"
    return sec
