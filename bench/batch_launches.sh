#!/usr/bin/env bash
# Where a sweep's wall time goes, one launch per run against --batch (one launch per team shape
# and round): the same plan, PAIRS times each way, interleaved (A B, B A, A B, ...), each into a
# fresh file. For each sweep: wall seconds, launches (distinct /runs launch_id), the timed
# repetitions (per run and repetition the slowest worker's wall_s, summed) and their share of the
# wall time. Then the medians and ranges of both ways and the ratio of the wall times.
#
#   bench/batch_launches.sh [PAIRS] [-- SWEEP OPTIONS...]
#     PAIRS: default 3; SWEEP OPTIONS: default the plan below (every in-process mode and mpi,
#     1 and 2 workers, size S, 3 rounds)
#   CORESCOPE=path/to/corescope (default: build/corescope of this checkout)
#
# Needs the machine to itself (docs/dev/testing.md, "Timing on a shared machine").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cs=${CORESCOPE:-$root/build/corescope}
pairs=${1:-3}
[[ $pairs =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [PAIRS] [-- SWEEP OPTIONS...]" >&2; exit 2; }
shift || true
[[ ${1:-} == -- ]] && shift
plan=("$@")
((${#plan[@]})) || plan=(--kernels triad,ep --modes serial,threads,openmp,processes,mpi --workers 1,2
                         --size S --reps 6 --warmup 1 --rounds 3)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=${OMPI_ALLOW_RUN_AS_ROOT:-1} OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=${OMPI_ALLOW_RUN_AS_ROOT_CONFIRM:-1}

one() {  # one WAY INDEX: a sweep, then its line
  local way=$1 file=$work/$1-$2.h5 extra=() t0 t1
  [[ $way == batch ]] && extra=(--batch)
  t0=$(date +%s.%N)
  "$cs" sweep "${plan[@]}" "${extra[@]}" -q --no-disturbed-rerun --out "$file"
  t1=$(date +%s.%N)
  /usr/bin/python3 - "$file" "$way" "$(echo "$t1 - $t0" | bc)" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
runs, s = f["runs"], f["samples"]
launches = len(set(runs["launch_id"][...]))
run, rep, wall = s["run"][...], s["rep"][...], s["wall_s"][...]
slowest = {}
for key, w in zip(zip(run, rep), wall):
    slowest[key] = max(slowest.get(key, 0.0), w)
timed, total = sum(slowest.values()), float(sys.argv[3])
print(f"{sys.argv[2]}\t{total:.2f}\t{len(runs['run'])}\t{launches}\t{timed:.3f}\t{100 * timed / total:.1f}")
PY
}

echo -e "way\twall_s\truns\tlaunches\ttimed_s\ttimed_%"
for ((i = 0; i < pairs; i++)); do
  if ((i % 2 == 0)); then one per-run "$i"; one batch "$i"; else one batch "$i"; one per-run "$i"; fi
done | tee "$work/lines.tsv"
/usr/bin/python3 - "$work/lines.tsv" <<'PY'
import sys, statistics as st
rows = [l.split("\t") for l in open(sys.argv[1]) if not l.startswith("way")]
by = {}
for way, wall, runs, launches, timed, share in rows:
    by.setdefault(way, []).append((float(wall), int(launches), float(share)))
for way, xs in by.items():
    walls = [x[0] for x in xs]
    print(f"{way}: n={len(xs)}, wall median {st.median(walls):.2f} s ({min(walls):.2f}-{max(walls):.2f}), "
          f"launches {xs[0][1]}, timed share median {st.median(x[2] for x in xs):.1f} %")
if len(by) == 2:
    ratios = [b[0] / a[0] for a, b in zip(by["per-run"], by["batch"])]
    print(f"batch / per-run wall time, pair by pair: median {st.median(ratios):.2f} "
          f"({min(ratios):.2f}-{max(ratios):.2f}), n={len(ratios)}")
PY
