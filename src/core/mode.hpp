// The Mode interface and what a mode declares about itself (ModeInfo). A mode is one folder
// under src/backends/ that makes workers (threads, OpenMP threads, MPI ranks, forked processes)
// and runs a worker loop in each; backends/registry.cpp lists the modes.
//
// Everything a caller needs to know about a mode is a field of its ModeInfo: how it lays a
// team out (shape), its memory model, whether a launcher starts it, which options and
// experiments it takes. No code outside src/backends compares a mode's name to decide one.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/run.hpp"

namespace corescope {

// What every worker of a run executes. The ordinary run loop is run_worker (core/run_loop.hpp);
// an experiment passes its own (corescope isolate's fault trial). Passed explicitly to Mode::run.
using WorkerLoop = std::function<WorkerOutcome(Worker&, Kernel&, const RunSpec&)>;

// How a run's team is driven, beyond the spec.
struct TeamControl {
  WorkerLoop loop;  // empty: run_worker
  // A worker's death does not end the others (their loop needs no peer). Honoured by modes whose
  // workers are separate processes under corescope's own supervisor (ModeInfo::supervised).
  bool survive_deaths = false;
  double watchdog_s = 0.0;  // supervised modes: stop the team after this long; 0 = never
  // Supervised modes: told how each worker ended that did not ship an outcome ("signal SIGSEGV",
  // "hung: killed by the watchdog", ...).
  std::function<void(int worker, const std::string& how)> on_worker_lost;

  WorkerOutcome run(Worker& w, Kernel& k, const RunSpec& spec) const;
};

class Mode {
 public:
  virtual ~Mode() = default;
  // Starts what must exist before the team can be shaped (MPI_Init for launched modes) and
  // returns how many processes the launcher started; 0 for modes that make their own team.
  // The default (modes that make their own team in one process, on one node) refuses to run as
  // one of several copies a launcher started: each would run a team of its own.
  virtual int start();
  // Mode-specific checks of the complete spec (launcher and world size, channel). UsageError.
  virtual void prepare(const RunSpec& spec) {}
  // Runs `check` on the writing process and makes every process of the team agree on its
  // outcome: a UsageError or RuntimeFailure there is rethrown everywhere (printed once).
  virtual void agree(const std::function<void()>& check) { check(); }
  // Runs the kernel on a team. On the writing process the result holds every worker's samples
  // (and the machine's load average when the run started).
  RunResult run(const RunSpec& spec, const KernelInfo& kernel, const TeamControl& control = {});
  // True on the one process that prints and writes the results file.
  virtual bool is_writer() const { return true; }

 protected:
  virtual RunResult do_run(const RunSpec& spec, const KernelInfo& kernel,
                           const TeamControl& control) = 0;
};

// A team's layout: workers = ranks (OS processes) x threads_per_rank.
struct TeamShape {
  int workers = 1, ranks = 1, threads_per_rank = 1;
};

// What a shape function is asked: the workers wanted (0 = the mode's default), --threads (0 =
// not given), and the processes a launcher started (0 = not launched / not known yet).
struct TeamAsk {
  int workers = 0, threads = 0, launched = 0;
  int cpus = 1;  // CPUs available, for the default team size
};

// The layouts the built-in modes use (pure functions; UsageError for a team the layout cannot
// make). A mode may bring its own.
namespace shapes {
TeamShape single(const TeamAsk& ask);              // one worker, the main thread
TeamShape one_process(const TeamAsk& ask);         // workers threads in one process
TeamShape process_per_worker(const TeamAsk& ask);  // one process per worker
TeamShape ranks_x_threads(const TeamAsk& ask);     // ranks x --threads (default 2) per rank
}  // namespace shapes

// How a team's memory is laid out; recorded per run in /runs as memory_model.
enum class Memory {
  shared,    // one address space: every worker sees all memory
  private_,  // one process per worker: nothing shared unless asked for (team_shared)
  per_rank,  // private between ranks, shared among the threads of a rank
};
std::string memory_name(Memory m);  // "shared", "private", "per-rank"

struct ModeInfo {
  std::string name;
  std::string description;
  bool built = true;
  std::string how_to_build;  // shown when a mode that was not built is asked for
  TeamShape (*shape)(const TeamAsk&) = shapes::one_process;
  Memory memory = Memory::shared;
  bool needs_launcher = false;  // started by mpirun/mpiexec/srun
  bool takes_threads = false;   // accepts --threads (threads per rank)
  bool openmp_threads = false;  // its threads are OpenMP's: OMP_PROC_BIND/OMP_PLACES bind them
  bool gil = false;             // an emulated GIL: --switch-interval, --gil-release, --gil-policy
  // takes --switch-interval alone (py-threads: sys.setswitchinterval)
  bool switch_interval = false;
  bool team_critical = false;  // Worker::critical_section is one OpenMP critical for the whole team
  // a sample sums a pool process's tasks under the repetition's wall time
  bool pooled_samples = false;
  bool supervised = false;            // workers are processes under corescope's own supervisor
  bool isolate = false;               // `corescope isolate` runs it (a team of separate workers)
  std::vector<std::string> channels;  // point-to-point channels; first is the default
  bool python = false;                // runs a Python interpreter: takes --python
  // --start-method values (first is the default); empty: none
  std::vector<std::string> start_methods;
  // The kernel as this mode runs it (its own sizes, params, allowed values); UsageError for a
  // kernel the mode cannot run. Empty: the kernel as the registry has it.
  std::function<KernelInfo(const KernelInfo&)> adapt_kernel;
  std::function<std::unique_ptr<Mode>()> make;

  bool single_worker() const { return shape == shapes::single; }
};

// Everything that describes one run, as the user (or a sweep, or a test) asks for it.
struct RunRequest {
  std::string kernel;
  int workers = 0;         // 0: the mode's default (all CPUs; under a launcher: its ranks)
  int threads = 0;         // --threads (modes that take it); 0: the mode's default
  std::string size = "M";  // class or count
  std::string scaling = "strong";
  int reps = 10, warmup = 2;
  std::vector<std::string> params;  // KEY=VALUE
  std::string channel;              // "" = the mode's default
  double switch_interval_s = 0.005;
  std::string gil_release = "io", gil_policy = "cpython";
  std::string python, start_method;  // modes with ModeInfo::python / start_methods; "" = default
  std::string command;
  std::string sweep_id, sweep_plan, cell, pin, launch_id;
  SweepRound round;
};

// The one place a RunSpec is made: the team's shape from the mode, the channel default, the GIL
// settings (NaN / "" for modes without a GIL), the memory model, the kernel's params for the
// team's total size. `launched` is Mode::start()'s answer. UsageError for bad input.
RunSpec make_run_spec(const ModeInfo& mode, const KernelInfo& kernel, const RunRequest& request,
                      int launched = 0);

}  // namespace corescope
