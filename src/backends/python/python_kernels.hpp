// Which kernels the Python driver implements, in which Python modes, and how they differ from the
// C++ kernel of the same name (sizes, params, allowed values). python/corescope_py/kernels/ is the
// other half; tests/integration/python_modes.sh checks that both say the same.
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
