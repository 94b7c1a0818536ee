// Launcher and Slurm facts from the environment; the MPI library from its headers.
#include "core/launch_env.hpp"

#include <cstdlib>

#include "core/run.hpp"

#if CORESCOPE_HAVE_MPI
#include <mpi.h>
#endif

namespace corescope {

namespace {
const char* env(const char* name) {
  const char* v = std::getenv(name);
  return (v && *v) ? v : nullptr;
}

int env_int(const char* name) {
  const char* v = env(name);
  return v ? std::atoi(v) : -1;
}
}  // namespace

LaunchEnv launch_env() {
  LaunchEnv e;
  if (env("SLURM_STEP_ID") && env("SLURM_PROCID") &&
      (env("SLURM_STEP_NUM_TASKS") || env("SLURM_NTASKS"))) {
    e.launcher = "srun";
    e.launcher_size =
        env_int(env("SLURM_STEP_NUM_TASKS") ? "SLURM_STEP_NUM_TASKS" : "SLURM_NTASKS");
    e.launcher_rank = env_int("SLURM_PROCID");
  } else if (env("OMPI_COMM_WORLD_SIZE")) {
    e.launcher = "mpirun";
    e.launcher_size = env_int("OMPI_COMM_WORLD_SIZE");
    e.launcher_rank = env_int("OMPI_COMM_WORLD_RANK");
  } else if (env("PMI_SIZE") || env("PMI_RANK") || env("HYDI_CONTROL_FD") || env("PMIX_RANK") ||
             env("MPI_LOCALNRANKS")) {
    e.launcher = "mpiexec";
    e.launcher_size = env_int("PMI_SIZE");
    e.launcher_rank = env_int(env("PMI_RANK") ? "PMI_RANK" : "PMIX_RANK");
  }
  if (const char* v = env("SLURM_JOB_ID")) e.slurm_job_id = v;
  if (const char* v = env("SLURM_STEP_ID")) e.slurm_step_id = v;
  if (const char* v = env("SLURM_JOB_NODELIST")) e.slurm_nodelist = v;
  e.slurm_ntasks = env_int(env("SLURM_STEP_NUM_TASKS") ? "SLURM_STEP_NUM_TASKS" : "SLURM_NTASKS");
  e.slurm_cpus_per_task = env_int("SLURM_CPUS_PER_TASK");
  e.slurm_cpus_on_node = env_int("SLURM_CPUS_ON_NODE");
  return e;
}

void record_slurm(RunResult& r, const LaunchEnv& env) {
  r.slurm_job_id = env.slurm_job_id;
  r.slurm_step_id = env.slurm_step_id;
  r.slurm_nodelist = env.slurm_nodelist;
  r.slurm_ntasks = env.slurm_ntasks;
  r.slurm_cpus_per_task = env.slurm_cpus_per_task;
}

std::string mpi_flavour() {
#if !CORESCOPE_HAVE_MPI
  return "";
#elif defined(OPEN_MPI)
  return "OpenMPI";
#elif defined(MPICH)
  return "MPICH";
#else
  return "MPI";
#endif
}

std::string mpi_library_version() {
#if CORESCOPE_HAVE_MPI
  char buf[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(buf, &len);
  std::string s(buf, static_cast<std::size_t>(len));
  const auto nl = s.find_first_of("\n,");
  if (nl != std::string::npos) s = s.substr(0, nl);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n')) s.pop_back();
  return s;
#else
  return "not built";
#endif
}

}  // namespace corescope
