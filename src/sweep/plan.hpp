// What a sweep runs: its settings (from options or a plan file), expanded into cells, each one
// `corescope run` of one kernel x mode x team shape. Modes and kernels come from the registries.
#pragma once
#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "core/mode.hpp"

namespace corescope::sweep {

struct HybridSplit {
  int ranks = 1, threads = 1;
  bool operator==(const HybridSplit&) const = default;
};

// The matrix before expansion. Every field has a plan-file key of the same name as its option
// (`workers = 1,2,4` is `--workers 1,2,4`); see docs/sweeps.md.
struct Settings {
  std::vector<std::string> kernels;           // empty = error; "all" expands to every kernel
  std::vector<std::string> modes;             // empty = every built mode
  std::vector<int> workers;                   // empty = pow2 (1, 2, 4, ... up to the CPUs)
  std::vector<HybridSplit> hybrid;            // ranks x threads cells of the hybrid mode(s)
  std::vector<int> cores;                     // every ranks x threads = C, for each C
  std::vector<std::string> scaling{"strong"};
  std::vector<std::string> sizes{"M"};
  std::vector<std::string> pins{"none"};
  int reps = 10;
  int warmup = 2;
  double timeout_per_run_s = 0;               // 0 = no limit
  std::string launcher = "auto";              // auto | srun | mpirun
};

// The plan-file keys, in the order --help and docs list them.
const std::vector<std::string>& plan_keys();

// Sets one setting from its text, given as an option or a plan line; `where` starts the error
// message ("--workers", "plan.txt:3: workers"). `cpus` resolves `max` and `pow2`. UsageError.
void apply(Settings& s, const std::string& key, const std::string& value, const std::string& where, int cpus);

// Reads a plan: lines `key = value`, `#` comments, blank lines. `name` labels errors
// ("plan.txt:4: unknown key 'wrokers'; valid keys: ..."). Keys may appear once.
void read_plan(Settings& s, std::istream& in, const std::string& name, int cpus);
// A plan file: it must be a regular file of at most kMaxPlanBytes (UsageError otherwise).
inline constexpr std::size_t kMaxPlanBytes = 1 << 20;
void read_plan_file(Settings& s, const std::string& path, int cpus);

// One `corescope run` of the sweep.
struct Cell {
  std::string kernel, mode;
  int workers = 1, ranks = 1, threads = 1;  // ranks x threads for launched modes; else workers x 1
  bool launched = false;                     // started by mpirun/mpiexec/srun
  bool split = false;                        // a ranks x threads mode (--threads per rank)
  bool openmp = false;                       // its threads are OpenMP threads (bound by OMP_PLACES)
  std::string scaling, size, pin;
  std::string key;                           // unique within a plan: "triad/mpi/2/strong/M/none"
};

// The cells of a plan in the order they run; modes and kernels are checked against the
// registries (unknown or not built: UsageError). Duplicate cells are dropped.
std::vector<Cell> expand(const Settings& s, int cpus);

// What the cell's `corescope run` is asked (make_run_spec makes its spec from it, whether the
// run happens or the cell failed and is recorded without one).
RunRequest cell_request(const Cell& cell, const Settings& s);

// Identifies a plan: 16 hex digits over the cells' keys, reps and warm-up. Two sweeps with the
// same hash ask for the same measurements, so one may resume the other.
std::string plan_hash(const Settings& s, const std::vector<Cell>& cells);

// "I/N": run cell k only when k % N == I (job arrays). UsageError on junk.
struct Shard {
  int index = 0, count = 1;
};
Shard parse_shard(const std::string& text);

}  // namespace corescope::sweep
