"""Builds the report directory: index.html (one self-contained page, inline CSS, PNGs beside
it), the PNG figures, summary.csv and extrap.jsonl.

Each section tests one claim of the founding notes (docs: /work/shared/founding-notes.txt in
the project history, summarized in CLAIMS below) and states what the data measured, with the
numbers filled in. Sections whose data is absent say so instead of failing.
"""
from __future__ import annotations

import html
import json
import math
import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import plots, stats
from .errors import OutputError
from .io import Results

MIB = float(1 << 20)

# The claims of the founding notes, each tested by one section.
CLAIMS = {
    "scaling": ("Sequential programming is simpler but often slower; computers with multiple "
                "cores can actually run multiple instructions simultaneously."),
    "memory": ("A process has its own memory within its address space; all its threads share "
               "that address space (each thread has its own stack)."),
    "ipc": "Processes communicate through a file on the disk, shared memory or a message pipe.",
    "isolation": ("An error or memory leak in one process will not hurt the execution of "
                  "another process; this is not necessarily the case for threads."),
    "gil": ("The GIL prevents the true benefits of multi-threading for CPU-bound work; threads "
            "can still be used when waiting or doing I/O-bound operations."),
    "switching": ("Under the GIL only one thread runs at a time; to give the illusion of "
                  "multi-tasking, threaded programs must rapidly switch between threads."),
    "critical": ("Threads must be synchronized: a lock protects a critical section such as "
                 "x = x + 1 in one thread and x = x - 2 in another."),
    "farm": "The main program acts as the queen bee and assigns jobs to worker bees.",
    "one_cpu": ("On a computer with only one CPU, concurrency is simply an illusion."),
}

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.7em;margin-bottom:.2em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
blockquote{margin:.6em 0;padding:.4em 1em;background:#f5f7fa;border-left:4px solid #8aa;font-style:italic}
table{border-collapse:collapse;margin:.6em 0;font-size:.85em}
th,td{border:1px solid #ccc;padding:.2em .5em;text-align:right;vertical-align:top}
th{background:#eef}td.t{text-align:left}
tr.flag td{background:#fff4d6}tr.bad td{background:#fde0e0}
img{max-width:100%;border:1px solid #ddd;margin:.5em 0}
.verdict{display:inline-block;padding:.05em .6em;border-radius:.8em;font-size:.85em;font-weight:600}
.supported{background:#d8f0d8;color:#135}.contradicted{background:#f8d0d0;color:#600}
.mixed,.measured{background:#fff0c0;color:#530}.nodata{background:#e4e4e4;color:#444}
.note{background:#f1f1f1;border-left:4px solid #aaa;padding:.3em .8em;margin:.5em 0;font-size:.9em}
.small{font-size:.85em;color:#555}details{margin:1em 0}summary{cursor:pointer;font-weight:600}
"""


# ---------------------------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------------------------

def esc(value) -> str:
    return html.escape(str(value), quote=True)


def fmt_time(seconds) -> str:
    if not plots.is_finite(seconds):
        return "–"
    s = float(seconds)
    if abs(s) < 1e-12:
        return "0 s"
    for unit, factor in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if abs(s) >= factor or unit == "ns":
            return f"{s / factor:.3g} {unit}"
    return f"{s:.3g} s"


def fmt_mib(nbytes) -> str:
    return f"{float(nbytes) / MIB:.1f} MiB" if plots.is_finite(nbytes) else "–"


def fmt_num(value, digits=3) -> str:
    if not plots.is_finite(value):
        return "–"
    return f"{float(value):.{digits}g}"


def fmt_x(value) -> str:
    return f"{float(value):.2f}×" if plots.is_finite(value) else "–"


def fmt_pct(value) -> str:
    return f"{100 * float(value):.0f}%" if plots.is_finite(value) else "–"


def html_table(frame: pd.DataFrame, columns: list, formats: dict | None = None,
               row_class=None, headers: dict | None = None) -> str:
    """A small HTML table; text columns left-aligned, row_class(row) -> CSS class or ''."""
    formats = formats or {}
    headers = headers or {}
    out = ["<table><tr>" + "".join(f"<th>{esc(headers.get(c, c))}</th>" for c in columns) + "</tr>"]
    for _, row in frame.iterrows():
        cls = row_class(row) if row_class else ""
        cells = []
        for c in columns:
            value = row.get(c, "")
            if c in formats:
                text = formats[c](value)
            elif isinstance(value, (float, np.floating)):
                text = fmt_num(value, 4)
            else:
                text = str(value)
            align = ' class="t"' if isinstance(value, str) else ""
            cells.append(f"<td{align}>{esc(text)}</td>")
        out.append(f'<tr class="{cls}">' + "".join(cells) + "</tr>" if cls else "<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def flag_class(row) -> str:
    if row.get("status", "ok") != "ok":
        return "bad"
    return "flag" if row.get("flags") else ""


# ---------------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------------

@dataclass
class Section:
    key: str
    title: str
    explanation: str
    verdict: str = "no data"     # supported | contradicted | mixed | measured | no data
    findings: list = field(default_factory=list)   # HTML snippets (already escaped)
    figures: list = field(default_factory=list)    # (file name, caption)
    skipped: list = field(default_factory=list)    # plain-text notes
    tables: list = field(default_factory=list)     # HTML

    def render(self) -> str:
        claim = CLAIMS.get(self.key)
        parts = [f'<h2 id="{esc(self.key)}">{esc(self.title)} {verdict_badge(self.verdict)}</h2>']
        if claim:
            parts.append(f"<blockquote>Founding notes: {esc(claim)}</blockquote>")
        parts.append(f"<p>{self.explanation}</p>")
        if self.findings:
            parts.append("<p><b>Measured:</b></p><ul>" + "".join(f"<li>{f}</li>" for f in self.findings) + "</ul>")
        for name, caption in self.figures:
            parts.append(f'<figure><img src="{esc(name)}" alt="{esc(caption)}">'
                         f'<figcaption class="small">{esc(caption)}</figcaption></figure>')
        for note in self.skipped:
            parts.append(f'<div class="note">Skipped: {esc(note)}</div>')
        parts.extend(self.tables)
        return "\n".join(parts)


def verdict_badge(verdict: str) -> str:
    cls = verdict.replace(" ", "")
    return f'<span class="verdict {esc(cls)}">{esc(verdict)}</span>'


class ReportBuilder:
    """Collects sections, figures and exports for one results file."""

    def __init__(self, results: Results, outdir: str, cv_threshold: float = stats.CV_THRESHOLD):
        self.results = results
        self.outdir = outdir
        self.cv_threshold = cv_threshold
        self.cores = _as_int(results.attrs.get("cores"))
        self.reps = stats.rep_table(results.samples)
        summary = stats.summarize(results.runs, results.samples, cv_threshold)
        self.fits = stats.scaling_fits(summary)
        self.summary = stats.with_fits(summary, self.fits)
        self.figures: list = []   # paths written
        self.skipped: list = []   # (figure, reason)

    # -- figures ------------------------------------------------------------------------------
    def figure(self, section: Section, name: str, caption: str, draw, *args, **kwargs):
        path = os.path.join(self.outdir, name)
        try:
            draw(*args, path=path, **kwargs)
        except plots.Skip as why:
            section.skipped.append(f"{name}: {why}")
            self.skipped.append((name, str(why)))
            return False
        except Exception as exc:  # noqa: BLE001 - odd data must cost one figure, not the report
            plots.close_all()
            why = f"could not be drawn ({type(exc).__name__}: {exc})"
            section.skipped.append(f"{name}: {why}")
            self.skipped.append((name, why))
            return False
        section.figures.append((name, caption))
        self.figures.append(path)
        return True

    def ok_rows(self, kernel=None, mode=None) -> pd.DataFrame:
        s = self.summary[(self.summary["status"] == "ok") & stats.finite(self.summary["median_s"])]
        if kernel is not None:
            s = s[s["kernel"] == kernel]
        if mode is not None:
            s = s[s["mode"] == mode]
        return s

    def scaling_kernels(self) -> list:
        return [k for k in dict.fromkeys(self.summary["kernel"])
                if not plots.scaling_rows(self.summary, k).empty]

    # -- sections -----------------------------------------------------------------------------
    def section_scaling(self) -> Section:
        sec = Section("scaling", "Scaling: one worker vs many",
                      "Speedup S(p) = T(1)/T(p) of each mode against its own 1-worker run, with "
                      "the ideal S = p; the dotted curves are least-squares Amdahl fits "
                      "T(p) = T1·(f + (1 − f)/p) whose serial fraction f is listed below with the fit's "
                      "R². Efficiency is S/p (strong scaling) or T(1)/T(p) (weak scaling, where "
                      "the problem grows with p). Only ok, verified runs enter.")
        kernels = self.scaling_kernels()
        if not kernels:
            sec.skipped.append("no kernel has ok runs at two or more worker counts")
            return sec
        best_overall = []
        for kernel in kernels:
            self.figure(sec, f"speedup_{plots.safe_name(kernel)}.png", f"{kernel}: speedup vs workers",
                        plots.speedup, self.summary, self.fits, kernel, cores=self.cores)
            self.figure(sec, f"efficiency_{plots.safe_name(kernel)}.png", f"{kernel}: efficiency vs workers",
                        plots.efficiency, self.summary, kernel, cores=self.cores)
            rows = self.ok_rows(kernel)
            rows = rows[(rows["mode"] != "serial") & (rows["workers"] > 1) & stats.finite(rows["speedup_vs_serial"])]
            if not rows.empty:
                best = rows.loc[rows["speedup_vs_serial"].idxmax()]
                best_overall.append(best)
                serial_t = best["serial_s"]
                sec.findings.append(
                    f"<b>{esc(kernel)}</b>: serial run {fmt_time(serial_t)}; fastest parallel "
                    f"{esc(best['series_label'])} with {int(best['workers'])} workers "
                    f"{fmt_time(best['median_s'])} = {fmt_x(best['speedup_vs_serial'])} faster than serial.")
        strong = self.fits[self.fits["scaling"] == "strong"]
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
        weak = self.fits[self.fits["scaling"] == "weak"]
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
        kf = self.ok_rows()
        kf = kf[stats.finite(kf["karp_flatt"])]
        if not kf.empty:
            sec.tables.append("<details><summary>Karp–Flatt serial fraction e(p) per point</summary>" + html_table(
                kf, ["kernel", "series_label", "workers", "median_s", "speedup", "karp_flatt"],
                {"median_s": fmt_time, "speedup": fmt_x, "karp_flatt": lambda v: fmt_num(v, 3)},
                headers={"series_label": "series", "median_s": "median T(p)", "karp_flatt": "e(p)"})
                + '<p class="small">e(p) that grows with p points at overhead that grows with the team '
                  "(communication, synchronisation, contention) rather than a fixed serial part.</p></details>")
        short = self.ok_rows()
        short = short[(short["median_s"] < 1e-3) & (short["workers"] > 1)]
        if len(short):
            sec.findings.append(f"{len(short)} parallel cell(s) took less than 1 ms per repetition; at that "
                                "length thread start-up and synchronisation dominate, so speedups understate "
                                "what larger problems (size M or L) reach.")
        if best_overall:
            top = max(best_overall, key=lambda r: r["speedup_vs_serial"])
            sec.verdict = "supported" if top["speedup_vs_serial"] > 1.5 else "contradicted"
            sec.findings.insert(0, f"Best speedup over the serial run: {fmt_x(top['speedup_vs_serial'])} "
                                   f"({esc(top['kernel'])}, {esc(top['series_label'])}, "
                                   f"{int(top['workers'])} workers)"
                                   + (f" on a machine with {self.cores} cores." if self.cores else "."))
        else:
            sec.verdict = "measured"
            sec.findings.append("No serial-mode runs to compare with; speedups are against each "
                                "mode's own 1-worker run.")
        return sec

    def section_memory(self) -> Section:
        sec = Section("memory", "Memory: own address space vs shared address space",
                      "Memory of the team vs the number of workers. Process-based modes "
                      "(processes, mpi) give every worker an address space of its own: data is not "
                      "shared but split or copied, and every process carries its own runtime. "
                      "Thread-based modes (threads, gil, openmp) live in one address space, so a "
                      "worker adds only its stack and private buffers. Footprint = sum over "
                      "the team's processes of each process's peak (PSS where the OS provides it, "
                      "which splits shared pages fairly, else peak RSS).")
        table = stats.memory_table(self.summary)
        if table.empty:
            sec.skipped.append("no runs with memory data (peak_rss_bytes/pss_bytes or footprint_pss_bytes)")
            return sec
        kernels = [k for k in dict.fromkeys(table["kernel"])]
        preferred = [k for k in ("triad", "stencil", "dgemm", "reduce", "ep") if k in kernels] + \
            [k for k in kernels if k not in ("triad", "stencil", "dgemm", "reduce", "ep")]
        drawn = 0
        for kernel in preferred:
            if drawn >= 3:
                break
            if self.figure(sec, f"memory_{plots.safe_name(kernel)}.png",
                           f"{kernel}: memory per worker and total footprint vs workers",
                           plots.memory, self.summary, kernel):
                drawn += 1
        growth = {}
        for kernel in preferred:
            rows = table[(table["kernel"] == kernel) & (table["scaling"] == "strong")]
            for series, g in rows.groupby("series"):
                if g["workers"].nunique() < 2:
                    continue
                lo, hi = g.loc[g["workers"].idxmin()], g.loc[g["workers"].idxmax()]
                mode = lo["mode"]
                growth.setdefault(mode, (kernel, lo, hi))
            if {"processes", "threads"} <= set(growth) or len(growth) >= 4:
                break
        process_modes = [m for m in ("processes", "mpi") if m in growth]
        thread_modes = [m for m in ("threads", "openmp", "gil") if m in growth]
        for mode in process_modes + thread_modes + [m for m in growth if m not in process_modes + thread_modes]:
            kernel, lo, hi = growth[mode]
            kind = ("processes have their own memory" if mode in process_modes else
                    "threads share one address space" if mode in thread_modes else "mixed")
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
            ranks = self.summary[(self.summary["series"] == hi["series"]) & (self.summary["workers"] == hi["workers"])]
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
            sec.findings.append("Both a process-based and a thread-based mode with two or more worker "
                                "counts are needed to compare them.")
        return sec

    def section_breakdown(self) -> Section:
        sec = Section("switching", "Time breakdown: compute, communication and GIL wait",
                      "Each repetition's time split, as the mean over workers, into computing, "
                      "communicating or synchronising, and waiting for the (emulated) GIL; the grey "
                      "rest is idle time of the faster workers. Under the GIL the waiting grows with "
                      "the number of threads because only the holder computes.")
        kernels = self.scaling_kernels()
        order = [k for k in ("ep", "iowait", "triad") if k in kernels] + \
            [k for k in kernels if k not in ("ep", "iowait", "triad")]
        for kernel in order:
            self.figure(sec, f"breakdown_{plots.safe_name(kernel)}.png",
                        f"{kernel}: time per repetition split by activity", plots.breakdown, self.summary, kernel)
        gil_rows = self.ok_rows(mode="gil")
        gil_rows = gil_rows[stats.finite(gil_rows["gil_wait_s"]) & (gil_rows["workers"] > 1)]
        if not gil_rows.empty:
            for kernel, g in gil_rows.groupby("kernel"):
                top = g.loc[g["workers"].idxmax()]
                share = top["gil_wait_s"] / top["median_s"] if top["median_s"] > 0 else math.nan
                sec.findings.append(f"gil, {esc(kernel)}, {int(top['workers'])} threads, per repetition of "
                                    f"{fmt_time(top['median_s'])}: each thread computed {fmt_time(top['compute_s'])}, "
                                    f"waited {fmt_time(top['gil_wait_s'])} for the GIL ({fmt_pct(share)}) and "
                                    f"{fmt_time(top['comm_s'])} in team operations (barriers, reductions).")
        if "gil_forced_switches" in (self.results.samples.columns if self.results.samples is not None else []):
            samples = self.results.samples
            runs = self.results.runs
            gil_runs = runs.index[runs["mode"] == "gil"]
            forced = samples[samples["run"].isin(gil_runs)]
            if not forced.empty:
                per_rep = forced.groupby(["run", "rep"])["gil_forced_switches"].sum()
                sec.findings.append(f"gil mode forced a median of {fmt_num(per_rep.median(), 3)} thread switches "
                                    "per repetition (the switch interval expiring while another thread waits).")
        if self.ok_rows(mode="gil").empty:
            sec.verdict = "no data"
            sec.findings.append("No gil-mode runs in this file; the figures show compute and "
                                "communication only.")
        elif not sec.findings:
            sec.verdict = "measured" if sec.figures else "no data"
        else:
            gil_ep = gil_rows[gil_rows["kernel"] == "ep"] if not gil_rows.empty else gil_rows
            if not gil_ep.empty:
                top = gil_ep.loc[gil_ep["workers"].idxmax()]
                share = top["gil_wait_s"] / top["median_s"]
                expected = 1 - 1 / top["workers"]
                sec.verdict = "supported" if share > 0.5 * expected else "contradicted"
                sec.findings.append(f"With {int(top['workers'])} CPU-bound threads, one at a time means each waits "
                                    f"≈ {fmt_pct(expected)} of the time; measured {fmt_pct(share)}.")
            else:
                sec.verdict = "measured"
        return sec

    def section_convoy(self, sec: Section) -> None:
        table = stats.convoy_table(self.summary)
        self.figure(sec, "convoy.png", "I/O latency vs GIL switch interval", plots.convoy, table)
        gil_rows = table[(table["mode"] == "gil") & stats.finite(table["switch_interval_s"])]
        if not gil_rows.empty:
            lo = gil_rows.loc[gil_rows["switch_interval_s"].idxmin()]
            hi = gil_rows.loc[gil_rows["switch_interval_s"].idxmax()]
            text = (f"Convoy: with a {fmt_time(lo['switch_interval_s'])} switch interval an I/O operation took "
                    f"{fmt_time(lo['io_latency_median_s'])} (median)")
            if hi["switch_interval_s"] != lo["switch_interval_s"]:
                text += f", with {fmt_time(hi['switch_interval_s'])} {fmt_time(hi['io_latency_median_s'])}"
            ref = table[table["mode"] != "gil"]
            if not ref.empty:
                text += f"; without a GIL ({esc(ref['mode'].iloc[0])}) {fmt_time(ref['io_latency_median_s'].median())}"
            sec.findings.append(text + ".")

    def section_gil(self) -> Section:
        sec = Section("gil", "GIL: CPU-bound vs I/O-bound threads",
                      "The same thread team with and without a CPython-style GIL. ep is CPU-bound "
                      "(all work holds the GIL); iowait spends its time in blocking calls, during which "
                      "the GIL is released. The convoy figure shows what the GIL costs an I/O thread "
                      "that shares the interpreter with a CPU-bound one: it waits up to one switch "
                      "interval for the GIL after every I/O completion.")
        comparison = stats.gil_comparison(self.summary)
        self.figure(sec, "gil.png", "speedup of CPU-bound and I/O-bound threads with and without the GIL",
                    plots.gil, comparison)
        at_max = {}
        for (kernel, mode), g in comparison.groupby(["kernel", "mode"]):
            top = g.loc[g["workers"].idxmax()]
            at_max[kernel, mode] = top
            sec.findings.append(f"{esc(g['bound'].iloc[0])} {esc(kernel)}, {esc(mode)}: speedup "
                                f"{fmt_x(top['speedup'])} with {int(top['workers'])} threads.")
        self.section_convoy(sec)
        cpu, io_ = at_max.get(("ep", "gil")), at_max.get(("iowait", "gil"))
        if cpu is not None and io_ is not None:
            cpu_flat = cpu["speedup"] < 1.25
            io_gains = io_["speedup"] > max(1.5, 0.5 * io_["workers"])
            sec.verdict = "supported" if (cpu_flat and io_gains) else "contradicted" if not (cpu_flat or io_gains) \
                else "mixed"
        elif cpu is not None or io_ is not None:
            sec.verdict = "mixed"
            sec.findings.append("Only one of the CPU-bound (ep) and I/O-bound (iowait) kernels was run in gil mode.")
        elif sec.findings:
            sec.verdict = "no data"
            sec.findings.append("No gil-mode runs in this file (corescope run --mode gil); the numbers "
                                "above are threads without a GIL.")
        return sec

    def section_ipc(self) -> Section:
        sec = Section("ipc", "Inter-process communication: files, shared memory, pipes",
                      "Ping-pong between two workers: the half round-trip time of a message of each "
                      "size (latency) and size/latency (bandwidth), for every channel corescope has. "
                      "Each channel that appears here carried verified messages between separate "
                      "processes (or threads, for comparison).")
        table = stats.pingpong_table(self.summary)
        self.figure(sec, "pingpong.png", "ping-pong latency and bandwidth vs message size", plots.pingpong, table)
        if table.empty:
            return sec
        for label, g in table.groupby("label"):
            small, large = g.loc[g["size"].idxmin()], g.loc[g["size"].idxmax()]
            sec.findings.append(f"{esc(label)}: {fmt_time(small['latency_s'])} for {int(small['size'])} B, "
                                f"{float(large['bandwidth_bytes_per_s']) / 1e9:.3g} GB/s at "
                                f"{stats.format_count(large['size'])}B.")
        channels = set(table.loc[table["mode"] == "processes", "channel"])
        wanted = {"file", "shm", "pipe"}
        sec.verdict = "supported" if wanted <= channels else "mixed" if channels & wanted else "measured"
        if wanted - channels:
            sec.findings.append("Not measured for processes: " + ", ".join(sorted(wanted - channels)) + ".")
        return sec

    def section_isolation(self) -> Section:
        sec = Section("isolation", "Isolation: a fault in one worker",
                      "One worker (the victim) is made to crash, abort, exit, leak memory, write into "
                      "memory it does not own, or hang. Each cell shows the share of the other workers "
                      "that still finished with correct results (green = unharmed), how many were "
                      "corrupted or killed, and — hatched — a leak that showed up in the other "
                      "workers' memory.")
        matrix = stats.isolation_matrix(self.results.isolation)
        self.figure(sec, "isolation.png", "isolation matrix: mode × fault", plots.isolation, matrix)
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
        proc = [m for m in ("processes", "mpi") if m in by_mode.index]
        thr = [m for m in ("threads", "gil", "openmp") if m in by_mode.index]
        if "processes" in by_mode.index and thr:
            p_ok, t_ok = by_mode["processes"], max(by_mode[m] for m in thr)
            sec.verdict = "supported" if p_ok > t_ok else "contradicted"
        elif proc or thr:
            sec.verdict = "measured"
        if "mpi" in by_mode.index and by_mode["mpi"] < 0.999:
            sec.findings.append("Note: under MPI the launcher takes the whole job down when one rank dies, "
                                "although the ranks are separate processes.")
        return sec

    def section_critical(self) -> Section:
        sec = Section("critical", "Critical sections: locks and lost updates",
                      "All workers update one shared counter. Without synchronisation (sync=none) the "
                      "read-modify-write of x = x + 1 races and updates get lost; atomics, a mutex, "
                      "an OpenMP critical section or a reduction keep the count right at their own cost "
                      "per update. Runs with lost updates fail verification on purpose and are shown "
                      "here, not in the scaling plots.")
        table = stats.critical_table(self.results.runs)
        self.figure(sec, "critical.png", "cost per update and lost updates per synchronisation variant",
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
        shared = none[none["mode"].isin(["threads", "openmp", "gil", "hybrid"])]
        if not shared.empty and not locked.empty:
            lost = (shared["lost_updates"] > 0).any()
            safe = (locked["lost_updates"].fillna(0) == 0).all()
            sec.verdict = "supported" if (lost and safe) else "mixed" if (lost or safe) else "contradicted"
        else:
            sec.verdict = "measured"
        return sec

    def section_farm(self) -> Section:
        sec = Section("farm", "Queen bee and worker bees: a task farm",
                      "The farm kernel has a main worker hand out tasks of uneven cost: statically "
                      "(each worker gets a fixed share up front) or dynamically (an idle worker asks "
                      "for the next task). Load imbalance is max/mean of the workers' compute time "
                      "per repetition (1 = perfectly balanced).")
        rows = self.ok_rows("farm")
        if rows.empty:
            sec.skipped.append("no farm runs in this file")
            return sec
        # The scaling section (built first) drew the farm's speedup figure if it had a series.
        if os.path.join(self.outdir, "speedup_farm.png") in self.figures:
            sec.figures.append(("speedup_farm.png", "farm: speedup vs workers (also under Scaling)"))
        rows = rows.assign(variant=rows["params"].map(stats.farm_schedule))
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
        sec.verdict = "measured"
        return sec

    def section_one_cpu(self) -> Section:
        sec = Section("one_cpu", "One CPU: concurrency without parallelism",
                      "Runs pinned to one CPU (the run's pin setting, with every worker reporting "
                      "that CPU), or any run on a machine with one hardware thread, can only "
                      "interleave their workers, so they should gain nothing; runs with more workers "
                      "than cores are oversubscribed and gain at most the number of cores.")
        pus = _as_int(self.results.attrs.get("pus")) or self.cores
        rows = stats.one_cpu_rows(self.summary, single_cpu_machine=pus == 1)
        if not rows.empty:
            sec.tables.append(html_table(rows, ["kernel", "series_label", "workers", "median_s", "speedup",
                                                "speedup_vs_serial"],
                                         {"median_s": fmt_time, "speedup": fmt_x, "speedup_vs_serial": fmt_x},
                                         headers={"series_label": "series", "median_s": "median time",
                                                  "speedup_vs_serial": "vs serial"}))
            best = rows["speedup"].max()
            sec.findings.append(f"{len(rows)} configuration(s) ran all their workers on one CPU; the best speedup "
                                f"among them was {fmt_x(best)} (with up to {int(rows['workers'].max())} workers).")
            sec.verdict = "supported" if best < 1.25 else "contradicted"
        if self.cores:
            over = self.ok_rows()
            over = over[(over["workers"] > self.cores) & stats.finite(over["speedup"])
                        & (over["scaling"] == "strong")]
            if not over.empty:
                best = over.loc[over["speedup"].idxmax()]
                sec.findings.append(f"With more workers than the {self.cores} cores, the best speedup was "
                                    f"{fmt_x(best['speedup'])} ({esc(best['kernel'])}, {esc(best['series_label'])}, "
                                    f"{int(best['workers'])} workers).")
                if sec.verdict == "no data":
                    sec.verdict = "supported" if best["speedup"] <= self.cores * 1.1 else "contradicted"
        if not sec.findings:
            sec.skipped.append("no runs pinned to one CPU and none with more workers than cores "
                               "(run e.g. with more workers than cores, or pinned to one core)")
        return sec

    def section_attention(self) -> str:
        runs = self.results.runs
        bad = runs[(runs["status"] != "ok") | (runs["verified"] == 0)]
        parts = ['<h2 id="attention">Cells needing attention</h2>',
                 "<p>Failed, incomplete and unverified runs are left out of every fit and speedup; "
                 f"noisy cells (coefficient of variation above {self.cv_threshold:g}) and cells with few "
                 "repetitions are kept but flagged.</p>"]
        if bad.empty:
            parts.append("<p>No failed, incomplete or unverified runs.</p>")
        else:
            frame = bad.assign(verified_text=bad["verified"].map({1: "yes", 0: "no"}).fillna("?"))
            parts.append(f"<p>{len(bad)} run(s) failed or could not be verified:</p>" + html_table(
                frame, ["run_id", "kernel", "mode", "workers", "size", "status", "verified_text", "error"],
                row_class=lambda r: "bad", headers={"verified_text": "verified"}))
        flagged = self.summary[(self.summary["flags"] != "") & (self.summary["status"] == "ok")]
        if flagged.empty:
            parts.append("<p>No noisy or thin cells.</p>")
        else:
            parts.append(f"<p>{len(flagged)} cell(s) flagged:</p>" + html_table(
                flagged, ["kernel", "series_label", "workers", "n", "median_s", "iqr_s", "cv", "flags"],
                {"median_s": fmt_time, "iqr_s": fmt_time, "cv": lambda v: fmt_num(v, 2)},
                row_class=flag_class, headers={"series_label": "series", "median_s": "median", "iqr_s": "IQR"}))
        return "\n".join(parts)

    def summary_table(self) -> str:
        columns = ["kernel", "series_label", "scaling", "size", "workers", "n", "median_s", "iqr_s", "min_s",
                   "max_s", "cv", "speedup", "efficiency", "speedup_vs_serial", "imbalance", "gbytes_per_s",
                   "gflops_per_s", "footprint_bytes", "status", "flags"]
        columns = [c for c in columns if c in self.summary]
        return ("<details><summary>All cells (also in summary.csv)</summary>" + html_table(
            self.summary, columns,
            {"median_s": fmt_time, "iqr_s": fmt_time, "min_s": fmt_time, "max_s": fmt_time,
             "cv": lambda v: fmt_num(v, 2), "speedup": fmt_x, "efficiency": fmt_pct, "speedup_vs_serial": fmt_x,
             "imbalance": lambda v: fmt_num(v, 3), "footprint_bytes": fmt_mib,
             "gbytes_per_s": lambda v: fmt_num(v, 3), "gflops_per_s": lambda v: fmt_num(v, 3)},
            row_class=flag_class,
            headers={"series_label": "series", "median_s": "median", "iqr_s": "IQR", "min_s": "min",
                     "max_s": "max", "speedup_vs_serial": "vs serial", "gbytes_per_s": "GB/s",
                     "gflops_per_s": "GFLOP/s", "footprint_bytes": "footprint"}) + "</details>")

    def provenance(self) -> str:
        rows = []
        for key, value in self.results.attrs.items():
            if isinstance(value, (str, int, float, bool, np.integer, np.floating)):
                rows.append(f'<tr><td class="t">{esc(key)}</td><td class="t">{esc(value)}</td></tr>')
        runs = self.results.runs
        parts = ['<h2 id="provenance">Provenance</h2>',
                 f"<p>File <code>{esc(os.path.abspath(self.results.path))}</code>: {len(runs)} runs"
                 + (f", {len(self.results.samples)} samples" if self.results.samples is not None else "")
                 + (f", {len(self.results.isolation)} isolation trials" if self.results.isolation is not None else "")
                 + ".</p>",
                 "<table><tr><th>attribute</th><th>value</th></tr>" + "".join(rows) + "</table>"]
        hosts = sorted({h for h in runs["host"] if h})
        if len(hosts) > 1:
            parts.append(f"<p>Runs come from {len(hosts)} hosts: {esc(', '.join(hosts))}; cells are kept "
                         "apart per host.</p>")
        if self.results.notes:
            parts.append("<p>While reading the file:</p><ul>" +
                         "".join(f"<li>{esc(n)}</li>" for n in self.results.notes) + "</ul>")
        return "\n".join(parts)

    # -- output -------------------------------------------------------------------------------
    def build(self) -> str:
        sections = [self.section_scaling(), self.section_memory(), self.section_ipc(),
                    self.section_isolation(), self.section_gil(), self.section_breakdown(),
                    self.section_critical(), self.section_farm(), self.section_one_cpu()]
        runs = self.results.runs
        attrs = self.results.attrs
        n_bad = int(((runs["status"] != "ok") | (runs["verified"] == 0)).sum())
        overview = [
            "<table><tr><th>claim (founding notes)</th><th>section</th><th>result</th></tr>"]
        for sec in sections:
            overview.append(f'<tr><td class="t">{esc(CLAIMS.get(sec.key, ""))}</td>'
                            f'<td class="t"><a href="#{esc(sec.key)}">{esc(sec.title)}</a></td>'
                            f"<td>{verdict_badge(sec.verdict)}</td></tr>")
        overview.append("</table>")
        page = [
            "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
            f"<title>corescope report: {esc(os.path.basename(self.results.path))}</title>",
            f"<style>{CSS}</style></head><body>",
            "<h1>corescope report</h1>",
            f'<p class="small">{esc(os.path.basename(self.results.path))} · host {esc(attrs.get("host", "?"))} · '
            f'{esc(attrs.get("cpu_model", ""))} · {esc(attrs.get("cores", "?"))} cores · created '
            f'{esc(attrs.get("created", "?"))} · git {esc(attrs.get("git_commit", "?"))}</p>',
            f"<p>{len(runs)} runs of {runs['kernel'].nunique()} kernel(s) in {runs['mode'].nunique()} mode(s): "
            f"{esc(', '.join(sorted(set(runs['mode']))))}. {n_bad} run(s) failed or unverified "
            '(<a href="#attention">listed below</a>). Times are per repetition, the slowest worker\'s wall '
            "time; a cell's time is the median over its repetitions (spread: IQR, min–max, CV).</p>",
            "<p>Verdicts: <i>supported</i> / <i>contradicted</i> apply the criterion stated in each "
            "section to the numbers measured here; <i>mixed</i> means the evidence goes both ways or is "
            "incomplete; <i>measured</i> means the section reports numbers without a pass/fail criterion.</p>",
            "".join(overview),
        ]
        page += [sec.render() for sec in sections]
        page += [self.section_attention(), self.summary_table(), self.provenance(),
                 '<p class="small">Exports: <a href="summary.csv">summary.csv</a> (one row per cell), '
                 '<a href="extrap.jsonl">extrap.jsonl</a> (Extra-P JSON Lines: params p, n; metric time).</p>',
                 "</body></html>"]
        path = os.path.join(self.outdir, "index.html")
        _write_text(path, "\n".join(page))
        return path


def _as_int(value):
    try:
        v = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return v if v > 0 else None


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


def _write_text(path: str, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc


SUMMARY_CSV_COLUMNS = ["kernel", "mode", "workers", "size", "scaling", "median_s", "speedup", "efficiency",
                       "speedup_vs_serial", "karp_flatt", "serial_fraction", "fit_r2", "gustafson_alpha",
                       "n", "q1_s", "q3_s", "iqr_s", "min_s", "max_s", "mean_s", "cv", "imbalance",
                       "compute_s", "comm_s", "gil_wait_s", "gbytes_per_s", "gflops_per_s",
                       "footprint_bytes", "per_worker_bytes", "ranks", "threads_per_rank", "channel",
                       "switch_interval_s", "gil_release", "gil_policy", "params", "pin", "host", "size_label",
                       "unit_size", "series_label", "t1_s", "serial_s", "status", "n_runs", "n_excluded",
                       "flags", "run_ids"]


def write_summary_csv(summary: pd.DataFrame, path: str) -> str:
    columns = [c for c in SUMMARY_CSV_COLUMNS if c in summary] + \
        [c for c in summary.columns if c not in SUMMARY_CSV_COLUMNS and c not in ("series", "memory_source")]
    try:
        summary[columns].to_csv(path, index=False, float_format="%.9g")
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


def write_extrap(records: list, path: str) -> str:
    _write_text(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
    return path


@dataclass
class ReportOutput:
    index: str
    summary_csv: str
    extrap: list
    figures: list
    skipped: list


def build_report(results: Results, outdir, cv_threshold: float = stats.CV_THRESHOLD,
                 extrap_path=None) -> ReportOutput:
    """Writes index.html, the figures, summary.csv and extrap.jsonl into outdir."""
    outdir = os.fspath(outdir)
    try:
        os.makedirs(outdir, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create report directory {outdir}: {exc.strerror or exc}") from exc
    if not os.access(outdir, os.W_OK):
        raise OutputError(f"cannot write into report directory {outdir}")
    builder = ReportBuilder(results, outdir, cv_threshold)
    csv_path = write_summary_csv(builder.summary, os.path.join(outdir, "summary.csv"))
    records = stats.extrap_records(builder.summary, builder.reps, results.runs)
    extrap_paths = [write_extrap(records, os.path.join(outdir, "extrap.jsonl"))]
    if extrap_path:
        extrap_paths.append(write_extrap(records, os.fspath(extrap_path)))
    index = builder.build()
    return ReportOutput(index=index, summary_csv=csv_path, extrap=extrap_paths,
                        figures=builder.figures, skipped=builder.skipped)
