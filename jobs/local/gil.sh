#!/usr/bin/env bash
# The GIL claim of the founding notes: threads that must hold one lock to compute gain nothing on
# CPU-bound work (ep), while threads that wait (iowait: sleeps, fsync, pipes) still overlap. The
# same kernels under free threads and processes (Python's multiprocessing) for comparison, and
# once more with everything on one CPU (--pin one), where any concurrency is an illusion.
#   bash jobs/local/gil.sh                    # -> gil.h5; run again to resume
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
study gil --size S --reps 2 --warmup 1 --workers 1,2 <<'PLAN'
kernels = ep, iowait
modes   = serial, threads, gil, processes
workers = 1, 2, 4
pin     = none, one
size    = M
reps    = 10
PLAN
