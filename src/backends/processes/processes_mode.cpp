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
  void prepare(const RunSpec& spec) override {
    processes::find_channel(spec.channel);  // UsageError listing the channels
  }
  RunResult do_run(const RunSpec& spec, const KernelInfo& kernel,
                   const TeamControl& control) override {
    processes::TeamOptions options;
    options.loop = control.loop;
    options.timeout_s = control.watchdog_s;
    if (control.survive_deaths) {
      // The others need no peer: a death must not abort them, and the watchdog, not a grace
      // period, decides when a stuck team ends.
      options.abort_on_death = false;
      options.grace_s = 0.5;
    }
    const processes::TeamReport report = processes::run_team(spec, kernel, options);
    if (control.on_worker_lost)
      for (const auto& w : report.workers) {
        if (w.killed_by_supervisor && report.timed_out)
          control.on_worker_lost(w.worker, "hung: killed by the processes supervisor's watchdog");
        else if (w.end == processes::WorkerEnd::died)
          control.on_worker_lost(w.worker, w.wait_status);
      }
    return processes::to_run_result(spec, report);
  }
};
}  // namespace

ModeInfo processes_mode() {
  return {.name = "processes",
          .description =
              "OS processes forked by corescope, no MPI (like Python multiprocessing), over an IPC "
              "--channel",
          .shape = shapes::process_per_worker,
          .memory = Memory::private_,
          .supervised = true,
          .isolate = true,
          .channels = processes::channel_names(),
          .make = [] { return std::unique_ptr<Mode>(new ProcessesMode); }};
}

}  // namespace corescope
