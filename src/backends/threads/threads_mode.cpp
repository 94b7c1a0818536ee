// threads mode: the team runner shared by the std::thread based modes.
#include <thread>

#include "backends/threads/threads_mode.hpp"

namespace corescope {

RunResult run_thread_team(const RunSpec& spec, const KernelInfo& kernel, const TeamControl& control,
                          const ThreadWorkerFactory& make) {
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
        out = control.run(*worker, *k, spec);
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
  RunResult do_run(const RunSpec& spec, const KernelInfo& kernel,
                   const TeamControl& control) override {
    return run_thread_team(spec, kernel, control, [](int id, SharedTeam& team) {
      return std::make_unique<ThreadWorker>(id, team);
    });
  }
};
}  // namespace

ModeInfo threads_mode() {
  return {.name = "threads",
          .description = "free-running std::threads sharing one address space",
          .shape = shapes::one_process,
          .memory = Memory::shared,
          .isolate = true,
          .channels = {"atomic", "event"},
          .make = [] { return std::unique_ptr<Mode>(new ThreadsMode); }};
}

}  // namespace corescope
