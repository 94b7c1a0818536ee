#!/usr/bin/env bash
# The README's main command: installs what is missing, builds corescope, runs the built-in study
# of the founding notes (`corescope study`: scaling, memory, IPC, isolation, GIL, critical
# sections, the farm, one CPU; docs/study.md) into one HDF5 file, prints the summary and writes
# the HTML report next to it.
#   OUT=results.h5 REPORT=report BUDGET=default bash jobs/local/quickstart.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${OUT:-$root/results.h5}
report=${REPORT:-$root/report}
budget=${BUDGET:-default}

"$root/.ci/build.sh" default
cs=$root/build/corescope
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

"$cs" info
"$cs" study --budget "$budget" --out "$out" --resume
"$cs" summary "$out"
"$root/build/corescope-report" "$out" -o "$report"
echo "results: $out"
echo "report:  $report/index.html"
