"""The corescope-report command: exit codes and one-line errors, run as users run it."""
import os
import subprocess
import sys

import h5py
import pytest

import fixtures

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
LAUNCHER = os.path.join(REPO, "analysis", "corescope-report")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def run(*args, cwd=None):
    return subprocess.run([PYTHON, LAUNCHER, *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def run_main(args, capsys):
    from corescope_analysis import cli
    code = cli.main([str(a) for a in args])
    return code, capsys.readouterr()


def assert_one_line_error(code, stderr, fragment):
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("corescope-report: error: ")
    assert fragment in lines[0]


def test_launcher_reports_a_missing_file(tmp_path):
    result = run(tmp_path / "missing.h5", "-o", tmp_path / "out")
    assert_one_line_error(result.returncode, result.stderr, "no such file")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name, make, fragment", [
    ("text.h5", lambda p: p.write_text("hello"), "not an HDF5 file"),
    ("foreign.h5", lambda p: h5py.File(p, "w").close(), "not a corescope results file"),
    ("other.h5", lambda p: fixtures.write_minimal(p, schema="netcdf"), "schema='netcdf'"),
    ("future.h5", lambda p: fixtures.write_minimal(p, schema_version=3), "schema_version 3 is not supported"),
    ("empty.h5", lambda p: fixtures.write_results(p, []), "is empty"),
])
def test_bad_inputs_exit_2_with_one_line(tmp_path, capsys, name, make, fragment):
    path = tmp_path / name
    make(path)
    code, captured = run_main([path, "-o", tmp_path / "out"], capsys)
    assert_one_line_error(code, captured.err, fragment)
    assert captured.out == ""


def test_launcher_bad_schema_version(tmp_path):
    path = fixtures.write_minimal(tmp_path / "v9.h5", schema_version=9)
    result = run(path)
    assert_one_line_error(result.returncode, result.stderr, "schema_version 9")


def test_launcher_writes_report(tmp_path):
    path = fixtures.write_small(tmp_path / "small.h5")
    result = run(path, "-o", tmp_path / "rep", "--extrap", tmp_path / "e.jsonl")
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stdout
    for name in ("index.html", "summary.csv", "extrap.jsonl", "speedup_triad.png"):
        assert (tmp_path / "rep" / name).is_file()
    assert (tmp_path / "e.jsonl").is_file()


def test_report_on_a_file_corescope_wrote(tmp_path):
    """The same report on a real file (runs the corescope binary where one is built)."""
    binary = os.environ.get("CORESCOPE") or os.path.join(REPO, "build", "corescope")
    if not os.access(binary, os.X_OK):
        pytest.skip(f"no corescope binary at {binary} (set CORESCOPE)")
    path = tmp_path / "real.h5"
    for kernel, mode, workers in (("triad", "serial", 1), ("triad", "threads", 1), ("triad", "threads", 2)):
        subprocess.run([binary, "run", "-k", kernel, "-m", mode, "-w", str(workers), "-s", "S", "-r", "3",
                        "-o", str(path), "-q"], check=True, timeout=120)
    result = run(path, "-o", tmp_path / "rep")
    assert result.returncode == 0, result.stderr
    with open(tmp_path / "rep" / "summary.csv") as f:
        lines = f.read().splitlines()
    assert lines[0].startswith("kernel,mode,workers,size,scaling,median_s,speedup,efficiency")
    assert len(lines) == 4
    with open(tmp_path / "rep" / "speedup_triad.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_module_entry_point_from_analysis_dir(tmp_path):
    path = fixtures.write_minimal(tmp_path / "study.h5")
    result = subprocess.run([PYTHON, "-m", "corescope_analysis", str(path), "-q", "-o", str(tmp_path / "r")],
                            capture_output=True, text=True, cwd=os.path.join(REPO, "analysis"), timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert (tmp_path / "r" / "index.html").is_file()


def test_default_output_directory_is_named_after_the_file(tmp_path):
    path = fixtures.write_minimal(tmp_path / "study.h5")
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "analysis"))
    work = tmp_path / "cwd"
    work.mkdir()
    result = subprocess.run([PYTHON, "-m", "corescope_analysis", str(path)], capture_output=True, text=True,
                            cwd=work, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (work / "study-report" / "index.html").is_file()
    assert "study-report" in result.stdout


def test_usage_error_exits_2(capsys):
    from corescope_analysis import cli
    with pytest.raises(SystemExit) as info:
        cli.main([])
    assert info.value.code == 2


def test_bad_cv_threshold(tmp_path, capsys):
    code, captured = run_main([fixtures.write_minimal(tmp_path / "m.h5"), "--cv-threshold", "0"], capsys)
    assert_one_line_error(code, captured.err, "--cv-threshold")
