// Machine and build provenance: hwloc topology, the wall clock's resolution, library versions.
#include "core/machine.hpp"

#include <hdf5.h>
#include <hwloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "core/launch_env.hpp"
#include "core/platform.hpp"
#include "core/text.hpp"

#ifndef CORESCOPE_VERSION
#define CORESCOPE_VERSION "unknown"
#endif
#if __has_include("corescope_git_commit.h")
#include "corescope_git_commit.h"  // written at every build (cmake/CorescopeGitCommit.cmake)
#endif
#ifndef CORESCOPE_GIT_COMMIT
#define CORESCOPE_GIT_COMMIT "unknown"
#endif
#ifndef CORESCOPE_COMPILER
#define CORESCOPE_COMPILER "unknown"
#endif
#ifndef CORESCOPE_CXX_FLAGS
#define CORESCOPE_CXX_FLAGS ""
#endif
#ifndef CORESCOPE_BUILD_TYPE
#define CORESCOPE_BUILD_TYPE ""
#endif

namespace corescope {

namespace {

// Smallest positive step seen between consecutive reads of the steady clock.
double measure_timer_resolution() {
  using clock = std::chrono::steady_clock;
  double best = 1.0;
  for (int trial = 0; trial < 200; ++trial) {
    const auto t0 = clock::now();
    auto t1 = clock::now();
    while (t1 == t0) t1 = clock::now();
    best = std::min(best, std::chrono::duration<double>(t1 - t0).count());
  }
  return best;
}

std::int64_t cache_size(hwloc_topology_t topo, hwloc_obj_type_t type) {
  hwloc_obj_t obj = hwloc_get_next_obj_by_type(topo, type, nullptr);
  return obj && obj->attr ? static_cast<std::int64_t>(obj->attr->cache.size) : 0;
}

// For each PU, by its OS index: the logical index of the object of `type` that holds it.
std::vector<int> index_by_cpu(hwloc_topology_t topo, hwloc_obj_type_t type) {
  std::vector<int> out;
  const int n = hwloc_get_nbobjs_by_type(topo, type);
  for (int i = 0; i < n; ++i) {
    const hwloc_obj_t obj = hwloc_get_obj_by_type(topo, type, static_cast<unsigned>(i));
    unsigned cpu = 0;
    hwloc_bitmap_foreach_begin(cpu, obj->cpuset) {
      if (cpu >= out.size()) out.resize(cpu + 1, -1);
      out[cpu] = i;
    }
    hwloc_bitmap_foreach_end();
  }
  return out;
}

// Packages, NUMA domains with their memory, L3 groups, cores, PUs and caches, as hwloc sees them.
void read_topology(hwloc_topology_t topo, MachineInfo& m) {
  m.packages = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE);
  m.cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
  m.pus = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
  m.l1d_bytes = cache_size(topo, HWLOC_OBJ_L1CACHE);
  m.l2_bytes = cache_size(topo, HWLOC_OBJ_L2CACHE);
  m.l3_bytes = cache_size(topo, HWLOC_OBJ_L3CACHE);
  m.l3_groups = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_L3CACHE);
  m.numa_domains = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
  for (int i = 0; i < m.numa_domains; ++i)
    m.numa_memory_bytes.push_back(static_cast<std::int64_t>(
        hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, static_cast<unsigned>(i))
            ->attr->numanode.local_memory));
  m.numa_of_cpu = index_by_cpu(topo, HWLOC_OBJ_NUMANODE);
  m.package_of_cpu = index_by_cpu(topo, HWLOC_OBJ_PACKAGE);
  m.memory_bytes = static_cast<std::int64_t>(hwloc_get_root_obj(topo)->total_memory);
  m.described = hwloc_topology_is_thissystem(topo) == 0;
}

MachineInfo query_machine() {
  MachineInfo m;
  m.host = platform::hostname();
  m.cpu_model = platform::cpu_model();
  hwloc_topology_t topo;
  if (hwloc_topology_init(&topo) == 0) {
    if (hwloc_topology_load(topo) == 0) read_topology(topo, m);
    hwloc_topology_destroy(topo);
  }
  // hwloc counts the memory of the NUMA nodes it sees, which can be less than the OS has.
  if (!m.described) m.memory_bytes = std::max(m.memory_bytes, platform::total_memory_bytes());
  m.llc_bytes = std::max({m.l1d_bytes, m.l2_bytes, m.l3_bytes});
  if (m.cores <= 0) m.cores = 1;
  if (m.pus <= 0) m.pus = m.cores;
  m.timer_resolution_s = measure_timer_resolution();
  return m;
}

std::string openmp_version() {
#ifdef _OPENMP
  switch (_OPENMP) {
    case 201107: return "3.1 (201107)";
    case 201307: return "4.0 (201307)";
    case 201511: return "4.5 (201511)";
    case 201811: return "5.0 (201811)";
    case 202011: return "5.1 (202011)";
    default: return std::to_string(_OPENMP);
  }
#else
  return "none";
#endif
}

}  // namespace

const MachineInfo& machine() {
  static const MachineInfo info = query_machine();
  return info;
}

namespace {
int lookup(const std::vector<int>& by_cpu, std::int64_t cpu) {
  return cpu >= 0 && static_cast<std::size_t>(cpu) < by_cpu.size()
             ? by_cpu[static_cast<std::size_t>(cpu)]
             : -1;
}
}  // namespace

int numa_of_cpu(std::int64_t cpu) { return lookup(machine().numa_of_cpu, cpu); }
int package_of_cpu(std::int64_t cpu) { return lookup(machine().package_of_cpu, cpu); }

const BuildInfo& build_info() {
  static const BuildInfo info = [] {
    BuildInfo b;
    b.software_version = CORESCOPE_VERSION;
    b.git_commit = CORESCOPE_GIT_COMMIT;
    b.compiler = CORESCOPE_COMPILER;
    b.cxx_flags = CORESCOPE_CXX_FLAGS;
    b.build_type = CORESCOPE_BUILD_TYPE;
    b.mpi_library = mpi_library_version();
    unsigned maj = 0, min = 0, rel = 0;
    H5get_libversion(&maj, &min, &rel);
    b.hdf5_version = std::to_string(maj) + "." + std::to_string(min) + "." + std::to_string(rel);
#ifdef H5_HAVE_PARALLEL
    b.hdf5_version += " (parallel)";
#endif
    b.openmp_version = openmp_version();
    return b;
  }();
  return info;
}

std::vector<std::pair<std::string, std::string>> provenance_text() {
  const auto& m = machine();
  const auto& b = build_info();
  return {{"software_version", b.software_version},
          {"git_commit", b.git_commit},
          {"host", m.host},
          {"cpu_model", m.cpu_model},
          {"compiler", b.compiler},
          {"cxx_flags", b.cxx_flags},
          {"build_type", b.build_type},
          {"mpi_library", b.mpi_library},
          {"hdf5_version", b.hdf5_version},
          {"openmp_version", b.openmp_version},
          {"memory_probes", platform::memory_probes()}};
}

std::vector<std::pair<std::string, std::int64_t>> provenance_integers() {
  const auto& m = machine();
  return {{"packages", m.packages},
          {"cores", m.cores},
          {"pus", m.pus},
          {"l1d_cache_bytes", m.l1d_bytes},
          {"l2_cache_bytes", m.l2_bytes},
          {"l3_cache_bytes", m.l3_bytes},
          {"llc_bytes", m.llc_bytes},
          {"memory_bytes", m.memory_bytes},
          {"numa_domains", m.numa_domains},
          {"l3_groups", m.l3_groups}};
}

}  // namespace corescope
