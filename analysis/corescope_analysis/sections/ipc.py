"""IPC: processes talk through a file, shared memory or a pipe (ping-pong latency and bandwidth)."""
from __future__ import annotations

import pandas as pd

from .. import plots, stats
from ..intervals import fmt_interval, ratio_ci
from ..page import Section, esc, fmt_time

CLAIM = "Processes communicate through a file on the disk, shared memory or a message pipe."
FILL = ("for c in file shm pipe; do corescope run -k pingpong -m processes -w 2 --channel $c "
        "--size 8:64K --out {file}; done")


def pingpong_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Ping-pong latency (half round trip) and bandwidth per (mode, channel, message size)."""
    columns = ["mode", "memory_model", "channel", "label", "size", "latency_s", "bandwidth_bytes_per_s"]
    if "latency_s" not in summary:
        return pd.DataFrame(columns=columns)
    frame = summary[(summary["kernel"] == "pingpong") & (summary["status"] == "ok")
                    & stats.finite(summary["latency_s"]) & (summary["latency_s"] > 0) & (summary["size"] > 0)].copy()
    if frame.empty:
        return pd.DataFrame(columns=columns)
    if "memory_model" not in frame:
        frame["memory_model"] = ""
    nodes = frame["nodes"] if "nodes" in frame else pd.Series(1, index=frame.index)
    frame["label"] = [(f"{m} / {c}" if c else m) + placement(n, nodes.max())
                      for m, c, n in zip(frame["mode"], frame["channel"], nodes)]
    frame = frame.groupby(["mode", "memory_model", "channel", "label", "size"], as_index=False)["latency_s"].median()
    frame["bandwidth_bytes_per_s"] = frame["size"] / frame["latency_s"]
    return frame.sort_values(["label", "size"]).reset_index(drop=True)[columns]


def placement(nodes, most_nodes) -> str:
    """Label suffix where a file has ping-pong runs on more than one node: the two workers on one
    host (intra-node) or on two (inter-node; with 2 workers, nodes > 1 means they are apart)."""
    if not most_nodes or most_nodes <= 1:
        return ""
    return f", inter-node ({int(nodes)} nodes)" if nodes > 1 else ", intra-node"


def node_ratios(ctx, sec: Section) -> None:
    """Inter-node vs intra-node ping-pong of the same mode and channel: latency at the smallest
    and bandwidth at the largest size both have, as ratios with their 95 % intervals."""
    rows = ctx.ok_rows("pingpong")
    if "latency_s" not in rows or "nodes" not in rows or rows["nodes"].max() <= 1:
        return
    rows = rows[stats.finite(rows["latency_s"]) & (rows["size"] > 0)]
    for (mode, channel), g in rows.groupby(["mode", "channel"]):
        inter, intra = g[g["nodes"] > 1], g[g["nodes"] == 1]
        common = sorted(set(inter["size"]) & set(intra["size"]))
        if not common:
            continue
        for size, what in [(common[0], "latency")] + ([(common[-1], "bandwidth")] if len(common) > 1 else []):
            a, b = inter[inter["size"] == size].iloc[0], intra[intra["size"] == size].iloc[0]
            r = ratio_ci(latency_reps(a), latency_reps(b))
            told = (f"{r.point:.2f}× the latency" if what == "latency" else
                    f"{1 / r.point:.2f}× the bandwidth (latency ratio {r.point:.2f})")
            sec.findings.append(f"{esc(mode)}{' / ' + esc(channel) if channel else ''} between nodes vs on one "
                                f"node at {stats.format_count(size)} B: {told} "
                                f"({fmt_interval(r, digits=3, suffix='×')} for the latency ratio, n {r.n}).")


def latency_reps(row):
    """A ping-pong cell's latency per repetition: its repetition times scaled to its latency."""
    return stats.times_of(row) * (float(row["latency_s"]) / float(row["median_s"]))


def channel_ratios(ctx, sec: Section) -> None:
    """Channel vs channel between processes: each channel's latency at the smallest common size as
    a multiple of shared memory's, with its 95 % interval."""
    rows = ctx.ok_rows("pingpong")
    if "latency_s" not in rows:
        return
    rows = rows[(rows["memory_model"] == "private") & stats.finite(rows["latency_s"]) & (rows["size"] > 0)]
    ref = rows[rows["channel"] == "shm"]
    if ref.empty:
        return
    for channel, g in rows[rows["channel"] != "shm"].groupby("channel"):
        common = sorted(set(g["size"]) & set(ref["size"]))
        if not common:
            continue
        a = g[g["size"] == common[0]].iloc[0]
        b = ref[ref["size"] == common[0]].iloc[0]
        r = ratio_ci(latency_reps(a), latency_reps(b))
        sec.findings.append(f"{esc(a['mode'])} {esc(channel)} vs shm at {stats.format_count(common[0])} B: "
                            f"{r.point:.2f}× the latency ({fmt_interval(r, digits=3, suffix='×')}, n {r.n}).")


def build(ctx) -> Section:
    sec = ctx.section("ipc", "Inter-process communication: files, shared memory, pipes",
                      "Ping-pong between two workers: the half round-trip time of a message of each "
                      "size (latency) and size/latency (bandwidth), for every channel corescope has. "
                      "Each channel that appears here carried verified messages between separate "
                      "processes (or threads, for comparison).", claim=CLAIM, fill=FILL)
    table = pingpong_table(ctx.summary)
    ctx.figure(sec, "pingpong.png", "ping-pong latency and bandwidth vs message size", plots.pingpong, table)
    if table.empty:
        return sec
    for label, g in table.groupby("label"):
        small, large = g.loc[g["size"].idxmin()], g.loc[g["size"].idxmax()]
        sec.findings.append(f"{esc(label)}: {fmt_time(small['latency_s'])} for {int(small['size'])} B, "
                            f"{float(large['bandwidth_bytes_per_s']) / 1e9:.3g} GB/s at "
                            f"{stats.format_count(large['size'])}B.")
    channel_ratios(ctx, sec)
    node_ratios(ctx, sec)
    # the claim is about processes: channels measured between workers with private memory
    channels = set(table.loc[table["memory_model"] == "private", "channel"])
    wanted = {"file", "shm", "pipe"}
    sec.verdict = "supported" if wanted <= channels else "mixed" if channels & wanted else "measured"
    if wanted - channels:
        sec.findings.append("Not measured between processes: " + ", ".join(sorted(wanted - channels)) + ".")
    return sec
