// --lock-timeout: checked here (a positive number of seconds), applied process-wide.
#include "cli/lock_option.hpp"

#include <cmath>

#include "core/errors.hpp"
#include "record/recorder.hpp"

namespace corescope::cli {

void add_lock_timeout_option(CLI::App* sub) {
  sub->add_option_function<double>(
      "--lock-timeout",
      [](double seconds) {
        if (!(seconds > 0) || !std::isfinite(seconds) || seconds > 1e7)
          throw UsageError("--lock-timeout must be a positive number of seconds (at most 1e7)");
        record::set_lock_timeout(seconds);
      },
      "seconds to wait for another writer of the results file before giving up (default 300)");
}

}  // namespace corescope::cli
