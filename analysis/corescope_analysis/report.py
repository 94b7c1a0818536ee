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

from . import answer, noise, plots, stats
from .errors import OutputError
from .intervals import MIN_RUN_DF, fmt_interval
from .io import Results
from .page import CSS, Section, esc, flag_class, fmt_mib, fmt_num, fmt_pct, fmt_time, fmt_x, html_table, \
    verdict_badge
from .sections import SECTIONS


# The command that records A/A twins (H3's sweep in rounds; the noise check script runs it).
NOISE_FILL = "corescope sweep -k ep -m serial,threads -w 1,2 --aa -o {file}"
SLOW_TEXT = "110 %"


class Context:
    """What every section's build(ctx) gets: the file's Results, the summary (one row per cell)
    and scaling fits, the thresholds, the output directory and the figure helper."""

    def __init__(self, results: Results, outdir: str, cv_threshold: float = stats.CV_THRESHOLD,
                 include_disturbed: bool = False, baseline: Results | None = None):
        self.results = results
        self.outdir = outdir
        self.cv_threshold = cv_threshold
        self.include_disturbed = include_disturbed
        self.cores = self.attr_int("cores")
        self.reps = stats.rep_table(results.samples, results.runs)
        summary = stats.summarize(results.runs, results.samples, cv_threshold, metrics=results.kernel_metrics,
                                  include_disturbed=include_disturbed)
        summary = stats.mark_implausible(summary, self.cores)
        self.capacity = noise.capacity_table(results.capacity)
        summary = noise.add_capacity_efficiency(summary, self.capacity)
        self.fits = stats.scaling_fits(summary)
        self.summary = stats.with_fits(summary, self.fits)
        self.aa_pairs = noise.aa_pairs(self.summary)
        self.floor = noise.noise_floor(self.aa_pairs)
        self.baseline = baseline
        self.comparison = None
        if baseline is not None:
            base_summary = stats.summarize(baseline.runs, baseline.samples, cv_threshold,
                                           metrics=baseline.kernel_metrics, include_disturbed=include_disturbed)
            self.comparison = noise.compare(self.summary, base_summary, self.floor)
        self.figures: list = []   # paths written
        self.skipped: list = []   # (figure, reason)
        self.fill_of_figure: dict = {}   # figure -> the command of its section

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
            self.fill_of_figure[name] = (section.fill, section.key)
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
        """Ok cells that may enter verdicts: not implausible, not A/A twins."""
        s = self.summary[(self.summary["status"] == "ok") & stats.finite(self.summary["median_s"])
                         & stats.plausible(self.summary)]
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


def trust(ctx: Context) -> str:
    """How far the numbers can be trusted: the noise floor (A/A twins), disturbed repetitions,
    the speed of the CPUs over the study and the parallel capacity the machine delivered."""
    s = ctx.summary
    parts = ['<h2 id="trust">How far these numbers hold</h2>', "<ul>"]
    if ctx.aa_pairs.empty:
        parts.append("<li>Noise floor: no A/A twin cells in this file, so the smallest difference this machine "
                     "resolves is not measured (a sweep with twins records it: "
                     f"<code>{esc(ctx.command(NOISE_FILL))}</code>).</li>")
    else:
        parts.append(f"<li><b>Noise floor: {100 * ctx.floor:.1f} %</b>. {len(ctx.aa_pairs)} A/A pair(s) (the same "
                     "cell run twice, interleaved) differ by twin/cell = "
                     + ", ".join(f"{r:.3f} ({fmt_interval(lo, hi, 3)})" for r, lo, hi in
                                 zip(ctx.aa_pairs["ratio"], ctx.aa_pairs["lo"], ctx.aa_pairs["hi"]))
                     + "; the floor is the farthest any of those ratios lies from 1 (either way). A ratio whose "
                       "interval lies within the floor is <i>no difference</i>; one whose interval crosses it, "
                       "<i>inconclusive</i>.</li>")
    ok = s[s["status"] == "ok"]
    if "disturbed_share" in ok and stats.finite(ok["disturbed_share"]).any() and (ok["disturbed_share"] > 0).any():
        mostly = ok[ok["mostly_disturbed"] == True]  # noqa: E712 - a column of bools
        parts.append(f"<li>Disturbed repetitions (record-time bitmask, or a CPU slower than "
                     f"{SLOW_TEXT} of its fastest probe): {int(ok['n_disturbed'].sum())} "
                     f"{'included (--include-disturbed)' if ctx.include_disturbed else 'left out of the statistics'}; "
                     f"{int((ok['disturbed_share'] > 0).sum())} of {len(ok)} cells had some; "
                     f"{len(mostly)} cell(s) mostly disturbed (fewer than 3 clean repetitions, all used, flagged). "
                     "The share per cell is in the table of all cells.</li>")
    elif ctx.results.samples is not None and "disturbed" in ctx.results.samples:
        parts.append("<li>No repetition was disturbed by the recorded rule.</li>")
    else:
        parts.append("<li>This file records no disturbance columns (older corescope): every repetition counts.</li>")
    parts.extend(run_spread_items(s))
    load = pd.to_numeric(ctx.results.runs["load_1m"], errors="coerce") if "load_1m" in ctx.results.runs else None
    if load is not None and stats.finite(load).any():
        load = load[stats.finite(load)]
        parts.append(f"<li>Machine load average at the start of the runs: median {load.median():.2f}, "
                     f"max {load.max():.2f} (on {esc(ctx.cores or '?')} cores).</li>")
    for _, row in ctx.capacity.iterrows():
        parts.append(f"<li>Parallel capacity: {esc(noise.capacity_sentence(row))}. Efficiencies are shown against "
                     "the ideal and against this measured capacity.</li>")
    parts.append("</ul>")
    speeds = noise.speed_table(ctx.results.samples, ctx.results.runs)
    if not speeds.empty:
        sec = Section("trust", "", "")
        if ctx.figure(sec, "speed.png", "speed factor of each CPU over the study", plots.speed_over_time, speeds):
            parts.append('<figure><img src="speed.png" alt="speed factor of each CPU over the study">'
                         '<figcaption class="small">Speed factor per sample and CPU (probe time / the fastest '
                         "probe of that CPU); above the dashed line a repetition counts as disturbed.</figcaption>"
                         "</figure>")
    return "\n".join(parts)


def run_spread_items(s: pd.DataFrame) -> list[str]:
    """The slow runs left out and each kernel's run-to-run spread, which every speedup interval
    holds (docs/dev/noise.md, "Slow runs and the run-to-run band")."""
    items = []
    ok = s[s["status"] == "ok"]
    slow = ok[pd.to_numeric(ok["slow_runs"], errors="coerce").fillna(0) > 0] if "slow_runs" in ok else ok.iloc[:0]
    if not slow.empty:
        items.append(f"<li>Slow runs: {len(slow)} cell(s) had a run more than 1.30× slower than their other runs, "
                     "in raw and in speed-normalised time (CPU-bound kernels, modes without a GIL), which the "
                     "speed probe does not explain; the repetitions of such a run count as disturbed: "
                     + esc(", ".join(f"{r['kernel']} {r['mode']} {int(r['workers'])}" for _, r in slow.iterrows()))
                     + ".</li>")
    if "run_sigma" in ok:
        python = ok["python_version"].fillna("").astype(str) if "python_version" in ok else pd.Series("", ok.index)
        spread = ok.assign(_python=python)[stats.finite(ok["run_sigma"])].drop_duplicates(["kernel", "_python"])
        used = spread[spread["run_sigma_df"] >= MIN_RUN_DF]
        if not used.empty:
            items.append("<li>Run-to-run spread (standard deviation of the log of a run's median, pooled over a "
                         "kernel's cells): " + esc(", ".join(f"{r['kernel']}{' (Python)' if r['_python'] else ''} "
                                                            f"{100 * r['run_sigma']:.1f} % "
                                                            f"({int(r['run_sigma_df'])} df)"
                                                            for _, r in used.iterrows()))
                         + ". Every speedup interval holds at least the band this spread puts around a ratio of "
                           "two cells' medians; a bootstrap over one ratio's 2–3 runs per side cannot see it.</li>")
    return items


def comparison(ctx: Context) -> str:
    """The B/A comparison with --baseline: this file (B) against the baseline (A)."""
    if ctx.comparison is None:
        return ""
    c = ctx.comparison
    head = (f'<h2 id="baseline">Compared with the baseline {esc(os.path.basename(ctx.baseline.path))}</h2>'
            "<p>B = this file, A = the baseline; B/A is the ratio of median times with its 95 % interval "
            "(bootstrap over runs and repetitions, holding at least the run-to-run band of both files' run "
            "spreads), p from a two-sided Mann-Whitney U test; a pair is compared on its "
            "repetitions of one machine state (a 10 % window of the speed factor, the <i>state</i> column) "
            "where it has one, as <code>corescope compare</code> does, with the noise floor as its threshold: "
            "<i>faster</i>/<i>slower</i> when the interval lies wholly beyond it, <i>no difference</i> when "
            "wholly within it, <i>inconclusive</i> when it crosses it"
            + (f" ({100 * ctx.floor:.1f} %)" if np.isfinite(ctx.floor) else " (not measured: 0)") + ".</p>")
    if c.empty:
        return head + "<p>No cell is present in both files.</p>"
    counts = c["verdict"].value_counts()
    summary_line = ", ".join(f"{int(counts.get(v, 0))} {v}"
                             for v in ("faster", "slower", "no difference", "inconclusive"))
    table = html_table(c.assign(interval=[fmt_interval(lo, hi, 3) for lo, hi in zip(c["lo"], c["hi"])]),
                       ["kernel", "series_label", "workers", "a_s", "b_s", "ratio", "interval", "n_a", "n_b",
                        "p_value", "state", "verdict"],
                       {"a_s": fmt_time, "b_s": fmt_time, "ratio": lambda v: fmt_num(v, 3),
                        "p_value": lambda v: fmt_num(v, 2)},
                       row_class=lambda r: "bad" if r["verdict"] == "slower" else "",
                       headers={"series_label": "series", "a_s": "A median", "b_s": "B median", "ratio": "B/A",
                                "interval": "95 % interval", "n_a": "n A", "n_b": "n B", "p_value": "p"})
    return head + f"<p>{len(c)} cells in both files: {summary_line}.</p><details><summary>B/A per cell</summary>" \
        + table + "</details>"


def cells_table(ctx: Context) -> str:
    columns = ["kernel", "series_label", "scaling", "size", "workers", "n", "median_s", "median_ci", "median_norm_s",
               "iqr_s", "cv", "disturbed_share", "speedup", "speedup_ci", "speedup_basis", "efficiency",
               "efficiency_vs_capacity",
               "speedup_vs_serial", "imbalance", "gbytes_per_s", "gflops_per_s", "footprint_bytes", "status", "flags"]
    columns = [c for c in columns if c in ctx.summary]
    frame = ctx.summary.assign(
        median_ci=[fmt_time(lo) + "–" + fmt_time(hi) if np.isfinite(lo) else "–"
                   for lo, hi in zip(ctx.summary["median_lo_s"], ctx.summary["median_hi_s"])],
        speedup_ci=[fmt_interval(lo, hi, 3, "×")
                    for lo, hi in zip(ctx.summary["speedup_lo"], ctx.summary["speedup_hi"])])
    columns = [c for c in columns if c in frame]
    return ("<details><summary>All cells (also in summary.csv)</summary>" + html_table(
        frame, columns,
        {"median_s": fmt_time, "iqr_s": fmt_time, "min_s": fmt_time, "max_s": fmt_time,
         "cv": lambda v: fmt_num(v, 2), "speedup": fmt_x, "efficiency": fmt_pct, "speedup_vs_serial": fmt_x,
         "imbalance": lambda v: fmt_num(v, 3), "footprint_bytes": fmt_mib,
         "gbytes_per_s": lambda v: fmt_num(v, 3), "gflops_per_s": lambda v: fmt_num(v, 3),
         "median_norm_s": fmt_time, "disturbed_share": fmt_pct, "efficiency_vs_capacity": fmt_pct},
        row_class=flag_class,
        headers={"series_label": "series", "median_s": "median", "median_ci": "median 95 %",
                 "median_norm_s": "speed-normalised", "disturbed_share": "disturbed samples",
                 "speedup_ci": "speedup 95 %", "speedup_basis": "speedup from",
                 "efficiency_vs_capacity": "eff. vs capacity",
                 "iqr_s": "IQR", "min_s": "min",
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
        parts.append(f'<p>{len(empty)} section(s) have no data in this file: <a href="#skipped">skipped</a>, '
                     "with the command that records each.</p>")
    return "\n".join(parts)


def overview(sections: list) -> str:
    rows = ["<table><tr><th>claim (founding notes)</th><th>section</th><th>result</th></tr>"]
    for sec in sections:
        rows.append(f'<tr><td class="t">{esc(sec.claim)}</td>'
                    f'<td class="t"><a href="#{esc(sec.key)}">{esc(sec.title)}</a></td>'
                    f"<td>{verdict_badge(sec.verdict)}</td></tr>")
    rows.append("</table>")
    return "".join(rows)


def write_page(ctx: Context) -> str:
    """Builds every section of SECTIONS and writes index.html around them: at the top the
    implausible findings, the answer, how far the numbers hold, the comparison with a baseline,
    the verdicts and what was skipped; then the sections and the detail."""
    sections = [build(ctx) for build in SECTIONS]
    attrs = ctx.results.attrs
    page = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>corescope report: {esc(os.path.basename(ctx.results.path))}</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>corescope report</h1>",
        f'<p class="small">{esc(os.path.basename(ctx.results.path))} · host {esc(attrs.get("host", "?"))} · '
        f'{esc(attrs.get("cpu_model", ""))} · {esc(attrs.get("cores", "?"))} cores · created '
        f'{esc(attrs.get("created", "?"))} · git {esc(attrs.get("git_commit", "?"))}</p>',
        answer.render_implausible(ctx.summary, ctx.outdir),
        answer.render_answer(answer.answer_table(ctx.summary, ctx.scaling_kernels(), ctx.floor)),
        trust(ctx),
        comparison(ctx),
        '<h2 id="verdicts">The claims of the founding notes</h2>',
        contents(ctx, sections),
        "<p>Verdicts: <i>supported</i> / <i>contradicted</i> when the 95 % interval of the measured figure "
        "lies entirely on one side of the criterion stated in each section; <i>inconclusive</i> when it "
        "straddles it; <i>mixed</i> means the evidence goes both ways or is incomplete; <i>measured</i> means "
        "the section reports numbers without a pass/fail criterion. Implausible cells never enter a verdict.</p>",
        overview(sections),
        answer.render_skipped(sections, ctx.skipped, ctx.fill_of_figure),
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
                       "median_lo_s", "median_hi_s", "speedup_lo", "speedup_hi", "efficiency_lo", "efficiency_hi",
                       "speedup_vs_serial", "speedup_vs_serial_lo", "speedup_vs_serial_hi", "n_base",
                       "median_norm_s", "speed_factor", "n_disturbed", "disturbed_share", "mostly_disturbed",
                       "efficiency_vs_capacity", "efficiency_vs_capacity_lo", "efficiency_vs_capacity_hi",
                       "capacity", "cpus", "implausible", "karp_flatt", "serial_fraction", "fit_r2", "gustafson_alpha",
                       "n", "q1_s", "q3_s", "iqr_s", "min_s", "max_s", "mean_s", "cv", "imbalance",
                       "compute_s", "comm_s", "gil_wait_s", "gbytes_per_s", "gflops_per_s",
                       "footprint_bytes", "per_worker_bytes", "memory_model", "ranks", "threads_per_rank", "channel",
                       "switch_interval_s", "gil_release", "gil_policy", "params", "pin", "host", "size_label",
                       "unit_size", "series_label", "t1_s", "serial_s", "status", "n_runs", "n_excluded",
                       "flags", "run_ids"]


def write_summary_csv(summary: pd.DataFrame, path: str) -> str:
    columns = [c for c in SUMMARY_CSV_COLUMNS if c in summary] + \
        [c for c in summary.columns if c not in SUMMARY_CSV_COLUMNS and not c.startswith("_")
         and c not in ("series", "memory_source", "base_row", "serial_row")]
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
                 extrap_path=None, include_disturbed: bool = False, baseline: Results | None = None) -> ReportOutput:
    """Writes index.html, the figures, summary.csv and extrap.jsonl into outdir."""
    outdir = os.fspath(outdir)
    try:
        os.makedirs(outdir, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create report directory {outdir}: {exc.strerror or exc}") from exc
    if not os.access(outdir, os.W_OK):
        raise OutputError(f"cannot write into report directory {outdir}")
    ctx = Context(results, outdir, cv_threshold, include_disturbed=include_disturbed, baseline=baseline)
    csv_path = write_summary_csv(ctx.summary, os.path.join(outdir, "summary.csv"))
    records = stats.extrap_records(ctx.summary)
    extrap_paths = [write_extrap(records, os.path.join(outdir, "extrap.jsonl"))]
    if extrap_path:
        extrap_paths.append(write_extrap(records, os.fspath(extrap_path)))
    index = write_page(ctx)
    return ReportOutput(index=index, summary_csv=csv_path, extrap=extrap_paths,
                        figures=ctx.figures, skipped=ctx.skipped)
