// The Mode interface and the mode registry. A mode is one folder under src/backends/ that makes
// workers (threads, OpenMP threads, MPI ranks, forked processes) and runs the run loop in each.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/run.hpp"

namespace corescope {

class Mode {
 public:
  virtual ~Mode() = default;
  // Mode-specific checks of the spec, and filling in what the mode decides (ranks, threads,
  // channel). Throws UsageError. For MPI modes this initialises MPI and checks the launcher.
  virtual void prepare(RunSpec& spec) { }
  // Runs `check` on the writing process and makes every process of the team agree on its
  // outcome: a UsageError or RuntimeFailure there is rethrown everywhere (printed once).
  virtual void agree(const std::function<void()>& check) { check(); }
  // Runs the kernel on a team. On the writing process the result holds every worker's samples.
  virtual RunResult run(const RunSpec& spec, const KernelInfo& kernel) = 0;
  // True on the one process that prints and writes the results file.
  virtual bool is_writer() const { return true; }
};

struct ModeInfo {
  std::string name;
  std::string description;
  bool built = false;
  std::string how_to_build;            // shown when a mode that was not built is asked for
  bool needs_launcher = false;         // started by mpirun/mpiexec/srun
  bool threads_per_rank = false;       // accepts --threads
  std::vector<std::string> channels;   // point-to-point channels; first is the default
  std::function<std::unique_ptr<Mode>()> make;
  bool openmp_threads = false;         // its threads are OpenMP's: OMP_PROC_BIND/OMP_PLACES bind them
};

// The mode registry: one table, in src/backends/registry.cpp. Modes not built are listed with
// built = false.
const std::vector<ModeInfo>& modes();
// Finds a mode by name; UsageError listing the valid names, or saying how to build it.
const ModeInfo& find_mode(const std::string& name);

}  // namespace corescope
