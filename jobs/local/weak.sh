#!/usr/bin/env bash
# Weak scaling: a fixed problem per worker (size M each), 1, 2, 4, ... workers up to the CPUs.
# Ideal is a flat time; memory-bound kernels rise once the workers share the memory bandwidth.
#   bash jobs/local/weak.sh                   # -> weak.h5; run again to resume
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
study weak --kernels triad --size S --reps 2 --warmup 1 --workers 1,2 <<'PLAN'
kernels = triad, ep, reduce
modes   = serial, threads, openmp, processes, mpi
workers = pow2
scaling = weak
size    = M
reps    = 10
PLAN
