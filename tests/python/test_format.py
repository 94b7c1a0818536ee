"""The results file opens as is in the tools users bring: h5py, xarray (h5netcdf engine),
pandas.read_hdf on the compound tables, and h5dump. The file is made by corescope itself."""
import os
import shutil
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import xarray as xr

ROOT = Path(__file__).resolve().parents[2]
CORESCOPE = os.environ.get("CORESCOPE") or str(ROOT / "build" / "corescope")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    if not Path(CORESCOPE).exists():
        pytest.fail(f"corescope binary not found at {CORESCOPE} (set CORESCOPE)")
    path = tmp_path_factory.mktemp("format") / "results.h5"
    runs = [("triad", "serial", 1), ("ep", "threads", 2), ("reduce", "openmp", 2), ("ep", "threads", 3)]
    for kernel, mode, workers in runs:
        subprocess.run([CORESCOPE, "run", "-k", kernel, "-m", mode, "-w", str(workers), "-s", "S",
                        "-r", "3", "-o", str(path), "-q"], check=True)
    return path, runs


def text(values):
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def test_h5py_contract(results):
    path, runs = results
    with h5py.File(path, "r") as f:
        assert f.attrs["schema"] in ("corescope", b"corescope")
        assert int(f.attrs["schema_version"]) == 2
        for attr in ("software_version", "created", "host", "cpu_model", "compiler", "mpi_library",
                     "hdf5_version", "git_commit", "cores", "timer_resolution_s"):
            assert attr in f.attrs, attr
        r, s = f["runs"], f["samples"]
        assert len(r["run_id"]) == len(runs)
        assert text(r["kernel"][...]) == [k for k, _, _ in runs]
        assert text(r["mode"][...]) == [m for _, m, _ in runs]
        assert r["workers"][...].tolist() == [w for _, _, w in runs]
        assert (r["verified"][...] == 1).all()
        # schema_version 2: the mode's memory model, and kernel metrics marked as such
        memory = {"serial": "shared", "threads": "shared", "openmp": "shared", "gil": "shared",
                  "processes": "private", "mpi": "private", "hybrid": "per-rank"}
        assert text(r["memory_model"][...]) == [memory[m] for _, m, _ in runs]
        roles = {name: ds.attrs.get("corescope_role") for name, ds in r.items()}
        marked = sorted(n for n, v in roles.items() if v in ("kernel_metric", b"kernel_metric"))
        assert marked and "wall_s_median" not in marked, marked
        assert r["wall_s_median"].attrs["units"] in ("s", b"s")
        # workers x reps samples per run, each pointing at its run
        counts = np.bincount(s["run"][...], minlength=len(runs))
        assert counts.tolist() == [w * 3 for _, _, w in runs]
        assert len(set(text(r["run_id"][...]))) == len(runs)
        # every column is on the dimension scale
        for name, ds in r.items():
            if name != "run":
                assert ds.dims[0][0].name == "/runs/run", name


def test_xarray_opens_groups(results):
    path, runs = results
    ds = xr.open_dataset(path, engine="h5netcdf", group="runs")
    assert ds.sizes["run"] == len(runs)
    assert list(ds["kernel"].values) == [k for k, _, _ in runs]
    assert float(ds["wall_s_median"].max()) > 0
    smp = xr.open_dataset(path, engine="h5netcdf", group="samples")
    assert smp.sizes["sample"] == sum(w * 3 for _, _, w in runs)
    assert "wall_s" in smp and "peak_rss_bytes" in smp


def test_pandas_read_hdf_tables(results):
    path, runs = results
    df = pd.read_hdf(path, "tables/runs")
    assert len(df) == len(runs)
    assert text(df["kernel"]) == [k for k, _, _ in runs]
    samples = pd.read_hdf(path, "tables/samples")
    with h5py.File(path, "r") as f:
        assert len(samples) == len(f["samples/run"])
        assert np.allclose(samples["wall_s"].to_numpy(), f["samples/wall_s"][...])
        assert df["workers"].tolist() == f["runs/workers"][...].tolist()


def test_h5dump_reads_it(results):
    path, _ = results
    h5dump = shutil.which("h5dump")
    assert h5dump, "h5dump (hdf5-tools) is required"
    header = subprocess.run([h5dump, "-H", str(path)], check=True, capture_output=True, text=True).stdout
    assert 'GROUP "runs"' in header and 'GROUP "samples"' in header
    kernels = subprocess.run([h5dump, "-d", "/runs/kernel", str(path)], check=True, capture_output=True,
                             text=True).stdout
    assert '"triad"' in kernels and '"reduce"' in kernels
