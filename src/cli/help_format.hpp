// --help within kTextColumns: CLI11 2.1 (Debian 12) prints each description on one line, however
// long, so this formatter breaks them between words.
#pragma once
#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "cli/table_printer.hpp"

namespace corescope::cli {

// For the app before its subcommands are added (they copy their parent's formatter).
std::shared_ptr<CLI::Formatter> wrapping_formatter();

}  // namespace corescope::cli
