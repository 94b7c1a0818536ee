// processes mode: checks the spec, runs the team under the supervisor, turns its report into
// the run's result.
#include "backends/processes/processes_mode.hpp"

#include "backends/processes/channels/channel.hpp"
#include "backends/processes/supervisor.hpp"
#include "core/errors.hpp"

namespace corescope {

namespace {
class ProcessesMode : public Mode {
 public:
  void prepare(RunSpec& spec) override {
    if (spec.channel.empty()) spec.channel = processes::channels().front().name;
    processes::find_channel(spec.channel);  // UsageError listing the channels
    spec.ranks = spec.workers;
    spec.threads_per_rank = 1;
  }
  RunResult run(const RunSpec& spec, const KernelInfo& kernel) override {
    return processes::to_run_result(spec, processes::run_team(spec, kernel));
  }
};
}  // namespace

std::unique_ptr<Mode> make_processes_mode() { return std::make_unique<ProcessesMode>(); }

std::vector<std::string> processes_channels() { return processes::channel_names(); }

}  // namespace corescope
