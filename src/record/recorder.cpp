// The append and read side of the results file: checks before a run, crash-safe appends (HDF5
// appends to the file mapped copy-on-write, cow_map.hpp; its pages reach the file after a
// journal, journal.hpp; atomic_file.hpp does the file work), compact, and reading groups back.
// Merging is merge.cpp.
// Layout and guarantees: docs/user/results-format.md.
#include "record/recorder.hpp"

#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <numeric>
#include <optional>
#include <set>

#include "core/errors.hpp"
#include "core/launch_env.hpp"
#include "record/atomic_file.hpp"
#include "record/cow_map.hpp"
#include "record/journal.hpp"
#include "record/file_rows.hpp"
#include "record/h5.hpp"
#include "record/run_rows.hpp"

#ifndef CORESCOPE_VERSION
#define CORESCOPE_VERSION "unknown"
#endif

namespace corescope::record {

using namespace detail;

namespace {

constexpr std::size_t kColumnChunkRows = 4096;
constexpr std::size_t kRecordChunkBytes = 64 * 1024;

// ---------------------------------------------------------------- writing

void check_rows(const std::vector<GroupRows>& groups) {
  std::set<std::string> group_names;
  for (const auto& g : groups) {
    const std::string where = "rows for group " + in_quotes(g.group);
    if (!valid_name(g.group) || g.group == kTablesGroup)
      throw RuntimeFailure(
          where + ": not a usable group name (\"tables\" is reserved, '/' is not allowed)");
    if (!group_names.insert(g.group).second)
      throw RuntimeFailure(where + ": the group appears twice in one append");
    if (!valid_name(g.dimension))
      throw RuntimeFailure(where + ": invalid dimension name " + in_quotes(g.dimension));
    std::set<std::string> columns;
    for (const auto& c : g.rows.columns) {
      if (!valid_name(c.name))
        throw RuntimeFailure(where + ": invalid column name " + in_quotes(c.name));
      if (c.name == g.dimension)
        throw RuntimeFailure(where + ": column " + c.name + " has the dimension's name");
      if (!columns.insert(c.name).second)
        throw RuntimeFailure(where + ": column " + c.name + " appears twice");
      if (c.size() != g.rows.rows())
        throw RuntimeFailure(where + ": column " + c.name + " has " + std::to_string(c.size()) +
                             " rows, not " + std::to_string(g.rows.rows()));
    }
  }
  for (const auto& g : groups) {
    if (g.link_column.empty()) continue;
    const std::string where = "rows for group " + in_quotes(g.group);
    const Column* link = g.rows.find(g.link_column);
    if (!link && g.rows.rows() == 0) continue;  // e.g. a failed run without samples
    if (!link || kind_of(link->values) != h5::Kind::Int64)
      throw RuntimeFailure(where + ": link column " + in_quotes(g.link_column) +
                           " is not an int64 column");
    const auto target = std::find_if(groups.begin(), groups.end(),
                                     [&](const GroupRows& o) { return o.group == g.link_group; });
    const Int limit = target == groups.end() ? 0 : static_cast<Int>(target->rows.rows());
    for (const Int v : std::get<std::vector<Int>>(link->values))
      if (v >= limit)
        throw RuntimeFailure(where + ": " + g.link_column + " = " + std::to_string(v) +
                             " but this append has " + std::to_string(limit) + " rows of " +
                             in_quotes(g.link_group));
  }
}

void write_root_attributes(const h5::File& file, const Provenance& provenance) {
  const h5::Handle& root = file.handle();
  const std::set<std::string> reserved = {"schema", "schema_version", "created", "software_version",
                                          "Conventions"};
  std::string version = CORESCOPE_VERSION;
  for (const auto& [name, value] : provenance.text)
    if (name == "software_version") version = value;
  h5::set_attribute(root, "schema", std::string(kSchemaName));
  h5::set_attribute(root, "schema_version", std::int64_t{kSchemaVersion});
  h5::set_attribute(root, "created", now_iso8601_utc());
  h5::set_attribute(root, "software_version", version);
  h5::set_attribute(root, "Conventions", std::string(kConventions));
  auto check_name = [&](const std::string& name) {
    if (!valid_name(name))
      throw RuntimeFailure("invalid provenance attribute name " + in_quotes(name));
    // Merged files pass on the attributes their inputs share; these two are the recorder's.
    const bool passed_on = name == "software_version" || name == "Conventions";
    if (!passed_on && reserved.count(name))
      throw RuntimeFailure("provenance may not set the root attribute " + name +
                           ", the recorder writes it");
    return !passed_on;
  };
  for (const auto& [name, value] : provenance.text)
    if (check_name(name)) h5::set_attribute(root, name, value);
  for (const auto& [name, value] : provenance.integers)
    if (check_name(name)) h5::set_attribute(root, name, std::int64_t{value});
  for (const auto& [name, value] : provenance.reals)
    if (check_name(name)) h5::set_attribute(root, name, value);
}

// ---------------------------------------------------------------- CF conventions
// (docs/user/results-format.md, "CF conventions")

// Columns that hold an enumeration or a bit mask: CF flag_values/flag_masks and flag_meanings.
struct Flags {
  const char* group;
  const char* column;
  bool masks;
  std::vector<std::int64_t> values;
  const char* meanings;
};
const std::vector<Flags>& flag_columns() {
  static const std::vector<Flags> flags = {
      {"runs", "verified", false, {0, 1}, "not_verified verified"},
      {"runs", "oversubscribed", false, {0, 1}, "within_hardware_threads oversubscribed"},
      {"runs", "twin", false, {0, 1}, "ordinary_cell a_a_twin"},
      {"runs", "python_gil", false, {-1, 0, 1}, "not_applicable free_threaded gil_enabled"},
      {"samples",
       "disturbed",
       true,
       {1, 2, 4, 8, 16},
       "steal involuntary_switches migration competing_tasks off_cpu"},
  };
  return flags;
}

// The CF attributes of a new column: units, flags, and for a column of row indexes into another
// group (samples.run -> runs) CF's indexed-ragged-array link, instance_dimension.
void set_cf_attributes(const h5::Dataset& ds, const std::string& group, const Column& c,
                       const std::string& instance_dimension) {
  const std::string units = file_units(c.units, kind_of(c.values));
  if (!units.empty()) h5::set_attribute(ds.handle(), "units", units);
  for (const auto& f : flag_columns())
    if (group == f.group && c.name == f.column && kind_of(c.values) == h5::Kind::Int64) {
      h5::set_integers_attribute(ds.handle(), f.masks ? "flag_masks" : "flag_values", f.values);
      h5::set_attribute(ds.handle(), "flag_meanings", std::string(f.meanings));
    }
  if (!instance_dimension.empty())
    h5::set_attribute(ds.handle(), "instance_dimension", instance_dimension);
}

std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

// Keeps /tables/<group> equal to the group's columns. The rows just appended are added to the
// compound dataset when its layout still fits them; a new column, a changed order or a text
// value wider than its field means the dataset is written again from the 1-D columns.
void update_records(const h5::Group& root, const std::string& name,
                    const std::vector<std::string>& columns,
                    const std::vector<h5::Dataset>& datasets, const std::vector<Values>& appended,
                    std::size_t old_rows, std::size_t new_rows) {
  if (columns.empty())
    return;  // HDF5 has no empty compound type; the copy appears with the first column
  const h5::Group tables =
      root.has_group(kTablesGroup) ? root.group(kTablesGroup) : root.create_group(kTablesGroup);
  std::vector<const Values*> appended_ptrs;
  for (const auto& v : appended) appended_ptrs.push_back(&v);

  if (tables.has_dataset(name)) {
    {
      const h5::Dataset records = tables.dataset(name);
      const std::vector<h5::Field> fields = records.fields();
      bool fits = fields.size() == columns.size() && records.size() == old_rows;
      for (std::size_t i = 0; fits && i < columns.size(); ++i)
        fits = fields[i].name == columns[i] && fields[i].kind == kind_of(appended[i]) &&
               (fields[i].kind != h5::Kind::Text || text_width(appended[i]) <= fields[i].width);
      if (fits) {
        records.resize(new_rows);
        records.write_records(old_rows, fields, appended_ptrs, 0, new_rows - old_rows);
        return;
      }
    }
    // Removed with no id of it open, so that HDF5 frees its storage inside this call and a
    // failure there is this call's error; with the dataset open the delete waits for its close.
    tables.remove(name);
  }

  std::vector<Values> all;
  std::vector<h5::Field> fields;
  std::size_t record_bytes = 0;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    all.push_back(datasets[i].read());
    h5::Field f{columns[i], kind_of(all.back()), 0};
    // Rounded up so that slightly longer values later do not force another rewrite.
    if (f.kind == h5::Kind::Text)
      f.width = round_up(std::max<std::size_t>(text_width(all.back()), 1), 8);
    record_bytes += f.kind == h5::Kind::Text ? f.width : 8;
    fields.push_back(std::move(f));
  }
  std::vector<const Values*> all_ptrs;
  for (const auto& v : all) all_ptrs.push_back(&v);
  const std::size_t chunk =
      std::clamp<std::size_t>(kRecordChunkBytes / std::max<std::size_t>(record_bytes, 1), 16, 4096);
  const h5::Dataset records = h5::Dataset::create_records(tables, name, fields, new_rows, chunk);
  records.write_records(0, fields, all_ptrs, 0, new_rows);
  // The attributes PyTables writes on its own tables: with them PyTables (and pandas.read_hdf)
  // need not infer the class from the compound type, and field names show in any HDF5 viewer.
  h5::set_fixed_text_attribute(records.handle(), "CLASS", "TABLE");
  h5::set_fixed_text_attribute(records.handle(), "VERSION", "2.7");
  h5::set_fixed_text_attribute(records.handle(), "TITLE", name);
  for (std::size_t i = 0; i < fields.size(); ++i)
    h5::set_fixed_text_attribute(records.handle(), "FIELD_" + std::to_string(i) + "_NAME",
                                 fields[i].name);
}

// Creates column `c` in `group` with `rows` rows, the last c.size() of them c's values and the
// ones before missing values, with its attributes, attached to the group's dimension scale.
h5::Dataset new_column(const h5::Group& group, const h5::Dataset& scale, const Column& c,
                       std::size_t rows, const std::string& instance_dimension = "") {
  const h5::Kind kind = kind_of(c.values);
  CS_CHECK(c.size() <= rows);
  h5::Dataset ds = h5::Dataset::create_column(group, c.name, kind, rows, kColumnChunkRows);
  ds.write(0, missing_values(kind, rows - c.size()));
  ds.write(rows - c.size(), c.values);
  const std::string path = group.path();
  set_cf_attributes(ds, path.substr(path.rfind('/') + 1), c, instance_dimension);
  h5::set_attribute(ds.handle(), "long_name", c.long_name.empty() ? c.name : c.long_name);
  if (!c.role.empty()) h5::set_attribute(ds.handle(), kRoleAttribute, c.role);
  ds.attach_scale(scale);
  return ds;
}

// The column datasets of a group in file order, without its dimension scale.
std::vector<std::pair<std::string, h5::Dataset>> column_datasets(const h5::Group& group) {
  std::vector<std::pair<std::string, h5::Dataset>> out;
  for (const auto& child : group.children()) {
    if (!group.has_dataset(child)) continue;
    h5::Dataset ds = group.dataset(child);
    if (!ds.is_scale()) out.emplace_back(child, std::move(ds));
  }
  return out;
}

// Brings a file of an older schema_version up to kSchemaVersion inside an append (the copy is
// open for writing): columns a newer schema derives from old ones are written for the rows
// already there, the compound copy follows, and schema_version is raised.
void upgrade(const h5::File& file, Int version) {
  const h5::Group root = file.root();
  if (version < 2 && root.has_group("runs")) {
    const h5::Group runs = root.group("runs");
    const auto dimension = dimension_of(runs);
    if (!dimension) throw RuntimeFailure("/runs has no dimension scale");
    if (auto derived = derived_memory_model(read_columns(runs, "/runs"))) {
      const h5::Dataset scale = runs.dataset(*dimension);
      new_column(runs, scale, *derived, scale.size());
      std::vector<std::string> names;
      std::vector<h5::Dataset> datasets;
      std::vector<Values> none;
      for (auto& [name, ds] : column_datasets(runs)) {
        names.push_back(name);
        none.push_back(missing_values(ds.kind(), 0));
        datasets.push_back(std::move(ds));
      }
      update_records(root, "runs", names, datasets, none, scale.size(), scale.size());
    }
  }
  h5::set_attribute(root.handle(), "schema_version", std::int64_t{kSchemaVersion});
}

// `instance_dimension`: the dimension of the group rows.link_column points into ("" if none).
void append_group(const h5::Group& root, const GroupRows& rows, const Column* shifted_link,
                  const std::string& instance_dimension = "") {
  const std::string& name = rows.group;
  const bool existed = root.has(name);
  if (existed && !root.has_group(name))
    throw RuntimeFailure("/" + name + " exists and is not a group");
  const h5::Group group = existed ? root.group(name) : root.create_group(name);

  h5::Dataset scale;
  std::size_t old_rows = 0;
  if (existed) {
    const auto dimension = dimension_of(group);
    if (!dimension) throw RuntimeFailure("/" + name + " has no dimension scale");
    if (*dimension != rows.dimension)
      throw RuntimeFailure("/" + name + " has dimension " + in_quotes(*dimension) + ", not " +
                           in_quotes(rows.dimension));
    scale = group.dataset(*dimension);
    old_rows = scale.size();
  } else {
    scale = h5::Dataset::create_column(group, rows.dimension, h5::Kind::Int64, 0, kColumnChunkRows);
    scale.make_scale(rows.dimension);
    h5::set_attribute(scale.handle(), "long_name", "row index of /" + name);
  }
  const std::size_t added = rows.rows.rows();
  const std::size_t new_rows = old_rows + added;
  std::vector<Int> index(added);
  std::iota(index.begin(), index.end(), static_cast<Int>(old_rows));
  scale.resize(new_rows);
  scale.write(old_rows, index);

  // Columns in file order: existing ones first (creation order), then those new in this batch.
  std::vector<std::string> columns;
  std::vector<h5::Dataset> datasets;
  std::vector<Values> appended;
  for (const auto& child : group.children()) {
    if (child == rows.dimension || !group.has_dataset(child)) continue;
    h5::Dataset ds = group.dataset(child);
    if (ds.is_scale()) continue;
    if (ds.size() != old_rows)
      throw RuntimeFailure("/" + name + "/" + child + " has " + std::to_string(ds.size()) +
                           " rows, the group " + std::to_string(old_rows));
    const h5::Kind kind = ds.kind();
    const Column* c = rows.rows.find(child);
    if (c && shifted_link && c->name == shifted_link->name) c = shifted_link;
    if (c && kind_of(c->values) != kind)
      throw RuntimeFailure("column /" + name + "/" + child + " holds " + h5::kind_name(kind) +
                           " in the file but the new rows have " +
                           h5::kind_name(kind_of(c->values)));
    Values values = c ? c->values : missing_values(kind, added);
    ds.resize(new_rows);
    ds.write(old_rows, values);
    if (c && !c->units.empty() && !h5::has_attribute(ds.handle(), "units"))
      h5::set_attribute(ds.handle(), "units", file_units(c->units, kind));
    if (c && !c->role.empty() && !h5::has_attribute(ds.handle(), kRoleAttribute))
      h5::set_attribute(ds.handle(), kRoleAttribute, c->role);
    columns.push_back(child);
    datasets.push_back(std::move(ds));
    appended.push_back(std::move(values));
  }
  for (const auto& original : rows.rows.columns) {
    if (std::find(columns.begin(), columns.end(), original.name) != columns.end()) continue;
    if (group.has(original.name))
      throw RuntimeFailure("/" + name + "/" + original.name +
                           " exists and is not a column dataset");
    const Column& c =
        shifted_link && original.name == shifted_link->name ? *shifted_link : original;
    h5::Dataset ds =
        new_column(group, scale, c, new_rows, c.name == rows.link_column ? instance_dimension : "");
    columns.push_back(c.name);
    datasets.push_back(std::move(ds));
    appended.push_back(c.values);
  }
  update_records(root, name, columns, datasets, appended, old_rows, new_rows);
}

void write_groups(const h5::Group& root, const std::vector<GroupRows>& groups) {
  // Link columns point into the rows of this batch; in the file those follow the rows already
  // there, counted before anything is written.
  std::map<std::string, std::size_t> existing;
  for (const auto& g : groups) {
    for (const std::string& name : {g.group, g.link_group}) {
      if (name.empty() || existing.count(name)) continue;
      std::size_t rows = 0;
      if (root.has_group(name)) {
        const h5::Group group = root.group(name);
        if (const auto dimension = dimension_of(group)) rows = group.dataset(*dimension).size();
      }
      existing[name] = rows;
    }
  }
  for (const auto& g : groups) {
    std::optional<Column> shifted;
    if (const Column* link = g.link_column.empty() ? nullptr : g.rows.find(g.link_column)) {
      shifted = *link;
      const Int offset = static_cast<Int>(existing[g.link_group]);
      for (Int& v : std::get<std::vector<Int>>(shifted->values))
        if (v >= 0) v += offset;  // negative values mean "no row" and stay so
    }
    std::string instance_dimension;
    for (const auto& target : groups)
      if (!g.link_group.empty() && target.group == g.link_group)
        instance_dimension = target.dimension;
    append_group(root, g, shifted ? &*shifted : nullptr, instance_dimension);
  }
}

}  // namespace

// ---------------------------------------------------------------- public API

void set_lock_timeout(double seconds) { detail::set_lock_timeout(seconds); }
double lock_timeout() { return detail::lock_timeout(); }

namespace {
// The file's schema_version: from the journal's record when corescope left the file in exactly
// the state `st` describes (journal.hpp, last_written), else from checking it.
Int checked_version(const Target& t, const std::string& shown, const struct stat& st) {
  const auto written = last_written(t, st.st_uid);
  if (written && written->file == state_of_stat(st)) return written->version;
  return validate_existing(shown, t.file);
}
}  // namespace

void check_output(const std::string& path) {
  const Target t = locate(path);
  struct stat st {};
  if (::stat(t.file.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw UsageError(path + " is a directory, not a results file");
    if (!S_ISREG(st.st_mode)) throw UsageError(path + " is not a regular file");
    complete_if_interrupted(t, st.st_uid, path);
    checked_version(t, path, st);
    if (::access(t.file.c_str(), W_OK) != 0)
      throw UsageError(path + " is not writable: " + error_text(errno));
  } else if (errno != ENOENT && errno != ENOTDIR) {  // those two are explained by require_directory
    throw UsageError("cannot access " + path + ": " + error_text(errno));
  }
  require_directory(path, t);
  probe_directory(path, t);
}

namespace {

// A complete, synced temp file renamed over the results file, and the journal's record of it.
void rename_into_place(const Target& t, TempFile& temp, const std::string& shown) {
  if (::rename(temp.path().c_str(), t.file.c_str()) != 0)
    throw RuntimeFailure("cannot replace " + shown + " with " + temp.path() + ": " +
                         error_text(errno) + "; the file is unchanged");
  temp.commit();
  fsync_path(t.dir, true);
  note_written(t, kSchemaVersion);
}

// Writes the append into a copy of the file, renamed over it: the way when another process has
// the file open through HDF5 (it keeps reading the file it opened). Costs a copy of the file.
void write_copy(const Target& t, int fd, const Changes& changes, const struct stat& st,
                const std::string& shown) {
  TempFile temp(side_path(t, ".tmp." + std::to_string(::getpid())));
  copy_contents(fd, temp.fd(), shown, t.dir);
  write_pages(temp.fd(), changes.pages, changes.size, shown, t.dir);
  if (::fchown(temp.fd(), st.st_uid, st.st_gid) !=
      0) { /* not permitted for other users' files; keep ours */
  }
  if (::fchmod(temp.fd(), st.st_mode & 07777) != 0)
    throw RuntimeFailure("cannot set the mode of the new " + shown + ": " + error_text(errno));
  if (::fsync(temp.fd()) != 0 || temp.close() != 0)
    throw RuntimeFailure("cannot sync the new " + shown + " to disk: " + error_text(errno) +
                         "; the file is unchanged");
  rename_into_place(t, temp, shown);
}

// The first page is written last (journal.hpp), so it is among the changes even when HDF5 did
// not change it.
void add_first_page(Changes& changes, h5::Image& image) {
  if (changes.pages.count(0)) return;
  std::vector<unsigned char> page(kPageBytes, 0);
  std::memcpy(page.data(), image.data(), std::min(kPageBytes, image.size()));
  changes.pages.emplace(0, std::move(page));
}

// Puts a whole file made in memory in place of `path` (temp file, rename).
void replace_with(const Target& t, const std::string& path, const std::vector<unsigned char>& image,
                  mode_t mode, const Owner* owner) {
  TempFile temp(side_path(t, ".tmp." + std::to_string(::getpid())));
  write_temp(temp, image, mode, owner, path, t.dir);
  rename_into_place(t, temp, path);
}

// A new file: made in memory, written beside, renamed into place.
void create(const Target& t, const std::string& path, const Provenance& provenance,
            const std::vector<GroupRows>& groups) {
  std::vector<unsigned char> image;
  {
    h5::QuietErrors quiet;
    h5::File file = h5::File::create_in_memory(path);
    write_root_attributes(file, provenance);
    write_groups(file.root(), groups);
    image = file.image();
    file.close();
  }
  replace_with(t, path, image, kResultsFileMode, nullptr);
}

}  // namespace

namespace {
// The parent when the program started. A process a launcher started (mpirun, mpiexec, srun) is
// reparented when the launcher dies: its run was abandoned (the job is gone, its other ranks
// may be too) and must not add a row behind the user's back.
const pid_t parent_at_start = ::getppid();

void require_launcher_alive() {
  const LaunchEnv env = launch_env();
  if (env.launcher == "none" || ::getppid() == parent_at_start) return;
  throw RuntimeFailure("the launcher that started this process (" + env.launcher + ", pid " +
                       std::to_string(parent_at_start) + ") has ended; the result is not recorded");
}
}  // namespace

void append(const std::string& path, const Provenance& provenance,
            const std::vector<GroupRows>& groups) {
  require_launcher_alive();
  check_rows(groups);
  const Target t = locate(path);
  require_directory(path, t);
  struct stat st {};
  const uid_t owner = ::stat(t.file.c_str(), &st) == 0 ? st.st_uid : ::geteuid();
  WriterLock lock(t, owner);
  remove_stale_files(t);
  complete_interrupted(t, owner, path);

  const bool exists = ::stat(t.file.c_str(), &st) == 0;
  if (!exists) {
    if (errno != ENOENT) throw UsageError("cannot access " + path + ": " + error_text(errno));
    create(t, path, provenance, groups);
    return;
  }
  if (!S_ISREG(st.st_mode)) throw UsageError(path + " is not a regular file");
  if (::access(t.file.c_str(), W_OK) != 0)
    throw UsageError(path + " is not writable: " + error_text(errno));
  Fd fd(::open(t.file.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0 || ::fstat(fd.get(), &st) != 0)
    throw RuntimeFailure("cannot open " + path + ": " + error_text(errno));
  const Int version = checked_version(t, path, st);
  // HDF5 appends to the file mapped copy-on-write: its writes stay in memory until
  // write_in_place (or write_copy) writes them.
  Changes changes;
  {
    h5::QuietErrors quiet;
    try {
      CowMap image(fd.get(), path);
      h5::File file = h5::File::open_in_place(path, image);
      if (version < kSchemaVersion) upgrade(file, version);
      write_groups(file.root(), groups);
      file.close();
      changes = image.changes();
      add_first_page(changes, image);
    } catch (const h5::Error& e) {
      // The file passed the structural check, yet HDF5 fails on metadata only a writer visits
      // (a damaged B-tree node, say). Its writes went to memory, so nothing was written: the
      // input is damaged, which is the user's to fix (one line, exit 2), not a corescope fault.
      throw UsageError(damaged_text(path, e));
    }
  }
  if (!write_in_place(t, fd.get(), changes, kSchemaVersion, path))
    write_copy(t, fd.get(), changes, st, path);
}

namespace {
// Runs a reader on a validated file: a failure HDF5 reports there still means a damaged file
// (one line, exit 2), not an internal error.
template <typename F>
auto reading(const std::string& path, F&& read) {
  ReaderLock lock(locate(path).file);
  try {
    return read();
  } catch (const UsageError&) {
    throw;
  } catch (const std::exception& e) {
    throw UsageError(damaged_text(path, e));
  }
}
}  // namespace

namespace {
// read_group: every column (with the derived ones) without `only`, else those columns as stored.
Table read_group_columns(const std::string& path, const std::string& group,
                         const std::vector<std::string>* only) {
  const std::string file = require_results_file(path).file;
  if (group == kTablesGroup)
    throw UsageError("/tables holds the compound copies, not a group of rows");
  if (!valid_name(group)) throw UsageError(in_quotes(group) + " is not a group name");
  return reading(path, [&]() -> Table {
    h5::QuietErrors quiet;
    const h5::File f = h5::File::open(file, false);
    const h5::Group root = f.root();
    if (!root.has_group(group)) return {};
    return only ? read_columns(root.group(group), path, only) : read_rows(root, group, path);
  });
}
}  // namespace

Table read_group(const std::string& path, const std::string& group) {
  return read_group_columns(path, group, nullptr);
}

Table read_group(const std::string& path, const std::string& group,
                 const std::vector<std::string>& columns) {
  return read_group_columns(path, group, &columns);
}

Table read_compound(const std::string& path, const std::string& group) {
  const std::string file = require_results_file(path).file;
  if (!valid_name(group)) throw UsageError(in_quotes(group) + " is not a group name");
  return reading(path, [&]() -> Table {
    h5::QuietErrors quiet;
    const h5::File f = h5::File::open(file, false);
    const h5::Group root = f.root();
    if (!root.has_group(kTablesGroup)) return {};
    const h5::Group tables = root.group(kTablesGroup);
    if (!tables.has_dataset(group)) return {};
    const h5::Dataset records = tables.dataset(group);
    const auto fields = records.fields();
    auto values = records.read_records();
    Table t;
    for (std::size_t i = 0; i < fields.size(); ++i)
      t.columns.push_back(Column{fields[i].name, "", "", std::move(values[i])});
    return t;
  });
}

std::vector<std::pair<std::string, std::string>> read_attributes(const std::string& path) {
  const std::string file = require_results_file(path).file;
  return reading(path, [&] {
    h5::QuietErrors quiet;
    const h5::File f = h5::File::open(file, false);
    const h5::Group root = f.root();
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& name : h5::attribute_names(root.handle()))
      if (const auto value = h5::attribute(root.handle(), name))
        out.emplace_back(name, h5::scalar_text(*value));
    return out;
  });
}

std::pair<std::uint64_t, std::uint64_t> compact(const std::string& path) {
  const ResultsFile checked = require_results_file(path);
  const Target t = locate(path);
  struct stat st {};
  if (::stat(t.file.c_str(), &st) != 0)
    throw UsageError("cannot read " + path + ": " + error_text(errno));
  if (::access(t.file.c_str(), W_OK) != 0)
    throw UsageError(path + " is not writable: " + error_text(errno));
  WriterLock lock(t, st.st_uid);
  remove_stale_files(t);
  complete_interrupted(t, st.st_uid, path);
  // Checked again under the lock: another writer may have appended in between.
  if (::stat(t.file.c_str(), &st) != 0)
    throw UsageError("cannot read " + path + ": " + error_text(errno));
  const Int version = validate_existing(path, t.file);
  std::vector<unsigned char> image;
  reading(path, [&] {
    h5::QuietErrors quiet;
    const h5::File in = h5::File::open(t.file, false);
    const h5::Group from = in.root();
    h5::File out = h5::File::create_in_memory(path);
    const h5::Group to = out.root();
    for (const auto& name : h5::attribute_names(from.handle()))
      if (const auto value = h5::attribute(from.handle(), name))
        h5::set_attribute(to.handle(), name, *value);
    if (version < kSchemaVersion)
      h5::set_attribute(to.handle(), "schema_version", std::int64_t{kSchemaVersion});
    h5::set_attribute(to.handle(), "Conventions", std::string(kConventions));
    const auto runs = from.has_group("runs") ? dimension_of(from.group("runs")) : std::nullopt;
    for (const auto& name : data_groups(from)) {
      const auto dimension = dimension_of(from.group(name));
      if (!dimension) continue;
      // Every row group's integer `run` column points into /runs (merge relies on the same rule).
      const bool linked = name != "runs" && runs;
      append_group(to,
                   GroupRows{name, *dimension, read_rows(from, name, path), linked ? "run" : "",
                             linked ? "runs" : ""},
                   nullptr, linked ? *runs : "");
    }
    image = out.image();
    out.close();
    return 0;
  });
  (void)checked;
  const Owner owner{st.st_uid, st.st_gid};
  replace_with(t, path, image, st.st_mode & 07777, &owner);
  return {static_cast<std::uint64_t>(st.st_size), image.size()};
}

}  // namespace corescope::record
