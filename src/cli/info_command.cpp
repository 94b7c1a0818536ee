// `corescope info`: the machine (hwloc) and the build (compiler, MPI, OpenMP, HDF5).
#include "cli/commands.hpp"
#include "cli/table_printer.hpp"
#include "core/machine.hpp"
#include "core/platform.hpp"
#include "core/text.hpp"

namespace corescope::cli {

void add_info(CLI::App& app, int& exit_code) {
  CLI::App* sub = app.add_subcommand("info", "Show the machine (cores, caches, memory) and the build");
  sub->callback([&exit_code] {
    const auto& m = machine();
    const auto& b = build_info();
    TextTable t({"what", "value"});
    t.add({"host", m.host});
    t.add({"cpu", m.cpu_model});
    t.add({"packages / cores / hardware threads",
           std::to_string(m.packages) + " / " + std::to_string(m.cores) + " / " + std::to_string(m.pus)});
    t.add({"L1d / L2 / L3 cache", human_bytes(static_cast<double>(m.l1d_bytes)) + " / " +
                                       human_bytes(static_cast<double>(m.l2_bytes)) + " / " +
                                       human_bytes(static_cast<double>(m.l3_bytes))});
    t.add({"memory (total / available)", human_bytes(static_cast<double>(m.memory_bytes)) + " / " +
                                              human_bytes(static_cast<double>(platform::available_memory_bytes()))});
    t.add({"timer resolution", human_seconds(m.timer_resolution_s)});
    t.add({"corescope", b.software_version + " (" + b.git_commit + ")"});
    t.add({"compiler", b.compiler});
    t.add({"flags", b.build_type + " " + b.cxx_flags});
    t.add({"MPI", b.mpi_library});
    t.add({"OpenMP", b.openmp_version});
    t.add({"HDF5", b.hdf5_version});
    t.add({"memory probes", platform::memory_probes()});
    t.print();
    exit_code = 0;
  });
}

}  // namespace corescope::cli
