// --lock-timeout SECONDS for the commands that write a results file (run, sweep, merge,
// isolate): how long to wait for another writer of the same file (record::set_lock_timeout).
#pragma once
#include <CLI/CLI.hpp>

namespace corescope::cli {

void add_lock_timeout_option(CLI::App* sub);

}  // namespace corescope::cli
