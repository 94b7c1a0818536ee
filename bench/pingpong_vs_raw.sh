#!/usr/bin/env bash
# corescope's MPI pingpong side by side with a bare MPI_Send/MPI_Recv loop (mpi_pingpong_raw),
# in one run: ROUNDS rounds, each running both back to back at 8 B and at 1 MiB with the same
# reps, warm-up and round trips per repetition; then medians over rounds and the ratios
#   latency  corescope / raw at 8 B     (target <= 1.15)
#   bandwidth corescope / raw at 1 MiB  (target >= 0.90)
# A benchmark, not a test: it prints figures and always exits 0 when both programs ran.
#
#   bench/pingpong_vs_raw.sh [BUILD_DIR]      (default: build)
#   env: ROUNDS (5), REPS (20), MPIRUN (mpirun), MPIRUN_FLAGS (extra launcher flags)
set -euo pipefail
build=${1:-build}
rounds=${ROUNDS:-5}
reps=${REPS:-20}
mpirun=${MPIRUN:-mpirun}
read -r -a flags <<<"${MPIRUN_FLAGS:-}"
cs=$build/corescope
raw=$build/mpi_pingpong_raw
for exe in "$cs" "$raw"; do
  [[ -x $exe ]] || { echo "pingpong_vs_raw: $exe not built (cmake -DCORESCOPE_WITH_MPI=ON)" >&2; exit 2; }
done
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Each round runs the two programs back to back for each size, so that a ratio compares runs
# made under the same load, and in turn first (odd rounds corescope, even rounds the raw loop),
# so that a drift during a round favours neither; the figures are medians over rounds.
run_cs() {
  "$mpirun" -np 2 "${flags[@]}" "$cs" run -k pingpong -m mpi -s "$1" -r "$reps" --warmup 2 \
    --param round_trips="$2" -o "$work/cs.h5" -q
}
run_raw() {
  "$mpirun" -np 2 "${flags[@]}" "$raw" --sizes "$1" --reps "$reps" --warmup 2 --round-trips "$2" >>"$work/raw.txt"
}
for r in $(seq 1 "$rounds"); do
  for size in 8 1048576; do
    trips=$((size == 8 ? 1000 : 64))  # the same fixed count for both (corescope's auto is by time)
    if ((r % 2)); then run_cs $size $trips; run_raw $size $trips; else run_raw $size $trips; run_cs $size $trips; fi
  done
done

PYTHONPATH="$(cd "$(dirname "$0")/.." && pwd)/analysis" /usr/bin/python3 - "$work/cs.h5" "$work/raw.txt" "$rounds" <<'PY'
import statistics, sys, h5py
from corescope_analysis.intervals import median_ci
cs_file, raw_file, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
cs = {8: {"lat": [], "bw": []}, 1048576: {"lat": [], "bw": []}}
with h5py.File(cs_file, "r") as f:
    r = f["runs"]
    for i in range(len(r["run_id"])):
        size = int(r["size"][i])
        assert r["verified"][i] == 1, "a corescope run did not verify"
        cs[size]["lat"].append(float(r["latency_s"][i]))
        cs[size]["bw"].append(float(r["gbytes_per_s"][i]))
raw = {8: {"lat": [], "bw": []}, 1048576: {"lat": [], "bw": []}}
for line in open(raw_file):
    kv = dict(x.split("=") for x in line.split())
    assert kv["ok"] == "1", "the raw loop's payload check failed"
    raw[int(kv["size"])]["lat"].append(float(kv["latency_s"]))
    raw[int(kv["size"])]["bw"].append(float(kv["gbytes_per_s"]))
med = statistics.median
lat_ratio = [c / r for c, r in zip(cs[8]["lat"], raw[8]["lat"])]
bw_ratio = [c / r for c, r in zip(cs[1048576]["bw"], raw[1048576]["bw"])]
print(f"{rounds} rounds; in each, corescope and the raw loop back to back per size (median over repetitions)")
print(f"{'':28}{'corescope':>12}{'raw MPI':>12}{'ratio':>9}{'target':>10}   (medians over rounds;")
print(f"{'':28}{'':>12}{'':>12}{'':>9}{'':>10}    ratio = median of per-round ratios)")
print(f"{'latency at 8 B (us)':28}{med(cs[8]['lat']) * 1e6:12.3f}{med(raw[8]['lat']) * 1e6:12.3f}"
      f"{med(lat_ratio):9.3f}{'<= 1.15':>10}")
print(f"{'bandwidth at 1 MiB (GB/s)':28}{med(cs[1048576]['bw']):12.3f}{med(raw[1048576]['bw']):12.3f}"
      f"{med(bw_ratio):9.3f}{'>= 0.90':>10}")
for name, ratios in (("8 B latency ratio", lat_ratio), ("1 MiB bandwidth ratio", bw_ratio)):
    ci = median_ci(ratios)
    print(f"{name}: median {ci.point:.3f}, order-statistic interval {ci.lo:.3f}-{ci.hi:.3f} "
          f"(coverage {ci.level:.1%}, n {len(ratios)} rounds)")
print("per round, 8 B latency ratio:   ", " ".join(f"{x:.3f}" for x in lat_ratio))
print("per round, 1 MiB bandwidth ratio:", " ".join(f"{x:.3f}" for x in bw_ratio))
PY
