// The Worker contract: what a kernel may ask of the team it runs in. Every mode implements it;
// kernels are written once, SPMD style, against this interface only.
//
// Public operations are non-virtual: they do the bookkeeping every mode needs (communication
// time, releasing an emulated GIL around blocking calls) and call the mode's do_* hooks.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace corescope {

class Kernel;
enum class Op { sum, min, max };

// Team memory that is not in this process: 64-bit words on another node, reached by the mode's
// remote operations (MPI one-sided communication). load/store/fetch_add/compare_swap are atomic
// with respect to each other; read/write are plain transfers that race like unsynchronised
// accesses (a read-modify-write from read + write loses concurrent updates). Every operation
// has completed at the target when it returns.
class RemoteWords {
 public:
  virtual ~RemoteWords() = default;
  virtual std::uint64_t load(std::size_t i) = 0;
  virtual void store(std::size_t i, std::uint64_t v) = 0;
  virtual std::uint64_t fetch_add(std::size_t i, std::uint64_t v) = 0;
  virtual std::uint64_t compare_swap(std::size_t i, std::uint64_t expected,
                                     std::uint64_t desired) = 0;  // old value
  virtual std::uint64_t read(std::size_t i) = 0;
  virtual void write(std::size_t i, std::uint64_t v) = 0;
};

// The two ways to reach team words, with one set of operations so that a kernel's code is
// written once (a generic lambda given to TeamWords::visit) and compiled for each: LocalWords is
// std::atomic_ref on memory this process maps (no cost over using the pointer directly),
// RemoteWordsRef forwards to RemoteWords.
struct LocalWords {
  std::uint64_t* p;
  std::uint64_t load(std::size_t i, std::memory_order o = std::memory_order_acquire) const {
    return std::atomic_ref<std::uint64_t>(p[i]).load(o);
  }
  void store(std::size_t i, std::uint64_t v,
             std::memory_order o = std::memory_order_release) const {
    std::atomic_ref<std::uint64_t>(p[i]).store(v, o);
  }
  std::uint64_t fetch_add(std::size_t i, std::uint64_t v,
                          std::memory_order o = std::memory_order_relaxed) const {
    return std::atomic_ref<std::uint64_t>(p[i]).fetch_add(v, o);
  }
  // Sets `expected` to the value found when that was not it.
  bool compare_exchange(std::size_t i, std::uint64_t& expected, std::uint64_t desired,
                        std::memory_order o = std::memory_order_relaxed) const {
    return std::atomic_ref<std::uint64_t>(p[i]).compare_exchange_weak(expected, desired, o);
  }
  std::uint64_t read(std::size_t i) const { return load(i, std::memory_order_relaxed); }
  void write(std::size_t i, std::uint64_t v) const { store(i, v, std::memory_order_relaxed); }
};
struct RemoteWordsRef {
  RemoteWords* r;
  std::uint64_t load(std::size_t i, std::memory_order = std::memory_order_acquire) const {
    return r->load(i);
  }
  void store(std::size_t i, std::uint64_t v, std::memory_order = std::memory_order_release) const {
    r->store(i, v);
  }
  std::uint64_t fetch_add(std::size_t i, std::uint64_t v,
                          std::memory_order = std::memory_order_relaxed) const {
    return r->fetch_add(i, v);
  }
  bool compare_exchange(std::size_t i, std::uint64_t& expected, std::uint64_t desired,
                        std::memory_order = std::memory_order_relaxed) const {
    const std::uint64_t old = r->compare_swap(i, expected, desired);
    if (old == expected) return true;
    expected = old;
    return false;
  }
  std::uint64_t read(std::size_t i) const { return r->read(i); }
  void write(std::size_t i, std::uint64_t v) const { r->write(i, v); }
};

// Zeroed 64-bit words every worker of the team reads and writes (Worker::team_words).
class TeamWords {
 public:
  TeamWords() = default;
  explicit TeamWords(std::uint64_t* local) : local_(local) {}
  explicit TeamWords(RemoteWords* remote) : remote_(remote) {}
  // f(LocalWords) or f(RemoteWordsRef): the kernel's code, once per kind of memory.
  template <class F>
  decltype(auto) visit(F&& f) const {
    if (local_ != nullptr) return f(LocalWords{local_});
    return f(RemoteWordsRef{remote_});
  }
  std::uint64_t load(std::size_t i) const {
    return visit([&](auto m) { return m.load(i); });
  }

 private:
  std::uint64_t* local_ = nullptr;
  RemoteWords* remote_ = nullptr;
};
// a op b: the one definition every mode's reduction uses.
inline double combine(Op op, double a, double b) {
  return op == Op::sum ? a + b : op == Op::min ? (b < a ? b : a) : (a < b ? b : a);
}

class Worker {
 public:
  Worker(int id, int count, int rank, int thread);
  virtual ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  int id() const { return id_; }          // 0..count()-1 across the whole team
  int count() const { return count_; }    // team size (ranks x threads)
  int rank() const { return rank_; }      // OS process index within the team (0 for thread modes)
  int thread() const { return thread_; }  // thread index within the process

  // --- collectives: every worker of the team must call them, in the same order ---------------
  void barrier();
  double allreduce(double value, Op op);
  // Element-wise allreduce of a small vector in place.
  void allreduce(std::span<double> values, Op op);

  // --- point to point: blocking, messages between one (src, dest) pair arrive in order --------
  void send(int dest, const void* data, std::size_t bytes);
  void recv(int src, void* data, std::size_t bytes);
  // Sends to `dest` and receives from `src` at once without deadlock (halo exchange).
  void sendrecv(int dest, const void* send_data, std::size_t send_bytes, int src, void* recv_data,
                std::size_t recv_bytes);
  // Name of the mechanism point-to-point uses in this mode ("mpi", "shm", "atomic", ...).
  virtual std::string channel() const { return "none"; }

  // --- GIL hooks (CPython's eval-breaker check and Py_BEGIN/END_ALLOW_THREADS) ------------------
  // Kernels call yield_point() once per small chunk of work (about a microsecond), never per
  // element. Outside gil mode the flag is never set, so this is one relaxed load.
  void yield_point() {
    if (drop_request_->load(std::memory_order_relaxed)) [[unlikely]]
      on_drop_request();
  }
  // Runs f with the GIL released (blocking I/O, sleeps, waits); a plain call elsewhere.
  template <class F>
  decltype(auto) blocking(F&& f) {
    BlockingScope scope(*this);
    return std::forward<F>(f)();
  }

  // --- memory ----------------------------------------------------------------------------------
  // Collective: every worker asks for its own slice of one logical team array. Shared-memory
  // modes carve the slices out of one contiguous allocation in worker order (a neighbour's slice
  // starts where yours ends, as in an OpenMP program); process modes allocate privately with a
  // padding page after the slice. The memory is uninitialised (first touch is the kernel's) and
  // lives until the run ends.
  template <class T>
  std::span<T> alloc_slice(std::size_t n) {
    auto* p = static_cast<T*>(do_alloc_slice(n * sizeof(T), alignof(T)));
    allocated_bytes_ += n * sizeof(T);
    last_slice_ = {reinterpret_cast<std::byte*>(p), n * sizeof(T)};
    return {p, n};
  }
  std::size_t allocated_bytes() const { return allocated_bytes_; }
  // The slice the last alloc_slice call returned, as bytes: what isolate's stray-write fault
  // writes one element past the end of.
  std::span<std::byte> last_slice() const { return last_slice_; }

  // Collective: `bytes` of zeroed memory that every worker of the team reads and writes (the
  // same object, not copies): one heap block for threads, a shared-memory segment for forked
  // processes, an MPI shared-memory window for ranks on one node. Lock-free std::atomic_ref
  // operations on it are atomic across the whole team. Lives until the run ends.
  void* team_shared(std::size_t bytes);
  // Collective: `n` zeroed 64-bit words of team memory, wherever the team runs: the memory of
  // team_shared where the team shares memory, remote words where it does not (MPI ranks on
  // several nodes: a window on rank 0 reached by one-sided communication). Kernels reach the
  // words through TeamWords::visit only.
  TeamWords team_words(std::size_t n);
  // How this worker's team memory was provided: "" (none asked for), "heap" (threads), "shm"
  // (forked processes), "mpi-shm" (a shared-memory window on one node), "mpi-rma" (one-sided
  // communication to rank 0's window across nodes).
  const std::string& team_memory() const { return team_memory_; }

  // A team-wide mutual exclusion lock (a std::mutex for threads, a file lock for processes, an
  // MPI window lock for ranks). Waiting for it is blocking: in gil mode the GIL is released.
  // Call team_shared first (in setup): MPI modes create the lock window with it, collectively.
  void team_lock();
  void team_unlock();

  // Runs f() inside an OpenMP critical section (`#pragma omp critical`), the lock of the founding
  // notes' +1/-2 example written the OpenMP way. Only openmp mode has one; the others throw
  // UsageError. One indirect call per use: meant for measuring the critical section itself.
  template <class F>
  void omp_critical(F& f) {
    critical_section([](void* ctx) { (*static_cast<F*>(ctx))(); }, static_cast<void*>(&f));
  }
  virtual void critical_section(void (*fn)(void*), void* ctx);

  // --- run loop hooks ----------------------------------------------------------------------------
  // One timed iteration of the kernel. gil mode overrides it (to release the GIL around the whole
  // iteration with --gil-release compute).
  virtual void run_iteration(Kernel& kernel);
  // Called by the run loop when the worker starts and stops running kernel code.
  virtual void enter() {}
  virtual void leave() {}
  // The barrier that lines the team up before each timed repetition. gil mode returns from it
  // without the GIL and takes it inside run_iteration, so that a worker's wait for the GIL at
  // the start of a repetition is part of that repetition's wall time and gil_wait_s.
  virtual void rep_barrier() { barrier(); }

  // Accounting read by the run loop (seconds / counts since the worker started).
  double comm_seconds() const;
  virtual double gil_wait_seconds() const { return 0.0; }
  virtual std::int64_t gil_acquires() const { return 0; }
  virtual std::int64_t gil_forced_switches() const { return 0; }
  virtual std::int64_t gil_voluntary_releases() const { return 0; }  // drops around blocking calls
  virtual std::int64_t gil_drop_requests() const { return 0; }  // times it asked the holder to drop

 protected:
  virtual void do_barrier() = 0;
  virtual void do_allreduce(std::span<double> values, Op op) = 0;
  virtual void do_send(int dest, const void* data, std::size_t bytes);
  virtual void do_recv(int src, void* data, std::size_t bytes);
  virtual void do_sendrecv(int dest, const void* send_data, std::size_t send_bytes, int src,
                           void* recv_data, std::size_t recv_bytes);
  virtual void* do_alloc_slice(std::size_t bytes, std::size_t align);
  virtual void* do_team_shared(std::size_t bytes);  // default: one worker's own zeroed block
  // Default: the words in do_team_shared's memory. Modes whose team may not share memory override.
  virtual TeamWords do_team_words(std::size_t n);
  // The name team_memory() reports once team memory was made.
  virtual std::string team_memory_kind() const { return "heap"; }
  virtual void do_team_lock();  // default: no lock needed (one worker)
  virtual void do_team_unlock();

  // GIL modes: release before a blocking call, take back after; drop and re-take on request.
  virtual void release_for_blocking() {}
  virtual void reacquire_after_blocking() {}
  virtual void on_drop_request() {}
  // gil mode points this at the thread's drop-request flag.
  void set_drop_request_flag(const std::atomic<bool>* flag) { drop_request_ = flag; }
  // True inside a team operation (barrier, allreduce, messages, team_lock): lets gil mode tell
  // waits for other workers, which must always release the GIL, from a kernel's own blocking().
  bool in_team_operation() const { return team_op_depth_ > 0; }

  // Checks a peer index for point-to-point (throws UsageError when out of range).
  void check_peer(int peer) const;

 private:
  struct BlockingScope {
    explicit BlockingScope(Worker& w) : w_(w) { w_.release_for_blocking(); }
    ~BlockingScope() { w_.reacquire_after_blocking(); }
    Worker& w_;
  };
  class CommTimer;

  int id_, count_, rank_, thread_;
  const std::atomic<bool>* drop_request_;
  std::uint64_t comm_ticks_ = 0;  // core/ticks.hpp units
  int team_op_depth_ = 0;
  std::size_t allocated_bytes_ = 0;
  std::string team_memory_;
  std::span<std::byte> last_slice_;
  struct FreeDeleter {
    void operator()(std::byte* p) const;
  };
  std::vector<std::unique_ptr<std::byte, FreeDeleter>> private_slices_;
};

// The half-open block [begin, end) of n items that worker `id` of `count` owns: sizes differ by
// at most one, earlier workers get the extra items.
struct Range {
  std::size_t begin, end;
  std::size_t size() const { return end - begin; }
};
inline Range block_range(std::size_t n, int count, int id) {
  const std::size_t c = static_cast<std::size_t>(count), i = static_cast<std::size_t>(id);
  const std::size_t base = n / c, extra = n % c;
  const std::size_t begin = i * base + (i < extra ? i : extra);
  return {begin, begin + base + (i < extra ? 1 : 0)};
}

}  // namespace corescope
