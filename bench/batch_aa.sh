#!/usr/bin/env bash
# The A/A check of `sweep --batch` (a benchmark, not a test): the same cells measured with one
# launch per run ("alone", file A) and inside their team shape's batch ("in a group", file B),
# SWEEPS sweeps each way, alternating (A B, B A, ...), each appending one round to its file. Then
# `corescope compare A B`: B/A per cell with its 95 % interval. A cell measured in a group agrees
# with itself alone when that interval lies within 0.97-1.03 (docs/user/sweeps.md, "Launches").
#
#   bench/batch_aa.sh [SWEEPS] [-- SWEEP OPTIONS...]
#     SWEEPS: default 8; SWEEP OPTIONS: default the plan below (ep, triad and reduce in every
#     in-process mode and mpi at 1 and 2 workers, size S, 20 repetitions)
#   CORESCOPE=path/to/corescope (default: build/corescope of this checkout)
#   KEEP=DIR keeps the two files in DIR.
#
# Needs the machine to itself (docs/dev/testing.md, "Timing on a shared machine").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cs=${CORESCOPE:-$root/build/corescope}
sweeps=${1:-8}
[[ $sweeps =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [SWEEPS] [-- SWEEP OPTIONS...]" >&2; exit 2; }
shift || true
[[ ${1:-} == -- ]] && shift
plan=("$@")
((${#plan[@]})) || plan=(--kernels ep,triad,reduce --modes serial,threads,openmp,processes,mpi
                         --workers 1,2 --size S --reps 20 --warmup 2 --rounds 1)
work=${KEEP:-$(mktemp -d)}
[[ -n ${KEEP:-} ]] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work"
export OMPI_ALLOW_RUN_AS_ROOT=${OMPI_ALLOW_RUN_AS_ROOT:-1} OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=${OMPI_ALLOW_RUN_AS_ROOT_CONFIRM:-1}

one() {  # one alone|group
  local extra=()
  [[ $1 == group ]] && extra=(--batch)
  "$cs" sweep "${plan[@]}" "${extra[@]}" -q --no-disturbed-rerun --out "$work/$1.h5"
}

for ((i = 0; i < sweeps; i++)); do
  if ((i % 2 == 0)); then one alone; one group; else one group; one alone; fi
done
"$cs" compare "$work/alone.h5" "$work/group.h5" --all-states --sort name || true
