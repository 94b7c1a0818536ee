#!/usr/bin/env bash
# pingpong between two ranks on one node and on two nodes of the namespace cluster
# (cluster.sh), alternating, ROUNDS launches each; prints the per-repetition half round-trip
# time of every launch pooled: n, median, min, max, and the inter/intra ratio of medians.
# A benchmark, not a test (needs root).
#   tests/multinode/pingpong_nodes.sh [CORESCOPE]    env: SIZE (8), ROUNDS (3), REPS (20), MPIEXEC
set -euo pipefail
cs=${1:-${CORESCOPE:-build/corescope}}
size=${SIZE:-8}
rounds=${ROUNDS:-3}
reps=${REPS:-20}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
source "$(dirname "$0")/cluster.sh"
if ! why=$(mn_available); then echo "pingpong_nodes: $why" >&2; exit 2; fi
work=$(mktemp -d)
trap 'mn_down; rm -rf "$work"' EXIT
mn_up 2
for r in $(seq 1 "$rounds"); do
  mn_launch n1:2 2 "$cs" run -k pingpong -m mpi -s "$size" -r "$reps" --warmup 2 -o "$work/intra.h5" -q
  mn_launch n1:1,n2:1 2 "$cs" run -k pingpong -m mpi -s "$size" -r "$reps" --warmup 2 -o "$work/inter.h5" -q
done
/usr/bin/python3 - "$work" "$size" "$(mn_flavour)" <<'PY'
import sys, h5py, numpy as np
work, size, flavour = sys.argv[1], sys.argv[2], sys.argv[3]
med = {}
for where in ("intra", "inter"):
    with h5py.File(f"{work}/{where}.h5", "r") as f:
        runs, s = f["runs"], f["samples"]
        assert all(runs["verified"][...] == 1), f"{where}: a run did not verify"
        trips = runs["round_trips"][...]
        w0 = s["worker"][...] == 0
        run_of = s["run"][...][w0]
        half = s["wall_s"][...][w0] / (2.0 * trips[run_of])  # one value per repetition
    med[where] = np.median(half)
    print(f"{flavour} {where:5s} {size} B: n={half.size} reps ({len(trips)} launches x {half.size // len(trips)}), "
          f"{int(trips.min())}-{int(trips.max())} round trips each; half round trip median {med[where] * 1e6:.2f} us, "
          f"min {half.min() * 1e6:.2f}, max {half.max() * 1e6:.2f}, "
          f"IQR {np.percentile(half, 25) * 1e6:.2f}-{np.percentile(half, 75) * 1e6:.2f} us")
print(f"inter/intra: {med['inter'] / med['intra']:.1f}x")
PY
