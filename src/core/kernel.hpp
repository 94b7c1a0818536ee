// The Kernel interface and the kernel registry. A kernel is one file under kernels/ that knows
// nothing of how its workers were made: it talks to its Worker only (no mpi.h, omp.h, <thread>).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/worker.hpp"

namespace corescope {

// Kernel-specific parameter: --param key=value. Allowed values empty = free-form (validated by
// the kernel's own check); otherwise the value must be one of them.
struct ParamSpec {
  std::string key;
  std::string default_value;
  std::vector<std::string> allowed;
  std::string help;
};

struct Params {
  std::size_t size = 0;  // problem size in the kernel's unit (total over the team)
  int reps = 0;
  int warmup = 0;
  std::map<std::string, std::string> values;  // every declared key, defaults filled in

  const std::string& get(const std::string& key) const;  // CS_CHECKs the key was declared
  long long get_int(const std::string& key) const;       // UsageError if not an integer
  double get_double(const std::string& key) const;       // UsageError if not a number
};

// Work per timed iteration, for the whole team; rates are computed from it one way everywhere.
struct Cost {
  double bytes = 0.0;  // bytes moved to/from memory (STREAM counting), 0 = not meaningful
  double flops = 0.0;  // floating point operations, 0 = not meaningful
};

struct Verification {
  bool ok = false;
  double error = 0.0;  // kernel-defined distance from the reference (0 when exact)
  std::string detail;  // one line, shown when !ok
};

// A named number a kernel reports for the whole run (an extra /runs column), e.g. lost_updates.
struct Metric {
  std::string name;
  double value = 0.0;
  std::string units;
  std::string long_name;
};

enum class SizeClass { S, M, L };

// The figure a kernel is judged by (summary, compare, the report): the time of one unit of work
// in a repetition, or units per second. Most kernels' unit is the repetition itself; where the
// work per repetition is calibrated while the run goes (pingpong's round trips), the time per
// unit is what stays comparable between runs.
struct Merit {
  std::string name = "time";        // what the figure is called: "latency", "I/O calls"
  std::string unit = "repetition";  // the unit of work one value is per: "message", "update"
  // The units in one repetition: this /runs column's value times `per`; "" = one unit.
  std::string count_column;
  double per = 1.0;
  bool rate = false;  // shown as units per second (higher is better) instead of time per unit
  // The units in a repetition whose count_column holds `count` (ignored without one).
  double units(double count) const { return count_column.empty() ? 1.0 : count * per; }
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  // Allocate (Worker::alloc_slice) and first-touch this worker's part. Untimed.
  virtual void setup(Worker& w, const Params& p) = 0;
  // One timed iteration. Calls w.yield_point() once per chunk of work.
  virtual void iterate(Worker& w) = 0;
  // Collective check against an analytic or serial reference, after all iterations.
  virtual Verification verify(Worker& w) = 0;
  // Optional run-level numbers (collective; worker 0's list is recorded).
  virtual std::vector<Metric> metrics(Worker& w) { return {}; }
  // Optional: checks this worker's own part of the answer with no team operation, so that a
  // worker can check its result while a peer is dead or stuck (corescope isolate). A kernel
  // that can overrides both; the default cannot (verify_local throws UsageError).
  virtual bool verifies_locally() const { return false; }
  virtual Verification verify_local(Worker& w);
};

struct MachineInfo;
struct RunSpec;

struct KernelInfo {
  std::string name;
  std::string category;     // memory-bound, compute-bound, communication, ...
  std::string description;  // one line
  std::string size_unit;    // what --size counts (elements, samples, ...)
  Merit merit;              // the figure summary and compare state for it
  std::vector<ParamSpec> params;
  // Default sizes per class. M must exceed 4x the last-level cache for memory-bound kernels.
  std::function<std::size_t(SizeClass, const MachineInfo&)> size_for_class;
  // Bytes the kernel allocates in total for a problem of this size (for the memory check).
  std::function<double(const Params&, int workers)> memory_bytes;
  // Cost per timed iteration.
  std::function<Cost(const Params&, int workers)> cost;
  // Where the work per iteration is decided while the run goes (pingpong's round trips,
  // calibrated by time): the cost from worker 0's metrics; replaces `cost` when set.
  std::function<Cost(const Params&, int workers, const std::vector<Metric>& metrics)> measured_cost;
  // Extra validation of size/params against the team and mode (UsageError on bad input, e.g. a
  // variant the mode does not have, or fewer items than workers); may be empty.
  std::function<void(const RunSpec&)> validate;
  std::function<std::unique_ptr<Kernel>()> make;
};

// The problem size `text` stands for: a class S, M or L (the kernel's default for this machine)
// or a count with K/M/G suffixes (UsageError on junk).
std::size_t resolve_size(const std::string& text, const KernelInfo& k);

// Builds Params from --param key=value strings: unknown keys and values not allowed are
// UsageErrors that list the valid ones.
Params make_params(const KernelInfo& info, std::size_t size, int reps, int warmup,
                   const std::vector<std::string>& key_values);

}  // namespace corescope
