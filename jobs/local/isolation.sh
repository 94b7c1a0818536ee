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
# Every mode built but serial and hybrid (isolate's default), 4 workers, 5 trials per fault.
args=(--workers 4 --trials 5) faults="crash leak stray-write hang"
if [[ ${CORESCOPE_TEST_SIZE:-0} == 1 ]]; then args=(--workers 2 --trials 1 --run-seconds 1 --inject-at 0.3) faults="crash"; fi
for fault in $faults; do
  "$CORESCOPE" isolate --kernel triad --fault "$fault" --victim 1 "${args[@]}" --out "${OUT:-isolation.h5}"
done
