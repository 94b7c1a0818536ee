// Options, filter and naming of cells shared by `summary` and `compare` (cell_view.hpp).
#include "cli/cell_view.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "backends/registry.hpp"
#include "core/errors.hpp"
#include "core/run.hpp"
#include "cli/vocabulary.hpp"
#include "core/suggest.hpp"
#include "core/text.hpp"
#include "kernels/registry.hpp"

namespace corescope::cli {

namespace {

// The names of a comma list (repeated options add up), each checked against `known`.
std::vector<std::string> names_from(const std::vector<std::string>& given,
                                    const std::vector<std::string>& known,
                                    const std::string& what) {
  std::vector<std::string> out;
  for (const auto& g : given)
    for (const auto& name : split(g, ',')) {
      if (name.empty()) continue;
      if (std::find(known.begin(), known.end(), name) == known.end())
        throw UsageError(unknown_name(what, name, known));
      out.push_back(name);
    }
  if (out.empty() && !given.empty()) throw UsageError("--" + what + " needs at least one name");
  return out;
}

// --workers: counts ("2") and hybrid shapes ("2x2"), checked.
std::vector<std::string> shapes_from(const std::vector<std::string>& given) {
  std::vector<std::string> out;
  for (const auto& g : given)
    for (const auto& shape : split(g, ',')) {
      const auto x = shape.find('x');
      const auto digits = [](const std::string& t) {
        return !t.empty() && t.size() < 6 &&
               std::all_of(t.begin(), t.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
      };
      if (!(x == std::string::npos ? digits(shape)
                                   : digits(shape.substr(0, x)) && digits(shape.substr(x + 1))))
        throw UsageError("--workers " + shape +
                         ": expected a worker count such as 2, or RANKSxTHREADS such as 2x2");
      out.push_back(shape);
    }
  return out;
}

// --size: words checked when a cell is compared (S/M/L stand for a count per kernel).
std::vector<std::string> sizes_from(const std::vector<std::string>& given) {
  std::vector<std::string> out;
  for (const auto& g : given)
    for (const auto& size : split(g, ','))
      if (!size.empty()) out.push_back(size);
  if (out.empty() && !given.empty()) throw UsageError("--size needs at least one size");
  return out;
}

bool kept(const std::vector<std::string>& names, const std::string& name) {
  return names.empty() || std::find(names.begin(), names.end(), name) != names.end();
}

const ModeInfo* mode_named(const std::string& name) {
  for (const auto& m : modes())
    if (m.name == name) return &m;
  return nullptr;
}

const KernelInfo* kernel_named(std::string_view name) {
  for (const auto& k : kernels())
    if (k.name == name) return &k;
  return nullptr;
}

// Whether `size` names the cell's size: as its name shows it (20k, 2Mi), as a plain count, or as
// the class S/M/L of its kernel (the team's size, or the worker's under weak scaling).
bool size_is(const std::string& size, const record::CellConfig& c) {
  if (size == compact_count(c.size) || size == std::to_string(c.size)) return true;
  if (size != "S" && size != "M" && size != "L") return false;
  const KernelInfo* k = kernel_named(c.kernel);
  if (!k) return false;
  KernelInfo as_run = *k;  // a Python mode has sizes of its own
  if (const ModeInfo* mode = mode_named(c.mode); mode && mode->adapt_kernel) try {
      as_run = mode->adapt_kernel(*k);
    } catch (const UsageError&) {
    }
  const auto n = static_cast<record::Int>(resolve_size(size, as_run));
  return n == c.size || (c.scaling == "weak" && n * c.workers == c.size);
}

// The kernel's parameters as `mode` runs them (a Python mode has its own defaults).
std::vector<ParamSpec> params_as_run(const std::string& kernel, const ModeInfo* mode) {
  const KernelInfo* k = kernel_named(kernel);
  if (!k) return {};
  if (mode && mode->adapt_kernel) try {
      return mode->adapt_kernel(*k).params;
    } catch (const UsageError&) {
    }
  return k->params;
}

// 0.005 -> "5ms", 1e-4 -> "100us": a switch interval in a name.
std::string compact_seconds(double s) {
  char buf[32];
  if (s >= 1.0)
    std::snprintf(buf, sizeof buf, "%gs", s);
  else if (s >= 1e-3)
    std::snprintf(buf, sizeof buf, "%gms", s * 1e3);
  else
    std::snprintf(buf, sizeof buf, "%gus", s * 1e6);
  return buf;
}

// The settings of a cell that are not at their defaults, as "key=value" (or a bare word).
std::vector<std::string> non_defaults(const record::CellConfig& c) {
  const ModeInfo* mode = mode_named(c.mode);
  std::vector<std::string> out;
  const auto first_of = [](const std::vector<std::string>& v) {
    return v.empty() ? std::string() : v.front();
  };
  if (!c.channel.empty() && (!mode || c.channel != first_of(mode->channels)))
    out.push_back("channel=" + c.channel);
  static const RunSpec defaults;
  if (!c.pin.empty() && c.pin != kPinNone) out.push_back("pin=" + c.pin);
  const auto specs = params_as_run(c.kernel, mode);
  for (const auto& kv : from_json(c.params)) {  // (clang 14 cannot capture a structured binding)
    const auto it = std::find_if(specs.begin(), specs.end(),
                                 [&](const ParamSpec& p) { return p.key == kv.first; });
    if (it == specs.end() || it->default_value != kv.second)
      out.push_back(kv.first + "=" + kv.second);
  }
  if (!c.scaling.empty() && c.scaling != defaults.scaling) out.push_back(c.scaling);
  if (std::isfinite(c.switch_interval_s) && c.switch_interval_s != defaults.switch_interval_s)
    out.push_back("switch=" + compact_seconds(c.switch_interval_s));
  if (!c.gil_release.empty() && c.gil_release != defaults.gil_release)
    out.push_back("release=" + c.gil_release);
  if (!c.gil_policy.empty() && c.gil_policy != defaults.gil_policy)
    out.push_back("policy=" + c.gil_policy);
  if (c.python_gil == 0) out.push_back("nogil");
  if (!c.start_method.empty() && (!mode || c.start_method != first_of(mode->start_methods)))
    out.push_back("start=" + c.start_method);
  if (c.twin == 1) out.push_back("twin");
  return out;
}

}  // namespace

void add_cell_view_options(CLI::App* sub, CellViewOptions& o) {
  sub->add_option("--format", o.format, "text, csv or json")->capture_default_str();
  add_term(sub, Term::kernel, o.kernels, "only these kernels (comma list)");
  add_term(sub, Term::mode, o.modes, "only these modes (comma list)");
  add_term(sub, Term::workers, o.workers,
           "only cells of these team sizes (comma list; RANKSxTHREADS such as 2x2 for hybrid)");
  add_term(sub, Term::size, o.sizes,
           "only cells of these sizes (comma list: as cell names show them, 20k or 2Mi; a plain "
           "count; S, M or L)");
  add_term(sub, Term::param, o.params,
           "only cells whose kernel parameter KEY has VALUE (KEY=VALUE; repeat for more)");
  sub->add_flag("--include-disturbed", o.include_disturbed,
                "use disturbed repetitions too (by default statistics use the clean ones, "
                "docs/user/compare.md)");
  sub->add_flag("--wide", o.wide, "every column, and cell names whole (the text table)");
  sub->add_option(
         "--sort", o.sort,
         "row order: name (kernel, mode, workers, size, settings), figure, speedup or file")
      ->capture_default_str();
}

CellFilter make_filter(const CellViewOptions& o) {
  std::vector<std::string> kernel_names, mode_names;
  for (const auto& k : kernels()) kernel_names.push_back(k.name);
  for (const auto& m : modes()) mode_names.push_back(m.name);
  CellFilter f{names_from(o.kernels, kernel_names, "kernel"),
               names_from(o.modes, mode_names, "mode"),
               shapes_from(o.workers),
               sizes_from(o.sizes),
               {}};
  std::vector<std::string> keys;  // every kernel's parameters, for a misspelt key
  for (const auto& k : kernels())
    for (const auto& p : k.params)
      if (std::find(keys.begin(), keys.end(), p.key) == keys.end()) keys.push_back(p.key);
  for (const auto& kv : o.params) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      throw UsageError("--param " + kv + ": expected KEY=VALUE");
    const std::string key = kv.substr(0, eq);
    if (std::find(keys.begin(), keys.end(), key) == keys.end())
      throw UsageError(unknown_name("parameter", key, keys));
    f.params[key] = kv.substr(eq + 1);
  }
  return f;
}

bool CellFilter::keeps(const record::CellConfig& c) const {
  if (!kept(kernels, c.kernel) || !kept(modes, c.mode)) return false;
  if (!shapes.empty() && !kept(shapes, std::to_string(c.workers)) && !kept(shapes, shape_of(c)))
    return false;
  if (!sizes.empty() &&
      std::none_of(sizes.begin(), sizes.end(), [&](const std::string& s) { return size_is(s, c); }))
    return false;
  if (params.empty()) return true;
  const auto values = from_json(c.params);
  for (const auto& [key, value] : params)
    if (const auto it = values.find(key); it == values.end() || it->second != value) return false;
  return true;
}

std::string shape_of(const record::CellConfig& c) {
  return team_shape(c.mode, c.workers, c.ranks, c.threads_per_rank);
}

std::string cell_name(const record::CellConfig& c) {
  std::vector<std::string> parts = {c.kernel, c.mode, shape_of(c), compact_count(c.size)};
  for (auto& p : non_defaults(c)) parts.push_back(std::move(p));
  return join(parts, "/");
}

std::string short_name(const std::string& name, std::size_t width) {
  if (name.size() <= width || width < 8) return name;
  const std::size_t head = (width - 1) * 2 / 3;
  return name.substr(0, head) + "~" + name.substr(name.size() - (width - 1 - head));
}

NameKey name_key(const record::CellConfig& c) {
  const auto& all = modes();
  const auto mode_rank =
      std::find_if(all.begin(), all.end(), [&](const ModeInfo& m) { return m.name == c.mode; });
  return {c.kernel, mode_rank - all.begin(), c.workers, c.ranks, c.size, cell_name(c)};
}

void sort_cells(std::vector<record::Cell>& cells, const std::string& order,
                const std::function<double(const record::Cell&)>& speedup) {
  static const std::vector<std::string> orders = {"name", "figure", "speedup", "file"};
  if (std::find(orders.begin(), orders.end(), order) == orders.end())
    throw UsageError(unknown_name("sort", order, orders));
  if (order == "file") return;
  // Each cell's key once: a speedup is a bootstrap, a name a parse of the params.
  std::vector<std::pair<double, NameKey>> keys;
  for (const auto& c : cells) {
    const double v = order == "name" ? 0.0 : order == "figure" ? c.median.point : -speedup(c);
    keys.emplace_back(std::isfinite(v) ? v : INFINITY, name_key(c.config));  // NaN sorts last
  }
  sort_by_keys(cells, keys);
}

const Merit& merit_of(std::string_view kernel) {
  static const Merit per_repetition;
  const KernelInfo* k = kernel_named(kernel);
  return k ? k->merit : per_repetition;
}

double merit_units(const record::Table& runs, std::size_t row) {
  const Merit& m = merit_of(runs.text("kernel", row));
  return m.units(m.count_column.empty() ? 1.0 : runs.number(m.count_column, row));
}

record::CellOptions cell_options(bool include_disturbed, bool speed_normalised) {
  return {include_disturbed, speed_normalised, merit_units};
}

namespace {
// The scale a figure is shown in: seconds (ns .. s) or a rate (units/s, k, M, G).
struct Scale {
  double factor;
  const char* suffix;
};
Scale scale_of(const Merit& m, double value) {
  if (m.rate) {
    if (value >= 1e9) return {1e-9, "G"};
    if (value >= 1e6) return {1e-6, "M"};
    if (value >= 1e3) return {1e-3, "k"};
    return {1.0, ""};
  }
  if (value >= 1.0) return {1.0, " s"};
  if (value >= 1e-3) return {1e3, " ms"};
  if (value >= 1e-6) return {1e6, " us"};
  return {1e9, " ns"};
}
// Time per unit as the figure shows it: seconds, or units per second.
double shown(const Merit& m, double seconds_per_unit) {
  return m.rate ? 1.0 / seconds_per_unit : seconds_per_unit;
}
std::string number3(double v) {  // three significant digits, no exponent below 1e6
  char buf[32];
  std::snprintf(buf, sizeof buf,
                v >= 100  ? "%.0f"
                : v >= 10 ? "%.1f"
                : v >= 1  ? "%.2f"
                          : "%.3f",
                v);
  return buf;
}
}  // namespace

std::string figure_text(const Merit& m, double seconds_per_unit) {
  if (!(seconds_per_unit > 0) || !std::isfinite(seconds_per_unit)) return "-";
  const double v = shown(m, seconds_per_unit);
  const Scale sc = scale_of(m, v);
  std::string out = number3(v * sc.factor) + sc.suffix;
  if (m.rate) return out + " " + m.unit + "s/s";
  return m.unit == "repetition" ? out : out + "/" + m.unit;
}

namespace {
// The two ends in the scale of `point`, smaller first; false where one is missing.
bool scaled_ends(const Merit& m, double point, double lo, double hi, std::string& a,
                 std::string& b) {
  if (!(lo > 0) || !(hi > 0) || !std::isfinite(lo) || !std::isfinite(hi) || !(point > 0))
    return false;
  const Scale sc = scale_of(m, shown(m, point));
  double x = shown(m, lo) * sc.factor, y = shown(m, hi) * sc.factor;
  if (x > y) std::swap(x, y);  // a rate turns the interval over
  a = number3(x);
  b = number3(y);
  return true;
}
}  // namespace

std::string figure_interval(const Merit& m, double point, double lo, double hi) {
  std::string a, b;
  return scaled_ends(m, point, lo, hi, a, b) ? "[" + a + ", " + b + "]" : "-";
}

std::string figure_range(const Merit& m, double point, double lo, double hi) {
  std::string a, b;
  return scaled_ends(m, point, lo, hi, a, b) ? a + " .. " + b : "-";
}

void add_config_fields(Record& r, const record::CellConfig& c) {
  r("kernel", c.kernel)("mode", c.mode)("workers", c.workers)("ranks", c.ranks)(
      "threads_per_rank", c.threads_per_rank)("shape", shape_of(c))("size", c.size)(
      "scaling", c.scaling)("channel", c.channel)("pin", c.pin)("twin", c.twin)("params", c.params);
}

void add_provenance_fields(Record& r, const record::CellProvenance& p, const std::string& prefix) {
  r(prefix + "host", p.host)(prefix + "cpu_model", p.cpu_model)(
      prefix + "software_version", p.software_version)(prefix + "git_commit", p.git_commit)(
      prefix + "compiler", p.compiler)(prefix + "cxx_flags", p.cxx_flags)(prefix + "build_type",
                                                                          p.build_type);
}

std::string provenance_text(const record::CellProvenance& p) {
  auto or_unknown = [](const std::string& s) { return s.empty() ? std::string("?") : s; };
  return "host " + or_unknown(p.host) + ", corescope " + or_unknown(p.software_version) + " (" +
         or_unknown(p.git_commit) + "), " + or_unknown(p.compiler) + " " + p.cxx_flags + ", " +
         or_unknown(p.build_type);
}

}  // namespace corescope::cli
