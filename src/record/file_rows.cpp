// Reading a results file: validation of an existing file, its row groups as Tables (with the
// columns a newer schema derives), and the operations on column values that append and merge
// share. See file_rows.hpp.
#include "record/file_rows.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <type_traits>

#include "core/errors.hpp"
#include "record/atomic_file.hpp"
#include "record/recorder.hpp"
#include "record/run_rows.hpp"

namespace corescope::record::detail {

std::string in_quotes(const std::string& s) { return "\"" + s + "\""; }

// ---------------------------------------------------------------- validation

Int validate_existing(const std::string& shown, const std::string& file) {
  {
    Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) throw UsageError("cannot read " + shown + ": " + error_text(errno));
  }
  h5::QuietErrors quiet;
  bool hdf5 = false;
  try {
    hdf5 = h5::is_hdf5_file(file);
  } catch (const h5::Error&) {
    hdf5 = false;
  }
  if (!hdf5) throw UsageError(shown + " is not an HDF5 file");
  std::optional<h5::File> f;
  try {
    f.emplace(h5::File::open(file, false));
  } catch (const h5::Error& e) {
    throw UsageError(shown + " is an HDF5 file that cannot be opened (" + e.what() + ")");
  }
  const h5::Group root = f->root();
  const auto schema = h5::attribute(root.handle(), "schema");
  if (!schema) throw UsageError(shown + " is an HDF5 file but not a corescope results file (no schema attribute)");
  const auto* name = std::get_if<std::string>(&*schema);
  if (!name || *name != kSchemaName)
    throw UsageError(shown + " is an HDF5 file but not a corescope results file (schema is " +
                     in_quotes(h5::scalar_text(*schema)) + ")");
  const auto version = h5::attribute(root.handle(), "schema_version");
  const auto* number = version ? std::get_if<std::int64_t>(&*version) : nullptr;
  if (!number) throw UsageError(shown + " is a corescope file without an integer schema_version attribute");
  if (*number > kSchemaVersion)
    throw UsageError(shown + " has schema_version " + std::to_string(*number) + "; this corescope reads up to " +
                     std::to_string(kSchemaVersion));
  if (*number < 1) throw UsageError(shown + " has schema_version " + std::to_string(*number) + ", which is not valid");
  return *number;
}

ResultsFile require_results_file(const std::string& path) {
  const Target t = locate(path);
  struct stat st {};
  if (::stat(t.file.c_str(), &st) != 0) throw UsageError("cannot read " + path + ": " + error_text(errno));
  if (!S_ISREG(st.st_mode)) throw UsageError(path + " is not a regular file");
  return ResultsFile{path, t.file, validate_existing(path, t.file)};
}

bool valid_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

// ---------------------------------------------------------------- values

h5::Kind kind_of(const Values& v) { return static_cast<h5::Kind>(v.index()); }

Values missing_values(h5::Kind kind, std::size_t n) {
  switch (kind) {
    case h5::Kind::Int64: return std::vector<Int>(n, kMissingInt);
    case h5::Kind::Float64: return std::vector<double>(n, std::numeric_limits<double>::quiet_NaN());
    case h5::Kind::Text: return std::vector<std::string>(n, kMissingText);
  }
  return {};
}

std::string value_text(const Values& v, std::size_t row) {
  return std::visit(
      [row](const auto& vec) -> std::string {
        using T = typename std::decay_t<decltype(vec)>::value_type;
        if constexpr (std::is_same_v<T, std::string>) return vec[row];
        else return h5::scalar_text(h5::Scalar{vec[row]});
      },
      v);
}

void append_values(Values& to, const Values& from) {
  std::visit(
      [&](auto& dst) {
        const auto& src = std::get<std::decay_t<decltype(dst)>>(from);
        dst.insert(dst.end(), src.begin(), src.end());
      },
      to);
}

Values pick_rows(const Values& v, const std::vector<std::size_t>& rows) {
  return std::visit(
      [&](const auto& src) -> Values {
        std::decay_t<decltype(src)> out;
        out.reserve(rows.size());
        for (const std::size_t r : rows) out.push_back(src[r]);
        return out;
      },
      v);
}

std::size_t text_width(const Values& v) {
  std::size_t width = 0;
  if (const auto* text = std::get_if<std::vector<std::string>>(&v))
    for (const auto& s : *text) width = std::max(width, s.size());
  return width;
}

// Appends `src` below `dst`, taking the union of their columns (gaps get missing values).
void concat(Table& dst, const Table& src, const std::string& context) {
  const std::size_t n = dst.rows(), m = src.rows();
  for (const auto& c : src.columns) {
    if (Column* d = dst.find(c.name)) {
      if (d->values.index() != c.values.index())
        throw RuntimeFailure(context + ": column " + c.name + " is " + h5::kind_name(kind_of(c.values)) + " here but " +
                             h5::kind_name(kind_of(d->values)) + " before");
      append_values(d->values, c.values);
      if (d->units.empty()) d->units = c.units;
      if (d->long_name.empty()) d->long_name = c.long_name;
      if (d->role.empty()) d->role = c.role;
    } else {
      Column added{c.name, c.units, c.long_name, missing_values(kind_of(c.values), n), c.role};
      append_values(added.values, c.values);
      dst.columns.push_back(std::move(added));
    }
  }
  for (auto& d : dst.columns)
    if (!src.find(d.name)) append_values(d.values, missing_values(kind_of(d.values), m));
}

Table pick_rows(const Table& t, const std::vector<std::size_t>& rows) {
  Table out;
  for (const auto& c : t.columns)
    out.columns.push_back(Column{c.name, c.units, c.long_name, pick_rows(c.values, rows), c.role});
  return out;
}

// ---------------------------------------------------------------- reading groups

std::optional<std::string> dimension_of(const h5::Group& group) {
  for (const auto& name : group.children())
    if (group.has_dataset(name) && group.dataset(name).is_scale()) return name;
  return std::nullopt;
}

std::string text_attribute(const h5::Handle& object, const std::string& name) {
  const auto value = h5::attribute(object, name);
  return value ? h5::scalar_text(*value) : std::string();
}

Table read_columns(const h5::Group& group, const std::string& shown) {
  Table t;
  for (const auto& name : group.children()) {
    if (!group.has_dataset(name)) continue;
    const h5::Dataset ds = group.dataset(name);
    if (ds.is_scale()) continue;
    t.columns.push_back(Column{name, text_attribute(ds.handle(), "units"), text_attribute(ds.handle(), "long_name"),
                               ds.read(), text_attribute(ds.handle(), kRoleAttribute)});
  }
  for (const auto& c : t.columns)
    if (c.size() != t.rows())
      throw RuntimeFailure(shown + ": columns of " + group.path() + " have different lengths");
  return t;
}

// A row group as readers see it: the columns of the file, plus those a newer schema derives from
// them for rows written before it (schema 1 /runs: memory_model from mode).
Table read_rows(const h5::Group& root, const std::string& name, const std::string& shown) {
  Table t = read_columns(root.group(name), shown);
  if (name == "runs")
    if (auto derived = derived_memory_model(t)) t.columns.push_back(std::move(*derived));
  return t;
}

// The groups that hold rows: every root group except /tables.
std::vector<std::string> data_groups(const h5::Group& root) {
  std::vector<std::string> groups;
  for (const auto& name : root.children())
    if (name != kTablesGroup && root.has_group(name)) groups.push_back(name);
  return groups;
}

}  // namespace corescope::record::detail
