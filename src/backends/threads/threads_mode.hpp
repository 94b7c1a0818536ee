// threads mode: N free-running std::threads sharing one address space. The team runner here is
// also used by gil mode, which only swaps in its own Worker type.
#pragma once
#include <functional>
#include <memory>

#include "backends/shared/shared_team.hpp"
#include "core/mode.hpp"

namespace corescope {

class ThreadWorker : public Worker {
 public:
  ThreadWorker(int id, SharedTeam& team) : Worker(id, team.size(), 0, id), team_(team) {}
  std::string channel() const override { return team_.channel(); }

 protected:
  void do_barrier() override { team_.barrier(); }
  void do_allreduce(std::span<double> v, Op op) override { team_.allreduce(id(), v, op); }
  void do_send(int dest, const void* d, std::size_t n) override { team_.send(id(), dest, d, n); }
  void do_recv(int src, void* d, std::size_t n) override { team_.recv(id(), src, d, n); }
  void* do_alloc_slice(std::size_t bytes, std::size_t align) override {
    return team_.alloc_slice(id(), bytes, align);
  }
  void* do_team_shared(std::size_t bytes) override { return team_.shared_block(id(), bytes); }
  void do_team_lock() override { team_.lock(); }
  void do_team_unlock() override { team_.unlock(); }
  SharedTeam& team_;
};

using ThreadWorkerFactory = std::function<std::unique_ptr<Worker>(int id, SharedTeam& team)>;

// Starts spec.workers std::threads, each running the run loop with a worker from `make`.
// A worker that throws aborts the team: the others stop at their next wait, nobody hangs.
RunResult run_thread_team(const RunSpec& spec, const KernelInfo& kernel, const TeamControl& control,
                          const ThreadWorkerFactory& make);

ModeInfo threads_mode();

}  // namespace corescope
