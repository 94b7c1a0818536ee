// What `summary` and `compare` share about cells: the options (--format, --kernel, --mode,
// --include-disturbed), the filter they make, and how a cell is named in text and records.
#pragma once
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cli/table_printer.hpp"
#include "record/cells.hpp"

namespace corescope::cli {

struct CellViewOptions {
  std::string format = "text";
  std::vector<std::string> kernels, modes;  // as given: comma lists, possibly repeated
  bool include_disturbed = false;
};
void add_cell_view_options(CLI::App* sub, CellViewOptions& o);

// The kernel and mode names a command keeps; an empty set keeps all. UsageError (one line) for
// a name no kernel or mode has.
struct CellFilter {
  std::vector<std::string> kernels, modes;
  bool keeps(const record::CellConfig& c) const;
};
CellFilter make_filter(const CellViewOptions& o);

// "2" or "2x1" (hybrid).
std::string shape_of(const record::CellConfig& c);
// The fields that name a cell in csv/json (kernel, mode, workers, ranks, threads_per_rank,
// shape, size, scaling, channel, pin, twin, params), with `prefix` before each provenance field.
void add_config_fields(Record& r, const record::CellConfig& c);
void add_provenance_fields(Record& r, const record::CellProvenance& p, const std::string& prefix = "");
// "host, corescope VERSION (COMMIT), COMPILER FLAGS, BUILD_TYPE" for a legend line.
std::string provenance_text(const record::CellProvenance& p);

}  // namespace corescope::cli
