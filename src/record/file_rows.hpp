// Reading a results file and the column-value operations shared by append (recorder.cpp) and
// merge (merge.cpp), for src/record only: validating an existing file, reading its row groups
// back as Tables, and concatenating / picking rows. Public readers are in recorder.hpp.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "record/h5.hpp"
#include "record/table.hpp"

namespace corescope::record::detail {

inline constexpr const char* kTablesGroup = "tables";

std::string in_quotes(const std::string& s);
bool valid_name(const std::string& name);  // usable as a group, dimension or column name

// Checks an existing file read-only and returns its schema_version; `shown` is the path as the
// user gave it, for messages. UsageError (one line) for anything that is not a results file
// this corescope reads, "SHOWN is damaged: ..." for one whose structure is broken: every group,
// column, attribute and compound copy is read and checked against the others (lengths, kinds,
// links into /runs, the kinds corescope writes) in a child process, so that neither a crash of
// HDF5 on a damaged file nor a file HDF5 cannot close reaches this process.
Int validate_existing(const std::string& shown, const std::string& file);
// "SHOWN is damaged: " + what went wrong (shortened), for failures reading a validated file.
std::string damaged_text(const std::string& shown, const std::exception& e);

struct ResultsFile {
  std::string shown;  // as the user gave it
  std::string file;   // symbolic links followed
  Int version = 0;
};
// For readers: the file must exist and be a corescope file.
ResultsFile require_results_file(const std::string& path);

h5::Kind kind_of(const Values& v);
Values missing_values(h5::Kind kind, std::size_t n);
std::string value_text(const Values& v, std::size_t row);  // any value as text
std::size_t text_width(const Values& v);                   // longest text value, 0 for numbers
// Appends `src` below `dst`, taking the union of their columns (gaps get missing values).
void concat(Table& dst, const Table& src, const std::string& context);
Table pick_rows(const Table& t, const std::vector<std::size_t>& rows);

// Units as the file holds them (CF: what udunits2 parses) and as rows carry them (short
// symbols, "" for none): "B" <-> "byte", "GB/s" <-> "Gbyte/s", "GFLOP/s" <-> "1e9 s-1", and a
// number without a unit <-> "1". Others ("s", "ns", a kernel's own) pass unchanged.
std::string file_units(const std::string& units, h5::Kind kind);
std::string row_units(const std::string& units);

// The dimension scale of a row group (nullopt when it has none).
std::optional<std::string> dimension_of(const h5::Group& group);
std::string text_attribute(const h5::Handle& object, const std::string& name);  // "" if absent
// The columns of a row group as stored (units, long_name and role from their attributes); with
// `only`, just those of them that the group has.
Table read_columns(const h5::Group& group, const std::string& shown,
                   const std::vector<std::string>* only = nullptr);
// A row group as readers see it: read_columns plus the columns a newer schema derives from them
// for rows written before it (schema 1 /runs: memory_model from mode).
Table read_rows(const h5::Group& root, const std::string& name, const std::string& shown);
// The groups that hold rows: every root group except /tables.
std::vector<std::string> data_groups(const h5::Group& root);

}  // namespace corescope::record::detail
