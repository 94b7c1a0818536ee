// mpi mode: one MPI rank per worker, private memory, every team operation an MPI call. Built
// only with an MPI; without one the mode is listed as not built, with how to build it.
#pragma once
#include "core/mode.hpp"

namespace corescope {

ModeInfo mpi_mode();

// What asking for an MPI mode says in a build without MPI.
inline constexpr const char* kMpiHowToBuild =
    "install an MPI (apt-get install libopenmpi-dev libhdf5-openmpi-dev) and reconfigure with "
    "-DCORESCOPE_WITH_MPI=ON";

}  // namespace corescope
