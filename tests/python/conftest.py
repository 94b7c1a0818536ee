"""pytest setup for the analysis tests: makes corescope_analysis (analysis/) and the fixtures
helper importable and provides a demo results file and its report, built once per session."""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
ANALYSIS = os.path.join(REPO, "analysis")
for path in (ANALYSIS, HERE):
    if path not in sys.path:
        sys.path.insert(0, path)

os.environ.setdefault("MPLBACKEND", "Agg")

import fixtures  # noqa: E402


@pytest.fixture(scope="session")
def demo_file(tmp_path_factory):
    return str(fixtures.write_demo(tmp_path_factory.mktemp("demo") / "demo.h5"))


@pytest.fixture(scope="session")
def demo_report(demo_file, tmp_path_factory):
    from corescope_analysis import io, report
    outdir = tmp_path_factory.mktemp("report")
    out = report.build_report(io.load(demo_file), outdir, extrap_path=outdir / "custom.jsonl")
    return outdir, out
