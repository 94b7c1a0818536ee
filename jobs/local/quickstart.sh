#!/usr/bin/env bash
# The README's main command: installs what is missing (the main package set only), builds the
# corescope binary (no tests, no benchmarks), runs the built-in study of the founding notes
# (`corescope study`: scaling, memory, IPC, isolation, GIL, critical sections, the farm, one CPU;
# docs/user/study.md) into one HDF5 file, prints the summary and writes the HTML report next to it.
# Each phase's seconds are printed as it ends, so that a slow first run can be traced to its part.
#   OUT=results.h5 REPORT=report BUDGET=default bash jobs/local/quickstart.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${OUT:-$root/results.h5}
report=${REPORT:-$root/report}
budget=${BUDGET:-default}

start=$SECONDS phase_start=$SECONDS
phase_done() {
  echo "quickstart: $1 took $((SECONDS - phase_start)) s"
  phase_start=$SECONDS
}

"$root/.ci/install-deps.sh" main
phase_done "installing packages"
"$root/.ci/build.sh" default --main --target corescope
phase_done "the build"
cs=$root/build/corescope
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

"$cs" info
"$cs" study --budget "$budget" --out "$out" --resume
phase_done "the study"
"$cs" summary "$out"
"$root/build/corescope-report" "$out" -o "$report"
phase_done "the summary and the report"
echo "quickstart: $((SECONDS - start)) s in all"
echo "results: $out"
echo "report:  $report/index.html"
