// The mode registry: one table of every mode, in src/backends/registry.cpp. A mode this build
// lacks stays in the table with built = false, so asking for it can say how to build it.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "core/mode.hpp"

namespace corescope {

const std::vector<ModeInfo>& modes();
// Finds a mode by name; UsageError listing the valid names, or saying how to build it.
// (A string_view: see find_kernel.)
const ModeInfo& find_mode(std::string_view name);

}  // namespace corescope
