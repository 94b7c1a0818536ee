// The mode registry: the one table of execution modes. A mode that this build lacks stays in the
// table with built = false, so asking for it can say how to build it.
#include <algorithm>

#include "backends/gil/gil_mode.hpp"
#include "backends/openmp/openmp_mode.hpp"
#include "backends/processes/processes_mode.hpp"
#include "backends/serial/serial_mode.hpp"
#include "backends/threads/threads_mode.hpp"
#include "core/errors.hpp"
#include "core/mode.hpp"
#include "core/text.hpp"
#if CORESCOPE_HAVE_MPI
#include "backends/hybrid/hybrid_mode.hpp"
#include "backends/mpi/mpi_mode.hpp"
#include "backends/mpi/mpi_support.hpp"
#endif

namespace corescope {

namespace {
[[maybe_unused]] const char* kMpiHowTo =
    "install an MPI (apt-get install libopenmpi-dev libhdf5-openmpi-dev) and reconfigure with "
    "-DCORESCOPE_WITH_MPI=ON";

template <class F>
std::function<std::unique_ptr<Mode>()> maker(F f) {
  return [f] { return f(); };
}
}  // namespace

const std::vector<ModeInfo>& modes() {
  static const std::vector<ModeInfo> table = [] {
    std::vector<ModeInfo> t;
    t.push_back({"serial", "the main thread alone: the reference", true, "", false, false, {}, maker(make_serial_mode)});
    t.push_back({"threads", "free-running std::threads sharing one address space", true, "", false, false,
                 {"atomic", "event"}, maker(make_threads_mode)});
    t.push_back({"gil", "std::threads serialized by an emulated CPython GIL (--switch-interval, --gil-release)", true,
                 "", false, false, {"atomic", "event"}, maker(make_gil_mode)});
    t.push_back({"openmp", "the threads of one OpenMP parallel region", true, "", false, false, {"atomic", "event"},
                 maker(make_openmp_mode), true});
#if CORESCOPE_HAVE_MPI
    t.push_back({"mpi", "MPI ranks with private memory, started by mpirun/mpiexec/srun", true, "", true, false,
                 {"mpi"}, maker(make_mpi_mode)});
    t.push_back({"hybrid", "MPI ranks x OpenMP threads (--threads per rank)", true, "", true, true, {"mpi"},
                 maker(make_hybrid_mode), true});
#else
    t.push_back({"mpi", "MPI ranks with private memory, started by mpirun/mpiexec/srun", false, kMpiHowTo, true,
                 false, {"mpi"}, nullptr});
    t.push_back({"hybrid", "MPI ranks x OpenMP threads (--threads per rank)", false, kMpiHowTo, true, true, {"mpi"},
                 nullptr, true});
#endif
    t.push_back({"processes", "OS processes forked by corescope, no MPI (like Python multiprocessing), over an IPC --channel",
                 true, "", false, false, processes_channels(), maker(make_processes_mode)});
    return t;
  }();
  return table;
}

const ModeInfo& find_mode(const std::string& name) {
  for (const auto& m : modes()) {
    if (m.name != name) continue;
    if (!m.built) throw UsageError("mode '" + name + "' was not built into this corescope: " + m.how_to_build);
    return m;
  }
  std::vector<std::string> names;
  for (const auto& m : modes()) names.push_back(m.name);
  throw UsageError("unknown mode '" + name + "'; valid modes: " + join(names, ", "));
}

std::string mpi_library_version() {
#if CORESCOPE_HAVE_MPI
  return mpi::library_version();
#else
  return "not built";
#endif
}

}  // namespace corescope
