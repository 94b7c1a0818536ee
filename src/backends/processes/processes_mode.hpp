// processes mode: N OS processes forked by corescope itself, without MPI or a launcher (the
// way Python's multiprocessing works). Private memory per worker; they talk through one of the
// founding notes' IPC channels (--channel shm | pipe | file | socket, see channels/). The
// parent process is the supervisor (supervisor.hpp): it collects results, writes the HDF5 file
// and survives any worker's death.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/mode.hpp"

namespace corescope {

ModeInfo processes_mode();

}  // namespace corescope
