// The kernel registry: the one table of kernels. Adding a kernel is one file in kernels/, one
// line here and one line in kernels/CMakeLists.txt; the tests then cover it in every mode.
#include "kernels/registry.hpp"

#include "core/errors.hpp"
#include "core/suggest.hpp"

namespace corescope {

namespace kernel_lib {
KernelInfo triad_kernel();
KernelInfo ep_kernel();
KernelInfo reduce_kernel();
KernelInfo stencil_kernel();
KernelInfo dgemm_kernel();
KernelInfo critical_kernel();
KernelInfo farm_kernel();
KernelInfo pingpong_kernel();
KernelInfo iowait_kernel();
KernelInfo convoy_kernel();
}  // namespace kernel_lib

const std::vector<KernelInfo>& kernels() {
  static const std::vector<KernelInfo> table = {
      kernel_lib::triad_kernel(),   kernel_lib::ep_kernel(),       kernel_lib::reduce_kernel(),
      kernel_lib::stencil_kernel(), kernel_lib::dgemm_kernel(),    kernel_lib::critical_kernel(),
      kernel_lib::farm_kernel(),    kernel_lib::pingpong_kernel(), kernel_lib::iowait_kernel(),
      kernel_lib::convoy_kernel(),
  };
  return table;
}

const KernelInfo& find_kernel(std::string_view name) {
  for (const auto& k : kernels())
    if (k.name == name) return k;
  std::vector<std::string> names;
  for (const auto& k : kernels()) names.push_back(k.name);
  throw UsageError(unknown_name("kernel", std::string(name), names));
}

}  // namespace corescope
