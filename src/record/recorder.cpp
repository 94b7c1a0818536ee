// The corescope results file: checks before a run, crash-safe appends (copy next to the file,
// append, flush, fsync, rename), reading groups back, and merging files without duplicate runs.
// Layout and guarantees are documented in docs/results-format.md.
#include "record/recorder.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <type_traits>

#include "core/errors.hpp"
#include "record/h5.hpp"
#include "record/run_rows.hpp"

#ifndef CORESCOPE_VERSION
#define CORESCOPE_VERSION "unknown"
#endif

namespace corescope::record {

namespace {

namespace fs = std::filesystem;

constexpr const char* kTablesGroup = "tables";
constexpr std::size_t kColumnChunkRows = 4096;
constexpr std::size_t kRecordChunkBytes = 64 * 1024;

std::string in_quotes(const std::string& s) { return "\"" + s + "\""; }
std::string error_text(int e) { return std::strerror(e); }

// ---------------------------------------------------------------- paths, locks, files

// Where the results file really lives: a symbolic link is followed, so that the rename at the
// end of an append replaces the file it points to rather than the link.
struct Target {
  std::string file;  // path to operate on
  std::string dir;   // its directory (temp and lock files go there)
  std::string base;  // its file name
};

Target locate(const std::string& path) {
  if (path.empty()) throw UsageError("the output path is empty");
  fs::path p(path);
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    std::error_code ec;
    fs::path resolved = fs::canonical(p, ec);
    if (ec) throw UsageError(path + " is a symbolic link to a missing file");
    p = resolved;
  }
  Target t;
  t.file = p.string();
  t.base = p.filename().string();
  if (t.base.empty() || t.base == "." || t.base == "..") throw UsageError(path + " names a directory, not a file");
  t.dir = p.parent_path().empty() ? "." : p.parent_path().string();
  return t;
}

// Checks that the directory exists and accepts new files; UsageError otherwise.
void require_directory(const std::string& path, const Target& t) {
  struct stat st {};
  if (::stat(t.dir.c_str(), &st) != 0) {
    if (errno == ENOENT) throw UsageError("directory " + t.dir + " does not exist (output " + path + ")");
    throw UsageError("cannot access directory " + t.dir + " (output " + path + "): " + error_text(errno));
  }
  if (!S_ISDIR(st.st_mode)) throw UsageError(t.dir + " is not a directory (output " + path + ")");
  if (::access(t.dir.c_str(), W_OK | X_OK) != 0)
    throw UsageError("directory " + t.dir + " is not writable (output " + path + "): " + error_text(errno));
}

// Creates and removes a file, which is the only sure test (root passes access(), a read-only
// mount does not).
void probe_directory(const std::string& path, const Target& t) {
  const std::string probe = t.dir + "/." + t.base + ".probe." + std::to_string(::getpid());
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw UsageError("directory " + t.dir + " is not writable (output " + path + "): " + error_text(errno));
  ::close(fd);
  ::unlink(probe.c_str());
}

// Serialises writers of one output. The lock is on a separate, never-deleted file: the output
// itself is replaced by rename(), so a writer blocked on the old inode's lock would wake up
// holding a lock on a file that is no longer there; and a new output does not exist yet.
class WriterLock {
 public:
  explicit WriterLock(const Target& t) : path_(t.dir + "/." + t.base + ".lock") {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    // Another user's lock file may be read-only to us; flock does not need write access.
    if (fd_ < 0 && errno == EACCES) fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw RuntimeFailure("cannot open lock file " + path_ + ": " + error_text(errno));
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd_);
      throw RuntimeFailure("cannot lock " + path_ + ": " + error_text(e));
    }
  }
  ~WriterLock() { ::close(fd_); }  // releases the lock
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  std::string path_;
  int fd_ = -1;
};

// Removes temp and probe files left by writers that died (SIGKILL leaves them). Only called with
// the writer lock held, so no live writer on this host can be using one; files of live pids are
// left alone anyway, in case the directory is shared with another host.
void remove_stale_files(const Target& t) {
  DIR* dir = ::opendir(t.dir.c_str());
  if (!dir) return;
  const std::string prefixes[] = {"." + t.base + ".tmp.", "." + t.base + ".probe."};
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    for (const auto& prefix : prefixes) {
      if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
      const std::string digits = name.substr(prefix.size());
      if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
          digits.size() > 9)
        continue;
      const pid_t pid = static_cast<pid_t>(std::stol(digits));
      const bool dead = pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH;
      if (pid == ::getpid() || dead) ::unlinkat(::dirfd(dir), name.c_str(), 0);
    }
  }
  ::closedir(dir);
}

// The temp copy of an append: removed on every path except a completed rename.
class TempFile {
 public:
  explicit TempFile(std::string path) : path_(std::move(path)) {}
  ~TempFile() {
    if (!committed_) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }
  void commit() { committed_ = true; }

 private:
  std::string path_;
  bool committed_ = false;
};

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

// Copies `from` to a new file `to` with the same permission bits (and owner, where allowed).
void copy_file(const std::string& from, const std::string& to) {
  Fd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) throw RuntimeFailure("cannot read " + from + ": " + error_text(errno));
  struct stat st {};
  if (::fstat(in.get(), &st) != 0) throw RuntimeFailure("cannot stat " + from + ": " + error_text(errno));
  Fd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (out.get() < 0) throw RuntimeFailure("cannot create " + to + ": " + error_text(errno));
  // Ownership first: fchown may clear set-id bits, fchmod then sets the final mode.
  if (::fchown(out.get(), st.st_uid, st.st_gid) != 0) { /* not permitted for other users' files; keep ours */ }
  if (::fchmod(out.get(), st.st_mode & 07777) != 0)
    throw RuntimeFailure("cannot set permissions of " + to + ": " + error_text(errno));
  off_t remaining = st.st_size;
  bool kernel_copy = true;
  std::vector<char> buffer;
  while (remaining > 0) {
    ssize_t n = -1;
    if (kernel_copy) {
      n = ::copy_file_range(in.get(), nullptr, out.get(), nullptr, static_cast<std::size_t>(remaining), 0);
      if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
        kernel_copy = false;
        continue;
      }
    } else {
      buffer.resize(1 << 20);
      n = ::read(in.get(), buffer.data(), std::min<std::size_t>(buffer.size(), static_cast<std::size_t>(remaining)));
      for (ssize_t done = 0; n > 0 && done < n;) {
        const ssize_t w = ::write(out.get(), buffer.data() + done, static_cast<std::size_t>(n - done));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) throw RuntimeFailure("cannot write " + to + ": " + error_text(errno));
        done += w;
      }
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw RuntimeFailure("cannot copy " + from + " to " + to + ": " + error_text(errno));
    if (n == 0) throw RuntimeFailure("cannot copy " + from + ": it shrank while being copied");
    remaining -= n;
  }
  if (out.close() != 0) throw RuntimeFailure("cannot write " + to + ": " + error_text(errno));
}

void fsync_path(const std::string& path, bool directory) {
  Fd fd(::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC));
  if (fd.get() < 0) throw RuntimeFailure("cannot open " + path + " to sync it: " + error_text(errno));
  // Some file systems cannot sync a directory (EINVAL); the rename is then as durable as they allow.
  if (::fsync(fd.get()) != 0 && !(directory && errno == EINVAL))
    throw RuntimeFailure("cannot sync " + path + " to disk: " + error_text(errno));
}

std::string now_iso8601_utc() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

// ---------------------------------------------------------------- validation

// Checks an existing file read-only and returns its schema_version; `shown` is the path as the
// user gave it, for messages.
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

struct ResultsFile {
  std::string shown;  // as the user gave it
  std::string file;   // symbolic links followed
  Int version = 0;
};

// For readers: the file must exist and be a corescope file.
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

// ---------------------------------------------------------------- writing

void check_rows(const std::vector<GroupRows>& groups) {
  std::set<std::string> group_names;
  for (const auto& g : groups) {
    const std::string where = "rows for group " + in_quotes(g.group);
    if (!valid_name(g.group) || g.group == kTablesGroup)
      throw RuntimeFailure(where + ": not a usable group name (\"tables\" is reserved, '/' is not allowed)");
    if (!group_names.insert(g.group).second) throw RuntimeFailure(where + ": the group appears twice in one append");
    if (!valid_name(g.dimension)) throw RuntimeFailure(where + ": invalid dimension name " + in_quotes(g.dimension));
    std::set<std::string> columns;
    for (const auto& c : g.rows.columns) {
      if (!valid_name(c.name)) throw RuntimeFailure(where + ": invalid column name " + in_quotes(c.name));
      if (c.name == g.dimension) throw RuntimeFailure(where + ": column " + c.name + " has the dimension's name");
      if (!columns.insert(c.name).second) throw RuntimeFailure(where + ": column " + c.name + " appears twice");
      if (c.size() != g.rows.rows())
        throw RuntimeFailure(where + ": column " + c.name + " has " + std::to_string(c.size()) + " rows, not " +
                             std::to_string(g.rows.rows()));
    }
  }
  for (const auto& g : groups) {
    if (g.link_column.empty()) continue;
    const std::string where = "rows for group " + in_quotes(g.group);
    const Column* link = g.rows.find(g.link_column);
    if (!link && g.rows.rows() == 0) continue;  // e.g. a failed run without samples
    if (!link || kind_of(link->values) != h5::Kind::Int64)
      throw RuntimeFailure(where + ": link column " + in_quotes(g.link_column) + " is not an int64 column");
    const auto target = std::find_if(groups.begin(), groups.end(), [&](const GroupRows& o) { return o.group == g.link_group; });
    const Int limit = target == groups.end() ? 0 : static_cast<Int>(target->rows.rows());
    for (const Int v : std::get<std::vector<Int>>(link->values))
      if (v >= limit)
        throw RuntimeFailure(where + ": " + g.link_column + " = " + std::to_string(v) + " but this append has " +
                             std::to_string(limit) + " rows of " + in_quotes(g.link_group));
  }
}

void write_root_attributes(const h5::File& file, const Provenance& provenance) {
  const h5::Handle& root = file.handle();
  const std::set<std::string> reserved = {"schema", "schema_version", "created", "software_version"};
  std::string version = CORESCOPE_VERSION;
  for (const auto& [name, value] : provenance.text)
    if (name == "software_version") version = value;
  h5::set_attribute(root, "schema", std::string(kSchemaName));
  h5::set_attribute(root, "schema_version", std::int64_t{kSchemaVersion});
  h5::set_attribute(root, "created", now_iso8601_utc());
  h5::set_attribute(root, "software_version", version);
  auto check_name = [&](const std::string& name) {
    if (!valid_name(name)) throw RuntimeFailure("invalid provenance attribute name " + in_quotes(name));
    if (name != "software_version" && reserved.count(name))
      throw RuntimeFailure("provenance may not set the root attribute " + name + ", the recorder writes it");
    return name != "software_version";
  };
  for (const auto& [name, value] : provenance.text)
    if (check_name(name)) h5::set_attribute(root, name, value);
  for (const auto& [name, value] : provenance.integers)
    if (check_name(name)) h5::set_attribute(root, name, std::int64_t{value});
  for (const auto& [name, value] : provenance.reals)
    if (check_name(name)) h5::set_attribute(root, name, value);
}

std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

// Keeps /tables/<group> equal to the group's columns. The rows just appended are added to the
// compound dataset when its layout still fits them; a new column, a changed order or a text
// value wider than its field means the dataset is written again from the 1-D columns.
void update_records(const h5::Group& root, const std::string& name, const std::vector<std::string>& columns,
                    const std::vector<h5::Dataset>& datasets, const std::vector<Values>& appended,
                    std::size_t old_rows, std::size_t new_rows) {
  if (columns.empty()) return;  // HDF5 has no empty compound type; the copy appears with the first column
  const h5::Group tables = root.has_group(kTablesGroup) ? root.group(kTablesGroup) : root.create_group(kTablesGroup);
  std::vector<const Values*> appended_ptrs;
  for (const auto& v : appended) appended_ptrs.push_back(&v);

  if (tables.has_dataset(name)) {
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
    tables.remove(name);
  }

  std::vector<Values> all;
  std::vector<h5::Field> fields;
  std::size_t record_bytes = 0;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    all.push_back(datasets[i].read());
    h5::Field f{columns[i], kind_of(all.back()), 0};
    // Rounded up so that slightly longer values later do not force another rewrite.
    if (f.kind == h5::Kind::Text) f.width = round_up(std::max<std::size_t>(text_width(all.back()), 1), 8);
    record_bytes += f.kind == h5::Kind::Text ? f.width : 8;
    fields.push_back(std::move(f));
  }
  std::vector<const Values*> all_ptrs;
  for (const auto& v : all) all_ptrs.push_back(&v);
  const std::size_t chunk = std::clamp<std::size_t>(kRecordChunkBytes / std::max<std::size_t>(record_bytes, 1), 16, 4096);
  const h5::Dataset records = h5::Dataset::create_records(tables, name, fields, new_rows, chunk);
  records.write_records(0, fields, all_ptrs, 0, new_rows);
  // The attributes PyTables writes on its own tables: with them PyTables (and pandas.read_hdf)
  // need not infer the class from the compound type, and field names show in any HDF5 viewer.
  h5::set_fixed_text_attribute(records.handle(), "CLASS", "TABLE");
  h5::set_fixed_text_attribute(records.handle(), "VERSION", "2.7");
  h5::set_fixed_text_attribute(records.handle(), "TITLE", name);
  for (std::size_t i = 0; i < fields.size(); ++i)
    h5::set_fixed_text_attribute(records.handle(), "FIELD_" + std::to_string(i) + "_NAME", fields[i].name);
}

// Creates column `c` in `group` with `rows` rows, the last c.size() of them c's values and the
// ones before missing values, with its attributes, attached to the group's dimension scale.
h5::Dataset new_column(const h5::Group& group, const h5::Dataset& scale, const Column& c, std::size_t rows) {
  const h5::Kind kind = kind_of(c.values);
  CS_CHECK(c.size() <= rows);
  h5::Dataset ds = h5::Dataset::create_column(group, c.name, kind, rows, kColumnChunkRows);
  ds.write(0, missing_values(kind, rows - c.size()));
  ds.write(rows - c.size(), c.values);
  if (!c.units.empty()) h5::set_attribute(ds.handle(), "units", c.units);
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

void append_group(const h5::Group& root, const GroupRows& rows, const Column* shifted_link) {
  const std::string& name = rows.group;
  const bool existed = root.has(name);
  if (existed && !root.has_group(name)) throw RuntimeFailure("/" + name + " exists and is not a group");
  const h5::Group group = existed ? root.group(name) : root.create_group(name);

  h5::Dataset scale;
  std::size_t old_rows = 0;
  if (existed) {
    const auto dimension = dimension_of(group);
    if (!dimension) throw RuntimeFailure("/" + name + " has no dimension scale");
    if (*dimension != rows.dimension)
      throw RuntimeFailure("/" + name + " has dimension " + in_quotes(*dimension) + ", not " + in_quotes(rows.dimension));
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
      throw RuntimeFailure("/" + name + "/" + child + " has " + std::to_string(ds.size()) + " rows, the group " +
                           std::to_string(old_rows));
    const h5::Kind kind = ds.kind();
    const Column* c = rows.rows.find(child);
    if (c && shifted_link && c->name == shifted_link->name) c = shifted_link;
    if (c && kind_of(c->values) != kind)
      throw RuntimeFailure("column /" + name + "/" + child + " holds " + h5::kind_name(kind) +
                           " in the file but the new rows have " + h5::kind_name(kind_of(c->values)));
    Values values = c ? c->values : missing_values(kind, added);
    ds.resize(new_rows);
    ds.write(old_rows, values);
    if (c && !c->units.empty() && !h5::has_attribute(ds.handle(), "units"))
      h5::set_attribute(ds.handle(), "units", c->units);
    if (c && !c->role.empty() && !h5::has_attribute(ds.handle(), kRoleAttribute))
      h5::set_attribute(ds.handle(), kRoleAttribute, c->role);
    columns.push_back(child);
    datasets.push_back(std::move(ds));
    appended.push_back(std::move(values));
  }
  for (const auto& original : rows.rows.columns) {
    if (std::find(columns.begin(), columns.end(), original.name) != columns.end()) continue;
    if (group.has(original.name))
      throw RuntimeFailure("/" + name + "/" + original.name + " exists and is not a column dataset");
    const Column& c = shifted_link && original.name == shifted_link->name ? *shifted_link : original;
    h5::Dataset ds = new_column(group, scale, c, new_rows);
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
    append_group(root, g, shifted ? &*shifted : nullptr);
  }
}

}  // namespace

// ---------------------------------------------------------------- public API

void check_output(const std::string& path) {
  const Target t = locate(path);
  struct stat st {};
  if (::stat(t.file.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw UsageError(path + " is a directory, not a results file");
    if (!S_ISREG(st.st_mode)) throw UsageError(path + " is not a regular file");
    validate_existing(path, t.file);
    if (::access(t.file.c_str(), W_OK) != 0) throw UsageError(path + " is not writable: " + error_text(errno));
  } else if (errno != ENOENT && errno != ENOTDIR) {  // those two are explained by require_directory
    throw UsageError("cannot access " + path + ": " + error_text(errno));
  }
  require_directory(path, t);
  probe_directory(path, t);
}

void append(const std::string& path, const Provenance& provenance, const std::vector<GroupRows>& groups) {
  check_rows(groups);
  const Target t = locate(path);
  require_directory(path, t);
  WriterLock lock(t);
  remove_stale_files(t);

  struct stat st {};
  const bool exists = ::stat(t.file.c_str(), &st) == 0;
  Int version = kSchemaVersion;
  if (exists) {
    if (!S_ISREG(st.st_mode)) throw UsageError(path + " is not a regular file");
    version = validate_existing(path, t.file);
    if (::access(t.file.c_str(), W_OK) != 0) throw UsageError(path + " is not writable: " + error_text(errno));
  } else if (errno != ENOENT) {
    throw UsageError("cannot access " + path + ": " + error_text(errno));
  }

  TempFile temp(t.dir + "/." + t.base + ".tmp." + std::to_string(::getpid()));
  if (exists) copy_file(t.file, temp.path());
  {
    h5::QuietErrors quiet;
    h5::File file = exists ? h5::File::open(temp.path(), true) : h5::File::create(temp.path());
    if (!exists) write_root_attributes(file, provenance);
    if (version < kSchemaVersion) upgrade(file, version);
    write_groups(file.root(), groups);
    // An unflushed HDF5 file is unreadable; flush, then close so every byte is in the file.
    file.flush();
    file.close();
  }
  fsync_path(temp.path(), false);
  if (::rename(temp.path().c_str(), t.file.c_str()) != 0)
    throw RuntimeFailure("cannot replace " + path + " with " + temp.path() + ": " + error_text(errno));
  temp.commit();
  // Makes the rename itself durable; the new file is complete whether or not this happens.
  fsync_path(t.dir, true);
}

Table read_group(const std::string& path, const std::string& group) {
  const std::string file = require_results_file(path).file;
  if (group == kTablesGroup) throw UsageError("/tables holds the compound copies, not a group of rows");
  if (!valid_name(group)) throw UsageError(in_quotes(group) + " is not a group name");
  h5::QuietErrors quiet;
  const h5::File f = h5::File::open(file, false);
  const h5::Group root = f.root();
  if (!root.has_group(group)) return {};
  return read_rows(root, group, path);
}

Table read_compound(const std::string& path, const std::string& group) {
  const std::string file = require_results_file(path).file;
  if (!valid_name(group)) throw UsageError(in_quotes(group) + " is not a group name");
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
  for (std::size_t i = 0; i < fields.size(); ++i) t.columns.push_back(Column{fields[i].name, "", "", std::move(values[i])});
  return t;
}

std::vector<std::pair<std::string, std::string>> read_attributes(const std::string& path) {
  const std::string file = require_results_file(path).file;
  h5::QuietErrors quiet;
  const h5::File f = h5::File::open(file, false);
  const h5::Group root = f.root();
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& name : h5::attribute_names(root.handle()))
    if (const auto value = h5::attribute(root.handle(), name)) out.emplace_back(name, h5::scalar_text(*value));
  return out;
}

namespace {

// One row as text over all columns, to recognise a row that is already there.
std::string row_key(const Table& t, std::size_t row) {
  std::vector<const Column*> columns;
  for (const auto& c : t.columns) columns.push_back(&c);
  std::sort(columns.begin(), columns.end(), [](const Column* a, const Column* b) { return a->name < b->name; });
  std::string key;
  for (const Column* c : columns) key += c->name + '\x1f' + std::to_string(c->values.index()) + value_text(c->values, row) + '\x1e';
  return key;
}

std::string run_key(const Column& run_id, std::size_t row) {
  return std::to_string(run_id.values.index()) + ":" + value_text(run_id.values, row);
}

Provenance shared_attributes(const std::vector<ResultsFile>& inputs) {
  std::optional<std::vector<std::pair<std::string, h5::Scalar>>> shared;
  for (const auto& in : inputs) {
    h5::QuietErrors quiet;
    const h5::File f = h5::File::open(in.file, false);
    const h5::Group root = f.root();
    std::vector<std::pair<std::string, h5::Scalar>> attrs;
    for (const auto& name : h5::attribute_names(root.handle()))
      if (const auto value = h5::attribute(root.handle(), name)) attrs.emplace_back(name, *value);
    if (!shared) {
      shared = std::move(attrs);
      continue;
    }
    std::erase_if(*shared, [&](const auto& a) { return std::find(attrs.begin(), attrs.end(), a) == attrs.end(); });
  }
  Provenance p;
  std::string merged_from;
  for (const auto& in : inputs) merged_from += (merged_from.empty() ? "" : "\n") + in.shown;
  for (const auto& [name, value] : *shared) {
    if (name == "schema" || name == "schema_version" || name == "created" || name == "software_version" ||
        name == "merged_from")
      continue;
    if (const auto* s = std::get_if<std::string>(&value)) p.text.emplace_back(name, *s);
    else if (const auto* i = std::get_if<std::int64_t>(&value)) p.integers.emplace_back(name, *i);
    else p.reals.emplace_back(name, std::get<double>(value));
  }
  p.text.emplace_back("merged_from", merged_from);
  return p;
}

}  // namespace

void merge(const std::string& out, const std::vector<std::string>& inputs) {
  if (inputs.empty()) throw UsageError("merge needs at least one input file");
  std::vector<ResultsFile> files;
  for (const auto& in : inputs) files.push_back(require_results_file(in));
  const Target target = locate(out);
  struct stat st {};
  const bool out_exists = ::stat(target.file.c_str(), &st) == 0;
  std::optional<ResultsFile> existing;
  if (out_exists) existing = require_results_file(out);
  // Inputs of older schema versions are read as the current one (read_rows derives what they
  // lack), and the merged file is of the current version (append upgrades an older `out`).

  std::set<std::string> seen_runs;
  std::map<std::string, std::set<std::string>> seen_rows;  // group -> row keys, for groups without `run`
  auto has_run_link = [](const Table& t) {
    const Column* c = t.find("run");
    return c && kind_of(c->values) == h5::Kind::Int64;
  };
  auto remember = [&](const std::string& group, const Table& t, bool runs) {
    if (runs) {
      if (const Column* id = t.find("run_id"))
        for (std::size_t r = 0; r < t.rows(); ++r) seen_runs.insert(run_key(*id, r));
    } else if (!has_run_link(t)) {
      for (std::size_t r = 0; r < t.rows(); ++r) seen_rows[group].insert(row_key(t, r));
    }
  };
  if (existing) {
    h5::QuietErrors quiet;
    const h5::File f = h5::File::open(existing->file, false);
    const h5::Group root = f.root();
    for (const auto& group : data_groups(root)) remember(group, read_rows(root, group, out), group == "runs");
  }

  std::vector<GroupRows> batch;
  auto batch_group = [&](const std::string& group, const std::string& dimension) -> GroupRows& {
    for (auto& g : batch)
      if (g.group == group) return g;
    batch.push_back(GroupRows{group, dimension, {}, "", ""});
    return batch.back();
  };
  std::size_t new_rows = 0;

  for (const auto& in : files) {
    h5::QuietErrors quiet;
    const h5::File f = h5::File::open(in.file, false);
    const h5::Group root = f.root();
    const auto groups = data_groups(root);
    std::map<std::string, std::pair<std::string, Table>> tables;  // group -> (dimension, rows)
    for (const auto& group : groups) {
      const h5::Group g = root.group(group);
      const auto dimension = dimension_of(g);
      if (!dimension) throw UsageError(in.shown + ": /" + group + " has no dimension scale");
      tables[group] = {*dimension, read_rows(root, group, in.shown)};
    }

    // Runs first: which rows are new decides which linked rows follow them.
    std::vector<Int> new_index;  // input run row -> row in the batch's runs, -1 when skipped
    if (tables.count("runs")) {
      const auto& [dimension, runs] = tables["runs"];
      const Column* id = runs.find("run_id");
      if (!id) throw UsageError(in.shown + ": /runs has no run_id column, so its runs cannot be merged safely");
      GroupRows& into = batch_group("runs", dimension);
      std::vector<std::size_t> keep;
      for (std::size_t r = 0; r < runs.rows(); ++r) {
        if (seen_runs.insert(run_key(*id, r)).second) {
          new_index.push_back(static_cast<Int>(into.rows.rows() + keep.size()));
          keep.push_back(r);
        } else {
          new_index.push_back(-1);
        }
      }
      concat(into.rows, pick_rows(runs, keep), in.shown + " /runs");
      new_rows += keep.size();
    }

    for (const auto& group : groups) {
      if (group == "runs") continue;
      const auto& [dimension, rows] = tables[group];
      GroupRows& into = batch_group(group, dimension);
      if (into.dimension != dimension)
        throw UsageError(in.shown + ": /" + group + " has dimension " + in_quotes(dimension) + " but an earlier file has " +
                         in_quotes(into.dimension));
      std::vector<std::size_t> keep;
      if (has_run_link(rows)) {
        Table picked;
        const auto& run = std::get<std::vector<Int>>(rows.find("run")->values);
        std::vector<Int> remapped;
        for (std::size_t r = 0; r < rows.rows(); ++r) {
          const Int old = run[r];
          if (old >= static_cast<Int>(new_index.size()))
            throw UsageError(in.shown + ": /" + group + "/run = " + std::to_string(old) + " points past the " +
                             std::to_string(new_index.size()) + " rows of /runs");
          if (old >= 0 && new_index[static_cast<std::size_t>(old)] < 0) continue;  // its run is already merged
          keep.push_back(r);
          remapped.push_back(old < 0 ? old : new_index[static_cast<std::size_t>(old)]);
        }
        picked = pick_rows(rows, keep);
        std::get<std::vector<Int>>(picked.find("run")->values) = std::move(remapped);
        into.link_column = "run";
        into.link_group = "runs";
        concat(into.rows, picked, in.shown + " /" + group);
      } else {
        auto& seen = seen_rows[group];
        std::set<std::string> this_file;
        for (std::size_t r = 0; r < rows.rows(); ++r) {
          const std::string key = row_key(rows, r);
          // Identical rows within one input are genuine repeats; only earlier files count.
          if (!seen.count(key)) keep.push_back(r);
          this_file.insert(key);
        }
        seen.insert(this_file.begin(), this_file.end());
        concat(into.rows, pick_rows(rows, keep), in.shown + " /" + group);
      }
      new_rows += keep.size();
    }
  }

  if (out_exists && new_rows == 0) return;  // nothing new: leave the file as it is
  // A linked group whose runs were all skipped points into a runs group that may be absent.
  for (auto& g : batch)
    if (!g.link_group.empty() && std::none_of(batch.begin(), batch.end(), [&](const GroupRows& o) { return o.group == g.link_group; })) {
      g.link_column.clear();
      g.link_group.clear();
    }
  append(out, shared_attributes(files), batch);
}

}  // namespace corescope::record
