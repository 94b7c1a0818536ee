#!/usr/bin/env bash
# Fault isolation (the founding notes: an error or leak in one process does not hurt another; with
# threads it may): each fault injected into worker 1 of 4, in every mode, a few trials each.
# Needs `corescope isolate`; a build without it says so and exits 3.
#   bash jobs/local/isolation.sh              # -> isolation.h5
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
if ! "$CORESCOPE" --help | grep -q '^ *isolate '; then
  echo "jobs/local/isolation.sh: $CORESCOPE has no 'isolate' command (fault injection is not built yet)" >&2
  exit 3
fi
workers=4 trials=5 faults="crash leak stray-write hang"
if [[ ${CORESCOPE_TEST_SIZE:-0} == 1 ]]; then workers=2 trials=1 faults="crash"; fi
modes=$("$CORESCOPE" list | awk '/^Modes/{m=1; next} m && $2 == "yes" && $1 != "serial" && $1 != "hybrid" {printf "%s%s", s, $1; s=","}')
for fault in $faults; do
  "$CORESCOPE" isolate --kernel triad --fault "$fault" --victim 1 --modes "$modes" --workers "$workers" \
    --trials "$trials" --out "${OUT:-isolation.h5}"
done
