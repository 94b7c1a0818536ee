// MPI plumbing shared by the mpi and hybrid modes: one MPI session per process, launcher
// detection, agreeing on errors, and gathering every worker's outcome on rank 0.
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include <mpi.h>

#include "core/errors.hpp"
#include "core/run.hpp"
#include "core/worker.hpp"

namespace corescope::mpi {

// Initialises MPI once (finalised at exit) with the given thread level; returns the level
// provided, e.g. "MPI_THREAD_MULTIPLE".
std::string init(int required_level);
int world_rank();
int world_size();
bool initialized();

// Checks that the world is what the launcher started (srun's tasks, another MPI's launcher
// starting singletons). Throws UsageError (the same on every rank). The team's shape against
// --workers is make_run_spec's check (core/mode.hpp).
void check_world();

// The MPI operation of a reduction.
MPI_Op to_mpi(Op op);

// Runs check() on rank 0 and broadcasts its outcome; rethrows the same error on every rank.
void agree(const std::function<void()>& check);

// Gathers the outcomes of all ranks (each rank passes its own workers' outcomes) to rank 0.
std::vector<WorkerOutcome> gather(const std::vector<WorkerOutcome>& mine);

// Ends the whole job at once after printing one line (one rank's failure must not hang others).
[[noreturn]] void abort_job(const std::string& message);

// Team-shared memory asked of ranks that span nodes. Thrown by SharedWindows::allocate on every
// rank at once (the same message everywhere), so the modes let it end the run as a usage error
// instead of aborting the job.
struct SpansNodes : UsageError {
  using UsageError::UsageError;
};

// Team memory and the team lock for ranks. On one node: MPI shared-memory windows on the node,
// used through pointers. Across nodes: windows over the world with their memory on rank 0,
// reached by passive-target one-sided communication (words() only; allocate refuses). The lock
// is an exclusive passive-target lock on rank 0's lock window either way.
// Construction and destruction are collective over MPI_COMM_WORLD; construction finds out how
// many nodes the ranks are on.
class SharedWindows {
 public:
  SharedWindows();
  ~SharedWindows();
  SharedWindows(const SharedWindows&) = delete;
  SharedWindows& operator=(const SharedWindows&) = delete;
  void* allocate(std::size_t bytes);  // collective; zeroed; SpansNodes if the ranks span nodes
  TeamWords words(std::size_t n);     // collective; zeroed; local words on one node, remote across
  // "mpi-shm" (one node) or "mpi-rma" (across nodes).
  const char* kind() const;
  void lock();
  void unlock();

 private:
  struct State;
  State* state_;
};

}  // namespace corescope::mpi
