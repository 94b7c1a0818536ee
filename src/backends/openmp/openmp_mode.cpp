// openmp mode: one `#pragma omp parallel` region; barriers and reductions are OpenMP's.
#include "backends/openmp/openmp_mode.hpp"

#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "backends/shared/shared_team.hpp"
#include "core/errors.hpp"
#include "core/run_loop.hpp"

namespace corescope {

void omp_team_allreduce(std::vector<std::vector<double>>& slots, int thread,
                        std::span<double> values, Op op) {
  slots[static_cast<std::size_t>(thread)].assign(values.begin(), values.end());
#pragma omp barrier
  const int n = omp_get_num_threads();
  for (std::size_t k = 0; k < values.size(); ++k) {
    double acc = slots[0][k];
    for (int t = 1; t < n; ++t) {
      const double x = slots[static_cast<std::size_t>(t)][k];
      acc = combine(op, acc, x);
    }
    values[k] = acc;
  }
#pragma omp barrier
}

namespace {

class OmpWorker : public Worker {
 public:
  OmpWorker(int id, int count, SharedTeam& team, std::vector<std::vector<double>>& slots)
      : Worker(id, count, 0, id), team_(team), slots_(slots) {}
  std::string channel() const override { return team_.channel(); }
  // One named critical section for the whole team: every worker is a thread of this region.
  void critical_section(void (*fn)(void*), void* ctx) override {
#pragma omp critical(corescope_team_critical)
    fn(ctx);
  }

 protected:
  void do_barrier() override {
#pragma omp barrier
  }
  void do_allreduce(std::span<double> v, Op op) override {
    omp_team_allreduce(slots_, id(), v, op);
  }
  void do_send(int dest, const void* d, std::size_t n) override { team_.send(id(), dest, d, n); }
  void do_recv(int src, void* d, std::size_t n) override { team_.recv(id(), src, d, n); }
  void* do_alloc_slice(std::size_t bytes, std::size_t align) override {
    return team_.alloc_slice(id(), bytes, align);
  }
  void* do_team_shared(std::size_t bytes) override { return team_.shared_block(id(), bytes); }
  void do_team_lock() override { team_.lock(); }
  void do_team_unlock() override { team_.unlock(); }

 private:
  SharedTeam& team_;
  std::vector<std::vector<double>>& slots_;
};

class OpenmpMode : public Mode {
 public:
  RunResult do_run(const RunSpec& spec, const KernelInfo& kernel,
                   const TeamControl& control) override {
    SharedTeam team(spec.workers, spec.channel);
    std::vector<std::vector<double>> slots(static_cast<std::size_t>(spec.workers));
    std::vector<WorkerOutcome> outcomes(static_cast<std::size_t>(spec.workers));
    int team_size = 0;
    omp_set_dynamic(0);
#pragma omp parallel num_threads(spec.workers)
    {
      const int id = omp_get_thread_num();
#pragma omp single
      team_size = omp_get_num_threads();
      if (team_size == spec.workers) {
        try {
          OmpWorker w(id, spec.workers, team, slots);
          auto k = kernel.make();
          outcomes[static_cast<std::size_t>(id)] = control.run(w, *k, spec);
        } catch (const std::exception& e) {
          // An exception cannot leave an OpenMP region and the other threads may be waiting in an
          // OpenMP barrier that cannot be cancelled: end the process with one clear line.
          std::fprintf(stderr, "corescope: openmp worker %d failed: %s\n", id, e.what());
          std::_Exit(1);
        }
      }
    }
    if (team_size != spec.workers)
      throw RuntimeFailure("OpenMP gave " + std::to_string(team_size) + " threads instead of " +
                           std::to_string(spec.workers) +
                           " (check OMP_THREAD_LIMIT / OMP_DYNAMIC)");
    RunResult result;
    result.spec = spec;
    combine_outcomes(result, std::move(outcomes));
    return result;
  }
};

}  // namespace

ModeInfo openmp_mode() {
  return {.name = "openmp",
          .description = "the threads of one OpenMP parallel region",
          .shape = shapes::one_process,
          .memory = Memory::shared,
          .openmp_threads = true,
          .team_critical = true,
          .isolate = true,
          .channels = {"atomic", "event"},
          .make = [] { return std::unique_ptr<Mode>(new OpenmpMode); }};
}

}  // namespace corescope
