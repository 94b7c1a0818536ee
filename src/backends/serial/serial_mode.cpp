// serial mode: one worker, the main thread; team operations are identities.
#include "backends/serial/serial_mode.hpp"

namespace corescope {

namespace {
class SerialMode : public Mode {
 public:
  RunResult do_run(const RunSpec& spec, const KernelInfo& kernel,
                   const TeamControl& control) override {
    RunResult result;
    result.spec = spec;
    WorkerOutcome out;
    try {
      SerialWorker w;
      auto k = kernel.make();
      out = control.run(w, *k, spec);
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

ModeInfo serial_mode() {
  return {.name = "serial",
          .description = "the main thread alone: the reference",
          .shape = shapes::single,
          .memory = Memory::shared,
          .make = [] { return std::unique_ptr<Mode>(new SerialMode); }};
}

}  // namespace corescope
