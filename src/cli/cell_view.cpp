// Options, filter and naming of cells shared by `summary` and `compare` (cell_view.hpp).
#include "cli/cell_view.hpp"

#include <algorithm>

#include "backends/registry.hpp"
#include "core/errors.hpp"
#include "cli/vocabulary.hpp"
#include "core/suggest.hpp"
#include "core/text.hpp"
#include "kernels/registry.hpp"

namespace corescope::cli {

namespace {

// The names of a comma list (repeated options add up), each checked against `known`.
std::vector<std::string> names_from(const std::vector<std::string>& given, const std::vector<std::string>& known,
                                    const std::string& what) {
  std::vector<std::string> out;
  for (const auto& g : given)
    for (const auto& name : split(g, ',')) {
      if (name.empty()) continue;
      if (std::find(known.begin(), known.end(), name) == known.end()) throw UsageError(unknown_name(what, name, known));
      out.push_back(name);
    }
  if (out.empty() && !given.empty()) throw UsageError("--" + what + " needs at least one name");
  return out;
}

bool kept(const std::vector<std::string>& names, const std::string& name) {
  return names.empty() || std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

void add_cell_view_options(CLI::App* sub, CellViewOptions& o) {
  sub->add_option("--format", o.format, "text, csv or json")->capture_default_str();
  add_term(sub, Term::kernel, o.kernels, "only these kernels (comma list)");
  add_term(sub, Term::mode, o.modes, "only these modes (comma list)");
  sub->add_flag("--include-disturbed", o.include_disturbed,
                "use disturbed repetitions too (by default statistics use the clean ones, docs/compare.md)");
}

CellFilter make_filter(const CellViewOptions& o) {
  std::vector<std::string> kernel_names, mode_names;
  for (const auto& k : kernels()) kernel_names.push_back(k.name);
  for (const auto& m : modes()) mode_names.push_back(m.name);
  return {names_from(o.kernels, kernel_names, "kernel"), names_from(o.modes, mode_names, "mode")};
}

bool CellFilter::keeps(const record::CellConfig& c) const { return kept(kernels, c.kernel) && kept(modes, c.mode); }

std::string shape_of(const record::CellConfig& c) { return team_shape(c.mode, c.workers, c.ranks, c.threads_per_rank); }

void add_config_fields(Record& r, const record::CellConfig& c) {
  r("kernel", c.kernel)("mode", c.mode)("workers", c.workers)("ranks", c.ranks)("threads_per_rank", c.threads_per_rank)(
      "shape", shape_of(c))("size", c.size)("scaling", c.scaling)("channel", c.channel)("pin", c.pin)("twin", c.twin)(
      "params", c.params);
}

void add_provenance_fields(Record& r, const record::CellProvenance& p, const std::string& prefix) {
  r(prefix + "host", p.host)(prefix + "cpu_model", p.cpu_model)(prefix + "software_version", p.software_version)(
      prefix + "git_commit", p.git_commit)(prefix + "compiler", p.compiler)(prefix + "cxx_flags", p.cxx_flags)(
      prefix + "build_type", p.build_type);
}

std::string provenance_text(const record::CellProvenance& p) {
  auto or_unknown = [](const std::string& s) { return s.empty() ? std::string("?") : s; };
  return "host " + or_unknown(p.host) + ", corescope " + or_unknown(p.software_version) + " (" +
         or_unknown(p.git_commit) + "), " + or_unknown(p.compiler) + " " + p.cxx_flags + ", " +
         or_unknown(p.build_type);
}

}  // namespace corescope::cli
