// Who started this process (a launcher, a Slurm step, nobody) and which MPI library this
// corescope was built with. Read from the environment and from the MPI headers; used by the MPI
// backends (is the world what the launcher started?), by sweeps (which launcher to use) and by
// the run records.
#pragma once
#include <string>

namespace corescope {

struct LaunchEnv {
  std::string launcher = "none";  // srun | mpirun | mpiexec | none
  std::string slurm_job_id, slurm_step_id, slurm_nodelist;
  int slurm_ntasks = -1, slurm_cpus_per_task = -1, slurm_cpus_on_node = -1;
  // How many processes the launcher says it started (SLURM_NTASKS, OMPI_COMM_WORLD_SIZE,
  // PMI_SIZE), -1 if not under one: an MPI world of another size means a mismatched launcher.
  int launcher_size = -1;
  // This process's rank in what the launcher started (SLURM_PROCID, OMPI_COMM_WORLD_RANK,
  // PMI_RANK, PMIX_RANK), -1 if not under one.
  int launcher_rank = -1;
};
LaunchEnv launch_env();

struct RunResult;
// The Slurm facts of `env` into the run's record (every mode: a threads run in a batch job has a
// job too).
void record_slurm(RunResult& r, const LaunchEnv& env);

// The MPI library this corescope was built with: "OpenMPI", "MPICH", "MPI" (another one), or
// "" when it was built without MPI.
std::string mpi_flavour();
// MPI_Get_library_version's first line (callable before MPI_Init), or "not built".
std::string mpi_library_version();

}  // namespace corescope
