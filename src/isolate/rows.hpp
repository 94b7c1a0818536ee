// The /isolation row of one trial (docs/user/results-format.md), ready for record::append.
#pragma once
#include <string>

#include "isolate/trial.hpp"
#include "record/table.hpp"

namespace corescope::isolation {

// What the row says besides the trial itself.
struct TrialRecord {
  std::string isolate_id;  // the corescope isolate invocation
  std::string started;     // ISO 8601
  int repeat = 0;          // trial number of this mode and fault within the invocation
  std::string command;     // isolate's command line
};

record::Table trial_row(const TrialSetup& setup, const TrialResult& r, const TrialRecord& info);

}  // namespace corescope::isolation
