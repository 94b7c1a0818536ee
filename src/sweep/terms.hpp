// The words a user types for what to run (kernel, mode, channel, workers, size, param), declared
// once: the singular and the plural spelling, the short flag, and the sweep plan's key. The
// command line (cli/vocabulary) and plan files (sweep/plan) both read them here.
#pragma once
#include <optional>
#include <string>

namespace corescope::sweep {

enum class Term { kernel, mode, channel, workers, size, param };

struct TermNames {
  std::string singular, plural, short_flag;  // "kernel", "kernels", "-k"
  std::string one;       // what one value is, for messages: "kernel", "worker count"
  std::string plan_key;  // the plan's key for it: "kernels"
};
const TermNames& names(Term t);

// The term a word names: its singular, its plural or its plan key.
std::optional<Term> term_of(const std::string& word);

}  // namespace corescope::sweep
