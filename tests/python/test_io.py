"""io.py: reading the HDF5 contract into DataFrames, tolerating extras and absences."""
import h5py
import numpy as np
import pytest

import fixtures
from corescope_analysis import errors, io


def test_demo_file_reads_all_groups(demo_file):
    r = io.load(demo_file)
    runs, _, _ = fixtures.demo_rows()
    assert len(r.runs) == len(runs)
    assert r.attrs["schema"] == "corescope" and r.attrs["schema_version"] == 1
    assert r.attrs["host"] == "testhost" and r.attrs["cores"] == 4
    assert set(r.runs["kernel"]) >= {"triad", "ep", "pingpong", "critical", "convoy", "farm"}
    assert r.runs["kernel"].map(type).eq(str).all()
    assert r.samples is not None and r.samples["run"].max() < len(r.runs)
    assert r.isolation is not None and set(r.isolation["fault"]) >= {"crash", "leak", "hang"}
    assert "trial" in r.isolation.columns
    assert r.units["samples"]["wall_s"] == "s"
    assert r.notes == []


def test_params_are_normalized_and_extra_columns_kept(tmp_path):
    runs = [{"kernel": "critical", "mode": "threads", "workers": 2, "size": 10,
             "params": '{"sync": "none",  "b": 1}', "status": "ok", "verified": 1,
             "my_new_column": 3.5},
            {"kernel": "critical", "mode": "threads", "workers": 2, "size": 10,
             "params": '{"b":1,"sync":"none"}', "status": "ok", "verified": 1, "my_new_column": 1.0}]
    path = fixtures.write_results(tmp_path / "x.h5", runs)
    r = io.load(path)
    assert r.runs["params"].tolist() == ['{"b":1,"sync":"none"}'] * 2
    assert r.runs["my_new_column"].tolist() == [3.5, 1.0]
    assert r.samples is None and r.isolation is None


def test_fixed_length_byte_strings_are_decoded(tmp_path):
    path = fixtures.write_minimal(tmp_path / "fixed.h5", fixed_strings=True)
    r = io.load(path)
    assert r.runs["kernel"].tolist() == ["triad"] and r.runs["mode"].tolist() == ["serial"]


def test_missing_columns_get_defaults_and_a_note(tmp_path):
    runs = [{"kernel": "ep", "mode": "serial", "workers": 1, "size": 5}]
    path = fixtures.write_results(tmp_path / "bare.h5", runs)
    r = io.load(path)
    row = r.runs.iloc[0]
    assert row["status"] == "ok" and row["scaling"] == "strong" and row["verified"] == -1
    assert np.isnan(row["switch_interval_s"])
    assert any("verified" in n for n in r.notes)


def test_column_of_wrong_length_is_skipped_with_a_note(tmp_path):
    path = fixtures.write_minimal(tmp_path / "odd.h5")
    with h5py.File(path, "a") as f:
        f["runs"].create_dataset("odd", data=np.arange(5))
        f["runs"].create_dataset("matrix", data=np.zeros((1, 2)))
    r = io.load(path)
    assert "odd" not in r.runs and "matrix" not in r.runs
    assert len(r.notes) == 2


def test_samples_pointing_nowhere_are_dropped(tmp_path):
    runs = [{"kernel": "ep", "mode": "serial", "workers": 1, "size": 5, "status": "ok", "verified": 1}]
    samples = [{"run": 0, "rep": 0, "worker": 0, "wall_s": 1.0}, {"run": 3, "rep": 0, "worker": 0, "wall_s": 1.0}]
    r = io.load(fixtures.write_results(tmp_path / "dangling.h5", runs, samples))
    assert len(r.samples) == 1 and any("point to no run" in n for n in r.notes)


@pytest.mark.parametrize("maker, error", [
    (lambda p: p, errors.ResultsFileNotFound),
    (lambda p: (p.write_text("not hdf5"), p)[1], errors.NotHDF5File),
    (lambda p: fixtures.write_minimal(p, schema="other"), errors.NotCorescopeFile),
    (lambda p: fixtures.write_minimal(p, schema=None), errors.NotCorescopeFile),
    (lambda p: fixtures.write_minimal(p, schema_version=None), errors.NotCorescopeFile),
    (lambda p: fixtures.write_minimal(p, schema_version=3), errors.UnsupportedSchemaVersion),
    (lambda p: fixtures.write_results(p, []), errors.NoRuns),
])
def test_bad_input_raises_typed_errors(tmp_path, maker, error):
    path = maker(tmp_path / "bad.h5")
    with pytest.raises(error) as info:
        io.load(path)
    assert isinstance(info.value, errors.ReportError)
    assert str(path) in str(info.value)


def test_file_without_runs_group_is_no_runs(tmp_path):
    path = tmp_path / "nogroup.h5"
    with h5py.File(path, "w") as f:
        f.attrs["schema"] = "corescope"
        f.attrs["schema_version"] = 1
    with pytest.raises(errors.NoRuns):
        io.load(path)


def test_schema_attributes_stored_as_bytes_are_accepted(tmp_path):
    path = fixtures.write_minimal(tmp_path / "b.h5")
    with h5py.File(path, "a") as f:
        f.attrs["schema"] = np.bytes_(b"corescope")
        f.attrs["schema_version"] = np.int32(1)
    assert io.load(path).attrs["schema"] == "corescope"
