// What a sweep runs: its settings (from options or a plan file), expanded into cells, each one
// `corescope run` of one kernel x mode x team shape (or one `corescope isolate` trial). Modes and
// kernels come from the registries. A plan is one matrix or several groups, each its own matrix
// (`[name]` sections of a plan file, or the groups of `corescope study`), expanded into one list
// of cells with one plan hash.
#pragma once
#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "core/mode.hpp"
#include "core/run.hpp"

namespace corescope::sweep {

struct HybridSplit {
  int ranks = 1, threads = 1;
  bool operator==(const HybridSplit&) const = default;
};

// One kernel parameter swept over values: `sync=none,mutex` -> {"sync", {"none", "mutex"}}.
struct ParamAxis {
  std::string name;
  std::vector<std::string> values;
  bool operator==(const ParamAxis&) const = default;
};

// The matrix before expansion. Every field has a plan-file key of the same name as its option
// (`workers = 1,2,4` is `--workers 1,2,4`); see docs/user/sweeps.md.
struct Settings {
  std::vector<std::string> kernels;  // empty = error; "all" expands to every kernel
  std::vector<std::string> modes;    // empty = every built mode
  std::vector<int> workers;          // empty = pow2 (1, 2, 4, ... up to the CPUs)
  std::vector<HybridSplit> hybrid;   // ranks x threads cells of the hybrid mode(s)
  std::vector<int> cores;            // every ranks x threads = C, for each C
  std::vector<std::string> scaling{"strong"};
  std::vector<std::string> sizes{"M"};
  std::vector<std::string> pins{kPinNone};
  int reps = 10;
  int warmup = 2;
  int runs_per_round = 1;         // runs of each cell in every round (docs/user/sweeps.md)
  double timeout_per_run_s = 0;   // 0 = no limit
  std::string launcher = "auto";  // auto | srun | mpirun
  // Axes that add a `/name=value` part to the cell key only when given (so plans without them
  // keep their keys):
  std::vector<ParamAxis> params;      // kernel parameters: `param = sync=none,mutex`
  std::vector<std::string> channels;  // point-to-point channels; "all" = every channel of each mode
  std::vector<std::string> switch_intervals;  // gil and py-threads: GIL switch intervals in seconds
  std::vector<std::string> faults;            // isolate trials instead of runs: crash, leak, ...
  double run_seconds = 1.0;  // isolate trials: each worker's run after the start line
  std::string group;         // the plan group (section) these settings are
};

// A plan: one or more groups, each a matrix of its own. A plan file without `[group]` lines
// is one group.
struct Plan {
  std::vector<Settings> groups;
};

// The plan-file keys, in the order --help and docs list them.
const std::vector<std::string>& plan_keys();

// One team size as --workers takes it ("4" or "max"): 1 to 4096, else UsageError "<where>: 0 is
// not a positive count", the words of run, sweep and isolate alike.
int worker_count(const std::string& text, const std::string& where, int cpus);

// UsageError unless the mode has the channel: "mode threads has no channel 'shm'; its channels:
// ..." (with a did-you-mean), for run and for a sweep of one mode alike.
void check_channel(const ModeInfo& mode, const std::string& channel);

// Sets one setting from its text, given as an option or a plan line; `where` starts the error
// message ("--workers", "plan.txt:3: workers"). `cpus` resolves `max` and `pow2`. UsageError.
void apply(Settings& s, const std::string& key, const std::string& value, const std::string& where,
           int cpus);

// Reads a plan: lines `key = value`, `#` comments, blank lines. `name` labels errors
// ("plan.txt:4: unknown key 'wrokers'; valid keys: ..."). Keys may appear once.
void read_plan(Settings& s, std::istream& in, const std::string& name, int cpus);
// A plan file: it must be a regular file of at most kMaxPlanBytes (UsageError otherwise).
inline constexpr std::size_t kMaxPlanBytes = 1 << 20;
void read_plan_file(Settings& s, const std::string& path, int cpus);

// The same for plans with groups: `[name]` starts a group; keys before the first group are the
// defaults of every group (a group may set them again); each key once per group; group names
// unique. A file without `[name]` lines gives one group, the settings read_plan gives.
Plan read_plan_groups(std::istream& in, const std::string& name, int cpus);
Plan read_plan_groups_file(const std::string& path, int cpus);

// One `corescope run` of the sweep, or one `corescope isolate` trial (fault not empty). A cell
// carries everything its child is asked, so one list may mix cells of different groups.
struct Cell {
  std::string kernel, mode;
  int workers = 1, ranks = 1, threads = 1;  // ranks x threads for launched modes; else workers x 1
  bool launched = false;                    // started by mpirun/mpiexec/srun
  bool split = false;                       // a ranks x threads mode (--threads per rank)
  bool openmp = false;                      // its threads are OpenMP threads (bound by OMP_PLACES)
  std::string scaling, size, pin;
  std::string key;                  // unique within a plan: "triad/mpi/2/strong/M/none"
  std::vector<std::string> params;  // kernel parameters, KEY=VALUE
  std::string channel;              // "" = the mode's default
  std::string switch_interval;      // gil, py-threads: seconds as given; "" = the default
  int reps = 10, warmup = 2;        // isolate trials: reps = trials
  int runs_per_round = 1;           // runs of the cell in every round of a sweep
  double timeout_s = 0;             // 0 = no limit
  std::string fault;                // an isolate trial of this fault; "" = a run
  double run_seconds = 1.0;         // isolate trials
  std::string group;                // the plan group it came from ("" = a plain plan)
  bool isolate() const { return !fault.empty(); }
};

// The cells of a plan in the order they run; modes and kernels are checked against the
// registries (unknown or not built: UsageError). Duplicate cells are dropped.
std::vector<Cell> expand(const Settings& s, int cpus);
// Every group's cells, in group order; a cell asked by two groups runs once (the first).
std::vector<Cell> expand(const Plan& p, int cpus);

// What the cell's `corescope run` is asked (make_run_spec makes its spec from it, whether the
// run happens or the cell failed and is recorded without one).
RunRequest cell_request(const Cell& cell);
RunRequest cell_request(const Cell& cell, const Settings& s);  // the same; `s` is not needed

// Identifies a plan: 16 hex digits over the cells' keys, reps and warm-up. Two sweeps with the
// same hash ask for the same measurements, so one may resume the other. A cell whose reps or
// warm-up differ from the reference settings (another group's) adds them to the hash, and so
// does a cell with more than one run per round.
std::string plan_hash(const Settings& s, const std::vector<Cell>& cells);
std::string plan_hash(const Plan& p, const std::vector<Cell>& cells);

// Sizes from a list and doubling ranges: "8,1K" or "0:4M" = 0, 1, 2, 4, ..., 4M (counts with
// K/M/G suffixes; S/M/L pass through). `what` starts error messages. UsageError on junk.
std::vector<std::string> size_list(const std::string& text, const std::string& what);

// "I/N": run cell k only when k % N == I (job arrays). UsageError on junk.
struct Shard {
  int index = 0, count = 1;
};
Shard parse_shard(const std::string& text);

}  // namespace corescope::sweep
