// hybrid mode: shared memory inside a rank (OpenMP), MPI messages between ranks.
#include "backends/hybrid/hybrid_mode.hpp"

#include "backends/mpi/mpi_mode.hpp"

#if CORESCOPE_HAVE_MPI
#include <mpi.h>
#include <omp.h>

#include <climits>
#include <cstdlib>

#include "backends/mpi/mpi_hosts.hpp"
#include "backends/mpi/mpi_support.hpp"
#include "backends/openmp/openmp_mode.hpp"
#include "backends/shared/shared_team.hpp"
#include "core/errors.hpp"

namespace corescope {

namespace {

// State shared by the threads of one rank.
struct RankTeam {
  explicit RankTeam(int threads) : local(threads), slots(static_cast<std::size_t>(threads)) {}
  SharedTeam local;
  std::vector<std::vector<double>> slots;
  std::vector<double> result;
  mpi::SharedWindows windows;  // created and freed by the master thread (collective over ranks)
  void* shared = nullptr;
  TeamWords words;
  std::string refused;  // the ranks span nodes: team_shared's refusal, the same on every rank
};

class HybridWorker : public Worker {
 public:
  HybridWorker(int rank, int ranks, int thread, int threads, RankTeam& team, bool multiple)
      : Worker(rank * threads + thread, ranks * threads, rank, thread),
        team_(team),
        threads_(threads),
        multiple_(multiple) {}
  std::string channel() const override { return "mpi"; }

 protected:
  void do_barrier() override {
#pragma omp barrier
#pragma omp master
    MPI_Barrier(MPI_COMM_WORLD);
#pragma omp barrier
  }
  // Threads reduce through shared slots, the master thread reduces across ranks.
  void do_allreduce(std::span<double> v, Op op) override {
    omp_team_allreduce(team_.slots, thread(), v, op);
#pragma omp master
    {
      team_.result.assign(v.begin(), v.end());
      MPI_Allreduce(MPI_IN_PLACE, team_.result.data(), static_cast<int>(v.size()), MPI_DOUBLE,
                    mpi::to_mpi(op), MPI_COMM_WORLD);
    }
#pragma omp barrier
    std::copy(team_.result.begin(), team_.result.end(), v.begin());
  }
  void do_send(int dest, const void* d, std::size_t n) override {
    if (dest / threads_ == rank()) return team_.local.send(thread(), dest % threads_, d, n);
    require_multiple();
    MPI_Send(d, count(n), MPI_BYTE, dest / threads_, tag(thread(), dest % threads_),
             MPI_COMM_WORLD);
  }
  void do_recv(int src, void* d, std::size_t n) override {
    if (src / threads_ == rank()) return team_.local.recv(thread(), src % threads_, d, n);
    require_multiple();
    MPI_Recv(d, count(n), MPI_BYTE, src / threads_, tag(src % threads_, thread()), MPI_COMM_WORLD,
             MPI_STATUS_IGNORE);
  }
  void do_sendrecv(int dest, const void* sd, std::size_t sn, int src, void* rd,
                   std::size_t rn) override {
    if (dest / threads_ == rank() || src / threads_ == rank()) {
      // Local mailboxes never block a send, so send-then-receive cannot deadlock; a remote send
      // could, so post the remote side non-blocking.
      MPI_Request req = MPI_REQUEST_NULL;
      if (dest / threads_ != rank()) {
        require_multiple();
        MPI_Isend(sd, count(sn), MPI_BYTE, dest / threads_, tag(thread(), dest % threads_),
                  MPI_COMM_WORLD, &req);
      } else {
        team_.local.send(thread(), dest % threads_, sd, sn);
      }
      do_recv(src, rd, rn);
      MPI_Wait(&req, MPI_STATUS_IGNORE);
      return;
    }
    require_multiple();
    MPI_Sendrecv(sd, count(sn), MPI_BYTE, dest / threads_, tag(thread(), dest % threads_), rd,
                 count(rn), MPI_BYTE, src / threads_, tag(src % threads_, thread()), MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
  }
  void* do_alloc_slice(std::size_t bytes, std::size_t align) override {
    return team_.local.alloc_slice(thread(), bytes, align);
  }
  // The master thread takes part in the ranks' window allocation; its threads share the result.
  void* do_team_shared(std::size_t bytes) override {
    on_master([&] { team_.shared = team_.windows.allocate(bytes); });
    return team_.shared;
  }
  TeamWords do_team_words(std::size_t n) override {
    on_master([&] { team_.words = team_.windows.words(n); });
    return team_.words;
  }
  std::string team_memory_kind() const override { return team_.windows.kind(); }
  // Threads of a rank serialise on the rank's mutex, then the rank takes the MPI window lock.
  void do_team_lock() override {
    team_.local.lock();
    team_.windows.lock();
  }
  void do_team_unlock() override {
    team_.windows.unlock();
    team_.local.unlock();
  }

 private:
  static int count(std::size_t n) {
    if (n > static_cast<std::size_t>(INT_MAX)) throw UsageError("message larger than 2 GiB");
    return static_cast<int>(n);
  }
  // Runs f on the master thread between barriers; a refusal (the same on every rank) leaves the
  // kernel on every thread.
  template <class F>
  void on_master(F&& f) {
#pragma omp barrier
#pragma omp master
    try {
      f();
    } catch (const mpi::SpansNodes& e) {
      team_.refused = e.what();
    }
#pragma omp barrier
    if (!team_.refused.empty()) throw mpi::SpansNodes(team_.refused);
  }
  int tag(int src_thread, int dst_thread) const { return 100 + src_thread * threads_ + dst_thread; }
  void require_multiple() const {
    if (!multiple_)
      throw RuntimeFailure(
          "point-to-point between ranks from OpenMP threads needs MPI_THREAD_MULTIPLE");
  }
  RankTeam& team_;
  int threads_;
  bool multiple_;
};

class HybridMode : public Mode {
 public:
  int start() override {
    thread_level_ = mpi::init(MPI_THREAD_MULTIPLE);
    mpi::check_world();
    return mpi::world_size();
  }
  void agree(const std::function<void()>& check) override { mpi::agree(check); }
  bool is_writer() const override { return mpi::world_rank() == 0; }

  RunResult do_run(const RunSpec& spec, const KernelInfo& kernel,
                   const TeamControl& control) override {
    const int threads = spec.threads_per_rank, rank = mpi::world_rank(), ranks = mpi::world_size();
    const bool multiple = thread_level_ == "MPI_THREAD_MULTIPLE";
    RankTeam team(threads);
    std::vector<WorkerOutcome> mine(static_cast<std::size_t>(threads));
    int got = 0;
    omp_set_dynamic(0);
#pragma omp parallel num_threads(threads)
    {
#pragma omp single
      got = omp_get_num_threads();
      if (got == threads) {
        const int t = omp_get_thread_num();
        try {
          HybridWorker w(rank, ranks, t, threads, team, multiple);
          auto k = kernel.make();
          mine[static_cast<std::size_t>(t)] = control.run(w, *k, spec);
        } catch (const mpi::SpansNodes&) {
          // thrown by every thread of every rank from team_shared: refused below, after the region
        } catch (const std::exception& e) {
          mpi::abort_job(e.what());
        }
      }
    }
    if (!team.refused.empty()) throw UsageError("kernel " + spec.kernel + ": " + team.refused);
    if (got != threads)
      mpi::abort_job("OpenMP gave " + std::to_string(got) + " threads instead of " +
                     std::to_string(threads));
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

ModeInfo hybrid_mode() {
  return {
    .name = "hybrid", .description = "MPI ranks x OpenMP threads (--threads per rank)",
    .built = CORESCOPE_HAVE_MPI, .how_to_build = kMpiHowToBuild, .shape = shapes::ranks_x_threads,
    .memory = Memory::per_rank, .needs_launcher = true, .takes_threads = true,
    .openmp_threads = true, .channels = {"mpi"},
#if CORESCOPE_HAVE_MPI
    .make = [] { return std::unique_ptr<Mode>(new HybridMode); }
#endif
  };
}

}  // namespace corescope
