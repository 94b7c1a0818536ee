#!/usr/bin/env bash
# critical's cost per update, one node against two: for each sync a team of ranks has (none,
# mutex, atomic, reduce), 2 ranks on one node (n1:2, the MPI shared-memory window) and 1 rank on
# each of two nodes (n1:1,n2:1, MPI one-sided communication over TCP), on the namespace cluster
# of tests/multinode/cluster.sh (root). Each configuration is launched LAUNCHES times, the
# configurations alternating so that drift of the machine spreads over all of them; each launch
# records ns_per_update (critical's metric: median over its timed repetitions of the slowest
# worker's time per update). Printed: median, min and max over the launches, and for sync=none
# the lost fraction (median).
#   bench/critical_nodes.sh [corescope]   env: MPIEXEC (mpirun), LAUNCHES (5), REPS (5),
#   M_ONE (100000, updates per worker on one node), M_TWO (200, across nodes), MODE (mpi)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cs=$(realpath "${1:-$here/../build/corescope}")
export MPIEXEC=${MPIEXEC:-mpirun}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
launches=${LAUNCHES:-5} reps=${REPS:-5} mode=${MODE:-mpi}
source "$here/../tests/multinode/cluster.sh"
if ! why=$(mn_available); then echo "cannot build a cluster here: $why" >&2; exit 2; fi
work=$(mktemp -d /tmp/corescope-critical-nodes.XXXXXX)
trap 'mn_down; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
mn_up 2
read -r -a rma_args <<<"$(mn_rma_args)"
echo "corescope: $cs; launcher: $MPIEXEC ($(mn_flavour)); mode $mode; $launches launches x $reps reps each"
echo "one node: n1:2, M=${M_ONE:-100000}; two nodes: n1:1,n2:1, M=${M_TWO:-200}, launcher options: ${rma_args[*]:-none}"
for ((l = 1; l <= launches; l++)); do
  for sync in none mutex atomic reduce; do
    for where in one two; do
      if [[ $where == one ]]; then hosts=n1:2 m=${M_ONE:-100000} MN_LAUNCH_ARGS=()
      else hosts=n1:1,n2:1 m=${M_TWO:-200} MN_LAUNCH_ARGS=("${rma_args[@]}"); fi
      mn_launch "$hosts" 2 "$cs" run -k critical -m "$mode" -p "sync=$sync" -s "$m" -r "$reps" --warmup 1 \
        -o "$work/$where.h5" -q </dev/null >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
    done
  done
done
/usr/bin/python3 - "$work" <<'PY'
import json, sys, h5py, numpy as np
print(f"{'sync':8} {'placement':22} {'n':>3} {'median ns':>12} {'min ns':>12} {'max ns':>12} {'lost (median)':>14} team_memory")
rows = {}
for where, label in (("one", "one node (2 ranks)"), ("two", "two nodes (1 rank each)")):
    with h5py.File(f"{sys.argv[1]}/{where}.h5", "r") as f:
        r = f["runs"]
        text = lambda c: [x.decode() for x in r[c][...]]
        for i, p in enumerate(text("params")):
            assert r["verified"][i] == 1, "a run did not verify"
            key = (json.loads(p)["sync"], label)
            rows.setdefault(key, []).append((r["ns_per_update"][i], r["lost_fraction"][i], text("team_memory")[i]))
for sync in ("none", "mutex", "atomic", "reduce"):
    for label in ("one node (2 ranks)", "two nodes (1 rank each)"):
        v = rows[(sync, label)]
        ns = np.array([x[0] for x in v]); lost = np.median([x[1] for x in v])
        print(f"{sync:8} {label:22} {len(v):3d} {np.median(ns):12.1f} {ns.min():12.1f} {ns.max():12.1f} {lost:14.3f} {v[0][2]}")
PY
