"""IPC: processes talk through a file, shared memory or a pipe (ping-pong latency and bandwidth)."""
from __future__ import annotations

import pandas as pd

from .. import plots, stats
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
    frame["label"] = [f"{m} / {c}" if c else m for m, c in zip(frame["mode"], frame["channel"])]
    frame = frame.groupby(["mode", "memory_model", "channel", "label", "size"], as_index=False)["latency_s"].median()
    frame["bandwidth_bytes_per_s"] = frame["size"] / frame["latency_s"]
    return frame.sort_values(["label", "size"]).reset_index(drop=True)[columns]


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
    # the claim is about processes: channels measured between workers with private memory
    channels = set(table.loc[table["memory_model"] == "private", "channel"])
    wanted = {"file", "shm", "pipe"}
    sec.verdict = "supported" if wanted <= channels else "mixed" if channels & wanted else "measured"
    if wanted - channels:
        sec.findings.append("Not measured between processes: " + ", ".join(sorted(wanted - channels)) + ".")
    return sec
