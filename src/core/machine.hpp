// What machine and build we run on: hwloc topology, compiler, libraries. Measured once per
// process and written as root attributes of the results file.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace corescope {

struct MachineInfo {
  std::string host;
  std::string cpu_model;
  int packages = 0, cores = 0, pus = 0;  // sockets, physical cores, hardware threads
  std::int64_t l1d_bytes = 0, l2_bytes = 0, l3_bytes = 0;  // per instance, 0 if absent
  std::int64_t llc_bytes = 0;  // last-level cache size (largest level present)
  std::int64_t memory_bytes = 0;
  double timer_resolution_s = 0.0;              // measured smallest step of the wall clock
  int numa_domains = 0, l3_groups = 0;          // 0 when hwloc shows none
  std::vector<std::int64_t> numa_memory_bytes;  // local memory of each NUMA domain, hwloc's order
  // By CPU number (a PU's OS index, as sched_getcpu returns it): its NUMA domain and package
  // (hwloc's logical indexes), -1 where unknown.
  std::vector<int> numa_of_cpu, package_of_cpu;
  // hwloc read a described node (HWLOC_XMLFILE/HWLOC_SYNTHETIC), not this system
  bool described = false;
};
// The NUMA domain / package of a CPU number, -1 when unknown.
int numa_of_cpu(std::int64_t cpu);
int package_of_cpu(std::int64_t cpu);

// Queried once (hwloc + /proc), then cached.
const MachineInfo& machine();

struct BuildInfo {
  std::string software_version, git_commit, compiler, cxx_flags, build_type;
  std::string mpi_library;  // MPI_Get_library_version's first line, or "not built"
  std::string hdf5_version;
  std::string openmp_version;  // _OPENMP date -> version
};
const BuildInfo& build_info();

// Root attributes for a results file: host, CPU, cores, caches, compiler + flags, MPI, HDF5, git.
std::vector<std::pair<std::string, std::string>> provenance_text();
std::vector<std::pair<std::string, std::int64_t>> provenance_integers();

}  // namespace corescope
