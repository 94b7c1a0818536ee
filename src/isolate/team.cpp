// The team side of one isolate trial (team.hpp).
#include "isolate/team.hpp"

#include <cstdio>
#include <cstdlib>

#include "backends/registry.hpp"
#include "core/errors.hpp"
#include "core/platform.hpp"
#include "isolate/events.hpp"
#include "kernels/registry.hpp"

namespace corescope::isolation {

namespace {
// A Python mode's workers run in the interpreter, so the driver runs the isolation loop and the
// fault itself (python/corescope_py/isolation.py), told the plan through its environment; it
// writes the same event lines as a C++ worker.
void hand_plan_to_python(const Plan& plan) {
  char text[256];
  std::snprintf(text, sizeof text, "%s:%d:%.17g:%.17g:%.17g:%lld", fault_name(plan.fault).c_str(),
                plan.victim, plan.run_s, plan.inject_s, plan.leak_bytes_per_s,
                static_cast<long long>(plan.mem_limit_bytes));
  ::setenv("CORESCOPE_PY_ISOLATE", text, 1);
  ::setenv("CORESCOPE_PY_ISOLATE_REPORT", plan.report_path.c_str(), 1);
}
}  // namespace

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
  request.params = side.params;
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
  bool lost = false;
  control.on_worker_lost = [&](int worker, const std::string& how) {
    lost = true;
    append_ended(side.plan.report_path, worker, how);
  };
  if (mode_info.python) hand_plan_to_python(side.plan);
  const RunResult result = mode->run(spec, faulty, control);
  // The interpreter itself died or was stopped (a crash in py-threads, the watchdog): the trial's
  // top process says so, as a C++ team's process would by its own end.
  if (mode_info.python && lost) throw RuntimeFailure(result.error);
}

}  // namespace corescope::isolation
