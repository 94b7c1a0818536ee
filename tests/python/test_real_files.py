"""corescope-report and corescope summary on files the corescope binary wrote, holding each
group alone and together: runs only, isolation trials only, both (merged), ping-pong runs only.
The report renders, every image it references loads, the sections without data name the
command that records it, and the verdicts present follow from the rows of the file."""
import html
import os
import re
import shlex
import subprocess
import sys

import h5py
import numpy as np
import pytest
from PIL import Image

from corescope_analysis import intervals, page, sections
from test_cli import LAUNCHER, PYTHON, REPO

BINARY = os.environ.get("CORESCOPE") or os.path.join(REPO, "build", "corescope")
# Each section module is named after its section's key, and states the command that fills it.
MODULES = [sys.modules[build.__module__] for build in sections.SECTIONS]
SECTION_KEYS = [m.__name__.rsplit(".", 1)[1] for m in MODULES]
FILL = {key: m.FILL for key, m in zip(SECTION_KEYS, MODULES)}
# Set by .ci/asan-test.sh: under AddressSanitizer a crash fault is caught by ASan's own handler
# (a report and exit 1), so what a crash does to the other workers is not the real outcome there.
SANITIZED = bool(os.environ.get("CORESCOPE_TEST_SANITIZED"))


def corescope(*args):
    return subprocess.run([BINARY, *map(str, args)], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    if not os.access(BINARY, os.X_OK):
        pytest.skip(f"no corescope binary at {BINARY} (set CORESCOPE)")
    tmp = tmp_path_factory.mktemp("real")
    paths = {name: tmp / f"{name}.h5" for name in ("runs", "iso", "both", "pingpong")}
    for mode, workers in (("serial", 1), ("threads", 1), ("threads", 2), ("processes", 1), ("processes", 2)):
        done = corescope("run", "-k", "triad", "-m", mode, "-w", workers, "-s", "S", "-r", "3",
                         "-o", paths["runs"], "-q")
        assert done.returncode == 0, done.stderr
    done = corescope("isolate", "--kernel", "triad", "--fault", "crash", "--victim", "1", "--modes",
                     "processes,threads", "--workers", "2", "--run-seconds", "0.5", "--inject-at", "0.1",
                     "-s", "S", "-q", "--out", paths["iso"])
    assert done.returncode == 0, done.stderr
    done = corescope("merge", "--out", paths["both"], paths["runs"], paths["iso"])
    assert done.returncode == 0, done.stderr
    done = corescope("run", "-k", "pingpong", "-m", "processes", "-w", "2", "--channel", "pipe",
                     "--size", "8,1K", "-r", "3", "-o", paths["pingpong"], "-q")
    assert done.returncode == 0, done.stderr
    return paths


def report(path, outdir):
    result = subprocess.run([PYTHON, LAUNCHER, str(path), "-o", str(outdir)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    with open(outdir / "index.html", encoding="utf-8") as f:
        return f.read()


def heading(page_html, key):
    return re.search(rf'<h2 id="{key}">(.*?)</h2>', page_html).group(1)


def verdict(page_html, key):
    return re.search(r'class="verdict [a-z]+">([a-z ]+)<', heading(page_html, key)).group(1)


def text_of(page_html):
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page_html)))


def section_text(page_html, key):
    start = page_html.index(f'<h2 id="{key}">')
    end = page_html.find("<h2 ", start + 1)
    return page_html[start:end]


@pytest.mark.parametrize("name, present", [
    ("runs", {"scaling", "memory"}),
    ("iso", {"isolation"}),
    ("both", {"scaling", "memory", "isolation"}),
    ("pingpong", {"ipc"}),
])
def test_report_renders_each_group_alone_and_together(files, tmp_path, name, present):
    path = files[name]
    page_html = report(path, tmp_path / "rep")
    images = re.findall(r'<img src="([^"]+)"', page_html)
    assert images, "no figure at all"
    for src in images:
        with Image.open(tmp_path / "rep" / src) as image:
            image.load()
            assert image.format == "PNG" and image.size[0] > 100 and image.size[1] > 100
    text = text_of(page_html)
    header = text_of(page_html[:page_html.index('<h2 id="scaling"')])   # the top: answer ... skipped
    for key in SECTION_KEYS:
        command = FILL[key].format(file=shlex.quote(str(path)))
        if key in present:
            assert verdict(page_html, key) != "no data", key
            assert command not in header, key
        elif verdict(page_html, key) == "no data":
            # the header and the section both give the exact command that records the data
            assert command in header, key
            assert f"To record it: {command}" in text_of(section_text(page_html, key)), key
    assert {k for k in SECTION_KEYS if verdict(page_html, k) == "no data"} >= \
        {"ipc", "gil", "critical", "farm"} - present
    if "isolation" not in present:
        assert "No isolation trials in this file" in header
    if name == "iso":
        assert "No runs in this file" in header and "2 isolation trial(s)" in header


def test_isolation_verdict_and_table_follow_the_trials(files, tmp_path):
    with h5py.File(files["iso"], "r") as f:
        iso = f["isolation"]
        modes = iso["mode"].asstr()[...].tolist()
        survivors = iso["survivors"][...]
        workers = iso["workers"][...]
    unharmed = {m: float(np.clip(s / max(w - 1, 1), 0, 1)) for m, s, w in zip(modes, survivors, workers)}
    # what docs/user/isolation.md says a crash does: processes keep the other worker, threads lose it
    if not SANITIZED:
        assert unharmed == {"processes": 1.0, "threads": 0.0}
    page_html = report(files["iso"], tmp_path / "rep")
    section = section_text(page_html, "isolation")
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", section)
    cells = {re.findall(r"<td[^>]*>(.*?)</td>", r)[0]: re.findall(r"<td[^>]*>(.*?)</td>", r) for r in rows[1:]}
    for mode in ("processes", "threads"):
        row = cells[mode]
        i = modes.index(mode)
        assert row[1] == {"processes": "private", "threads": "shared"}[mode]
        assert row[2] == "crash" and row[3] == "1"
        assert row[4] == f"{survivors[i]:g}/{workers[i] - 1:g}"
        assert row[5] == page.fmt_pct(unharmed[mode])
    expected = "supported" if unharmed["processes"] > unharmed["threads"] else "contradicted"
    assert verdict(page_html, "isolation") == expected
    assert 'src="isolation.png"' in section


def test_scaling_verdict_follows_the_samples(files, tmp_path):
    with h5py.File(files["runs"], "r") as f:
        modes = f["runs/mode"].asstr()[...].tolist()
        workers = f["runs/workers"][...]
        run, rep, wall = f["samples/run"][...], f["samples/rep"][...], f["samples/wall_s"][...]
        flag, probe, cpu = f["samples/disturbed"][...], f["samples/probe_s"][...], f["samples/cpu_start"][...]
        cores = int(f.attrs["cores"])

    # docs/dev/noise.md: a sample is disturbed when its record-time bitmask is set or its probe ran more
    # than 10 % slower than the fastest probe on the same CPU; a repetition with a disturbed sample
    # is left out unless fewer than 3 clean ones remain.
    fastest = {c: probe[(cpu == c) & (probe > 0)].min() for c in np.unique(cpu) if ((cpu == c) & (probe > 0)).any()}
    slow = np.array([p > 0 and c in fastest and p > 1.10 * fastest[c] for p, c in zip(probe, cpu)])
    disturbed = (flag != 0) | slow

    def times(i):  # a repetition's time is its slowest worker's
        reps = np.unique(rep[run == i])
        every = [(wall[(run == i) & (rep == r)].max(), disturbed[(run == i) & (rep == r)].any()) for r in reps]
        clean = [t for t, d in every if not d]
        return clean if len(clean) >= 3 else [t for t, _ in every]

    serial = times(modes.index("serial"))
    one = {m: times(i) for i, m in enumerate(modes) if workers[i] == 1}
    # a speedup (against serial or the mode's own 1-worker run) above the CPUs the cell had by more
    # than 5 % is implausible, and the cell is left out
    plausible = []
    for i, mode in enumerate(modes):
        if mode == "serial" or workers[i] < 2:
            continue
        vs_serial = intervals.ratio_ci(serial, times(i))
        own = intervals.ratio_ci(one[mode], times(i)).point if mode in one else 0.0
        if max(vs_serial.point, own) <= 1.05 * min(cores, workers[i]):
            plausible.append(vs_serial)
    page_html = report(files["runs"], tmp_path / "rep")
    text = text_of(section_text(page_html, "scaling"))
    if not plausible:   # a loaded machine: every speedup over serial implausible
        assert verdict(page_html, "scaling") == "inconclusive" and "implausible" in text
        return
    best = max(plausible, key=lambda r: r.point)
    assert f"Best speedup over the serial run: {page.fmt_x(best.point)}" in text
    # the verdict follows the interval: wholly above 1.5x, wholly below, or straddling it
    expected = "supported" if best.lo > 1.5 else "contradicted" if best.hi <= 1.5 else "inconclusive"
    assert verdict(page_html, "scaling") == expected


def test_pingpong_verdict_follows_the_channels(files, tmp_path):
    with h5py.File(files["pingpong"], "r") as f:
        channels = set(f["runs/channel"].asstr()[...])
        sizes = f["runs/size"][...]
        latency = f["runs/latency_s"][...]
    assert channels == {"pipe"}
    page_html = report(files["pingpong"], tmp_path / "rep")
    text = text_of(section_text(page_html, "ipc"))
    small = latency[sizes == sizes.min()][0]
    assert f"processes / pipe: {page.fmt_time(small)} for {int(sizes.min())} B" in text
    assert verdict(page_html, "ipc") == "mixed"       # pipe only, of file, shm and pipe
    assert "Not measured between processes: file, shm." in text


@pytest.mark.parametrize("name, expect", [
    ("runs", ["kernel", "triad", "serial", "threads", "processes"]),
    ("iso", ["Isolation", "processes", "threads", "crash"]),
    ("both", ["triad", "serial", "Isolation", "crash"]),
    ("pingpong", ["pingpong", "pipe"]),
])
def test_summary_prints_what_the_file_holds(files, name, expect):
    done = corescope("summary", files[name])
    assert done.returncode == 0, done.stderr
    for word in expect:
        assert word in done.stdout, (word, done.stdout)
    if name == "iso":
        assert "survivors" in done.stdout and "1/1" in done.stdout
        assert SANITIZED or "0/1" in done.stdout
    if name in ("runs", "pingpong"):
        assert "Isolation" not in done.stdout


def test_summary_of_an_empty_file_is_one_line(tmp_path):
    if not os.access(BINARY, os.X_OK):
        pytest.skip(f"no corescope binary at {BINARY} (set CORESCOPE)")
    import fixtures
    path = fixtures.write_results(tmp_path / "empty.h5", [])
    done = corescope("summary", path)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "no runs" in done.stderr


@pytest.mark.parametrize("key", ["isolation", "critical"])
def test_the_named_command_fills_the_section(files, tmp_path, key):
    """The command a runs-only report names for a section without data, run as printed (in a
    shell, with this build's corescope first on PATH), gives that section data."""
    path = tmp_path / "runs.h5"
    path.write_bytes(files["runs"].read_bytes())
    page_html = report(path, tmp_path / "before")
    assert verdict(page_html, key) == "no data"
    command = re.search(r"To record it: <code>(.*?)</code>", section_text(page_html, key)).group(1)
    command = html.unescape(command)
    assert command == FILL[key].format(file=shlex.quote(str(path)))
    env = dict(os.environ, PATH=os.path.dirname(os.path.abspath(BINARY)) + os.pathsep + os.environ["PATH"])
    done = subprocess.run(["bash", "-c", command + " >/dev/null"], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert verdict(report(path, tmp_path / "after"), key) != "no data"
