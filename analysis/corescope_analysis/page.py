"""The pieces of the report page: CSS, number formatting, HTML tables and the Section, which each
module of sections/ fills in and report.py renders."""
from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import plots

MIB = float(1 << 20)

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
.inconclusive{background:#e8e0f8;color:#324}
.alarm{border:2px solid #c33;background:#fff5f5;padding:.2em 1em;margin:1em 0}.alarm h2{margin-top:.4em}
.figs{display:grid;grid-template-columns:1fr 1fr;gap:.2em 1em}.figs figure{margin:0}
.pair{display:flex;gap:1em;align-items:flex-start}.pair img.side{width:48%;flex:none}
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


@dataclass
class Section:
    """One claim of the founding notes as tested by one module of sections/."""
    key: str
    title: str
    explanation: str
    claim: str = ""              # the founding notes' sentence
    fill: str = ""               # the corescope command that records this section's data
    verdict: str = "no data"     # supported | contradicted | mixed | measured | no data
    findings: list = field(default_factory=list)   # HTML snippets (already escaped)
    figures: list = field(default_factory=list)    # (file name, caption)
    skipped: list = field(default_factory=list)    # plain-text notes
    tables: list = field(default_factory=list)     # HTML

    @property
    def has_data(self) -> bool:
        return self.verdict != "no data"

    def render(self) -> str:
        parts = [f'<h2 id="{esc(self.key)}">{esc(self.title)} {verdict_badge(self.verdict)}</h2>']
        if self.claim:
            parts.append(f"<blockquote>Founding notes: {esc(self.claim)}</blockquote>")
        parts.append(f"<p>{self.explanation}</p>")
        if not self.has_data and self.fill:
            parts.append(f'<div class="note">No data for this claim in this file. To record it: '
                         f"<code>{esc(self.fill)}</code></div>")
        if self.findings:
            parts.append("<p><b>Measured:</b></p><ul>" + "".join(f"<li>{f}</li>" for f in self.findings) + "</ul>")
        figures = [f'<figure><a href="{esc(name)}"><img src="{esc(name)}" alt="{esc(caption)}"></a>'
                   f'<figcaption class="small">{esc(caption)}</figcaption></figure>' for name, caption in self.figures]
        if len(figures) > 1:   # two per row (each opens full size): a shorter page
            parts.append('<div class="figs">' + "".join(figures) + "</div>")
        else:
            parts.extend(figures)
        for note in self.skipped:
            parts.append(f'<div class="note">Skipped: {esc(note)}</div>')
        if self.tables:   # detail: collapsed, so that the page stays short
            parts.append("<details><summary>Tables</summary>" + "\n".join(self.tables) + "</details>")
        return "\n".join(parts)


def verdict_badge(verdict: str) -> str:
    cls = verdict.replace(" ", "")
    return f'<span class="verdict {esc(cls)}">{esc(verdict)}</span>'
