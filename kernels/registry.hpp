// The kernel registry: one table of every kernel, in kernels/registry.cpp.
#pragma once
#include <string>
#include <vector>

#include "core/kernel.hpp"

namespace corescope {

const std::vector<KernelInfo>& kernels();
// Finds a kernel by name or throws UsageError listing the valid names.
const KernelInfo& find_kernel(const std::string& name);

}  // namespace corescope
