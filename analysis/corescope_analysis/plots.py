"""PNG figures of a corescope study (matplotlib, Agg backend). No file reading, no statistics:
each function draws tables made by stats.py into one PNG and returns its path, or raises
Skip with the reason when the table has nothing to draw."""
from __future__ import annotations

import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
from matplotlib.patches import Rectangle  # noqa: E402
from matplotlib.ticker import FuncFormatter, NullFormatter  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from . import stats  # noqa: E402

MIB = float(1 << 20)
DPI = 110
# Colours of the modes corescope had when these figures were designed; any other mode gets the
# next colour of EXTRA_COLOURS (then of a generated hue) the first time it is drawn.
MODE_COLOURS = {"serial": "#222222", "threads": "#1f77b4", "gil": "#d62728", "openmp": "#2ca02c",
                "mpi": "#9467bd", "hybrid": "#8c564b", "processes": "#ff7f0e"}
EXTRA_COLOURS = ["#17becf", "#e377c2", "#bcbd22", "#9edae5", "#393b79", "#8c6d31", "#843c39", "#637939"]
_assigned: dict = {}
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
LINESTYLES = ["-", "--", "-.", ":"]


class Skip(Exception):
    """The figure has no data in this file; the message says which."""


def mode_colour(mode: str) -> str:
    """The mode's colour: fixed for the known modes, assigned on first use for any other."""
    if mode in MODE_COLOURS:
        return MODE_COLOURS[mode]
    if mode not in _assigned:
        k = len(_assigned)
        if k < len(EXTRA_COLOURS):
            _assigned[mode] = EXTRA_COLOURS[k]
        else:  # golden-ratio steps around the hue circle never repeat a hue
            _assigned[mode] = matplotlib.colors.to_hex(
                matplotlib.colors.hsv_to_rgb(((k * 0.618034) % 1.0, 0.65, 0.75)))
    return _assigned[mode]


def _style_cycle(frame: pd.DataFrame):
    """(series id, label, colour, marker, linestyle) per series; same mode = same colour, and
    every series its own marker and line style, so that lines on top of each other stay
    distinguishable."""
    out = []
    for k, (series, group) in enumerate(frame.groupby("series", sort=False)):
        first = group.iloc[0]
        out.append((series, first["series_label"], mode_colour(first["mode"]),
                    MARKERS[k % len(MARKERS)], LINESTYLES[k % len(LINESTYLES)]))
    return out


def _offsets(count: int, step: float = 0.035) -> list:
    """Multiplicative x offsets on a log2 worker axis, so that series with equal values side by
    side do not hide each other (centred on 1)."""
    return [2.0 ** ((k - (count - 1) / 2.0) * step) for k in range(count)]


def _implausible_mask(g: pd.DataFrame) -> np.ndarray:
    if "implausible" not in g:
        return np.zeros(len(g), dtype=bool)
    return (g["implausible"].fillna("") != "").to_numpy()


def _interval_series(ax, g: pd.DataFrame, column: str, colour, marker, ls, label, shift=1.0):
    """One series with its 95 % interval as error bars (columns column_lo/column_hi); points
    labelled implausible are drawn apart as red crosses, not as results. Returns True if it
    drew an implausible point."""
    g = g.sort_values("workers")
    bad = _implausible_mask(g)
    x = g["workers"].to_numpy(dtype=float) * shift
    y = g[column].to_numpy(dtype=float)
    lo = g[column + "_lo"].to_numpy(dtype=float) if column + "_lo" in g else np.full(len(g), np.nan)
    hi = g[column + "_hi"].to_numpy(dtype=float) if column + "_hi" in g else np.full(len(g), np.nan)
    good = ~bad
    xs, ys = list(x[good]), list(y[good])
    if xs and g["workers"].min() > 1:   # relative to a 1-worker run all the same
        xs.insert(0, shift)
        ys.insert(0, 1.0)
    ax.plot(xs, ys, marker=marker, ls=ls, color=colour, label=label, markerfacecolor="white")
    have = good & np.isfinite(lo) & np.isfinite(hi)
    if have.any():
        ax.errorbar(x[have], y[have], yerr=[np.clip(y[have] - lo[have], 0, None), np.clip(hi[have] - y[have], 0, None)],
                    fmt="none", ecolor=colour, elinewidth=1, capsize=3, alpha=0.8)
    if bad.any():
        ax.plot(x[bad], y[bad], ls="none", marker="x", ms=9, mew=2, color="#cc0000")
    return bool(bad.any())


def _save(fig, path: str) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI, bbox_inches="tight")   # nothing outside the axes is cut off
    plt.close(fig)
    return path


def _plain(value, _pos=None) -> str:
    """Tick label without powers: 0.25, 1, 16, 1000."""
    return f"{value:g}"


def _plain_log_axis(axis):
    axis.set_major_formatter(FuncFormatter(_plain))
    axis.set_minor_formatter(NullFormatter())


def _bytes_label(value, _pos=None) -> str:
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if value >= factor:
            return f"{value / factor:g} {unit}"
    return f"{value:g} B"


def _worker_axis(ax, workers):
    ticks = sorted({int(w) for w in workers} | {1})
    ax.set_xscale("log", base=2)
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(t) for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("workers p (threads, processes or ranks)")


def _cores_line(ax, cores, workers):
    if cores and cores > 0 and max(workers) > cores:
        ax.axvline(cores, color="#999999", lw=1, ls=":")
        ax.annotate(f"{cores} cores", (cores, ax.get_ylim()[1]), textcoords="offset points",
                    xytext=(3, -12), fontsize=8, color="#666666")


def scaling_rows(summary: pd.DataFrame, kernel: str) -> pd.DataFrame:
    """Ok rows of the kernel's series that reach more than one worker with a known speedup
    (a hybrid series such as 2 threads/rank has its 1-worker baseline in the 1x1 series)."""
    twin = pd.to_numeric(summary["twin"], errors="coerce").fillna(0) == 1 if "twin" in summary else False
    frame = summary[(summary["kernel"] == kernel) & (summary["status"] == "ok")
                    & stats.finite(summary["speedup"]) & ~twin]
    multi = frame[frame["workers"] > 1].groupby("series").size()
    return frame[frame["series"].isin(multi.index)]


def speedup(summary: pd.DataFrame, fits: pd.DataFrame, kernel: str, path: str, cores=None) -> str:
    """Speedup vs workers per series with the ideal line and, dotted, each Amdahl fit."""
    frame = scaling_rows(summary, kernel)
    if frame.empty:
        raise Skip(f"no {kernel} series with two or more worker counts")
    fig, ax = plt.subplots(figsize=(7, 4.6))
    p_all = frame["workers"].to_numpy(dtype=float)
    grid = np.linspace(1, p_all.max(), 100)
    ax.plot(grid, grid, color="#bbbbbb", lw=1.5, label="ideal (S = p)")
    styles = _style_cycle(frame)
    any_bad = False
    for (series, label, colour, marker, ls), shift in zip(styles, _offsets(len(styles))):
        any_bad |= _interval_series(ax, frame[frame["series"] == series], "speedup", colour, marker, ls, label, shift)
        fit = fits[fits["series"] == series]
        if not fit.empty and is_finite(fit["serial_fraction"].iloc[0]):
            f = fit["serial_fraction"].iloc[0]
            ax.plot(grid, stats.amdahl_speedup(f, grid), ls=":", lw=1, color=colour)
    _worker_axis(ax, p_all)
    ax.set_yscale("log", base=2)
    _plain_log_axis(ax.yaxis)
    weak = (frame["scaling"] == "weak").any()
    ax.set_ylabel("speedup T(1)/T(p)" + ("  (weak: p·T(1)/T(p))" if weak else ""))
    ax.set_title(f"{kernel}: speedup vs workers (dotted: Amdahl fit)")
    ax.grid(True, which="major", alpha=0.3)
    _cores_line(ax, cores, p_all)
    _implausible_legend(ax, any_bad)
    ax.legend(fontsize=8, loc="upper left", ncol=2 if frame["series"].nunique() > 6 else 1)
    return _save(fig, path)


def _implausible_legend(ax, any_bad: bool) -> None:
    if any_bad:
        ax.plot([], [], ls="none", marker="x", ms=9, mew=2, color="#cc0000",
                label="implausible (not a result; see the top of the page)")


def efficiency(summary: pd.DataFrame, kernel: str, path: str, cores=None) -> str:
    """Parallel efficiency vs workers per series, with the ideal 1."""
    frame = scaling_rows(summary, kernel)
    if frame.empty:
        raise Skip(f"no {kernel} series with two or more worker counts")
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.axhline(1.0, color="#bbbbbb", lw=1.5, label="ideal")
    styles = _style_cycle(frame)
    any_bad = False
    for (series, label, colour, marker, ls), shift in zip(styles, _offsets(len(styles))):
        any_bad |= _interval_series(ax, frame[frame["series"] == series], "efficiency", colour, marker, ls, label,
                                    shift)
    _worker_axis(ax, frame["workers"])
    highest = frame["efficiency_hi"] if "efficiency_hi" in frame else frame["efficiency"]
    top = max(1.1, float(np.nanmax(np.fmax(frame["efficiency"].to_numpy(dtype=float),
                                            highest.to_numpy(dtype=float)))) * 1.1)
    ax.set_ylim(0, top)
    weak = (frame["scaling"] == "weak").any()
    ax.set_ylabel("efficiency S/p" + ("  (weak: T(1)/T(p))" if weak else ""))
    ax.set_title(f"{kernel}: parallel efficiency")
    ax.grid(True, alpha=0.3)
    _cores_line(ax, cores, frame["workers"].to_numpy(dtype=float))
    _implausible_legend(ax, any_bad)
    ax.legend(fontsize=8, loc="lower left", ncol=2 if frame["series"].nunique() > 6 else 1)
    return _save(fig, path)


def breakdown(summary: pd.DataFrame, kernel: str, path: str) -> str:
    """Stacked bars of the median time per repetition split into compute, communication or
    synchronisation, GIL wait and the rest (idle at barriers, imbalance)."""
    frame = scaling_rows(summary, kernel)
    if frame.empty:
        raise Skip(f"no {kernel} series with two or more worker counts")
    frame = frame.sort_values(["series", "workers"])
    parts = frame[["compute_s", "comm_s", "gil_wait_s"]].fillna(0.0).clip(lower=0)
    if (parts.sum(axis=1) <= 0).all():
        raise Skip(f"{kernel}: the samples do not split the time into compute, communication and GIL wait")
    other = (frame["median_s"] - parts.sum(axis=1)).clip(lower=0)
    labels = [f"{lab}\np={int(w)}" for lab, w in zip(frame["series_label"], frame["workers"])]
    x = np.arange(len(frame))
    fig, ax = plt.subplots(figsize=(max(7.5, 0.45 * len(frame) + 3.5), 4.8))
    bottom = np.zeros(len(frame))
    for values, name, colour in ((parts["compute_s"], "compute", "#4c72b0"),
                                 (parts["comm_s"], "communication / sync", "#dd8452"),
                                 (parts["gil_wait_s"], "GIL wait", "#c44e52"),
                                 (other, "other (idle, imbalance)", "#cccccc")):
        v = values.to_numpy(dtype=float)
        ax.bar(x, v, bottom=bottom, color=colour, label=name, width=0.8)
        bottom += v
    ax.set_xticks(x)
    ax.set_xticklabels(labels, rotation=70, fontsize=7, ha="right", rotation_mode="anchor")
    ax.set_ylabel("time per repetition (s), worker mean")
    ax.set_title(f"{kernel}: where the time goes")
    ax.set_xlim(-0.6, len(frame) - 0.4)
    ax.set_ylim(0, float(np.nanmax(bottom)) * 1.08 if np.nanmax(bottom) > 0 else 1.0)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    ax.grid(True, axis="y", alpha=0.3)
    return _save(fig, path)


def memory(summary: pd.DataFrame, kernel: str, path: str) -> str:
    """Memory per worker and total footprint vs workers, per series."""
    frame = summary[(summary["kernel"] == kernel) & (summary["status"] == "ok")
                    & stats.finite(summary["footprint_bytes"])]
    counts = frame.groupby("series")["workers"].nunique()
    frame = frame[frame["series"].isin(counts[counts >= 2].index)]
    if frame.empty:
        raise Skip(f"no {kernel} series with memory data at two or more worker counts")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.2))
    styles = _style_cycle(frame)
    for (series, label, colour, marker, ls), shift in zip(styles, _offsets(len(styles), 0.06)):
        g = frame[frame["series"] == series].sort_values("workers")
        x = g["workers"].to_numpy(dtype=float) * shift   # side by side where the values agree
        style = dict(marker=marker, ls=ls, color=colour, label=label, markerfacecolor="white", mew=1.5, alpha=0.9)
        ax1.plot(x, g["per_worker_bytes"] / MIB, **style)
        ax2.plot(x, g["footprint_bytes"] / MIB, **style)
    for ax, title in ((ax1, "memory per worker"), (ax2, "total footprint of the team")):
        _worker_axis(ax, frame["workers"])
        ax.set_ylabel("MiB (PSS where measured, else peak RSS)")
        ax.set_title(f"{kernel}: {title}")
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
    ax2.legend(fontsize=8)
    return _save(fig, path)


def isolation(matrix: pd.DataFrame, path: str) -> str:
    """Grid mode x fault, coloured by the share of other workers that finished unharmed."""
    if matrix.empty:
        raise Skip("the file has no /isolation group")
    modes = list(dict.fromkeys(matrix["mode"]))
    faults = list(dict.fromkeys(matrix["fault"]))
    grid = np.full((len(modes), len(faults)), np.nan)
    fig, ax = plt.subplots(figsize=(1.5 * len(faults) + 2.5, 0.9 * len(modes) + 1.8))
    for _, row in matrix.iterrows():
        i, j = modes.index(row["mode"]), faults.index(row["fault"])
        # a leak that shows up in the other workers' memory counts as half harmed
        grid[i, j] = row["unharmed_frac"] * (0.5 if row["leak_shared"] else 1.0)
    cmap = matplotlib.colormaps["RdYlGn"]
    image = ax.imshow(grid, cmap=cmap, vmin=0, vmax=1, aspect="auto")
    for _, row in matrix.iterrows():
        i, j = modes.index(row["mode"]), faults.index(row["fault"])
        lines = [f"{row['unharmed_frac'] * 100:.0f}% ok"]
        if row["corrupted"] > 0:
            lines.append(f"{int(row['corrupted'])} corrupted")
        if row["hung"] > 0:
            lines.append("hung")
        if row["killed"] > 0:
            lines.append(f"{int(row['killed'])} killed")
        if row["leak_shared"]:
            lines.append(f"leak shared: +{row['others_growth_bytes'] / MIB:.0f} MiB")
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="//",
                                   edgecolor="white", lw=0))
        ax.text(j, i, "\n".join(lines), ha="center", va="center", fontsize=8,
                bbox=dict(boxstyle="round,pad=0.25", facecolor="white", alpha=0.85, lw=0))
    ax.set_xticks(range(len(faults)))
    ax.set_xticklabels(faults)
    ax.set_yticks(range(len(modes)))
    ax.set_yticklabels(modes)
    ax.set_xlabel("fault injected into one worker (the victim)")
    ax.set_ylabel("mode")
    ax.set_title("Isolation: did the other workers finish unharmed?")
    bar = fig.colorbar(image, ax=ax, fraction=0.04)
    bar.set_label("other workers unharmed (fraction; shared leak = half)")
    return _save(fig, path)


def gil(comparison: pd.DataFrame, path: str) -> str:
    """Speedup of a CPU-bound and an I/O-bound kernel under gil and threads modes."""
    if comparison.empty or comparison["mode"].nunique() == 0 or "gil" not in set(comparison["mode"]):
        raise Skip("no gil-mode series of ep (CPU-bound) or iowait (I/O-bound)")
    fig, ax = plt.subplots(figsize=(7, 4.6))
    p_max = float(comparison["workers"].max())
    grid = np.linspace(1, p_max, 100)
    ax.plot(grid, grid, color="#bbbbbb", lw=1.5, label="ideal (S = p)")
    for (kernel, mode), g in comparison.groupby(["kernel", "mode"], sort=False):
        g = g.sort_values("workers")
        bound = g["bound"].iloc[0]
        ax.plot(g["workers"], g["speedup"], color=mode_colour(mode),
                ls="-" if bound == "CPU-bound" else "--", marker="o" if bound == "CPU-bound" else "s",
                label=f"{bound} ({kernel}), {mode}")
    _worker_axis(ax, comparison["workers"])
    ax.set_ylabel("speedup T(1)/T(p)")
    ax.set_ylim(bottom=0)
    ax.set_title("GIL: CPU-bound vs I/O-bound threads")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return _save(fig, path)


def convoy(table: pd.DataFrame, path: str) -> str:
    """I/O latency of the convoy kernel vs GIL switch interval; threads mode as reference."""
    if table.empty:
        raise Skip("no convoy runs in this file")
    gil_rows = table[(table["mode"] == "gil") & stats.finite(table["switch_interval_s"])]
    if gil_rows.empty:
        raise Skip("no convoy runs in gil mode in this file")
    fig, ax = plt.subplots(figsize=(7, 4.4))
    for k, (workers, g) in enumerate(gil_rows.groupby("workers")):
        g = g.sort_values("switch_interval_s")
        x = g["switch_interval_s"] * 1e3
        ax.plot(x, g["io_latency_median_s"] * 1e6, marker="o", color=mode_colour("gil"),
                ls=LINESTYLES[k % 4], label=f"gil, {int(workers)} workers: median")
        if g["io_latency_p99_s"].notna().any():
            ax.plot(x, g["io_latency_p99_s"] * 1e6, marker="^", color=mode_colour("gil"), alpha=0.5,
                    ls=LINESTYLES[k % 4], label=f"gil, {int(workers)} workers: p99")
    for _, row in table[table["mode"] != "gil"].iterrows():
        ax.axhline(row["io_latency_median_s"] * 1e6, color=mode_colour(row["mode"]), ls=":",
                   label=f"{row['mode']}, {int(row['workers'])} workers (no GIL): median")
    ax.set_xscale("log")
    ax.set_yscale("log")
    _plain_log_axis(ax.xaxis)
    _plain_log_axis(ax.yaxis)
    ax.set_xlabel("GIL switch interval (ms)")
    ax.set_ylabel("I/O latency (µs)")
    ax.set_title("Convoy: an I/O thread waits for the GIL behind a CPU-bound thread")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def pingpong(table: pd.DataFrame, path: str) -> str:
    """Half-round-trip latency and bandwidth vs message size, one line per mode/channel."""
    if table.empty:
        raise Skip("no pingpong runs in this file")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.4))
    for k, (label, g) in enumerate(table.groupby("label", sort=True)):
        g = g.sort_values("size")
        colour = mode_colour(g["mode"].iloc[0])
        style = dict(marker=MARKERS[k % len(MARKERS)], ls=LINESTYLES[k % len(LINESTYLES)], color=colour,
                     label=label)
        ax1.plot(g["size"], g["latency_s"] * 1e6, **style)
        ax2.plot(g["size"], g["bandwidth_bytes_per_s"] / 1e9, **style)
    sizes = sorted(set(table["size"].astype(float)))
    for ax in (ax1, ax2):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(_thin_ticks(sizes))
        ax.tick_params(axis="x", labelrotation=45, labelsize=8)
        ax.xaxis.set_major_formatter(FuncFormatter(_bytes_label))
        ax.xaxis.set_minor_formatter(NullFormatter())
        _plain_log_axis(ax.yaxis)
        ax.set_xlabel("message size")
        ax.grid(True, which="major", alpha=0.3)
    ax1.set_ylabel("latency, half round trip (µs)")
    ax1.set_title("Ping-pong latency")
    ax2.set_ylabel("bandwidth (GB/s)")
    ax2.set_title("Ping-pong bandwidth")
    ax1.legend(fontsize=8)
    return _save(fig, path)


def _thin_ticks(values: list, most: int = 7) -> list:
    """At most `most` of the sorted values, evenly spaced, first and last kept: tick labels that
    do not overlap."""
    index = np.unique(np.round(np.linspace(0, len(values) - 1, min(most, len(values)))).astype(int))
    return [values[i] for i in index]


def speed_over_time(table: pd.DataFrame, path: str, threshold: float = 1.10) -> str:
    """The speed factor of each sample in recording order, one colour per (host, CPU), with the
    slow threshold: where the machine itself was slower."""
    if table.empty or not np.isfinite(table["speed_factor"]).any():
        raise Skip("no speed probes (probe_s) in this file")
    fig, ax = plt.subplots(figsize=(9, 3.6))
    for k, (cpu, g) in enumerate(table.groupby("cpu_label", sort=True)):
        ax.plot(g["order"], g["speed_factor"], ls="none", marker=MARKERS[k % len(MARKERS)], ms=3,
                color=EXTRA_COLOURS[k % len(EXTRA_COLOURS)] if k >= 1 else "#1f77b4", label=cpu, alpha=0.7)
    ax.axhline(threshold, color="#cc0000", ls="--", lw=1, label=f"slow above {threshold:g}")
    ax.axhline(1.0, color="#999999", lw=1)
    ax.set_xlabel("sample, in recording order")
    ax.set_ylabel("speed factor (probe / fastest probe of that CPU)")
    ax.set_title("Speed of each CPU over the study (1 = as fast as it ever was)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return _save(fig, path)


def critical(table: pd.DataFrame, path: str) -> str:
    """Cost per protected update and lost updates per synchronisation variant and mode
    (at each mode's largest worker count)."""
    if table.empty:
        raise Skip("no critical-kernel runs in this file")
    top = table.loc[table.groupby("mode")["workers"].transform("max") == table["workers"]]
    variants = list(dict.fromkeys(v for v in ("none", "atomic", "mutex", "critical", "reduce")
                                  if v in set(top["sync"]))) + \
        sorted(set(top["sync"]) - {"none", "atomic", "mutex", "critical", "reduce"})
    modes = list(dict.fromkeys(top["mode"]))
    width = 0.8 / max(1, len(modes))
    x = np.arange(len(variants))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.4))
    for k, mode in enumerate(modes):
        g = top[top["mode"] == mode].set_index("sync").reindex(variants)
        workers = int(top[top["mode"] == mode]["workers"].iloc[0])
        offset = (k - (len(modes) - 1) / 2) * width
        ax1.bar(x + offset, g["ns_per_update"], width, color=mode_colour(mode), label=f"{mode} (p={workers})")
        lost = g["lost_updates"].fillna(0)
        ax2.bar(x + offset, lost, width, color=mode_colour(mode), label=f"{mode} (p={workers})")
        for xi, value in zip(x + offset, lost):
            ax2.annotate(f"{value:.0f}", (xi, max(value, 0)), ha="center", va="bottom", fontsize=7)
    for ax in (ax1, ax2):
        ax.set_xticks(x)
        ax.set_xticklabels(variants)
        ax.set_xlabel("synchronisation of the shared counter (params sync)")
        ax.grid(True, axis="y", alpha=0.3)
    if np.nanmax(top["ns_per_update"].to_numpy(dtype=float), initial=0) > 0:
        ax1.set_yscale("log")
    ax1.set_ylabel("cost per update (ns)")
    ax1.set_title("Critical section: cost of each update")
    ax2.set_ylabel("lost updates (count)")
    ax2.set_title("Critical section: updates lost")
    ax1.legend(fontsize=8)
    return _save(fig, path)


def close_all() -> None:
    plt.close("all")


def safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text) or "unnamed"


def kernel_plot_path(directory: str, kind: str, kernel: str) -> str:
    return os.path.join(directory, f"{kind}_{safe_name(kernel)}.png")


def is_finite(value) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
