"""report.py and plots.py on the synthetic study: files, PNGs, HTML content, exports."""
import csv
import json
import os
import re

import pytest

import fixtures
from corescope_analysis import io, report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EXPECTED_FIGURES = {
    "speedup_triad.png", "speedup_ep.png", "efficiency_triad.png", "efficiency_ep.png",
    "breakdown_ep.png", "memory_triad.png", "isolation.png", "gil.png", "convoy.png",
    "pingpong.png", "critical.png", "speedup_farm.png",
}


def html_of(outdir):
    with open(os.path.join(outdir, "index.html"), encoding="utf-8") as f:
        return f.read()


def text_of(page):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)).replace("&#x27;", "'")


def test_every_figure_is_a_png_and_referenced(demo_report):
    outdir, out = demo_report
    names = {os.path.basename(p) for p in out.figures}
    assert EXPECTED_FIGURES <= names
    page = html_of(outdir)
    for path in out.figures:
        with open(path, "rb") as f:
            head = f.read(8)
        assert head == PNG_SIGNATURE, path
        assert os.path.getsize(path) > 1000
        assert f'src="{os.path.basename(path)}"' in page
    # and every image the page references exists beside it
    for src in re.findall(r'<img src="([^"]+)"', page):
        assert os.path.isfile(os.path.join(outdir, src)), src


def test_no_figure_failed_to_draw(demo_report):
    outdir, out = demo_report
    assert not [name for name, why in out.skipped if "could not be drawn" in why]
    assert {name for name, _ in out.skipped} <= {"memory_convoy.png", "memory_critical.png"}


def test_html_is_self_contained(demo_report):
    page = html_of(demo_report[0])
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert "<script" not in page and "http://" not in page and "https://" not in page


def test_html_tags_are_balanced(demo_report):
    from html.parser import HTMLParser

    class Checker(HTMLParser):
        void = {"meta", "img", "br", "hr", "link"}

        def __init__(self):
            super().__init__()
            self.stack, self.errors = [], []

        def handle_starttag(self, tag, attrs):
            if tag not in self.void:
                self.stack.append(tag)

        def handle_endtag(self, tag):
            if tag in self.void:
                return
            if self.stack and self.stack[-1] == tag:
                self.stack.pop()
            else:
                self.errors.append((tag, self.getpos()))

    checker = Checker()
    checker.feed(html_of(demo_report[0]))
    assert checker.errors == [] and checker.stack == []


def test_html_fills_in_measured_numbers(demo_report):
    text = text_of(html_of(demo_report[0]))
    # memory: threads 24*8M bytes + 10 MiB = 193.1 MiB constant; processes 223.1 MiB at 4
    assert "threads (threads share one address space), triad: total footprint 193.1 MiB with 1" in text
    assert "processes (processes have their own memory), triad: total footprint 193.1 MiB with 1 worker(s), " \
           "223.1 MiB with 4" in text
    # the exact Amdahl series: f = 0.3 and T1 = 200 ms
    # (kernel, series, points, max p, S(max p), E(max p), f, fitted T1, R², RMS residual)
    assert "triad threads 3 4 2.11× 53% 0.3 200 ms 1 0 s" in text
    # GIL: CPU-bound gil threads gain nothing; convoy latency from the file
    assert re.search(r"CPU-bound ep, gil: speedup 0\.\d\d×", text)
    assert "with a 1 ms switch interval an I/O operation took 1.05 ms" in text
    # critical: lost updates from the file
    assert "threads, 4 workers, no lock: 12345 updates lost" in text
    # ping-pong: pipe latency for 8 B (4 µs + 8 B / 2 GB/s)
    assert "processes / pipe: 4 µs for 8 B" in text
    # isolation
    assert "processes: others unharmed in 100% of cases" in text
    assert "the leak raised the others' peak memory by 256.0 MiB" in text
    # one CPU: the pinned threads/ep run
    assert "1 configuration(s) ran all their workers on one CPU; the best speedup among them was 0.98×" in text
    # GIL breakdown: ep under the GIL waits (p-1)/p of the time in the demo
    assert re.search(r"gil, ep, 4 threads, per repetition of 1\.15 s: each thread computed [\d.]+ ms, "
                     r"waited [\d.]+ ms for the GIL \(75%\)", text)


def test_verdicts_follow_the_demo_data(demo_report):
    page = html_of(demo_report[0])
    start = page.index("<table>", page.index('id="verdicts"'))
    overview = page[start:page.index("</table>", start)]
    assert overview.count('class="verdict supported"') >= 7
    assert "contradicted" not in overview


def test_failed_unverified_and_noisy_cells_are_flagged(demo_report):
    text = text_of(html_of(demo_report[0]))
    assert "rank 3 exited with signal 9" in text          # the failed mpi run is listed
    assert "stencil" in text                               # the unverified run is listed
    assert "noisy (CV" in text                             # processes/triad at 4 workers
    assert "Provenance" in text and "0123abcd" in text and "Open MPI v4.1.4" in text


def test_summary_csv_columns_and_values(demo_report):
    outdir, out = demo_report
    with open(out.summary_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    required = ["kernel", "mode", "workers", "size", "scaling", "median_s", "speedup", "efficiency"]
    assert list(rows[0].keys())[:8] == required
    threads4 = [r for r in rows if r["kernel"] == "triad" and r["mode"] == "threads" and r["workers"] == "4"]
    assert len(threads4) == 1
    assert float(threads4[0]["median_s"]) == pytest.approx(0.2 * (0.3 + 0.7 / 4))
    assert float(threads4[0]["speedup"]) == pytest.approx(1 / (0.3 + 0.7 / 4))
    assert float(threads4[0]["efficiency"]) == pytest.approx(1 / (0.3 + 0.7 / 4) / 4)
    assert float(threads4[0]["serial_fraction"]) == pytest.approx(0.3)
    failed = [r for r in rows if r["status"] == "failed"]
    assert failed and all(r["speedup"] == "" for r in failed)


def test_extrap_jsonl(demo_report):
    outdir, out = demo_report
    assert len(out.extrap) == 2 and os.path.basename(out.extrap[1]) == "custom.jsonl"
    with open(os.path.join(outdir, "extrap.jsonl")) as f:
        records = [json.loads(line) for line in f]
    assert records and all(set(r) == {"params", "callpath", "metric", "value"} for r in records)
    assert all(set(r["params"]) == {"p", "n"} for r in records)
    triad = [r for r in records if r["callpath"] == "triad.strong.threads" and r["params"]["p"] == 2]
    assert triad and triad[0]["value"] == pytest.approx([0.13] * 5)
    with open(out.extrap[1]) as f:
        assert len(f.readlines()) == len(records)


def test_absent_data_is_skipped_with_a_note(tmp_path):
    """A file with runs only (no samples, no isolation, no kernel extras) still gives a report
    whose missing figures are named in the page."""
    path = fixtures.write_minimal(tmp_path / "min.h5")
    out = report.build_report(io.load(path), tmp_path / "rep")
    page = html_of(tmp_path / "rep")
    assert out.figures == []
    skipped = {name for name, _ in out.skipped}
    assert {"isolation.png", "gil.png", "pingpong.png", "critical.png", "convoy.png"} <= skipped
    assert page.count('class="note">Skipped:') >= len(skipped)
    assert "the file has no /isolation group" in page
    assert os.path.isfile(tmp_path / "rep" / "summary.csv")


def test_runs_without_samples_use_wall_s_median(tmp_path):
    runs = [dict(kernel="ep", mode="threads", workers=p, size=10, status="ok", verified=1,
                 wall_s_median=1.0 / p, params="{}") for p in (1, 2)]
    out = report.build_report(io.load(fixtures.write_results(tmp_path / "r.h5", runs)), tmp_path / "rep")
    with open(out.summary_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [float(r["speedup"]) for r in rows] == pytest.approx([1.0, 2.0])
    assert "no samples" in rows[0]["flags"]
    assert "speedup_ep.png" in {os.path.basename(p) for p in out.figures}


def test_unwritable_output_is_a_typed_error(tmp_path):
    from corescope_analysis import errors
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(errors.OutputError):
        report.build_report(io.load(fixtures.write_minimal(tmp_path / "m.h5")), blocker / "sub")


@pytest.mark.parametrize("drop_runs, drop_samples", [
    ({"status", "verified", "params", "switch_interval_s", "channel", "size", "scaling",
      "threads_per_rank", "ranks", "latency_s", "lost_updates"}, {"compute_s", "cpu"}),
    ({"host", "pin", "gil_release", "io_latency_median_s"},
     {"wall_s", "peak_rss_bytes", "rss_bytes", "pss_bytes", "worker", "rank"}),
])
def test_report_survives_missing_columns(tmp_path, drop_runs, drop_samples):
    runs, samples, isolation = fixtures.demo_rows()
    # one or two runs of each kernel and mode keep this quick but touch every section
    seen, keep = {}, []
    for i, r in enumerate(runs):
        key = (r["kernel"], r["mode"])
        if seen.get(key, 0) < 2:
            seen[key] = seen.get(key, 0) + 1
            keep.append(i)
    runs, samples = fixtures.subset(runs, samples, keep)
    runs = [{k: v for k, v in r.items() if k not in drop_runs} for r in runs]
    samples = [{k: v for k, v in s.items() if k not in drop_samples} for s in samples]
    path = fixtures.write_results(tmp_path / "partial.h5", runs, samples, isolation[:3])
    out = report.build_report(io.load(path), tmp_path / "rep")
    assert not [name for name, why in out.skipped if "could not be drawn" in why]
    assert os.path.getsize(out.index) > 1000
