// Where each rank of an MPI team runs: the host names of all ranks, gathered on rank 0 for the
// /samples `host` column (docs/user/results-format.md). Shared by the mpi and hybrid modes.
#pragma once
#include <string>
#include <vector>

namespace corescope::mpi {

// Collective over MPI_COMM_WORLD. On rank 0: the host name of every rank, index = rank (each rank
// reads its own with gethostname, as /runs `host` is read); on the other ranks: empty.
std::vector<std::string> gather_hosts();

}  // namespace corescope::mpi
