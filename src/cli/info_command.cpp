// `corescope info`: the machine (hwloc) and the build (compiler, MPI, OpenMP, HDF5).
#include <algorithm>

#include "cli/commands.hpp"
#include "cli/table_printer.hpp"
#include "core/machine.hpp"
#include "core/platform.hpp"
#include "core/text.hpp"

namespace corescope::cli {

namespace {
// "4, 64.00 GiB each" or "2: 32.00 GiB, 16.00 GiB", with the cores per domain.
std::string numa_text(const MachineInfo& m) {
  if (m.numa_domains <= 0) return "none";
  std::string memory;
  const bool same = std::all_of(m.numa_memory_bytes.begin(), m.numa_memory_bytes.end(),
                                [&](std::int64_t b) { return b == m.numa_memory_bytes.front(); });
  if (same && !m.numa_memory_bytes.empty()) {
    memory = human_bytes(static_cast<double>(m.numa_memory_bytes.front())) +
             (m.numa_domains > 1 ? " each" : "");
  } else {
    for (const auto b : m.numa_memory_bytes)
      memory += (memory.empty() ? "" : ", ") + human_bytes(static_cast<double>(b));
  }
  return std::to_string(m.numa_domains) + ", " + memory + ", " +
         std::to_string(m.cores / m.numa_domains) + " cores" + (m.numa_domains > 1 ? " each" : "");
}
}  // namespace

void add_info(CLI::App& app, int& exit_code) {
  CLI::App* sub =
      app.add_subcommand("info", "Show the machine (cores, caches, memory) and the build");
  sub->callback([&exit_code] {
    const auto& m = machine();
    const auto& b = build_info();
    TextTable t({"what", "value"});
    t.add({"host", m.host});
    t.add({"cpu", m.cpu_model});
    t.add({"topology",
           m.described ? "a described node (HWLOC_XMLFILE), not this system" : "this system"});
    t.add({"packages / cores / hardware threads", std::to_string(m.packages) + " / " +
                                                      std::to_string(m.cores) + " / " +
                                                      std::to_string(m.pus)});
    t.add({"NUMA domains", numa_text(m)});
    t.add({"L3 groups", m.l3_groups > 0 ? std::to_string(m.l3_groups) + " x " +
                                              human_bytes(static_cast<double>(m.l3_bytes)) + ", " +
                                              std::to_string(m.cores / m.l3_groups) + " cores" +
                                              (m.l3_groups > 1 ? " each" : "")
                                        : "none"});
    t.add({"L1d / L2 / L3 cache", human_bytes(static_cast<double>(m.l1d_bytes)) + " / " +
                                      human_bytes(static_cast<double>(m.l2_bytes)) + " / " +
                                      human_bytes(static_cast<double>(m.l3_bytes))});
    t.add({"memory (total / available)",
           human_bytes(static_cast<double>(m.memory_bytes)) + " / " +
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
