#!/usr/bin/env bash
# Strong scaling: one fixed total problem (size M, at least 4x the last-level cache) over 1, 2, 4,
# ... workers up to the CPUs, in every mode; mpi cells through this MPI's mpirun/mpiexec.
# Speedup = time(1 worker) / time(N): memory-bound triad and reduce flatten at the memory
# bandwidth, compute-bound ep scales to the cores, gil does not scale at all.
#   bash jobs/local/strong.sh                 # -> strong.h5; run again to resume
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
study strong --kernels triad --size S --reps 2 --warmup 1 --workers 1,2 <<'PLAN'
kernels = triad, ep, reduce
modes   = serial, threads, gil, openmp, processes, mpi
workers = pow2
scaling = strong
size    = M
reps    = 10
PLAN
