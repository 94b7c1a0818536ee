// The mode table. Adding a mode: its folder under src/backends/ exporting `ModeInfo x_mode()`,
// one entry here, its sources in src/backends/CMakeLists.txt (docs/dev/architecture.md).
#include "backends/registry.hpp"

#include "backends/gil/gil_mode.hpp"
#include "backends/hybrid/hybrid_mode.hpp"
#include "backends/mpi/mpi_mode.hpp"
#include "backends/openmp/openmp_mode.hpp"
#include "backends/processes/processes_mode.hpp"
#include "backends/python/python_mode.hpp"
#include "backends/serial/serial_mode.hpp"
#include "backends/threads/threads_mode.hpp"
#include "core/errors.hpp"
#include "core/suggest.hpp"
#include "core/text.hpp"

namespace corescope {

const std::vector<ModeInfo>& modes() {
  static const std::vector<ModeInfo> table = {
      serial_mode(), threads_mode(),   gil_mode(),        openmp_mode(),       mpi_mode(),
      hybrid_mode(), processes_mode(), py_threads_mode(), py_processes_mode(), py_pool_mode(),
  };
  return table;
}

const ModeInfo& find_mode(std::string_view name) {
  for (const auto& m : modes()) {
    if (m.name != name) continue;
    if (!m.built)
      throw UsageError("mode '" + std::string(name) +
                       "' was not built into this corescope: " + m.how_to_build);
    return m;
  }
  std::vector<std::string> names;
  for (const auto& m : modes()) names.push_back(m.name);
  throw UsageError(unknown_name("mode", std::string(name), names));
}

}  // namespace corescope
