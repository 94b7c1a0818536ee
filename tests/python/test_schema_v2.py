"""schema_version 2: the memory model and the kernel metrics come from the file, so a new mode or
a new kernel metric reaches the report without editing the analysis; version 1 files still read."""
import csv
import os
import re


import fixtures
from corescope_analysis import io, plots, report


def text_of(outdir):
    with open(os.path.join(outdir, "index.html"), encoding="utf-8") as f:
        page = f.read()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)).replace("&#x27;", "'")


def renamed(rows, names):
    """Rows whose modes are renamed (e.g. processes -> forks): modes no analysis code knows."""
    return [dict(r, mode=names.get(r["mode"], r["mode"])) for r in rows]


def test_v1_file_gets_the_memory_model_from_the_legacy_map(demo_file):
    r = io.load(demo_file)
    assert r.schema_version == 1
    pairs = set(zip(r.runs["mode"], r.runs["memory_model"]))
    assert pairs == {(m, io.LEGACY_MEMORY_MODEL_V1[m]) for m in set(r.runs["mode"])}
    assert set(r.isolation["memory_model"]) == {"shared", "private"}
    assert r.kernel_metrics == [m for m in io.LEGACY_KERNEL_METRICS_V1 if m in r.runs]


def test_v2_memory_model_comes_from_the_file_not_from_mode_names(tmp_path):
    runs, samples, _ = fixtures.demo_rows()
    # a mode the analysis has never heard of, which the file says has private memory
    runs = [dict(r, memory_model="private") if r["mode"] == "threads" else r for r in runs]
    r = io.load(fixtures.write_results(tmp_path / "v2.h5", runs, samples, schema_version=2))
    assert r.schema_version == 2
    assert r.memory_models["threads"] == "private" and r.memory_models["processes"] == "private"
    assert r.memory_models["hybrid"] == "per-rank"
    assert set(r.runs.loc[r.runs["mode"] == "threads", "memory_model"]) == {"private"}


def test_v1_file_with_a_memory_model_column_still_uses_the_legacy_map(tmp_path):
    runs = [dict(r, memory_model="private") for r in fixtures.demo_rows()[0][:3]]
    r = io.load(fixtures.write_results(tmp_path / "v1.h5", runs, schema_version=1))
    assert set(r.runs["memory_model"]) == {io.LEGACY_MEMORY_MODEL_V1[m] for m in set(r.runs["mode"])}


def test_v2_without_memory_model_is_noted(tmp_path):
    path = fixtures.write_minimal(tmp_path / "v2.h5", schema_version=2)
    import h5py
    with h5py.File(path, "a") as f:
        del f["runs/memory_model"]
    r = io.load(path)
    assert any("memory_model" in n for n in r.notes)
    assert r.runs["memory_model"].tolist() == [""]


def test_new_modes_reach_memory_isolation_and_critical_sections(tmp_path):
    """Rename every mode: the sections still sort them by the memory model the file records."""
    names = {"processes": "forks", "threads": "fibers", "openmp": "loops", "mpi": "ranks"}
    runs, samples, isolation = fixtures.demo_rows()
    keep = [i for i, r in enumerate(runs) if r["kernel"] in ("triad", "critical")]
    runs, samples = fixtures.subset(runs, samples, keep)
    runs = [dict(r, memory_model=fixtures.MEMORY_MODEL[r["mode"]]) for r in runs]
    isolation = [dict(t, memory_model=fixtures.MEMORY_MODEL[t["mode"]]) for t in isolation]
    path = fixtures.write_results(tmp_path / "new.h5", renamed(runs, names), samples, renamed(isolation, names),
                                  schema_version=2)
    out = report.build_report(io.load(path), tmp_path / "rep")
    text = text_of(tmp_path / "rep")
    assert "forks (processes have their own memory), triad: total footprint 193.1 MiB with 1 worker(s), " \
           "223.1 MiB with 4" in text
    assert "fibers (threads share one address space), triad: total footprint 193.1 MiB with 1" in text
    assert "the best mode with private memory (forks, 100%) keeps the others unharmed more often than the " \
           "best mode with shared memory (fibers, " in text
    assert "fibers, 4 workers, no lock: 12345 updates lost" in text
    page = open(out.index, encoding="utf-8").read()
    for key in ("memory", "isolation", "critical"):
        heading = re.search(rf'<h2 id="{key}">.*?</h2>', page).group(0)
        assert 'class="verdict supported"' in heading, heading


def test_marked_kernel_metrics_reach_summary_csv(tmp_path):
    runs = [dict(kernel="widget", mode="threads", workers=p, size=10, status="ok", verified=1, params="{}",
                 wall_s_median=1.0 / p, widgets_per_s=100.0 * p, scratch_x=7.0) for p in (1, 2)]
    v2 = fixtures.write_results(tmp_path / "v2.h5", runs, schema_version=2, kernel_metrics=("widgets_per_s",))
    out = report.build_report(io.load(v2), tmp_path / "rep2")
    with open(out.summary_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [float(r["widgets_per_s"]) for r in rows] == [100.0, 200.0]
    assert "scratch_x" not in rows[0]          # a column without the role is not a kernel metric
    # the same columns in a version 1 file: only the metrics of the legacy list are summarized
    v1 = fixtures.write_results(tmp_path / "v1.h5", [dict(r, latency_s=1e-6) for r in runs])
    out = report.build_report(io.load(v1), tmp_path / "rep1")
    with open(out.summary_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    assert "widgets_per_s" not in rows[0] and float(rows[0]["latency_s"]) == 1e-6


def test_a_new_mode_gets_its_own_colour():
    known = set(plots.MODE_COLOURS.values())
    first, second = plots.mode_colour("fibers-test"), plots.mode_colour("forks-test")
    assert first not in known and second not in known and first != second
    assert plots.mode_colour("fibers-test") == first            # stable once given
    many = {plots.mode_colour(f"mode-{i}") for i in range(30)}
    assert len(many) == 30 and not many & known


def test_v2_isolation_only_file_takes_the_memory_model_from_its_trials(tmp_path):
    _, _, isolation = fixtures.demo_rows()
    trials = [dict(t, mode={"processes": "forks", "threads": "fibers"}.get(t["mode"], t["mode"]),
                   memory_model=fixtures.MEMORY_MODEL[t["mode"]]) for t in isolation]
    path = fixtures.write_results(tmp_path / "iso.h5", [], isolation=trials, schema_version=2)
    r = io.load(path)
    assert not r.has_runs and r.memory_models == {"fibers": "shared", "forks": "private", "mpi": "private"}
    report.build_report(r, tmp_path / "rep")
    text = text_of(tmp_path / "rep")
    assert "the best mode with private memory (forks, 100%)" in text
    # without the column the modes cannot be sorted, and the section says so instead of judging
    bare = [{k: v for k, v in t.items() if k != "memory_model"} for t in trials]
    path = fixtures.write_results(tmp_path / "bare.h5", [], isolation=bare, schema_version=2)
    report.build_report(io.load(path), tmp_path / "rep2")
    page = open(tmp_path / "rep2" / "index.html", encoding="utf-8").read()
    assert 'class="verdict measured">measured</span></h2>' in re.search(r'<h2 id="isolation">.*?</h2>', page).group(0)
    assert "does not say which modes are which (no memory_model)" in text_of(tmp_path / "rep2")
