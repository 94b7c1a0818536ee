// The HDF5 results file (schema "corescope", schema_version 2; see docs/user/results-format.md).
//
// A file only grows. HDF5 makes every append in memory; its pages are written into the file
// after a journal, by a child process that finishes them even when the writer is killed, so
// that a reader never sees a half-written file (recorder.cpp, journal.hpp). The file is not held
// open between runs.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "record/table.hpp"

namespace corescope::record {

// 2: /runs has memory_model. Files of version 1 are read as version 2 (the column derived from
// mode) and become version 2 on their next append.
inline constexpr int kSchemaVersion = 2;
inline constexpr const char* kSchemaName = "corescope";
// The CF version the file follows where CF applies (root attribute Conventions).
inline constexpr const char* kConventions = "CF-1.8";

// Root attributes written when a file is created (schema, schema_version, created are added
// by the recorder itself).
struct Provenance {
  std::vector<std::pair<std::string, std::string>> text;
  std::vector<std::pair<std::string, Int>> integers;
  std::vector<std::pair<std::string, double>> reals;
};

// Rows for one group, e.g. {"runs", "run", table} or {"samples", "sample", table, "run"}.
// link_column names an integer column that holds row indexes into another group of the same
// batch (samples.run -> runs); on append the recorder shifts it by that group's existing rows.
struct GroupRows {
  std::string group;
  std::string dimension;
  Table rows;
  std::string link_column;  // "" if none
  std::string link_group;   // group that link_column points into
};

// How long an append waits for another writer of the same file before giving up (one line
// naming the holder, RuntimeFailure); default 300 s. Set once per process (--lock-timeout).
void set_lock_timeout(double seconds);
double lock_timeout();

// Checks before a run that `path` can receive results: an existing file must be a corescope
// file with schema_version <= kSchemaVersion (it is left untouched); a new file must be
// creatable in its directory. Throws UsageError with one clear line otherwise.
void check_output(const std::string& path);

// Appends the groups to `path` (created with `provenance` if it does not exist) atomically. A
// file of an older schema_version is upgraded in the same append (see run_rows.hpp). Throws
// UsageError for a foreign/newer file, RuntimeFailure for I/O errors.
void append(const std::string& path, const Provenance& provenance,
            const std::vector<GroupRows>& groups);

// Reads one group's columns back (all rows), with the columns of the current schema that an
// older file lacks derived from the others. Missing group -> empty table.
// Throws UsageError if the file is missing or not a corescope file.
Table read_group(const std::string& path, const std::string& group);
// The same for a few columns, as stored (nothing derived; a column the file lacks is left out):
// what a sweep reads back of a run that printed no outcome, or of the runs a resumed plan has,
// without the rest of /runs, which grows with the file.
Table read_group(const std::string& path, const std::string& group,
                 const std::vector<std::string>& columns);

// Root attributes of a corescope file as text (for `summary` and `merge`).
std::vector<std::pair<std::string, std::string>> read_attributes(const std::string& path);

// Reads the compound copy /tables/<group> back as a Table (names and values; no units).
// Missing -> empty table. Used to check that both copies of a group agree.
Table read_compound(const std::string& path, const std::string& group);

// Appends the runs of `inputs` (corescope files of any readable schema_version) to `out`, created
// if it does not exist, in one atomic append. A run whose run_id is already in `out` or in an
// earlier input is skipped, and so are the rows of other groups that point at it through their
// integer `run` column; those columns are renumbered to the runs' new rows. Rows of groups without
// a `run` column are skipped when an identical row is already in `out` or an earlier input. A new
// `out` gets the root attributes all inputs share, plus `merged_from`.
// Throws UsageError for a missing, foreign or newer input.
void merge(const std::string& out, const std::vector<std::string>& inputs);

// Rewrites `path` with the same root attributes, groups, rows and column attributes, without
// the space earlier appends left unused, atomically (a temp file renamed over it) and under the
// writer lock; a file of an older schema_version comes out upgraded. Returns the file's size
// before and after, in bytes. UsageError as read_group.
std::pair<std::uint64_t, std::uint64_t> compact(const std::string& path);

}  // namespace corescope::record
