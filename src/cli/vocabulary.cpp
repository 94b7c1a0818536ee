// The shared option vocabulary (vocabulary.hpp).
#include "cli/vocabulary.hpp"

#include "core/errors.hpp"

namespace corescope::cli {

std::string flags(Term t) {
  const TermNames& n = names(t);
  return (n.short_flag.empty() ? "" : n.short_flag + ",") + "--" + n.singular + ",--" + n.plural;
}

CLI::Option* add_term(CLI::App* sub, Term t, std::string& value, const std::string& help) {
  // Repeating the option adds to the list (`-k triad -k ep` is `-k triad,ep`); a parameter's
  // values have the commas, so its occurrences are parameters (`sync=none,mutex;algo=naive`).
  return sub->add_option(flags(t), value, help)
      ->allow_extra_args(false)
      ->join(t == Term::param ? ';' : ',');
}

CLI::Option* add_term(CLI::App* sub, Term t, std::vector<std::string>& values,
                      const std::string& help) {
  return sub->add_option(flags(t), values, help)->allow_extra_args(false);
}

const std::string& require_one(Term t, const std::string& value, const std::string& command) {
  // A parameter's values follow its '=': "sync=none,mutex" is two values of one parameter.
  const auto values = t == Term::param ? value.substr(value.find('=') + 1) : value;
  if (values.find(',') == std::string::npos) return value;
  const TermNames& n = names(t);
  const std::string flag = n.short_flag.empty() ? "--" + n.plural : n.short_flag;
  throw UsageError(command + " takes one " + n.one + "; to run several: corescope sweep " + flag +
                   " " + value + " ...");
}

}  // namespace corescope::cli
