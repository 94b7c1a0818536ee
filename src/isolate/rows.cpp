// The /isolation row of one trial (rows.hpp).
#include "isolate/rows.hpp"

#include <cmath>

#include "core/launch_env.hpp"
#include "core/machine.hpp"
#include "core/text.hpp"

namespace corescope::isolation {

record::Table trial_row(const TrialSetup& setup, const TrialResult& r, const TrialRecord& info) {
  record::Table t;
  record::TableBuilder b(t);
  b.row();
  b.str("isolate_id", info.isolate_id, "id of the corescope isolate invocation");
  b.str("started", info.started, "start time of the trial, ISO 8601 UTC");
  b.str("kernel", setup.kernel, "kernel name");
  b.str("mode", setup.mode, "execution mode");
  b.str("memory_model", setup.memory_model,
        "the mode's memory: shared, private (a process per worker) or per-rank");
  b.str("fault", fault_name(setup.plan.fault), "fault injected into the victim");
  b.i64("victim", setup.plan.victim, "", "worker the fault was injected into");
  b.i64("workers", setup.workers, "", "workers in the team");
  b.i64("repeat", info.repeat, "", "trial number of this mode and fault within the invocation");
  b.str("size", setup.size, "problem size as given");
  b.str("params", join(setup.params, " "),
        "kernel parameters given (-p KEY=VALUE), space-separated");
  b.i64("survivors", r.survivors, "", "other workers that completed and verified their own part");
  b.i64("corrupted", r.corrupted, "",
        "other workers that completed with a wrong answer (verification caught it)");
  b.i64("killed", r.killed, "",
        "other workers that ended without completing (killed with the victim or by the launcher)");
  b.i64("hung", r.hung, "", "workers, the victim included, still running when the watchdog fired");
  b.f64("detect_s", r.detect_s, "s",
        "fault to its first sign outside the victim (death seen, watchdog, failed check); -1 none");
  b.f64("ended_s", r.ended_s, "s", "fault to the end of the trial's last process");
  b.str("victim_outcome", r.victim_outcome, "what happened to the victim");
  b.str("outcomes", r.outcomes,
        "every worker's end: ok, wrong, failed, hung, died(how), killed(how)");
  b.i64("injected", r.injected ? 1 : 0, "", "1 if the victim reached its fault");
  b.i64("victim_peak_rss_bytes", r.victim_peak_rss, "B", "peak RSS of the victim's process");
  b.i64("victim_peak_rss_growth_bytes", r.victim_growth, "B",
        "victim's process: peak RSS growth after the start line");
  b.i64("others_peak_rss_bytes", r.others_peak_rss, "B",
        "largest peak RSS of another worker's process");
  b.i64("others_peak_rss_growth_bytes", r.others_growth, "B",
        "largest peak RSS growth of another worker's process after the start line");
  b.f64("others_peak_rss_growth_frac", r.others_growth_frac, "",
        "largest (peak RSS growth / peak RSS at the start line) over the other workers' processes");
  b.i64("processes", r.processes, "", "distinct processes the workers ran in");
  b.str("pids", r.pids, "process ids of the workers' processes (all gone when the trial ended)");
  b.str("shared_memory", r.shared_memory,
        "/dev/shm files the team had mapped (all gone when the trial ended)");
  b.i64("exit_code", r.exit_code, "",
        "exit code of the trial's top process (corescope or the launcher); 128+signal");
  b.i64("timed_out", r.timed_out ? 1 : 0, "", "1 if the watchdog fired");
  b.str("launcher", setup.launcher, "mpirun, mpiexec, srun or none");
  b.str("launch_command", join(setup.launch_prefix, " "),
        "launcher words before the team's command");
  b.str("slurm_job_id", launch_env().slurm_job_id, "SLURM_JOB_ID of isolate, if any");
  b.f64("run_s", setup.plan.run_s, "s", "each worker iterates this long after the start line");
  b.f64("inject_s", setup.plan.inject_s, "s", "the fault, this long after the start line");
  b.f64("timeout_s", setup.timeout_s, "s", "watchdog: the trial is killed after this long");
  b.f64("leak_bytes_per_s", setup.plan.fault == Fault::leak ? setup.plan.leak_bytes_per_s : NAN,
        "B/s", "leak rate");
  b.i64("mem_limit_bytes", setup.plan.mem_limit_bytes, "B",
        "leak: the victim's process may grow by this much (0 = no cap)");
  b.str("leftovers", r.leftovers,
        "processes, shared memory, temp files the trial left (removed by isolate)");
  b.str("note", r.note, "the trial's last error line");
  b.str("host", machine().host, "host name");
  b.str("command", info.command, "command line");
  b.finish();
  return t;
}

}  // namespace corescope::isolation
