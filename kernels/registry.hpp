// The kernel registry: one table of every kernel, in kernels/registry.cpp.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "core/kernel.hpp"

namespace corescope {

const std::vector<KernelInfo>& kernels();
// Finds a kernel by name or throws UsageError listing the valid names. (A string_view, so that
// GCC 14 does not take the returned table entry for a reference into a temporary argument.)
const KernelInfo& find_kernel(std::string_view name);

}  // namespace corescope
