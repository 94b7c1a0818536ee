#!/usr/bin/env bash
# The README's main command: installs what is missing, builds corescope, runs a small scaling
# study on this machine (triad, ep and reduce; every built mode; 1 and 2 workers, plus MPI ranks
# and a hybrid split) into one HDF5 file, and writes the HTML report next to it.
#   OUT=results.h5 REPORT=report bash jobs/local/quickstart.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${OUT:-$root/results.h5}
report=${REPORT:-$root/report}
size=${SIZE:-M}
reps=${REPS:-5}

"$root/.ci/build.sh" default
cs=$root/build/corescope
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

"$cs" info
"$cs" sweep --kernels triad,ep,reduce --modes serial,threads,gil,openmp,processes,mpi --workers 1,2 \
  --hybrid 2x1,1x2 --size "$size" --reps "$reps" --out "$out" --resume
"$cs" summary "$out"
"$root/build/corescope-report" "$out" -o "$report"
echo "results: $out"
echo "report:  $report/index.html"
