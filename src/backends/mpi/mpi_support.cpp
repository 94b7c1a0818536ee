// MPI plumbing shared by the mpi and hybrid modes.
#include "backends/mpi/mpi_support.hpp"

#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

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
    throw UsageError(
        "MPI modes must be started by a launcher, e.g. mpirun -np 2 corescope run --mode mpi ... "
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
    throw UsageError("srun started " + std::to_string(l.launcher_size) +
                     " tasks but MPI sees a world of " + std::to_string(size) +
                     " (each task is a singleton): use srun --mpi=" +
                     std::string(flavour == "MPICH" ? "pmi2" : "pmix"));
  // Another MPI's launcher (Open MPI's mpirun starting an MPICH build, or the reverse) also
  // starts singletons: each process is rank 0 of its own world of 1.
  if (l.launcher != "srun" && l.launcher_size > 0 && l.launcher_size != size)
    throw UsageError(
        l.launcher + " started " + std::to_string(l.launcher_size) +
        " processes but MPI sees a world of " + std::to_string(size) +
        ": this corescope is built with " + flavour + "; start it with " +
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
  MPI_Gatherv(buf.data(), my_bytes, MPI_BYTE, all.data(), counts.data(), displs.data(), MPI_BYTE, 0,
              MPI_COMM_WORLD);
  std::vector<WorkerOutcome> out;
  if (rank == 0) {
    std::size_t pos = 0;
    while (pos < all.size()) out.push_back(decode_outcome(all, pos));
  }
  return out;
}

void abort_job(const std::string& message) {
  std::fprintf(stderr, "corescope: rank %d: %s\n", initialized() ? world_rank() : -1,
               message.c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::_Exit(1);
}

namespace {

// Creates a window over the world with `bytes` on rank 0 (none elsewhere), zeroed. Across nodes
// an MPI may have no one-sided component that works over the network (Open MPI 4.1's osc rdma
// over TCP fails here with MPI_ERR_WIN); that is caught on every rank and refused as a usage
// error, the same everywhere, instead of ending the job.
MPI_Win world_window(std::size_t bytes, const std::string& what) {
  const bool root = world_rank() == 0;
  void* base = nullptr;
  MPI_Win win = MPI_WIN_NULL;
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  const int rc = MPI_Win_allocate(root ? static_cast<MPI_Aint>(bytes) : 0, 8, MPI_INFO_NULL,
                                  MPI_COMM_WORLD, &base, &win);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
  int failed = rc != MPI_SUCCESS ? 1 : 0;
  MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (failed) {
    if (rc == MPI_SUCCESS) MPI_Win_free(&win);
    throw SpansNodes(
        what + " across nodes needs MPI one-sided communication between the nodes, and " +
        mpi_flavour() + " could not create a window over this network" +
        (mpi_flavour() == "MPICH"
             ? std::string()
             : std::string(" (Open MPI 4.1 over TCP: run mpirun with --mca pml ucx "
                           "--mca osc ucx,sm, or --mca osc pt2pt,sm for --mode mpi)")));
  }
  if (root) std::memset(base, 0, bytes);
  MPI_Win_set_errhandler(win, MPI_ERRORS_ARE_FATAL);
  return win;
}

// Team words on rank 0 reached from every rank by passive-target one-sided communication: one
// access epoch to all ranks (lock_all) for the window's life, every operation flushed to rank 0
// before it returns. Rank 0 reaches its own memory through MPI as well, so that its accesses
// are atomic with respect to the others' (MPI atomics are not atomic with respect to loads and
// stores through a pointer).
// Over TCP the others' operations are carried out by rank 0's MPI library, only while rank 0 is
// inside an MPI call, and its operations on its own window complete locally without looking at
// the network: rank 0 in a loop of its own updates would serve nobody (measured: 1 remote
// update against 400,000 local ones in 0.3 s). So after each of its operations rank 0 polls
// (MPI_Iprobe for a message nobody sends), as any MPI program that owns such a window must.
class RmaWords : public RemoteWords {
 public:
  explicit RmaWords(std::size_t n)
      : win_(world_window(n * sizeof(std::uint64_t), "team memory")), target_(world_rank() == 0) {
    MPI_Win_lock_all(0, win_);
    MPI_Barrier(MPI_COMM_WORLD);  // every rank sees rank 0's zeroes
  }
  ~RmaWords() override {
    MPI_Win_unlock_all(win_);
    MPI_Win_free(&win_);
  }
  RmaWords(const RmaWords&) = delete;
  RmaWords& operator=(const RmaWords&) = delete;

  std::uint64_t load(std::size_t i) override { return fetch_op(i, 0, MPI_NO_OP); }
  void store(std::size_t i, std::uint64_t v) override { fetch_op(i, v, MPI_REPLACE); }
  std::uint64_t fetch_add(std::size_t i, std::uint64_t v) override {
    return fetch_op(i, v, MPI_SUM);
  }
  std::uint64_t compare_swap(std::size_t i, std::uint64_t expected,
                             std::uint64_t desired) override {
    std::uint64_t old = 0;
    MPI_Compare_and_swap(&desired, &expected, &old, MPI_UINT64_T, 0, disp(i), win_);
    complete();
    return old;
  }
  // sync=none's race: fetch the word, and later put a value back, with nothing between.
  std::uint64_t read(std::size_t i) override {
    std::uint64_t v = 0;
    MPI_Get(&v, 1, MPI_UINT64_T, 0, disp(i), 1, MPI_UINT64_T, win_);
    complete();
    return v;
  }
  void write(std::size_t i, std::uint64_t v) override {
    MPI_Put(&v, 1, MPI_UINT64_T, 0, disp(i), 1, MPI_UINT64_T, win_);
    complete();
  }

 private:
  static MPI_Aint disp(std::size_t i) {
    return static_cast<MPI_Aint>(i);
  }  // displacement unit: 8 bytes
  std::uint64_t fetch_op(std::size_t i, std::uint64_t v, MPI_Op op) {
    std::uint64_t old = 0;
    MPI_Fetch_and_op(&v, &old, MPI_UINT64_T, 0, disp(i), op, win_);
    complete();
    return old;
  }
  // The operation has completed at rank 0; rank 0 also serves the others' (see above).
  void complete() {
    MPI_Win_flush(0, win_);
    if (target_) {
      int flag = 0;
      MPI_Iprobe(MPI_ANY_SOURCE, kNoTag, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
    }
  }
  static constexpr int kNoTag = 32000;  // no message carries it (MPI_TAG_UB is at least 32767)
  MPI_Win win_;
  bool target_;
};

}  // namespace

struct SharedWindows::State {
  MPI_Comm node = MPI_COMM_NULL;
  int nodes = 1;
  std::vector<MPI_Win> windows;
  std::vector<std::unique_ptr<RmaWords>> remote;
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
  // nodes the lock window is made with the first team words (world_window checks that it can be).
  if (world_size() > 1 && state_->nodes == 1)
    MPI_Win_create(&state_->lock_word, sizeof(int), sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD,
                   &state_->lock_window);
}

SharedWindows::~SharedWindows() {
  state_->remote.clear();
  for (auto& w : state_->windows) MPI_Win_free(&w);
  if (state_->lock_window != MPI_WIN_NULL) MPI_Win_free(&state_->lock_window);
  MPI_Comm_free(&state_->node);
  delete state_;
}

const char* SharedWindows::kind() const { return state_->nodes > 1 ? "mpi-rma" : "mpi-shm"; }

void* SharedWindows::allocate(std::size_t bytes) {
  // Decided on world-wide facts, so that every rank refuses alike.
  if (state_->nodes > 1)
    throw SpansNodes(
        "team-shared memory as a pointer needs every rank on one node (it is an MPI shared-memory "
        "window), but the " +
        std::to_string(world_size()) + " ranks run on " + std::to_string(state_->nodes) +
        " nodes; start them on one node, or use team words");
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

TeamWords SharedWindows::words(std::size_t n) {
  if (state_->nodes == 1)
    return TeamWords(static_cast<std::uint64_t*>(allocate(n * sizeof(std::uint64_t))));
  if (state_->lock_window == MPI_WIN_NULL)
    state_->lock_window = world_window(sizeof(std::uint64_t), "the team lock");
  state_->remote.push_back(std::make_unique<RmaWords>(n ? n : 1));
  return TeamWords(state_->remote.back().get());
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
