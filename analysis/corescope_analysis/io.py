"""Reads a corescope results file (HDF5, schema "corescope", schema_version 1 or 2) into DataFrames.

Each group (/runs, /samples, /isolation) is a set of 1-D column datasets on one dimension
scale; we read it column by column. Unknown extra columns are kept, absent ones are filled with
the writer's "missing" values where the rest of the package relies on them, and an unknown
column this module cannot interpret is skipped with a note. A column the analysis relies on
with the wrong type or length, or a file HDF5 cannot read, is a DamagedFile. The compound
copies under /tables are ignored.

schema_version 2 adds what version 1 left to the reader's knowledge:
  /runs/memory_model           "shared" (one address space), "private" (a process per worker)
                               or "per-rank" (private between ranks, shared among a rank's threads)
  attribute corescope_role     "kernel_metric" on every /runs column a kernel adds
For version 1 files both are derived here, from the LEGACY_* tables below (and only there).
"""
from __future__ import annotations

import faulthandler
import json
import math
import os
import pickle
import resource
import signal
from dataclasses import dataclass, field

import h5py
import numpy as np
import pandas as pd

from .errors import (DamagedFile, NoRuns, NotCorescopeFile, NotHDF5File, ResultsFileNotFound,
                     UnsupportedSchemaVersion)

SCHEMA_NAME = "corescope"
SUPPORTED_SCHEMA_VERSION = 2

MEMORY_MODELS = ("shared", "private", "per-rank")
KERNEL_METRIC_ROLE = "kernel_metric"

# ONLY for schema_version 1 files, which have no /runs/memory_model column: the memory model of
# each mode as corescope 0.1 had them. Version 2 files say it themselves; never extend this map.
LEGACY_MEMORY_MODEL_V1 = {"serial": "shared", "threads": "shared", "gil": "shared", "openmp": "shared",
                          "processes": "private", "mpi": "private", "hybrid": "per-rank"}
# ONLY for schema_version 1 files, whose columns carry no corescope_role attribute: the kernel
# metrics the analysis summarized then. Version 2 files mark every kernel metric column.
LEGACY_KERNEL_METRICS_V1 = ["latency_s", "lost_updates", "ns_per_update", "io_ops_per_s",
                            "io_latency_median_s", "io_latency_p99_s", "io_reacquire_median_s",
                            "load_imbalance"]

# Groups read, with their dimension name.
GROUPS = {"runs": "run", "samples": "sample", "isolation": "trial", "capacity": "check"}

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
# /samples/host and /runs/nodes (newer files) are filled in by _where_ran, not by a default.
ISOLATION_DEFAULTS = {"mode": "", "fault": "", "workers": math.nan, "survivors": math.nan}
# Per group: the columns the analysis relies on. A file where one of them has another kind
# (text vs number) or another length than its group is damaged, not merely unusual.
# /capacity (newer files): one row per parallel-capacity check of a study.
CAPACITY_DEFAULTS = {"mode": "", "workers": math.nan, "capacity": math.nan}
RELIED_ON = {"runs": RUN_DEFAULTS, "samples": SAMPLE_DEFAULTS, "isolation": ISOLATION_DEFAULTS,
             "capacity": CAPACITY_DEFAULTS}


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
    schema_version: int = SUPPORTED_SCHEMA_VERSION
    kernel_metrics: list = field(default_factory=list)  # /runs columns that are kernel metrics
    memory_models: dict = field(default_factory=dict)   # mode -> shared | private | per-rank
    capacity: pd.DataFrame | None = None                # /capacity checks, where the file has them

    @property
    def has_runs(self) -> bool:
        return not self.runs.empty


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


def _is_text(values) -> bool:
    return values.dtype == object


def read_group(group: h5py.Group, dimension: str, notes: list,
               relied_on: dict | None = None) -> tuple[pd.DataFrame, dict, list]:
    """Columns of one group as a DataFrame (row order kept), each column's units, and the
    columns whose corescope_role attribute marks them as kernel metrics. A column named in
    relied_on (name -> default value, whose type gives the kind) that has another kind or
    length raises DamagedFile; any other odd column is skipped with a note."""
    relied_on = relied_on or {}
    where = f"/{group.name.strip('/')}"
    n = _group_length(group, dimension)
    columns, units, metrics = {}, {}, []
    if n is None:
        return pd.DataFrame(), units, metrics
    for name, ds in group.items():
        if not isinstance(ds, h5py.Dataset):
            continue
        values = _read_column(ds)
        expected = relied_on.get(name)
        if values is None or values.shape[0] != n:
            what = "not a 1-D column" if values is None else f"{values.shape[0]} rows, expected {n}"
            if expected is not None:
                raise DamagedFile(f"{where}/{name} has {what}")
            notes.append(f"{where}/{name}: {what}; skipped")
            continue
        if expected is not None and _is_text(values) != isinstance(expected, str):
            want = "text" if isinstance(expected, str) else "numbers"
            raise DamagedFile(f"{where}/{name} should hold {want}, not {ds.dtype}")
        columns[name] = values
        if "units" in ds.attrs:
            units[name] = str(_decode(ds.attrs["units"]))
        if _decode(ds.attrs.get("corescope_role", "")) == KERNEL_METRIC_ROLE and not _is_text(values):
            metrics.append(name)
    return pd.DataFrame(columns, index=pd.RangeIndex(n)), units, metrics


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
    if runs.empty:  # a file of isolation trials only: no runs, but the columns all sections use
        return pd.DataFrame({name: pd.Series(dtype=object if isinstance(value, str) else
                                             np.int64 if isinstance(value, int) else float)
                             for name, value in RUN_DEFAULTS.items()})
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


def _where_ran(runs: pd.DataFrame, samples: pd.DataFrame | None) -> None:
    """Every sample gets the host of its worker's process and every run its node count.

    Files from before /samples/host (or rows a writer left without it) take the run's writing
    host: those runs were recorded as if every rank ran there. Files from before /runs/nodes
    count the distinct hosts of each run's samples (1 where a run has none)."""
    if samples is not None:
        run_host = runs["host"].to_numpy()[samples["run"].to_numpy()]
        if "host" in samples:
            given = samples["host"].map(lambda v: v if isinstance(v, str) else "")
            samples["host"] = np.where(given != "", given, run_host)
        else:
            samples["host"] = run_host
    if "nodes" in runs:
        runs["nodes"] = pd.to_numeric(runs["nodes"], errors="coerce").fillna(-1).astype(np.int64)
    else:
        runs["nodes"] = -1
    missing = runs["nodes"] < 1
    if missing.any():
        counted = samples.groupby("run")["host"].nunique() if samples is not None else pd.Series(dtype=np.int64)
        runs.loc[missing, "nodes"] = [int(counted.get(i, 1)) for i in runs.index[missing]]


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
    except OSError as exc:  # the HDF5 signature is there, the rest is not readable
        raise DamagedFile(_damaged(path, exc)) from exc


def _damaged(path: str, reason) -> str:
    text = " ".join(str(reason).split()) or type(reason).__name__
    return f"{path} is damaged: {text}"


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


def _memory_models(version: int, runs: pd.DataFrame, isolation: pd.DataFrame | None,
                   notes: list) -> dict:
    """mode -> memory model: from the file's memory_model columns (version 2), from the legacy
    map for version 1 files."""
    models: dict = {}
    if version < 2:
        for frame in (runs, isolation):
            if frame is not None and "mode" in frame:
                models.update({m: LEGACY_MEMORY_MODEL_V1.get(m, "") for m in frame["mode"] if m})
        return models
    for frame, group in ((runs, "runs"), (isolation, "isolation")):
        if frame is None or frame.empty or "mode" not in frame:
            continue
        if "memory_model" not in frame:
            if group == "runs":
                notes.append("/runs has no 'memory_model' column (schema_version 2 requires it)")
            continue
        for mode, model in zip(frame["mode"], frame["memory_model"]):
            if mode and model:
                models.setdefault(mode, str(model))
    unknown = sorted({v for v in models.values() if v not in MEMORY_MODELS})
    if unknown:
        notes.append(f"memory_model values not known to this report: {', '.join(unknown)}")
    return models


def _read_groups(f: h5py.File, path: str, notes: list):
    attrs = {str(k): _decode(v) for k, v in f.attrs.items()}
    version = check_schema(attrs, path)
    frames, units, metrics = {}, {}, []
    for group_name, dimension in GROUPS.items():
        group = f.get(group_name)
        if isinstance(group, h5py.Group):
            frames[group_name], units[group_name], found = read_group(
                group, dimension, notes, RELIED_ON[group_name])
            if group_name == "runs":
                metrics = found
        else:
            frames[group_name] = None
    return attrs, version, frames, units, metrics


def load(path) -> Results:
    """Reads and checks a results file. Raises a ReportError subclass on bad input.

    The reading runs in a forked child: the HDF5 library can crash (SIGSEGV) on a file whose
    bytes were damaged, and that must cost a DamagedFile error, not this process."""
    path = os.fspath(path)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: read, send the outcome back, leave without cleanup handlers
        os.close(read_end)
        # A crash here is reported by the parent in one line: no core file, no fault dump, and
        # nothing the HDF5 library might print on its way down.
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        faulthandler.disable()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        try:
            outcome = ("ok", _load(path))
        except BaseException as exc:  # noqa: BLE001 - handed to the parent, raised there
            outcome = ("raise", exc)
        try:
            with os.fdopen(write_end, "wb") as f:
                try:
                    pickle.dump(outcome, f)
                except Exception:  # noqa: BLE001 - an exception that does not pickle
                    pickle.dump(("raise", RuntimeError(f"{type(outcome[1]).__name__}: {outcome[1]}")), f)
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as f:
        data = f.read()
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status) or not data:
        why = (f"the HDF5 library crashed reading it ({signal.Signals(os.WTERMSIG(status)).name})"
               if os.WIFSIGNALED(status) else "the reader ended without a result")
        raise DamagedFile(_damaged(path, why))
    kind, value = pickle.loads(data)
    if kind == "raise":
        raise value
    return value


def _load(path: str) -> Results:
    notes: list = []
    with _open(path) as f:
        try:
            attrs, version, frames, units, metrics = _read_groups(f, path, notes)
        except DamagedFile as exc:
            raise DamagedFile(_damaged(path, exc)) from exc
        except (OSError, KeyError, ValueError, TypeError, RuntimeError, UnicodeError, MemoryError,
                OverflowError) as exc:
            # h5py raises these for unreadable metadata, chunks or attributes (a damaged
            # dataspace can claim more rows than memory holds)
            raise DamagedFile(_damaged(path, exc)) from exc
    runs = frames["runs"]
    if runs is None or len(runs.columns) == 0:
        runs = pd.DataFrame()
    isolation = frames["isolation"]
    if isolation is not None and isolation.empty:
        isolation = None
    if runs.empty and isolation is None:
        raise NoRuns(f"{path}: the file is empty: it has no runs (empty or missing /runs) "
                     "and no isolation trials (/isolation)")
    runs = _tidy_runs(runs, notes)

    samples = frames["samples"]
    if samples is not None and not samples.empty and not runs.empty:
        samples = _fill_defaults(samples, SAMPLE_DEFAULTS, "samples", notes)
        samples["run"] = pd.to_numeric(samples["run"], errors="coerce").fillna(-1).astype(np.int64)
        bad = ~samples["run"].between(0, len(runs) - 1)
        if bad.any():
            notes.append(f"/samples: {int(bad.sum())} rows point to no run; ignored")
            samples = samples[~bad].reset_index(drop=True)
    else:
        samples = None
    _where_ran(runs, samples)

    models = _memory_models(version, runs, isolation, notes)
    if version < 2:
        runs["memory_model"] = runs["mode"].map(lambda m: models.get(m, ""))
        metrics = [m for m in LEGACY_KERNEL_METRICS_V1 if m in runs.columns]
    elif "memory_model" not in runs:
        runs["memory_model"] = ""
    if isolation is not None and "memory_model" not in isolation and "mode" in isolation:
        isolation["memory_model"] = isolation["mode"].map(lambda m: models.get(m, ""))
    capacity = frames.get("capacity")
    if capacity is not None and not capacity.empty:
        capacity = _fill_defaults(capacity, CAPACITY_DEFAULTS, "capacity", notes)
    else:
        capacity = None
    return Results(path=path, attrs=attrs, runs=runs, samples=samples, isolation=isolation,
                   units=units, notes=notes, schema_version=version, kernel_metrics=metrics,
                   memory_models=models, capacity=capacity)
