#!/usr/bin/env bash
# pingpong_vs_raw.sh across two nodes of the namespace cluster (tests/multinode/cluster.sh): the
# same side-by-side run of corescope's MPI pingpong and the bare MPI_Send/MPI_Recv loop, with
# rank 0 on n1 and rank 1 on n2 (TCP over the veths), so both take the same inter-node path.
# Prints pingpong_vs_raw.sh's table: latency ratio at 8 B and bandwidth ratio at 1 MiB, medians
# over ROUNDS rounds, and every round's ratio (the spread). A benchmark (needs root).
#   bench/pingpong_nodes_vs_raw.sh [BUILD_DIR]   env: ROUNDS (5), REPS (20), MPIEXEC (mpirun)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tests/multinode/cluster.sh"
if ! why=$(mn_available); then echo "pingpong_nodes_vs_raw: $why" >&2; exit 2; fi
export MPIEXEC=${MPIEXEC:-mpirun} OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
trap 'mn_down' EXIT
mn_up 2
hosts=$(mn_hosts 2)
if [[ $(mn_flavour) == openmpi ]]; then
  MPIRUN_FLAGS="--host $hosts --bind-to none $(mn_launcher_args)"
else
  MPIRUN_FLAGS="$(mn_launcher_args) -hosts $hosts"
fi
echo "$(mn_flavour), 2 ranks on $hosts: $MPIEXEC $MPIRUN_FLAGS"
MPIRUN=$MPIEXEC MPIRUN_FLAGS=$MPIRUN_FLAGS "$here/pingpong_vs_raw.sh" "${1:-build}"
