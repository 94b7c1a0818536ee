// Reading a results file: validation of an existing file, its row groups as Tables (with the
// columns a newer schema derives), and the operations on column values that append and merge
// share. See file_rows.hpp.
#include "record/file_rows.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <cerrno>
#include <limits>
#include <type_traits>

#include "core/errors.hpp"
#include "record/atomic_file.hpp"
#include "record/journal.hpp"
#include "record/recorder.hpp"
#include "record/run_rows.hpp"

namespace corescope::record::detail {

std::string in_quotes(const std::string& s) { return "\"" + s + "\""; }

// ---------------------------------------------------------------- validation

namespace {

// The schema checks: UsageError for what is not a corescope file this version reads.
Int check_schema(const std::string& shown, const h5::Group& root) {
  const auto schema = h5::attribute(root.handle(), "schema");
  if (!schema)
    throw UsageError(shown +
                     " is an HDF5 file but not a corescope results file (no schema attribute)");
  const auto* name = std::get_if<std::string>(&*schema);
  if (!name || *name != kSchemaName)
    throw UsageError(shown + " is an HDF5 file but not a corescope results file (schema is " +
                     in_quotes(h5::scalar_text(*schema)) + ")");
  const auto version = h5::attribute(root.handle(), "schema_version");
  const auto* number = version ? std::get_if<std::int64_t>(&*version) : nullptr;
  if (!number)
    throw UsageError(shown + " is a corescope file without an integer schema_version attribute");
  if (*number > kSchemaVersion)
    throw UsageError(shown + " has schema_version " + std::to_string(*number) +
                     "; this corescope reads up to " + std::to_string(kSchemaVersion));
  if (*number < 1)
    throw UsageError(shown + " has schema_version " + std::to_string(*number) +
                     ", which is not valid");
  return *number;
}

// The kinds of the columns corescope itself writes to /runs and /samples (from the row builder).
const std::map<std::string, std::map<std::string, h5::Kind>>& written_kinds() {
  static const auto kinds = [] {
    RunResult r;
    r.samples.emplace_back();
    std::map<std::string, std::map<std::string, h5::Kind>> out;
    for (const auto& g : result_rows(r, ""))
      for (const auto& c : g.rows.columns) out[g.group][c.name] = kind_of(c.values);
    return out;
  }();
  return kinds;
}

// Every attribute of a group and of the datasets in it. An append that rewrites a compound copy
// deletes the old one with all its attribute storage, which no reader visits; HDF5 1.10 fails
// that delete on a damaged attribute heap deep inside a close and cannot shut down cleanly after.
void check_attributes(const h5::Group& group) {
  h5::read_all_attributes(group.handle());
  for (const auto& name : group.children())
    if (group.has_dataset(name)) h5::read_all_attributes(group.dataset(name).handle());
}

// Reads every object a reader or an append will touch and checks that they fit together;
// RuntimeFailure (or h5::Error) naming the first thing that does not.
void check_structure(const h5::Group& root, const std::string& shown) {
  const auto& kinds = written_kinds();
  h5::read_all_attributes(root.handle());
  std::map<std::string, std::size_t> rows;
  std::map<std::string, Table> tables;
  for (const auto& name : root.children()) {
    if (name == kTablesGroup) continue;
    if (!root.has_group(name)) throw RuntimeFailure("/" + name + " is not a group");
    const h5::Group g = root.group(name);
    check_attributes(g);
    const auto dimension = dimension_of(g);
    if (!dimension && !g.children().empty())
      throw RuntimeFailure("/" + name + " has no dimension scale");
    rows[name] = dimension ? g.dataset(*dimension).size() : 0;
    Table t = read_columns(g, shown);
    if (!t.columns.empty() && t.rows() != rows[name])
      throw RuntimeFailure("the columns of /" + name + " have " + std::to_string(t.rows()) +
                           " rows, its scale " + std::to_string(rows[name]));
    if (const auto known = kinds.find(name); known != kinds.end())
      for (const auto& c : t.columns)
        if (const auto k = known->second.find(c.name);
            k != known->second.end() && k->second != kind_of(c.values))
          throw RuntimeFailure("/" + name + "/" + c.name + " holds " +
                               h5::kind_name(kind_of(c.values)) + ", not " +
                               h5::kind_name(k->second));
    tables[name] = std::move(t);
  }
  if (rows.count("runs") && rows["runs"] > 0 && !tables["runs"].find("run_id"))
    throw RuntimeFailure("/runs has no run_id column");
  for (const auto& [name, t] : tables) {
    const Column* link = t.find("run");
    if (!link || name == "runs") continue;
    const auto* values = std::get_if<std::vector<Int>>(&link->values);
    if (!values) throw RuntimeFailure("/" + name + "/run is not an int64 column");
    for (const Int v : *values)
      if (v >= static_cast<Int>(rows["runs"]))
        throw RuntimeFailure("/" + name + "/run = " + std::to_string(v) + " points past the " +
                             std::to_string(rows["runs"]) + " rows of /runs");
  }
  if (!root.has(kTablesGroup)) return;
  if (!root.has_group(kTablesGroup)) throw RuntimeFailure("/tables is not a group");
  const h5::Group compound = root.group(kTablesGroup);
  check_attributes(compound);
  for (const auto& name : compound.children()) {
    if (!compound.has_dataset(name)) throw RuntimeFailure("/tables/" + name + " is not a dataset");
    const h5::Dataset records = compound.dataset(name);
    const auto fields = records.fields();
    const auto values = records.read_records();
    const auto t = tables.find(name);
    if (t == tables.end()) throw RuntimeFailure("/tables/" + name + " has no group /" + name);
    if (records.size() != rows[name])
      throw RuntimeFailure("/tables/" + name + " has " + std::to_string(records.size()) +
                           " rows, /" + name + " " + std::to_string(rows[name]));
    for (std::size_t i = 0; i < fields.size(); ++i) {
      const Column* c = t->second.find(fields[i].name);
      if (!c || kind_of(c->values) != fields[i].kind || values[i].index() != c->values.index())
        throw RuntimeFailure("/tables/" + name + " field " + fields[i].name + " does not match /" +
                             name);
    }
  }
}

// The whole check, run in a child process (below): HDF5 1.10 can crash on a damaged file,
// and a library left with a half-closed file cannot be shut down cleanly either.
Int check_file(const std::string& shown, const std::string& file) {
  h5::QuietErrors quiet;
  bool hdf5 = false;
  try {
    hdf5 = h5::is_hdf5_file(file);
  } catch (const h5::Error&) {
    hdf5 = false;
  }
  if (!hdf5) {
    struct stat st {};
    if (::stat(file.c_str(), &st) == 0 && st.st_size >= 8) {
      // A truncated or overwritten corescope file still starts with the signature.
      char head[8] = {};
      Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
      if (fd.get() >= 0 && ::read(fd.get(), head, sizeof head) == 8 &&
          std::memcmp(head, "\x89HDF\r\n\x1a\n", 8) == 0)
        throw UsageError(
            shown + " is damaged: it starts as an HDF5 file but HDF5 cannot find its superblock");
    }
    throw UsageError(shown + " is not an HDF5 file");
  }
  try {
    h5::File f = h5::File::open(file, false);
    Int version = 0;
    {
      const h5::Group root = f.root();
      version = check_schema(shown, root);
      check_structure(root, shown);
    }
    f.close();  // a file HDF5 cannot close (or an object in it) fails the check
    return version;
  } catch (const UsageError&) {
    throw;
  } catch (const std::exception& e) {
    throw UsageError(damaged_text(shown, e));
  }
}

}  // namespace

std::string damaged_text(const std::string& shown, const std::exception& e) {
  std::string what = e.what();
  if (what.size() > 300) what = what.substr(0, 300) + "...";
  return shown + " is damaged: " + what;
}

Int validate_existing(const std::string& shown, const std::string& file) {
  {
    Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) throw UsageError("cannot read " + shown + ": " + error_text(errno));
  }
  // A file checked before by this process and not changed since (same inode, size and time) is
  // not checked again: `summary` reads several groups, an append checks before and under the lock.
  struct stat st {};
  static std::map<std::string, std::pair<std::string, Int>> checked;  // path -> (identity, version)
  const bool known = ::stat(file.c_str(), &st) == 0;
  const std::string identity = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
                               std::to_string(st.st_size) + ":" +
                               std::to_string(st.st_mtim.tv_sec) + "." +
                               std::to_string(st.st_mtim.tv_nsec);
  if (const auto it = checked.find(file);
      known && it != checked.end() && it->second.first == identity)
    return it->second.second;
  written_kinds();              // computed once in this process, not in every child
  const ReaderLock lock(file);  // the child checks the file as no append is writing it
  int channel[2];
  if (::pipe2(channel, O_CLOEXEC) != 0)
    throw RuntimeFailure("cannot create a pipe: " + error_text(errno));
  std::fflush(nullptr);
  const pid_t child = ::fork();
  if (child < 0) {
    ::close(channel[0]);
    ::close(channel[1]);
    throw RuntimeFailure("cannot fork to check " + shown + ": " + error_text(errno));
  }
  if (child == 0) {
    ::close(channel[0]);
    // A library that aborts on the damage prints its own message; the parent says it once.
    const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null >= 0) ::dup2(null, STDERR_FILENO);
    std::string answer;
    int code = 0;
    try {
      answer = std::to_string(check_file(shown, file));
    } catch (const UsageError& e) {
      answer = e.what();
      code = 2;
    } catch (const std::exception& e) {
      answer = damaged_text(shown, e);
      code = 2;
    }
    for (std::size_t done = 0; done < answer.size();) {
      const ssize_t n = ::write(channel[1], answer.data() + done, answer.size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    ::_exit(code);  // no atexit handlers: the parent's HDF5, stdio and runtimes are not the child's
  }
  ::close(channel[1]);
  std::string answer;
  char buf[512];
  for (ssize_t n; (n = ::read(channel[0], buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    answer.append(buf, static_cast<std::size_t>(n));
  }
  ::close(channel[0]);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status))
    throw UsageError(shown + " is damaged: reading it crashed HDF5 (signal " +
                     std::to_string(WTERMSIG(status)) + ")");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || answer.empty())
    throw UsageError(answer.empty() ? shown + " is damaged: it could not be checked" : answer);
  const Int version = std::stoll(answer);
  if (known) checked[file] = {identity, version};
  return version;
}

ResultsFile require_results_file(const std::string& path) {
  const Target t = locate(path);
  struct stat st {};
  if (::stat(t.file.c_str(), &st) != 0)
    throw UsageError("cannot read " + path + ": " + error_text(errno));
  if (!S_ISREG(st.st_mode)) throw UsageError(path + " is not a regular file");
  complete_if_interrupted(t, st.st_uid, path);
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
        if constexpr (std::is_same_v<T, std::string>)
          return vec[row];
        else
          return h5::scalar_text(h5::Scalar{vec[row]});
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
        throw RuntimeFailure(context + ": column " + c.name + " is " +
                             h5::kind_name(kind_of(c.values)) + " here but " +
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

// ---------------------------------------------------------------- units

namespace {
const std::pair<const char*, const char*> kUnitSpellings[] = {
    {"B", "byte"}, {"GB/s", "Gbyte/s"}, {"GFLOP/s", "1e9 s-1"}};
}  // namespace

std::string file_units(const std::string& units, h5::Kind kind) {
  if (units.empty()) return kind == h5::Kind::Text ? "" : "1";
  for (const auto& [row, file] : kUnitSpellings)
    if (units == row) return file;
  return units;
}

std::string row_units(const std::string& units) {
  if (units == "1") return "";
  for (const auto& [row, file] : kUnitSpellings)
    if (units == file) return row;
  return units;
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

Table read_columns(const h5::Group& group, const std::string& shown,
                   const std::vector<std::string>* only) {
  Table t;
  for (const auto& name : group.children()) {
    if (only && std::find(only->begin(), only->end(), name) == only->end()) continue;
    if (!group.has_dataset(name)) continue;
    const h5::Dataset ds = group.dataset(name);
    if (ds.is_scale()) continue;
    t.columns.push_back(Column{name, row_units(text_attribute(ds.handle(), "units")),
                               text_attribute(ds.handle(), "long_name"), ds.read(),
                               text_attribute(ds.handle(), kRoleAttribute)});
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
