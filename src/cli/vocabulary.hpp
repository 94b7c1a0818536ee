// The words a user types for what to run (sweep/terms.hpp) as options of every subcommand: the
// singular and the plural long flag are one option, with the same short flag everywhere, so
// `sweep --kernel triad` and `run --kernels triad` both work.
#pragma once
#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "sweep/terms.hpp"

namespace corescope::cli {

using sweep::names;
using sweep::Term;
using sweep::term_of;
using sweep::TermNames;

// CLI11's name list for the term: "-k,--kernel,--kernels".
std::string flags(Term t);

// The option, taking one value per occurrence (so that `summary -k ep FILE` leaves FILE alone).
CLI::Option* add_term(CLI::App* sub, Term t, std::string& value, const std::string& help);
CLI::Option* add_term(CLI::App* sub, Term t, std::vector<std::string>& values,
                      const std::string& help);

// For the commands that run one of each (run, isolate): `value` as is, or UsageError pointing to
// the sweep that runs several ("run takes one kernel; to run several: corescope sweep -k a,b ...").
const std::string& require_one(Term t, const std::string& value, const std::string& command);

}  // namespace corescope::cli
