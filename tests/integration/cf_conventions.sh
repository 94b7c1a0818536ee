#!/usr/bin/env bash
# The results file follows CF where CF applies (docs/user/results-format.md, "CF conventions"): a
# Conventions root attribute, every units attribute of every column parsed by udunits2,
# dimensionless numbers with units "1", flag_values/flag_masks + flag_meanings on enumerations,
# /samples/run marked as an index into the run dimension; xarray (h5netcdf) opens the groups
# and pandas reads /tables (filtering rows with DataFrame.query, as documented). Needs the
# udunits2 tool (Debian udunits-bin); skipped with exit 77 without it.
source "$(dirname "$0")/common.sh"
cs=$CORESCOPE
command -v udunits2 >/dev/null || { echo "udunits2 (udunits-bin) not installed: skipped"; exit 77; }
f=$WORK/r.h5
$cs run -k triad -m threads -w 2 -s 1000 -r 2 --warmup 0 -q -o "$f"
$cs run -k critical -m threads -w 2 -s 1000 -r 2 --warmup 0 -q -o "$f" || true  # a kernel with metrics (ns)
$cs run -k ep -m serial -s 1000 -r 1 --warmup 0 -q -o "$f"

# Every units attribute in the file, once each, must parse.
"$PYTHON" - "$f" >"$WORK/units.txt" <<'PY'
import sys, h5py
units = set()
def visit(name, obj):
    if isinstance(obj, h5py.Dataset) and "units" in obj.attrs:
        u = obj.attrs["units"]
        units.add(u.decode() if isinstance(u, bytes) else str(u))
with h5py.File(sys.argv[1], "r") as f:
    f.visititems(visit)
print("\n".join(sorted(units)))
PY
[[ -s $WORK/units.txt ]] || fail "no units attributes found"
parses() { udunits2 -H "$1" -W "" </dev/null >/dev/null 2>&1; }  # exit 1: "Don't recognize"
while read -r u; do
  parses "$u" || fail "udunits2 does not parse units \"$u\""
done <"$WORK/units.txt"
echo "units in the file: $(tr '\n' ',' <"$WORK/units.txt")"
# The check itself fails on what udunits rejects (the short symbols the rows carry).
for bad in B GB/s GFLOP/s; do
  parses "$bad" && fail "udunits2 accepts \"$bad\": the check above proves nothing"
done

"$PYTHON" - "$f" <<'PY' || fail "CF attributes"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    assert f.attrs["Conventions"] == "CF-1.8", f.attrs.get("Conventions")
    runs, samples = f["runs"], f["samples"]
    for name in ("workers", "reps", "verify_error"):
        assert runs[name].attrs["units"] == "1", (name, runs[name].attrs.get("units"))
    assert "units" not in runs["kernel"].attrs
    assert runs["bytes_per_iteration"].attrs["units"] == "byte"
    assert runs["gbytes_per_s"].attrs["units"] == "Gbyte/s"
    assert runs["wall_s_median"].attrs["units"] == "s"
    v = runs["verified"]
    assert list(v.attrs["flag_values"]) == [0, 1] and v.attrs["flag_values"].dtype == np.int64
    assert v.attrs["flag_meanings"] == "not_verified verified"
    assert samples["run"].attrs["instance_dimension"] == "run"
PY

"$PYTHON" - "$f" <<'PY' || fail "xarray/pandas"
import sys, warnings
import xarray as xr, pandas as pd
path = sys.argv[1]
runs = xr.open_dataset(path, engine="h5netcdf", group="runs")
assert runs.sizes["run"] == 3, runs.sizes
assert runs["wall_s_median"].dtype.kind == "f"  # units "s" is not decoded into timedeltas
assert runs["verified"].attrs["flag_meanings"] == "not_verified verified"
samples = xr.open_dataset(path, engine="h5netcdf", group="samples")
assert samples["run"].attrs["instance_dimension"] == "run"
try:
    import tables  # noqa: F401  pandas.read_hdf needs PyTables
except ImportError:
    print("PyTables not installed: pandas.read_hdf not checked")
    sys.exit(0)
df = pd.read_hdf(path, "tables/runs")
picked = df.query("workers == 2")  # the documented way to pick rows (read_hdf's where= needs indexed columns)
assert len(df) == 3 and len(picked) == 2, (len(df), len(picked))
print("pandas:", len(df), "runs,", len(picked), "with workers == 2")
PY
finish
