#!/usr/bin/env bash
# Append cost against file size (a benchmark, not a test): a file is grown to each size by
# bench/grow_results.py (no kernels run), then `corescope run -k ep -m serial -s S -r 1` appends
# to it REPS times; prints the median, min and max wall time of one append per size, and the
# file's bytes per run before and after `corescope compact` when the binary has it.
# Usage: bench/append_scaling.sh CORESCOPE [REPS [SIZES...]]   (default 10 reps; 10 1000 10000 100000)
set -euo pipefail
cs=$(realpath "$1")
reps=${2:-10}
shift $(($# < 2 ? $# : 2))
sizes=("$@")
((${#sizes[@]})) || sizes=(10 1000 10000 100000)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$cs" run -k ep -m serial -s S -r 1 -o "$work/seed.h5" -q
for n in "${sizes[@]}"; do
  f=$work/f$n.h5
  cp "$work/seed.h5" "$f"
  /usr/bin/python3 "$here/grow_results.py" "$f" "$n"
  "$cs" run -k ep -m serial -s S -r 1 -o "$f" -q  # the first append after an outside change checks the file
  times=()
  for _ in $(seq 1 "$reps"); do
    start=$(date +%s%N)
    "$cs" run -k ep -m serial -s S -r 1 -o "$f" -q
    times+=($((($(date +%s%N) - start) / 1000)))
  done
  sorted=($(printf '%s\n' "${times[@]}" | sort -n))
  median=${sorted[$((reps / 2))]}
  bytes=$(stat -c %s "$f")
  runs=$((n + 1 + reps))
  line="runs $n: append median $((median / 1000)) ms, min $((sorted[0] / 1000)) ms, max $((sorted[reps - 1] / 1000)) ms (n=$reps); $((bytes / runs)) bytes/run"
  if "$cs" --help 2>/dev/null | grep -q "^  compact"; then
    "$cs" compact -q "$f"
    line+=", $(($(stat -c %s "$f") / runs)) bytes/run after compact"
  fi
  echo "$line"
done
