// Which kernels the Python driver implements, in which Python modes, and how they differ from the
// C++ kernel of the same name (sizes, params, allowed values): declared here only. The modules of
// python/corescope_py/kernels/ implement them (a pool needs pool_task and PoolPlan), and
// tests/integration/python_modes.sh checks that what they can run is what this table says.
#pragma once
#include <string>
#include <vector>

#include "core/kernel.hpp"

namespace corescope::python {

enum class Kind { threads, processes, pool };
std::string kind_name(Kind k);  // "threads", "processes", "pool" (the driver's words)

// The kernel as the Python modes of `kind` run it; UsageError naming the kernels they do run.
KernelInfo adapt_kernel(const KernelInfo& kernel, Kind kind, const std::string& mode_name);

// The kernels a mode of `kind` runs, in table order.
std::vector<std::string> kernels_for(Kind kind);

}  // namespace corescope::python
