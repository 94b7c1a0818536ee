#!/usr/bin/env bash
# Append cost against file size (a benchmark, not a test): a file is grown to each size by
# bench/grow_results.py (no kernels run), then `corescope run -k ep -m serial -s S -r 1` appends
# to it REPS times; prints the median, min and max wall time of one run with its append per
# size, and the file's bytes per run before and after `corescope compact` when the binary has it.
# With --against OLD, the same is done with the binary OLD on its own copy of each file, the
# two appends alternating, and the ratio CORESCOPE/OLD of their medians is printed too.
# Usage: bench/append_scaling.sh [--against OLD] CORESCOPE [REPS [SIZES...]]
#        (default 10 reps; sizes 10 1000 10000 100000)
set -euo pipefail
old=
if [[ ${1:-} == --against ]]; then
  old=$(realpath "$2")
  shift 2
fi
cs=$(realpath "$1")
reps=${2:-10}
shift $(($# < 2 ? $# : 2))
sizes=("$@")
((${#sizes[@]})) || sizes=(10 1000 10000 100000)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
binaries=("$cs")
[[ -n $old ]] && binaries+=("$old")

append() {  # BINARY FILE: one run and its append; prints the microseconds it took
  local start
  start=$(date +%s%N)
  "$1" run -k ep -m serial -s S -r 1 -o "$2" -q
  echo $((($(date +%s%N) - start) / 1000))
}

median_of() { printf '%s\n' "$@" | sort -n | sed -n "$(($# / 2 + 1))p"; }

summary() {  # TIMES...: "median M ms, min m ms, max x ms (n=N)"
  local sorted
  sorted=($(printf '%s\n' "$@" | sort -n))
  echo "median $(($(median_of "$@") / 1000)) ms, min $((sorted[0] / 1000)) ms, max $((sorted[$# - 1] / 1000)) ms (n=$#)"
}

"$cs" run -k ep -m serial -s S -r 1 -o "$work/seed.h5" -q
for n in "${sizes[@]}"; do
  cp "$work/seed.h5" "$work/grown.h5"
  /usr/bin/python3 "$here/grow_results.py" "$work/grown.h5" "$n"
  for i in "${!binaries[@]}"; do
    cp "$work/grown.h5" "$work/f$i.h5"
    # The first append after an outside change checks the file (and makes its twin).
    append "${binaries[$i]}" "$work/f$i.h5" > /dev/null
  done
  new_times=() old_times=()
  for _ in $(seq 1 "$reps"); do
    new_times+=("$(append "$cs" "$work/f0.h5")")
    [[ -n $old ]] && old_times+=("$(append "$old" "$work/f1.h5")")
  done
  runs=$((n + 1 + reps))
  line="runs $n: append $(summary "${new_times[@]}")"
  if [[ -n $old ]]; then
    ratio=$(awk -v a="$(median_of "${new_times[@]}")" -v b="$(median_of "${old_times[@]}")" \
      'BEGIN { printf "%.2f", a / b }')
    line+="; against $(summary "${old_times[@]}"), ratio of medians $ratio"
  fi
  line+="; $(($(stat -c %s "$work/f0.h5") / runs)) bytes/run"
  if "$cs" --help 2>/dev/null | grep -q "^  compact"; then
    "$cs" compact -q "$work/f0.h5"
    line+=", $(($(stat -c %s "$work/f0.h5") / runs)) bytes/run after compact"
  fi
  echo "$line"
done
