"""The top of the page: the answer (per kernel, the fastest mode at each worker count), the
implausible findings, and what was skipped with the command that fills it."""
from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd

from . import noise, stats
from .intervals import classify, fmt_interval
from .page import esc, fmt_pct, fmt_time, fmt_x, html_table

ONE_CPU_PINS = ("one",)


def answer_table(summary: pd.DataFrame, kernels: list, floor: float = math.nan) -> pd.DataFrame:
    """Per kernel and worker count, among the ok, plausible, strong-scaling cells that were not
    pinned to one CPU: the fastest (lowest median time) with its speedup against serial (else
    against its own 1-worker cell) and interval, and the runner-up with the ratio of their
    times; 'outcome' of that ratio in compare's words (intervals.classify)."""
    columns = ["kernel", "workers", "fastest", "median_s", "median_norm_s", "speedup", "speedup_lo", "speedup_hi",
               "against", "n", "runner_up", "ratio", "ratio_lo", "ratio_hi", "outcome"]
    rows = []
    ok = summary[(summary["status"] == "ok") & stats.finite(summary["median_s"]) & stats.plausible(summary)
                 & (summary["scaling"] == "strong")
                 & ~summary["pin"].astype(str).str.strip().str.lower().isin(ONE_CPU_PINS)]
    for kernel in kernels:
        frame = ok[ok["kernel"] == kernel]
        for workers, g in frame.groupby("workers"):
            g = g.sort_values("median_s")
            best = g.iloc[0]
            vs_serial = np.isfinite(best.get("speedup_vs_serial", math.nan))
            column = "speedup_vs_serial" if vs_serial else "speedup"
            row = {"kernel": kernel, "workers": int(workers), "fastest": best["series_label"],
                   "median_s": best["median_s"], "median_norm_s": best.get("median_norm_s", math.nan),
                   "speedup": best[column], "speedup_lo": best[column + "_lo"], "speedup_hi": best[column + "_hi"],
                   "against": "serial" if vs_serial else "own 1 worker", "n": int(best["n"]),
                   "runner_up": "", "ratio": math.nan, "ratio_lo": math.nan, "ratio_hi": math.nan, "outcome": ""}
            if len(g) > 1:
                second = g.iloc[1]
                _, r, _, _ = noise.state_ratio(best, second)
                row.update(runner_up=second["series_label"], ratio=r.point, ratio_lo=r.lo, ratio_hi=r.hi,
                           outcome=classify(r, floor))
            rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def _next_text(label, ratio, lo, hi, outcome) -> str:
    if not label:
        return "–"
    tied = outcome in ("no difference", "inconclusive")
    return f"{label}: {ratio:.2f}× the time ({fmt_interval(lo, hi, 3, '×')})" + (f" — {outcome}" if tied else "")


def render_answer(table: pd.DataFrame) -> str:
    if table.empty:
        return ('<h2 id="answer">The answer: the fastest mode per kernel</h2>'
                "<p>No kernel has ok runs to compare modes with in this file.</p>")
    frame = table.assign(
        speedup_text=[f"{fmt_x(s)} ({fmt_interval(lo, hi, 3, '×')}) vs {a}" for s, lo, hi, a in
                      zip(table["speedup"], table["speedup_lo"], table["speedup_hi"], table["against"])],
        next_text=[_next_text(*values) for values in zip(table["runner_up"], table["ratio"], table["ratio_lo"],
                                                          table["ratio_hi"], table["outcome"])])
    columns = ["kernel", "workers", "fastest", "median_s", "median_norm_s", "speedup_text", "n", "next_text"]
    if not stats.finite(table["median_norm_s"]).any():   # no speed probes in this file
        columns.remove("median_norm_s")
    return ('<h2 id="answer">The answer: the fastest mode per kernel</h2>'
            "<p>Per kernel and worker count, the mode with the lowest median time (strong scaling, "
            "ok and plausible cells, not pinned to one CPU), its speedup with the 95 % interval "
            "(bootstrap over runs and repetitions, in one machine state where both cells met one, holding the "
            "run-to-run band) and the next fastest mode, its time over the fastest's taken the same way. "
            "Speed-normalised time divides "
            "each repetition by its CPU's speed factor; raw time is the result.</p>"
            + html_table(frame, columns,
                         {"median_s": fmt_time, "median_norm_s": fmt_time},
                         headers={"median_s": "median time", "median_norm_s": "speed-normalised",
                                  "speedup_text": "speedup (95 % interval)", "n": "n",
                                  "next_text": "next fastest (its time / the fastest's)"}))


def implausible_rows(summary: pd.DataFrame) -> pd.DataFrame:
    if "implausible" not in summary:
        return summary.iloc[0:0]
    return summary[summary["implausible"].fillna("") != ""]


def _baseline_text(summary: pd.DataFrame, position, what: str) -> str:
    if position is None or position < 0:
        return ""
    b = summary.loc[int(position)]
    parts = [f"{what}: {esc(b['series_label'])}, {int(b['workers'])} worker(s), {fmt_time(b['median_s'])}",
             f"n {int(b['n'])}"]
    if np.isfinite(b.get("cv", math.nan)):
        parts.append(f"CV {b['cv']:.2f}")
    if np.isfinite(b.get("disturbed_share", math.nan)):
        parts.append(f"{fmt_pct(b['disturbed_share'])} of samples disturbed")
    if np.isfinite(b.get("speed_factor", math.nan)):
        parts.append(f"speed factor {b['speed_factor']:.2f}")
    return ", ".join(parts)


def suspect_baseline(summary: pd.DataFrame, row) -> str:
    """Which baseline of an implausible speedup was disturbed: the own 1-worker cell when it is
    more than 10 % slower than serial (or the reverse), else whichever has disturbed samples, a
    slow CPU or a high CV."""
    own, serial = int(row.get("base_row", -1)), int(row.get("serial_row", -1))
    if own >= 0 and serial >= 0 and own != serial:
        t_own, t_serial = summary.loc[own, "median_s"], summary.loc[serial, "median_s"]
        if t_own > 1.1 * t_serial:
            return (f"the {esc(summary.loc[own, 'series_label'])} 1-worker baseline took {fmt_time(t_own)}, "
                    f"{t_own / t_serial:.2f}× the serial run's {fmt_time(t_serial)}: it ran during a slow period")
        if t_serial > 1.1 * t_own:
            return (f"the serial baseline took {fmt_time(t_serial)}, {t_serial / t_own:.2f}× the "
                    f"{esc(summary.loc[own, 'series_label'])} 1-worker run's {fmt_time(t_own)}: it ran during a "
                    "slow period")
    for position, what in ((own, "own 1-worker"), (serial, "serial")):
        if position < 0:
            continue
        b = summary.loc[position]
        if b.get("disturbed_share", 0) > 0 or b.get("speed_factor", 1) > 1.1 or b.get("cv", 0) > 0.1:
            return f"the {what} baseline shows disturbance ({_baseline_text(summary, position, 'baseline')})"
    return "no baseline shows a disturbance in the records; the parallel cell itself may have been unusually fast"


def render_implausible(summary: pd.DataFrame, outdir: str) -> str:
    bad = implausible_rows(summary)
    if bad.empty:
        return ""
    parts = ['<div class="alarm" id="implausible"><h2>Implausible findings (kept out of fits and verdicts)</h2>',
             "<p>These cells report more than the machine can deliver: a speedup above the CPUs the cell had, "
             "or a CPU-bound kernel whose efficiency interval lies above 1 + 5 %. They come from a disturbed "
             "baseline, not from the code.</p>"]
    for kernel, g in bad.groupby("kernel", sort=False):
        items = []
        for _, row in g.iterrows():
            items.append(
                f"<li><b>{esc(kernel)} {esc(row['series_label'])}, {int(row['workers'])} workers</b>: "
                f"{esc(row['implausible'])}; speedup interval "
                f"{fmt_interval(row['speedup_lo'], row['speedup_hi'], 3, '×')}"
                f" (n {int(row['n'])} against {int(row['n_base'])}). Baselines: "
                f"{_baseline_text(summary, row.get('base_row', -1), 'own 1-worker') or 'none'}"
                f"; {_baseline_text(summary, row.get('serial_row', -1), 'serial') or 'no serial'}. "
                f"Cause: {suspect_baseline(summary, row)}.</li>")
        name = f"speedup_{''.join(c if c.isalnum() or c in '-_' else '_' for c in kernel)}.png"
        figure = (f'<img class="side" src="{esc(name)}" alt="{esc(kernel)}: speedup (implausible points as red '
                  'crosses)">' if os.path.isfile(os.path.join(outdir, name)) else "")
        parts.append(f'<div class="pair">{figure}<ul>{"".join(items)}</ul></div>')
    parts.append("</div>")
    return "\n".join(parts)


def render_skipped(sections: list, skipped_figures: list, fill_of_figure: dict) -> str:
    """Sections without data and figures not drawn, each with the corescope command that fills it."""
    items = []
    for sec in sections:
        if not sec.has_data:
            items.append(f'<li><a href="#{esc(sec.key)}">{esc(sec.title)}</a>: <code>{esc(sec.fill)}</code></li>')
    drew = {sec.key for sec in sections if sec.figures}
    for name, why in skipped_figures:
        command, key = fill_of_figure.get(name, ("", ""))
        if command and key not in drew:   # a section that drew none of its figures
            items.append(f"<li>figure {esc(name)} ({esc(why)}): <code>{esc(command)}</code></li>")
    if not items:
        return '<h2 id="skipped">Skipped</h2><p>Nothing: every section and figure has data.</p>'
    return ('<h2 id="skipped">Skipped</h2><p>Not in this file, and the command that records it:</p><ul>'
            + "".join(items) + "</ul>")
