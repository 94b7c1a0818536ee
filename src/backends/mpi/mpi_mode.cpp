// mpi mode: private memory per rank, every team operation is an MPI call.
#include "backends/mpi/mpi_mode.hpp"

#if CORESCOPE_HAVE_MPI
#include <mpi.h>

#include <climits>

#include "backends/mpi/mpi_hosts.hpp"
#include "backends/mpi/mpi_support.hpp"
#include "core/errors.hpp"

namespace corescope {

namespace {

int checked_count(std::size_t bytes) {
  if (bytes > static_cast<std::size_t>(INT_MAX)) throw UsageError("message larger than 2 GiB");
  return static_cast<int>(bytes);
}

constexpr int kTag = 17;

class MpiWorker : public Worker {
 public:
  MpiWorker(int rank, int size) : Worker(rank, size, rank, 0) {}
  std::string channel() const override { return "mpi"; }

 protected:
  void do_barrier() override { MPI_Barrier(MPI_COMM_WORLD); }
  void do_allreduce(std::span<double> v, Op op) override {
    MPI_Allreduce(MPI_IN_PLACE, v.data(), static_cast<int>(v.size()), MPI_DOUBLE, mpi::to_mpi(op),
                  MPI_COMM_WORLD);
  }
  void do_send(int dest, const void* d, std::size_t n) override {
    MPI_Send(d, checked_count(n), MPI_BYTE, dest, kTag, MPI_COMM_WORLD);
  }
  void do_recv(int src, void* d, std::size_t n) override {
    MPI_Status st;
    MPI_Recv(d, checked_count(n), MPI_BYTE, src, kTag, MPI_COMM_WORLD, &st);
  }
  void do_sendrecv(int dest, const void* sd, std::size_t sn, int src, void* rd,
                   std::size_t rn) override {
    MPI_Status st;
    MPI_Sendrecv(sd, checked_count(sn), MPI_BYTE, dest, kTag, rd, checked_count(rn), MPI_BYTE, src,
                 kTag, MPI_COMM_WORLD, &st);
  }
  void* do_team_shared(std::size_t bytes) override { return windows().allocate(bytes); }
  TeamWords do_team_words(std::size_t n) override { return windows().words(n); }
  std::string team_memory_kind() const override { return windows_ ? windows_->kind() : ""; }
  void do_team_lock() override {
    if (!windows_)
      throw UsageError(
          "mpi mode: team_lock before team_shared; the lock window is created collectively by the "
          "first team_shared call");
    windows_->lock();
  }
  void do_team_unlock() override { windows_->unlock(); }

 private:
  // Made by the first team_shared (collective), not up front: with Open MPI a window leaves a
  // progress callback (libnbc) that runs on every poll of every later message, which a
  // ping-pong's latency shows (perf, bench/pingpong_vs_raw.sh). Kernels that lock call
  // team_shared in setup.
  mpi::SharedWindows& windows() {
    if (!windows_) windows_ = std::make_unique<mpi::SharedWindows>();
    return *windows_;
  }
  std::unique_ptr<mpi::SharedWindows> windows_;
};

class MpiMode : public Mode {
 public:
  int start() override {
    // One thread per rank calls MPI, and nothing else runs: SINGLE. Asking for more is not
    // free: Open MPI 4.1 switches to its thread-safe request path (a mutex and a condition
    // wait per message) above SINGLE, ~50 ns on every message of an 8-byte ping-pong here.
    thread_level_ = mpi::init(MPI_THREAD_SINGLE);
    mpi::check_world();
    return mpi::world_size();
  }
  void agree(const std::function<void()>& check) override { mpi::agree(check); }
  bool is_writer() const override { return mpi::world_rank() == 0; }

  RunResult do_run(const RunSpec& spec, const KernelInfo& kernel,
                   const TeamControl& control) override {
    std::vector<WorkerOutcome> mine(1);
    try {
      MpiWorker w(mpi::world_rank(), mpi::world_size());
      auto k = kernel.make();
      mine[0] = control.run(w, *k, spec);
    } catch (const mpi::SpansNodes& e) {
      throw UsageError("kernel " + spec.kernel + ": " +
                       e.what());  // every rank refuses here together
    } catch (const std::exception& e) {
      mpi::abort_job(e.what());  // the other ranks may be inside a collective: end the job
    }
    RunResult result;
    result.spec = spec;
    result.mpi_thread_level = thread_level_;
    combine_outcomes(result, mpi::gather(mine));
    result.rank_hosts = mpi::gather_hosts();  // where each rank ran (/samples host)
    return result;
  }

 private:
  std::string thread_level_;
};

}  // namespace

}  // namespace corescope
#endif  // CORESCOPE_HAVE_MPI

namespace corescope {

ModeInfo mpi_mode() {
  return {
    .name = "mpi", .description = "MPI ranks with private memory, started by mpirun/mpiexec/srun",
    .built = CORESCOPE_HAVE_MPI, .how_to_build = kMpiHowToBuild,
    .shape = shapes::process_per_worker, .memory = Memory::private_, .needs_launcher = true,
    .isolate = true, .channels = {"mpi"},
#if CORESCOPE_HAVE_MPI
    .make = [] { return std::unique_ptr<Mode>(new MpiMode); }
#endif
  };
}

}  // namespace corescope
