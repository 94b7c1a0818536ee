// mpi mode: one worker per MPI rank, started by mpirun/mpiexec/srun; results gathered to rank 0.
#pragma once
#include <memory>

#include "core/mode.hpp"

namespace corescope {
std::unique_ptr<Mode> make_mpi_mode();
}
