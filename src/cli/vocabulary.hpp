// The words a user types for what to run (kernel, mode, channel, workers, size, param), declared
// once for every subcommand: the singular and the plural long flag are one option, with the
// same short flag everywhere, so `sweep --kernel triad` and `run --kernels triad` both work.
#pragma once
#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

namespace corescope::cli {

enum class Term { kernel, mode, channel, workers, size, param };

struct TermNames {
  std::string singular, plural, short_flag;  // "kernel", "kernels", "-k"
  std::string one;                           // what one value is, for messages: "kernel", "worker count"
};
const TermNames& names(Term t);

// The term a sweep plan key names (kernels, modes, workers, size, param, channels), if any.
std::optional<Term> term_of(const std::string& key);

// CLI11's name list for the term: "-k,--kernel,--kernels".
std::string flags(Term t);

// The option, taking one value per occurrence (so that `summary -k ep FILE` leaves FILE alone).
CLI::Option* add_term(CLI::App* sub, Term t, std::string& value, const std::string& help);
CLI::Option* add_term(CLI::App* sub, Term t, std::vector<std::string>& values, const std::string& help);

// For the commands that run one of each (run, isolate): `value` as is, or UsageError pointing to
// the sweep that runs several ("run takes one kernel; to run several: corescope sweep -k a,b ...").
const std::string& require_one(Term t, const std::string& value, const std::string& command);

}  // namespace corescope::cli
