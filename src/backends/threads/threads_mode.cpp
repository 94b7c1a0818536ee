// threads mode: the team runner shared by the std::thread based modes.
#include <thread>

#include "backends/threads/threads_mode.hpp"
#include "core/run_loop.hpp"

namespace corescope {

RunResult run_thread_team(const RunSpec& spec, const KernelInfo& kernel, const ThreadWorkerFactory& make) {
  SharedTeam team(spec.workers, spec.channel);
  std::vector<WorkerOutcome> outcomes(static_cast<std::size_t>(spec.workers));
  std::vector<std::thread> threads;
  threads.reserve(outcomes.size());
  for (int id = 0; id < spec.workers; ++id) {
    threads.emplace_back([&, id] {
      WorkerOutcome& out = outcomes[static_cast<std::size_t>(id)];
      out.worker = id;
      try {
        auto worker = make(id, team);
        auto k = kernel.make();
        out = run_worker(*worker, *k, spec);
      } catch (const TeamAborted&) {
        out.completed = false;  // stopped because another worker failed; that one has the error
      } catch (const std::exception& e) {
        out.error = e.what();
        team.abort();
      }
    });
  }
  for (auto& t : threads) t.join();
  RunResult result;
  result.spec = spec;
  combine_outcomes(result, std::move(outcomes));
  return result;
}

namespace {
class ThreadsMode : public Mode {
 public:
  RunResult run(const RunSpec& spec, const KernelInfo& kernel) override {
    return run_thread_team(spec, kernel, [](int id, SharedTeam& team) {
      return std::make_unique<ThreadWorker>(id, team);
    });
  }
};
}  // namespace

std::unique_ptr<Mode> make_threads_mode() { return std::make_unique<ThreadsMode>(); }

}  // namespace corescope
