// Launchers: who started this process (mpirun, mpiexec, srun, nobody; which Slurm job), and how
// a sweep starts the ranks of an mpi or hybrid cell with the right flags for this corescope's MPI
// library (Open MPI or MPICH), for root, for oversubscription and for the binding asked for.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "core/launch_env.hpp"
#include "sweep/plan.hpp"

namespace corescope::sweep {

// The hosts a sweep spreads the ranks of its mpi and hybrid cells over (`--hosts a:2,b:2` or
// `--hostfile FILE`); empty: the launcher's default (this host, or a Slurm allocation).
struct Hosts {
  std::string list;  // "a:2,b:2" as given (checked)
  std::string file;  // a hostfile, passed to the launcher as it is (checked: readable, not empty)
  int slots = 0;     // slots over all hosts (a host without a count has 1)
  bool empty() const { return list.empty() && file.empty(); }
};
// Checks `--hosts` (NAME[:SLOTS],...) or `--hostfile` (a line per host: `NAME`, `NAME:SLOTS`
// (MPICH) or `NAME slots=SLOTS` (Open MPI); # comments) and counts their slots. UsageError, one
// line, on bad input: a malformed entry, both given, a missing or empty file.
Hosts parse_hosts(const std::string& list, const std::string& file);

// How a sweep starts ranks.
struct Launcher {
  std::string kind;      // srun | mpirun (Open MPI's) | mpiexec (MPICH's Hydra)
  std::string program;   // the binary
  std::string flavour;   // this corescope's MPI
  std::string srun_mpi;  // srun only: the --mpi plugin (pmix for Open MPI, pmi2 for MPICH)
  Hosts hosts;           // mpirun/mpiexec: where the ranks go (--host/--hostfile, -hosts/-f)
  // the user's own launcher words (--launcher-args), after the program
  std::vector<std::string> extra;
};
// Gives the launcher the hosts and extra words; UsageError when srun is asked to take hosts
// (inside Slurm the allocation says where ranks go).
void set_hosts(Launcher& launcher, const Hosts& hosts, const std::vector<std::string>& extra);

// choice: auto (srun inside a Slurm allocation, else the MPI library's own mpirun/mpiexec),
// srun, or mpirun. program: an explicit launcher binary ("" = search). UsageError, one line,
// when no usable launcher is found (or srun lacks the plugin this MPI needs).
Launcher find_launcher(const std::string& choice, const std::string& program);

// How one cell is started: the launcher words that go before `corescope run ...` (none for
// in-process modes) and the environment the child gets.
struct CellLaunch {
  std::vector<std::string> prefix;
  std::vector<std::pair<std::string, std::string>> env;
  std::string text() const;  // the prefix as one line ("mpirun -np 2 --bind-to none"), recorded
};
// `launcher` is null for cells of in-process modes. cpus: CPUs the sweep may use; cores:
// physical cores among them (Open MPI's default slots).
CellLaunch cell_launch(const Cell& cell, const Launcher* launcher, int cpus, int cores);

}  // namespace corescope::sweep
