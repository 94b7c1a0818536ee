// The team side of one isolate trial (team.hpp).
#include "isolate/team.hpp"

#include "backends/registry.hpp"
#include "core/errors.hpp"
#include "core/platform.hpp"
#include "isolate/events.hpp"
#include "kernels/registry.hpp"

namespace corescope::isolation {

void run_team_side(const TeamSide& side) {
  platform::disable_core_dumps();
  const KernelInfo& kernel = find_kernel(side.kernel);
  const ModeInfo& mode_info = find_mode(side.mode);
  const KernelInfo faulty = with_fault(kernel, side.plan);

  RunRequest request;
  request.kernel = kernel.name;
  request.workers = side.workers;
  request.size = side.size;
  request.reps = 1;
  request.warmup = side.warmup;
  request.channel = side.channel;
  request.command = "corescope isolate-trial";
  auto mode = mode_info.make();
  const RunSpec spec = make_run_spec(mode_info, kernel, request, mode->start());
  mode->prepare(spec);
  if (kernel.validate) kernel.validate(spec);

  // This process belongs to the trial even where it runs no worker (a supervised mode's
  // supervisor), so the trial's leftovers check includes it.
  append_supervisor(side.plan.report_path);
  TeamControl control;
  control.loop = isolation_loop(side.plan);
  // Every worker needs no peer after the start line: a death must not abort the survivors, and
  // a supervised mode's watchdog ends a hung worker so that its supervisor still cleans up.
  control.survive_deaths = true;
  control.watchdog_s = side.watchdog_s;
  control.on_worker_lost = [&](int worker, const std::string& how) { append_ended(side.plan.report_path, worker, how); };
  mode->run(spec, faulty, control);
}

}  // namespace corescope::isolation
