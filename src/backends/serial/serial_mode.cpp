// serial mode: one worker, the main thread; team operations are identities.
#include "backends/serial/serial_mode.hpp"

#include "core/run_loop.hpp"

namespace corescope {

namespace {
class SerialWorker : public Worker {
 public:
  SerialWorker() : Worker(0, 1, 0, 0) {}

 protected:
  void do_barrier() override {}
  void do_allreduce(std::span<double>, Op) override {}
};

class SerialMode : public Mode {
 public:
  RunResult run(const RunSpec& spec, const KernelInfo& kernel) override {
    RunResult result;
    result.spec = spec;
    WorkerOutcome out;
    try {
      SerialWorker w;
      auto k = kernel.make();
      out = run_worker(w, *k, spec);
    } catch (const std::exception& e) {
      out.error = e.what();
    }
    std::vector<WorkerOutcome> outcomes;
    outcomes.push_back(std::move(out));
    combine_outcomes(result, std::move(outcomes));
    return result;
  }
};
}  // namespace

std::unique_ptr<Mode> make_serial_mode() { return std::make_unique<SerialMode>(); }

}  // namespace corescope
