#!/usr/bin/env bash
# Hybrid splits of all the CPUs: C = ranks x threads for every split (C x 1 ... 1 x C), next to
# pure MPI (C ranks) and pure OpenMP (C threads): what the split costs or gains for each kernel.
#   bash jobs/local/hybrid.sh                 # -> hybrid.h5; run again to resume
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
study hybrid --kernels reduce --size S --reps 2 --warmup 1 --cores 2 --workers 2 <<'PLAN'
kernels = triad, reduce, ep
modes   = openmp, mpi, hybrid
workers = max
cores   = max
size    = M
reps    = 10
PLAN
