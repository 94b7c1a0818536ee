"""Builds the report directory: index.html (one self-contained page, inline CSS, PNGs beside
it), the PNG figures, summary.csv and extrap.jsonl.

The sections come from sections/ (one module per claim of the founding notes, SECTIONS in page
order); this module assembles the page around them (header, overview of verdicts, cells needing
attention, all cells, provenance) and gives the sections their Context, with the figure helper.
Sections whose data is absent say so, with the command that records it, instead of failing.
"""
from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import plots, stats
from .errors import OutputError
from .io import Results
from .page import CSS, Section, esc, flag_class, fmt_mib, fmt_num, fmt_pct, fmt_time, fmt_x, html_table, \
    verdict_badge
from .sections import SECTIONS


class Context:
    """What every section's build(ctx) gets: the file's Results, the summary (one row per cell)
    and scaling fits, the thresholds, the output directory and the figure helper."""

    def __init__(self, results: Results, outdir: str, cv_threshold: float = stats.CV_THRESHOLD):
        self.results = results
        self.outdir = outdir
        self.cv_threshold = cv_threshold
        self.cores = self.attr_int("cores")
        self.reps = stats.rep_table(results.samples)
        summary = stats.summarize(results.runs, results.samples, cv_threshold, metrics=results.kernel_metrics)
        self.fits = stats.scaling_fits(summary)
        self.summary = stats.with_fits(summary, self.fits)
        self.figures: list = []   # paths written
        self.skipped: list = []   # (figure, reason)

    def attr_int(self, name: str):
        """A positive integer root attribute of the file (cores, pus, ...), or None."""
        return _as_int(self.results.attrs.get(name))

    def command(self, template: str) -> str:
        """A section's FILL command for this results file."""
        return template.format(file=shlex.quote(self.results.path)) if template else ""

    def section(self, key: str, title: str, explanation: str, claim: str = "", fill: str = "") -> Section:
        return Section(key, title, explanation, claim=claim, fill=self.command(fill))

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


def attention(ctx: Context) -> str:
    """Failed, unverified, noisy and thin cells."""
    runs = ctx.results.runs
    bad = runs[(runs["status"] != "ok") | (runs["verified"] == 0)]
    parts = ['<h2 id="attention">Cells needing attention</h2>',
             "<p>Failed, incomplete and unverified runs are left out of every fit and speedup; "
             f"noisy cells (coefficient of variation above {ctx.cv_threshold:g}) and cells with few "
             "repetitions are kept but flagged.</p>"]
    if bad.empty:
        parts.append("<p>No failed, incomplete or unverified runs.</p>")
    else:
        frame = bad.assign(verified_text=bad["verified"].map({1: "yes", 0: "no"}).fillna("?"))
        parts.append(f"<p>{len(bad)} run(s) failed or could not be verified:</p>" + html_table(
            frame, ["run_id", "kernel", "mode", "workers", "size", "status", "verified_text", "error"],
            row_class=lambda r: "bad", headers={"verified_text": "verified"}))
    flagged = ctx.summary[(ctx.summary["flags"] != "") & (ctx.summary["status"] == "ok")]
    if flagged.empty:
        parts.append("<p>No noisy or thin cells.</p>")
    else:
        parts.append(f"<p>{len(flagged)} cell(s) flagged:</p>" + html_table(
            flagged, ["kernel", "series_label", "workers", "n", "median_s", "iqr_s", "cv", "flags"],
            {"median_s": fmt_time, "iqr_s": fmt_time, "cv": lambda v: fmt_num(v, 2)},
            row_class=flag_class, headers={"series_label": "series", "median_s": "median", "iqr_s": "IQR"}))
    return "\n".join(parts)


def cells_table(ctx: Context) -> str:
    columns = ["kernel", "series_label", "scaling", "size", "workers", "n", "median_s", "iqr_s", "min_s",
               "max_s", "cv", "speedup", "efficiency", "speedup_vs_serial", "imbalance", "gbytes_per_s",
               "gflops_per_s", "footprint_bytes", "status", "flags"]
    columns = [c for c in columns if c in ctx.summary]
    return ("<details><summary>All cells (also in summary.csv)</summary>" + html_table(
        ctx.summary, columns,
        {"median_s": fmt_time, "iqr_s": fmt_time, "min_s": fmt_time, "max_s": fmt_time,
         "cv": lambda v: fmt_num(v, 2), "speedup": fmt_x, "efficiency": fmt_pct, "speedup_vs_serial": fmt_x,
         "imbalance": lambda v: fmt_num(v, 3), "footprint_bytes": fmt_mib,
         "gbytes_per_s": lambda v: fmt_num(v, 3), "gflops_per_s": lambda v: fmt_num(v, 3)},
        row_class=flag_class,
        headers={"series_label": "series", "median_s": "median", "iqr_s": "IQR", "min_s": "min",
                 "max_s": "max", "speedup_vs_serial": "vs serial", "gbytes_per_s": "GB/s",
                 "gflops_per_s": "GFLOP/s", "footprint_bytes": "footprint"}) + "</details>")


def provenance(ctx: Context) -> str:
    rows = []
    for key, value in ctx.results.attrs.items():
        if isinstance(value, (str, int, float, bool, np.integer, np.floating)):
            rows.append(f'<tr><td class="t">{esc(key)}</td><td class="t">{esc(value)}</td></tr>')
    runs = ctx.results.runs
    parts = ['<h2 id="provenance">Provenance</h2>',
             f"<p>File <code>{esc(os.path.abspath(ctx.results.path))}</code>: {len(runs)} runs"
             + (f", {len(ctx.results.samples)} samples" if ctx.results.samples is not None else "")
             + (f", {len(ctx.results.isolation)} isolation trials" if ctx.results.isolation is not None else "")
             + ".</p>",
             "<table><tr><th>attribute</th><th>value</th></tr>" + "".join(rows) + "</table>"]
    hosts = sorted({h for h in runs["host"] if h})
    if len(hosts) > 1:
        parts.append(f"<p>Runs come from {len(hosts)} hosts: {esc(', '.join(hosts))}; cells are kept "
                     "apart per host.</p>")
    if ctx.results.notes:
        parts.append("<p>While reading the file:</p><ul>" +
                     "".join(f"<li>{esc(n)}</li>" for n in ctx.results.notes) + "</ul>")
    return "\n".join(parts)

def contents(ctx: Context, sections: list) -> str:
    """What the file holds, and for each section without data the command that records it."""
    results = ctx.results
    runs = results.runs
    parts = []
    if results.has_runs:
        n_bad = int(((runs["status"] != "ok") | (runs["verified"] == 0)).sum())
        parts.append(
            f"<p>{len(runs)} runs of {runs['kernel'].nunique()} kernel(s) in {runs['mode'].nunique()} mode(s): "
            f"{esc(', '.join(sorted(set(runs['mode']))))}. {n_bad} run(s) failed or unverified "
            '(<a href="#attention">listed below</a>). Times are per repetition, the slowest worker\'s wall '
            "time; a cell's time is the median over its repetitions (spread: IQR, min–max, CV).</p>")
    else:
        parts.append("<p>No runs in this file (/runs is empty or missing).</p>")
    if results.isolation is not None:
        iso = results.isolation
        modes = sorted(set(iso["mode"])) if "mode" in iso else []
        faults = sorted(set(iso["fault"])) if "fault" in iso else []
        parts.append(f"<p>{len(iso)} isolation trial(s) (/isolation): modes {esc(', '.join(modes))}; "
                     f"faults {esc(', '.join(faults))}.</p>")
    else:
        parts.append("<p>No isolation trials in this file (/isolation is missing).</p>")
    empty = [sec for sec in sections if not sec.has_data]
    if empty:
        parts.append("<p>Sections with no data in this file, and the command that records it:</p><ul>" + "".join(
            f'<li><a href="#{esc(sec.key)}">{esc(sec.title)}</a>: <code>{esc(sec.fill)}</code></li>'
            for sec in empty) + "</ul>")
    return "\n".join(parts)


def write_page(ctx: Context) -> str:
    """Builds every section of SECTIONS and writes index.html around them."""
    sections = [build(ctx) for build in SECTIONS]
    attrs = ctx.results.attrs
    overview = [
        "<table><tr><th>claim (founding notes)</th><th>section</th><th>result</th></tr>"]
    for sec in sections:
        overview.append(f'<tr><td class="t">{esc(sec.claim)}</td>'
                        f'<td class="t"><a href="#{esc(sec.key)}">{esc(sec.title)}</a></td>'
                        f"<td>{verdict_badge(sec.verdict)}</td></tr>")
    overview.append("</table>")
    page = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>corescope report: {esc(os.path.basename(ctx.results.path))}</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>corescope report</h1>",
        f'<p class="small">{esc(os.path.basename(ctx.results.path))} · host {esc(attrs.get("host", "?"))} · '
        f'{esc(attrs.get("cpu_model", ""))} · {esc(attrs.get("cores", "?"))} cores · created '
        f'{esc(attrs.get("created", "?"))} · git {esc(attrs.get("git_commit", "?"))}</p>',
        contents(ctx, sections),
        "<p>Verdicts: <i>supported</i> / <i>contradicted</i> apply the criterion stated in each "
        "section to the numbers measured here; <i>mixed</i> means the evidence goes both ways or is "
        "incomplete; <i>measured</i> means the section reports numbers without a pass/fail criterion.</p>",
        "".join(overview),
    ]
    page += [sec.render() for sec in sections]
    page += [attention(ctx), cells_table(ctx), provenance(ctx),
             '<p class="small">Exports: <a href="summary.csv">summary.csv</a> (one row per cell), '
             '<a href="extrap.jsonl">extrap.jsonl</a> (Extra-P JSON Lines: params p, n; metric time).</p>',
             "</body></html>"]
    path = os.path.join(ctx.outdir, "index.html")
    _write_text(path, "\n".join(page))
    return path


def _as_int(value):
    try:
        v = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return v if v > 0 else None


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
                       "footprint_bytes", "per_worker_bytes", "memory_model", "ranks", "threads_per_rank", "channel",
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
    ctx = Context(results, outdir, cv_threshold)
    csv_path = write_summary_csv(ctx.summary, os.path.join(outdir, "summary.csv"))
    records = stats.extrap_records(ctx.summary, ctx.reps, results.runs)
    extrap_paths = [write_extrap(records, os.path.join(outdir, "extrap.jsonl"))]
    if extrap_path:
        extrap_paths.append(write_extrap(records, os.fspath(extrap_path)))
    index = write_page(ctx)
    return ReportOutput(index=index, summary_csv=csv_path, extrap=extrap_paths,
                        figures=ctx.figures, skipped=ctx.skipped)
