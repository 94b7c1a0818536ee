// openmp mode: the workers are the threads of one OpenMP parallel region.
#pragma once
#include <memory>
#include <span>

#include "core/mode.hpp"

namespace corescope {

ModeInfo openmp_mode();

// Reduction over the threads of the current parallel region (slots + OpenMP barriers); the
// result is identical on every thread. `slots` is shared, one vector per thread.
void omp_team_allreduce(std::vector<std::vector<double>>& slots, int thread,
                        std::span<double> values, Op op);

}  // namespace corescope
