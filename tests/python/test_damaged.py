"""A damaged results file ends as one line `corescope-report: error: FILE is damaged: ...` and
exit status 2: never a traceback, never a crash of the report itself."""
import os
import subprocess

import h5py
import numpy as np
import pytest

import fixtures
from test_cli import LAUNCHER, PYTHON
from corescope_analysis import cli, errors, io


def report_error(path, tmp_path, capsys):
    code = cli.main([str(path), "-o", str(tmp_path / "out"), "-q"])
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2 and len(lines) == 1, captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    return lines[0]


def test_truncated_file(tmp_path, capsys):
    data = fixtures.write_demo(tmp_path / "whole.h5").read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(data[:len(data) // 2])
    line = report_error(cut, tmp_path, capsys)
    assert line.startswith(f"corescope-report: error: {cut} is damaged: ")
    assert "truncated" in line


@pytest.fixture(scope="module")
def flips(tmp_path_factory):
    """Every 331st byte of a small file flipped in turn, each copy read: (path of the copies,
    original bytes, offsets read as damaged, offsets whose reading crashed the HDF5 library).
    Anything but a ReportError escaping io.load fails here."""
    tmp = tmp_path_factory.mktemp("flips")
    data = fixtures.write_small(tmp / "small.h5").read_bytes()
    path = tmp / "flipped.h5"
    damaged, crashed = [], []
    for offset in range(0, len(data), 331):
        path.write_bytes(flip(data, offset))
        try:
            io.load(path)
        except errors.DamagedFile as exc:
            assert str(exc).startswith(f"{path} is damaged: ") and "\n" not in str(exc)
            damaged.append(offset)
            if "crashed" in str(exc):
                crashed.append(offset)
        except errors.ReportError:
            pass
    return path, data, damaged, crashed


def flip(data: bytes, offset: int) -> bytes:
    flipped = bytearray(data)
    flipped[offset] ^= 0xFF
    return bytes(flipped)


def test_flipped_bytes_are_read_or_reported_as_damage(flips):
    _, _, damaged, _ = flips
    assert len(damaged) >= 3, damaged


def test_flipped_byte_is_one_line_from_the_command(flips, tmp_path, capsys):
    path, data, damaged, crashed = flips
    for offset in [o for o in damaged if o not in crashed][:1] + crashed[:1]:
        path.write_bytes(flip(data, offset))
        line = report_error(path, tmp_path, capsys)
        assert line.startswith(f"corescope-report: error: {path} is damaged: ")
        if offset in crashed:
            assert "the HDF5 library crashed reading it (SIG" in line
            # and as users run it: exactly one line on stderr, at the file-descriptor level
            result = subprocess.run([PYTHON, LAUNCHER, str(path), "-o", str(tmp_path / "o2")],
                                    capture_output=True, text=True, timeout=120,
                                    env=dict(os.environ, PYTHONFAULTHANDLER="1"))
            assert result.returncode == 2 and result.stderr == line + "\n", result.stderr


@pytest.mark.parametrize("column, data, fragment", [
    ("kernel", np.arange(1, dtype=np.float64), "/runs/kernel should hold text"),
    ("workers", np.array(["two"], dtype=h5py.string_dtype()), "/runs/workers should hold numbers"),
    ("wall_s_median", np.zeros(5), "/runs/wall_s_median has 5 rows, expected 1"),
    ("status", np.zeros((1, 2)), "/runs/status has not a 1-D column"),
])
def test_column_of_wrong_type_or_length(tmp_path, capsys, column, data, fragment):
    path = fixtures.write_minimal(tmp_path / "bad.h5")
    with h5py.File(path, "a") as f:
        del f["runs"][column]
        f["runs"].create_dataset(column, data=data)
    line = report_error(path, tmp_path, capsys)
    assert line == f"corescope-report: error: {path} is damaged: {fragment}" or \
        line.startswith(f"corescope-report: error: {path} is damaged: {fragment}")


def test_isolation_column_of_wrong_type(tmp_path, capsys):
    _, _, isolation = fixtures.demo_rows()
    path = fixtures.write_results(tmp_path / "iso.h5", [], isolation=isolation[:2])
    with h5py.File(path, "a") as f:
        del f["isolation/survivors"]
        f["isolation"].create_dataset("survivors", data=np.array(["x", "y"], dtype=h5py.string_dtype()))
    assert "/isolation/survivors should hold numbers" in report_error(path, tmp_path, capsys)
