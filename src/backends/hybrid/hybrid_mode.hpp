// hybrid mode: MPI ranks x OpenMP threads per rank (--threads); private memory between ranks,
// shared inside one. Built only with an MPI.
#pragma once
#include "core/mode.hpp"

namespace corescope {

ModeInfo hybrid_mode();

}  // namespace corescope
