// hybrid mode: MPI ranks x OpenMP threads; worker id = rank * threads_per_rank + thread.
#pragma once
#include <memory>

#include "core/mode.hpp"

namespace corescope {
std::unique_ptr<Mode> make_hybrid_mode();
}
