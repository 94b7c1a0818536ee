#!/usr/bin/env bash
# What an in-place append in HDF5's single-writer/multiple-reader mode leaves for readers (a
# probe behind docs/dev/record-write-path.md, not a test): for fixed-length and variable-length
# text in SWMR mode, and fixed text in place without SWMR in the oldest file format ("plain"),
# TRIALS times, a writer (bench/swmr_probe) appends rows and flushes every 50; a reader with
# default flags (h5py.File(path)) opens the file while the writer runs; the writer is killed with
# SIGKILL after a random 0.05-0.95 s; then a default reader and a SWMR reader open the file, and
# the SWMR reader (a default reader for plain) checks that every row it sees is the row written.
# Usage: [SWMR_CRASH_KINDS="fixed vl plain"] [SWMR_CRASH_SEED=N] bench/swmr_crash.sh SWMR_PROBE [TRIALS]
# (default 20 trials; the seed of the delays is printed)
set -euo pipefail
probe=$(realpath "$1")
trials=${2:-20}
seed=${SWMR_CRASH_SEED:-$RANDOM}
RANDOM=$seed
echo "seed $seed (SWMR_CRASH_SEED=$seed replays the delays)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
py=/usr/bin/python3
open_default='import h5py, sys; h5py.File(sys.argv[1], "r").close()'
check_swmr='
import h5py, sys
swmr = sys.argv[2] != "plain"
with h5py.File(sys.argv[1], "r", swmr=swmr, libver="latest" if swmr else None) as f:
    text, value = f["text"].asstr()[:], f["value"][:]
n = min(len(text), len(value))
bad = [i for i in range(n) if text[i] != "row %d" % i or value[i] != i]
print("rows %d/%d, %d wrong" % (len(text), len(value), len(bad)))
sys.exit(1 if bad else 0)'
for kind in ${SWMR_CRASH_KINDS:-fixed vl plain}; do
  during=0 after=0 consistent=0 broken=0 rows=()
  for _ in $(seq 1 "$trials"); do
    f=$work/$kind.h5
    rm -f "$f"
    "$probe" create "$f" "$kind"
    "$probe" append "$f" 50 &
    pid=$!
    sleep 0.05
    $py -c "$open_default" "$f" 2>/dev/null && during=$((during + 1))
    sleep "0.$(printf %02d $((RANDOM % 90 + 5)))"
    kill -9 "$pid"
    wait "$pid" 2>/dev/null || true
    $py -c "$open_default" "$f" 2>/dev/null && after=$((after + 1))
    if out=$($py -c "$check_swmr" "$f" "$kind" 2>&1); then
      consistent=$((consistent + 1))
      rows+=("${out%%/*}")
    else
      broken=$((broken + 1))
      echo "  $kind: ${out##*$'\n'}"
    fi
  done
  echo "$kind text, n=$trials: default reader opened the file during the write $during times, after the kill $after times;" \
    "checked reader: $consistent consistent, $broken unreadable or wrong (${rows[*]:0:5} ...)"
done
