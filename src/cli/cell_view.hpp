// What `summary` and `compare` share about cells: the options (--format, --kernel, --mode,
// --include-disturbed), the filter they make, and how a cell is named in text and records.
#pragma once
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "cli/table_printer.hpp"
#include "core/kernel.hpp"
#include "record/cells.hpp"

namespace corescope::cli {

struct CellViewOptions {
  std::string format = "text";
  std::vector<std::string> kernels, modes;  // as given: comma lists, possibly repeated
  std::vector<std::string> workers, sizes;  // as given: comma lists
  std::vector<std::string> params;          // KEY=VALUE, each a condition
  bool include_disturbed = false;
  bool wide = false;          // every column, names whole
  std::string sort = "name";  // sort_cells' order
};
void add_cell_view_options(CLI::App* sub, CellViewOptions& o);

// The kernel and mode names a command keeps; an empty set keeps all. UsageError (one line) for
// a name no kernel or mode has.
struct CellFilter {
  std::vector<std::string> kernels, modes;
  std::vector<std::string> shapes;  // "2" (workers) or "2x2" (ranks x threads)
  std::vector<std::string> sizes;   // as names show them (20k, 2Mi), a plain count, or S/M/L
  std::map<std::string, std::string> params;  // the cell's kernel parameters must hold these values
  bool keeps(const record::CellConfig& c) const;
};
CellFilter make_filter(const CellViewOptions& o);

// "2" or "2x1" (hybrid).
std::string shape_of(const record::CellConfig& c);

// A cell's name, google-benchmark style: kernel/mode/shape/size, then every setting that is not
// at its default (`critical/threads/2/20k/sync=atomic`, `ep/gil/2/2Mi/switch=1ms`). The same
// configuration has the same name in every file and under every filter.
std::string cell_name(const record::CellConfig& c);
// The name cut to at most `width` characters, the same way everywhere: its head and tail with
// "~" between.
std::string short_name(const std::string& name, std::size_t width = 40);
// Cells in the order the tables print them: kernel, mode (the registry's order), workers, size,
// then the name. `order` "name" (that order), "figure" (fastest first), "speedup" (highest
// first) or "file" (as recorded); UsageError for anything else.
// What name order sorts by: kernel, mode (the registry's order), workers, ranks, size, name.
using NameKey =
    std::tuple<std::string, std::ptrdiff_t, record::Int, record::Int, record::Int, std::string>;
NameKey name_key(const record::CellConfig& c);
// `items` in the order of `keys` (one each, computed once), stable.
template <typename T, typename K>
void sort_by_keys(std::vector<T>& items, const std::vector<K>& keys) {
  std::vector<std::size_t> order(items.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return keys[a] < keys[b]; });
  std::vector<T> sorted;
  sorted.reserve(items.size());
  for (const std::size_t i : order) sorted.push_back(std::move(items[i]));
  items = std::move(sorted);
}
void sort_cells(std::vector<record::Cell>& cells, const std::string& order,
                const std::function<double(const record::Cell&)>& speedup);

// The figure of merit of a kernel (the default, time per repetition, for one this binary lacks).
const Merit& merit_of(std::string_view kernel);  // (a view: see find_kernel)
// CellOptions::units_per_repetition from the kernels' declarations.
double merit_units(const record::Table& runs, std::size_t row);
record::CellOptions cell_options(bool include_disturbed, bool speed_normalised = false);
// A figure from seconds per unit: "1.234 ms" (per repetition), "6.29 us/message", or
// "21.3k calls/s" for a rate; with its interval in the same scale, "[6.10, 6.52]".
std::string figure_text(const Merit& m, double seconds_per_unit);
std::string figure_interval(const Merit& m, double point, double lo, double hi);
// "6.10 .. 6.52": a range (min .. max) in the scale of `point`.
std::string figure_range(const Merit& m, double point, double lo, double hi);
// The fields that name a cell in csv/json (kernel, mode, workers, ranks, threads_per_rank,
// shape, size, scaling, channel, pin, twin, params), with `prefix` before each provenance field.
void add_config_fields(Record& r, const record::CellConfig& c);
void add_provenance_fields(Record& r, const record::CellProvenance& p,
                           const std::string& prefix = "");
// "host, corescope VERSION (COMMIT), COMPILER FLAGS, BUILD_TYPE" for a legend line.
std::string provenance_text(const record::CellProvenance& p);

}  // namespace corescope::cli
