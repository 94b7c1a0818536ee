// The shared words for what to run (terms.hpp).
#include "sweep/terms.hpp"

#include <array>
#include <stdexcept>

namespace corescope::sweep {

namespace {
struct Entry {
  Term term;
  TermNames names;
};

const std::array<Entry, 6>& table() {
  static const std::array<Entry, 6> entries = {{
      {Term::kernel, {"kernel", "kernels", "-k", "kernel", "kernels"}},
      {Term::mode, {"mode", "modes", "-m", "mode", "modes"}},
      {Term::channel, {"channel", "channels", "", "channel", "channels"}},
      {Term::workers, {"worker", "workers", "-w", "worker count", "workers"}},
      {Term::size, {"size", "sizes", "-s", "size", "size"}},
      {Term::param, {"param", "params", "-p", "value per parameter", "param"}},
  }};
  return entries;
}
}  // namespace

const TermNames& names(Term t) {
  for (const auto& e : table())
    if (e.term == t) return e.names;
  throw std::logic_error("names: a term without an entry");
}

std::optional<Term> term_of(const std::string& word) {
  for (const auto& e : table())
    if (word == e.names.singular || word == e.names.plural || word == e.names.plan_key)
      return e.term;
  return std::nullopt;
}

}  // namespace corescope::sweep
