"""Reads a corescope results file (HDF5, schema "corescope", schema_version 1) into DataFrames.

Each group (/runs, /samples, /isolation) is a set of 1-D column datasets on one dimension
scale; we read it column by column. Unknown extra columns are kept, absent ones are filled with
the writer's "missing" values where the rest of the package relies on them, and anything this
module cannot interpret is skipped with a note instead of an error. The compound copies under
/tables are ignored.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field

import h5py
import numpy as np
import pandas as pd

from .errors import (NoRuns, NotCorescopeFile, NotHDF5File, ResultsFileNotFound,
                     UnsupportedSchemaVersion)

SCHEMA_NAME = "corescope"
SUPPORTED_SCHEMA_VERSION = 1

# Groups read, with their dimension name.
GROUPS = {"runs": "run", "samples": "sample", "isolation": "trial"}

# Columns the analysis relies on, with the value used when a file lacks them
# (the same "missing" values the C++ writer uses: "" for text, -1 for integers, NaN for floats).
RUN_DEFAULTS = {
    "run_id": "", "kernel": "", "mode": "", "workers": 1, "ranks": 1, "threads_per_rank": 1,
    "size": -1, "size_label": "", "scaling": "strong", "reps": -1, "channel": "",
    "switch_interval_s": math.nan, "gil_release": "", "gil_policy": "", "verified": -1, "status": "ok",
    "error": "", "params": "", "host": "", "pin": "", "wall_s_median": math.nan,
    "gbytes_per_s": math.nan, "gflops_per_s": math.nan,
}
SAMPLE_DEFAULTS = {"run": -1, "rep": 0, "worker": 0, "rank": 0, "thread": 0, "cpu": -1,
                   "wall_s": math.nan}


@dataclass
class Results:
    """Everything read from one results file."""
    path: str
    attrs: dict
    runs: pd.DataFrame
    samples: pd.DataFrame | None
    isolation: pd.DataFrame | None
    units: dict = field(default_factory=dict)   # group -> {column: units}
    notes: list = field(default_factory=list)   # things skipped or assumed while reading


def _decode(value):
    """Attribute or string value as a plain Python object (bytes -> str, numpy -> Python)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray):
        if value.shape == () or value.size == 1:
            return _decode(value.reshape(-1)[0]) if value.size else ""
        return ", ".join(str(_decode(v)) for v in value.reshape(-1))
    if isinstance(value, np.generic):
        return value.item()
    return value


def _read_column(ds: h5py.Dataset):
    """One 1-D dataset as a numpy array of numbers or of Python str; None if not a column."""
    if ds.ndim != 1 or ds.dtype.names is not None:
        return None
    if h5py.check_string_dtype(ds.dtype) is not None:
        raw = ds.asstr(errors="replace")[()]
        return np.array([str(v) for v in raw], dtype=object)
    data = ds[()]
    if data.dtype.kind in "SO":
        return np.array([_decode(v) if isinstance(v, bytes) else str(v) for v in data], dtype=object)
    if data.dtype.kind == "b":
        return data.astype(np.int64)
    if data.dtype.kind in "iuf":
        return data
    return None


def _group_length(group: h5py.Group, dimension: str) -> int | None:
    scale = group.get(dimension)
    if isinstance(scale, h5py.Dataset) and scale.ndim == 1:
        return scale.shape[0]
    lengths = [d.shape[0] for d in group.values() if isinstance(d, h5py.Dataset) and d.ndim == 1]
    if not lengths:
        return None
    return max(set(lengths), key=lengths.count)


def read_group(group: h5py.Group, dimension: str, notes: list) -> tuple[pd.DataFrame, dict]:
    """Columns of one group as a DataFrame (row order kept), plus each column's units."""
    n = _group_length(group, dimension)
    columns, units = {}, {}
    if n is None:
        return pd.DataFrame(), units
    for name, ds in group.items():
        if not isinstance(ds, h5py.Dataset):
            continue
        values = _read_column(ds)
        if values is None:
            notes.append(f"/{group.name.strip('/')}/{name}: not a 1-D column, skipped")
            continue
        if values.shape[0] != n:
            notes.append(f"/{group.name.strip('/')}/{name}: {values.shape[0]} rows, expected {n}; skipped")
            continue
        columns[name] = values
        if "units" in ds.attrs:
            units[name] = str(_decode(ds.attrs["units"]))
    return pd.DataFrame(columns, index=pd.RangeIndex(n)), units


def _fill_defaults(df: pd.DataFrame, defaults: dict, group: str, notes: list) -> pd.DataFrame:
    for name, value in defaults.items():
        if name not in df.columns:
            df[name] = value
            if name in ("verified", "status", "kernel", "mode", "workers"):
                notes.append(f"/{group} has no '{name}' column; assumed {value!r}")
    return df


def normalize_params(text) -> str:
    """params JSON with sorted keys, so equal settings compare equal; other text kept as is."""
    if not isinstance(text, str) or not text.strip():
        return ""
    try:
        obj = json.loads(text)
    except ValueError:
        return text.strip()
    if isinstance(obj, dict) and not obj:
        return ""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def _tidy_runs(runs: pd.DataFrame, notes: list) -> pd.DataFrame:
    runs = _fill_defaults(runs, RUN_DEFAULTS, "runs", notes)
    for name in ("kernel", "mode", "scaling", "channel", "status", "gil_release", "gil_policy", "params", "host",
                 "pin", "run_id", "error", "size_label"):
        runs[name] = runs[name].map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v))
                                    else str(v))
    runs["params"] = runs["params"].map(normalize_params)
    runs["status"] = runs["status"].str.strip().str.lower().replace("", "ok")
    runs["scaling"] = runs["scaling"].str.strip().str.lower().replace("", "strong")
    for name in ("workers", "ranks", "threads_per_rank", "size", "verified"):
        runs[name] = pd.to_numeric(runs[name], errors="coerce").fillna(-1).astype(np.int64)
    runs.loc[runs["workers"] < 1, "workers"] = 1
    for name in ("switch_interval_s", "wall_s_median", "gbytes_per_s", "gflops_per_s"):
        runs[name] = pd.to_numeric(runs[name], errors="coerce").astype(float)
    return runs


def _open(path: str) -> h5py.File:
    if not os.path.exists(path):
        raise ResultsFileNotFound(f"{path}: no such file")
    if not os.path.isfile(path):
        raise ResultsFileNotFound(f"{path}: not a regular file")
    try:
        is_hdf5 = h5py.is_hdf5(path)
    except OSError as exc:
        raise NotHDF5File(f"{path}: cannot be read ({exc})") from exc
    if not is_hdf5:
        raise NotHDF5File(f"{path}: not an HDF5 file")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise NotHDF5File(f"{path}: cannot be opened as HDF5 ({exc})") from exc


def check_schema(attrs: dict, path: str) -> int:
    """The file's schema_version; raises unless it is a corescope file this package can read."""
    schema = attrs.get("schema")
    if schema != SCHEMA_NAME:
        found = "no 'schema' attribute" if schema is None else f"schema={schema!r}"
        raise NotCorescopeFile(f"{path}: not a corescope results file ({found}, expected schema='corescope')")
    version = attrs.get("schema_version")
    try:
        version_number = int(str(version).strip())
    except ValueError:
        raise NotCorescopeFile(f"{path}: corescope file without a valid schema_version ({version!r})") from None
    if version_number > SUPPORTED_SCHEMA_VERSION or version_number < 1:
        raise UnsupportedSchemaVersion(
            f"{path}: schema_version {version_number} is not supported by this corescope-report "
            f"(reads up to {SUPPORTED_SCHEMA_VERSION}); use a newer corescope-report")
    return version_number


def load(path) -> Results:
    """Reads and checks a results file. Raises a ReportError subclass on bad input."""
    path = os.fspath(path)
    notes: list = []
    with _open(path) as f:
        attrs = {str(k): _decode(v) for k, v in f.attrs.items()}
        check_schema(attrs, path)
        frames, units = {}, {}
        for group_name, dimension in GROUPS.items():
            group = f.get(group_name)
            if isinstance(group, h5py.Group):
                frames[group_name], units[group_name] = read_group(group, dimension, notes)
            else:
                frames[group_name] = None
    runs = frames["runs"]
    if runs is None or runs.empty or len(runs.columns) == 0:
        # A file of isolation trials only is refused too: the report's sections are built on /runs.
        # Append one run (e.g. `corescope run -k triad -o FILE`) or merge it with a sweep file.
        raise NoRuns(f"{path}: the file has no runs (empty or missing /runs)")
    runs = _tidy_runs(runs, notes)

    samples = frames["samples"]
    if samples is not None and not samples.empty:
        samples = _fill_defaults(samples, SAMPLE_DEFAULTS, "samples", notes)
        samples["run"] = pd.to_numeric(samples["run"], errors="coerce").fillna(-1).astype(np.int64)
        bad = ~samples["run"].between(0, len(runs) - 1)
        if bad.any():
            notes.append(f"/samples: {int(bad.sum())} rows point to no run; ignored")
            samples = samples[~bad].reset_index(drop=True)
    else:
        samples = None

    isolation = frames["isolation"]
    if isolation is not None and isolation.empty:
        isolation = None
    return Results(path=path, attrs=attrs, runs=runs, samples=samples, isolation=isolation,
                   units=units, notes=notes)
