// MPI plumbing shared by the mpi and hybrid modes.
#include "backends/mpi/mpi_support.hpp"

#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/errors.hpp"
#include "core/outcome_codec.hpp"
#include "core/launch_env.hpp"

namespace corescope::mpi {

namespace {
void finalize_at_exit() {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (init && !fin) MPI_Finalize();
}

std::string level_name(int level) {
  switch (level) {
    case MPI_THREAD_SINGLE: return "MPI_THREAD_SINGLE";
    case MPI_THREAD_FUNNELED: return "MPI_THREAD_FUNNELED";
    case MPI_THREAD_SERIALIZED: return "MPI_THREAD_SERIALIZED";
    case MPI_THREAD_MULTIPLE: return "MPI_THREAD_MULTIPLE";
  }
  return "unknown";
}
}  // namespace

std::string init(int required_level) {
  if (launch_env().launcher == "none")
    throw UsageError("MPI modes must be started by a launcher, e.g. mpirun -np 2 corescope run --mode mpi ... "
                     "(or srun / mpiexec)");
  int init_done = 0;
  MPI_Initialized(&init_done);
  int provided = MPI_THREAD_SINGLE;
  if (!init_done) {
    MPI_Init_thread(nullptr, nullptr, required_level, &provided);
    std::atexit(finalize_at_exit);
    // Errors in MPI calls end the job (MPI_ERRORS_ARE_FATAL is the default; make it explicit).
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
  } else {
    MPI_Query_thread(&provided);
  }
  return level_name(provided);
}

bool initialized() {
  int init_done = 0;
  MPI_Initialized(&init_done);
  return init_done != 0;
}

int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

int world_size() {
  int s = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

MPI_Op to_mpi(Op op) { return op == Op::sum ? MPI_SUM : op == Op::min ? MPI_MIN : MPI_MAX; }

void check_world() {
  const LaunchEnv l = launch_env();
  const int size = world_size();
  const std::string flavour = mpi_flavour();
  if (l.launcher == "srun" && l.launcher_size > 0 && l.launcher_size != size)
    throw UsageError("srun started " + std::to_string(l.launcher_size) + " tasks but MPI sees a world of " +
                     std::to_string(size) + " (each task is a singleton): use srun --mpi=" +
                     std::string(flavour == "MPICH" ? "pmi2" : "pmix"));
  // Another MPI's launcher (Open MPI's mpirun starting an MPICH build, or the reverse) also
  // starts singletons: each process is rank 0 of its own world of 1.
  if (l.launcher != "srun" && l.launcher_size > 0 && l.launcher_size != size)
    throw UsageError(l.launcher + " started " + std::to_string(l.launcher_size) + " processes but MPI sees a world of " +
                     std::to_string(size) + ": this corescope is built with " + flavour + "; start it with " +
                     (flavour == "MPICH" ? "MPICH's mpiexec (mpiexec.mpich)" : "Open MPI's mpirun"));
}

void agree(const std::function<void()>& check) {
  // 0 = fine, 1 = usage error, 2 = runtime failure; then the message.
  int kind = 0;
  std::string message;
  if (world_rank() == 0) {
    try {
      check();
    } catch (const UsageError& e) {
      kind = 1;
      message = e.what();
    } catch (const std::exception& e) {
      kind = 2;
      message = e.what();
    }
  }
  MPI_Bcast(&kind, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (kind == 0) return;
  int n = static_cast<int>(message.size());
  MPI_Bcast(&n, 1, MPI_INT, 0, MPI_COMM_WORLD);
  message.resize(static_cast<std::size_t>(n));
  MPI_Bcast(message.data(), n, MPI_CHAR, 0, MPI_COMM_WORLD);
  if (kind == 1) throw UsageError(message);
  throw RuntimeFailure(message);
}

std::vector<WorkerOutcome> gather(const std::vector<WorkerOutcome>& mine) {
  std::vector<std::byte> buf;
  for (const auto& o : mine) {
    auto b = encode_outcome(o);
    buf.insert(buf.end(), b.begin(), b.end());
  }
  const int size = world_size(), rank = world_rank();
  int my_bytes = static_cast<int>(buf.size());
  std::vector<int> counts(static_cast<std::size_t>(size)), displs(static_cast<std::size_t>(size));
  MPI_Gather(&my_bytes, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  std::vector<std::byte> all;
  if (rank == 0) {
    int total = 0;
    for (int r = 0; r < size; ++r) {
      displs[static_cast<std::size_t>(r)] = total;
      total += counts[static_cast<std::size_t>(r)];
    }
    all.resize(static_cast<std::size_t>(total));
  }
  MPI_Gatherv(buf.data(), my_bytes, MPI_BYTE, all.data(), counts.data(), displs.data(), MPI_BYTE, 0, MPI_COMM_WORLD);
  std::vector<WorkerOutcome> out;
  if (rank == 0) {
    std::size_t pos = 0;
    while (pos < all.size()) out.push_back(decode_outcome(all, pos));
  }
  return out;
}

void abort_job(const std::string& message) {
  std::fprintf(stderr, "corescope: rank %d: %s\n", initialized() ? world_rank() : -1, message.c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::_Exit(1);
}

struct SharedWindows::State {
  MPI_Comm node = MPI_COMM_NULL;
  int nodes = 1;
  std::vector<MPI_Win> windows;
  MPI_Win lock_window = MPI_WIN_NULL;
  int lock_word = 0;
  int scratch = 0;
};

SharedWindows::SharedWindows() : state_(new State) {
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &state_->node);
  int node_rank = 0;
  MPI_Comm_rank(state_->node, &node_rank);
  const int leader = node_rank == 0 ? 1 : 0;
  MPI_Allreduce(&leader, &state_->nodes, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  // A world of one rank has nobody to exclude, and Open MPI cannot even create the window there
  // (its one-sided components need a second process: MPI_ERR_WIN from `mpirun -np 1`). Across
  // nodes nothing here works (allocate refuses), and Open MPI over TCP fails to create it too.
  if (world_size() > 1 && state_->nodes == 1)
    MPI_Win_create(&state_->lock_word, sizeof(int), sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD, &state_->lock_window);
}

SharedWindows::~SharedWindows() {
  for (auto& w : state_->windows) MPI_Win_free(&w);
  if (state_->lock_window != MPI_WIN_NULL) MPI_Win_free(&state_->lock_window);
  MPI_Comm_free(&state_->node);
  delete state_;
}

void* SharedWindows::allocate(std::size_t bytes) {
  // Decided on world-wide facts, so that every rank refuses alike.
  if (state_->nodes > 1)
    throw SpansNodes("team-shared memory needs every rank on one node (it is an MPI shared-memory window), but the " +
                     std::to_string(world_size()) + " ranks run on " + std::to_string(state_->nodes) +
                     " nodes; start them on one node");
  int node_rank = 0;
  MPI_Comm_rank(state_->node, &node_rank);
  void* base = nullptr;
  MPI_Win win;
  const MPI_Aint mine = node_rank == 0 ? static_cast<MPI_Aint>(bytes ? bytes : 1) : 0;
  MPI_Win_allocate_shared(mine, 1, MPI_INFO_NULL, state_->node, &base, &win);
  state_->windows.push_back(win);
  MPI_Aint size = 0;
  int disp = 0;
  MPI_Win_shared_query(win, 0, &size, &disp, &base);
  if (node_rank == 0) std::memset(base, 0, static_cast<std::size_t>(size));
  MPI_Barrier(state_->node);
  return base;
}

void SharedWindows::lock() {
  if (state_->lock_window == MPI_WIN_NULL) return;
  MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, state_->lock_window);
  // An epoch may start lazily; an operation flushed to the target makes sure the lock is held.
  MPI_Get(&state_->scratch, 1, MPI_INT, 0, 0, 1, MPI_INT, state_->lock_window);
  MPI_Win_flush(0, state_->lock_window);
}

void SharedWindows::unlock() {
  if (state_->lock_window != MPI_WIN_NULL) MPI_Win_unlock(0, state_->lock_window);
}

}  // namespace corescope::mpi
