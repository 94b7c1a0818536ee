// The parallel capacity check a sweep makes once per round (docs/user/sweeps.md, /capacity in
// docs/user/results-format.md): a short fixed, dependency-chained loop timed on one worker alone
// and on every CPU of the sweep at once, as threads and as forked processes. capacity = workers x
// one_s / all_s: how many CPUs' worth of work the machine delivers right now (2 on an idle 2-CPU
// machine; less when other tenants or the host take a share).
#pragma once
#include <string>
#include <vector>

#include "record/table.hpp"

namespace corescope::sweep {

struct Capacity {
  std::string mode;  // threads | processes
  int workers = 1, trials = 0;
  double one_s = 0;  // median over the trials of the loop on one worker alone
  double all_s = 0;  // median over the trials of the slowest worker when all run it at once
  double capacity = 0;
  std::string started;  // ISO 8601 UTC
};

// One timed run of the loop, in seconds (a few milliseconds, longer than a time slice; always the
// same work).
double capacity_loop_s();

// The check for `mode` ("threads" or "processes") with `workers` workers, `trials` times each
// way (each trial: one worker alone, then all at once). A team that cannot be started (fork
// fails) or does not finish within 10 s gives NaN times.
Capacity measure_capacity(const std::string& mode, int workers, int trials = 15);

// The /capacity rows of one check (one row per mode).
struct CapacityTag {
  std::string sweep_id, sweep_plan;
  int round = -1;
};
record::Table capacity_rows(const std::vector<Capacity>& checks, const CapacityTag& tag);

}  // namespace corescope::sweep
