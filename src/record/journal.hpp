// Writing an append into the results file itself, after a journal, for the recorder only
// (docs/user/results-format.md, "Appends are crash-safe"). HDF5 has made the append in memory
// (cow_map.hpp); here its pages reach the file:
//
//   1. the journal `.NAME.journal` gets the pages, the file's length after them and the file's
//      state before them, and is synced;
//   2. a child process (the finisher) writes the pages into the file, the first page (HDF5's
//      superblock) last: its signature is cleared first, so that a reader never takes a file
//      that is half written for a complete one; then it syncs the file and turns the journal
//      into a record of the file as corescope left it (its state, no pages);
//   3. the writer waits for the finisher. Killed meanwhile, it leaves the finisher to complete
//      the append; when both are killed, the next corescope command that writes the file, or
//      reads it, completes it from the journal.
//
// The file is locked exclusively (flock, as HDF5 readers lock it shared) from step 1 to the end
// of step 2: readers that open it meanwhile wait (corescope's own) or are refused (HDF5's
// "unable to lock file"); when a reader has the file open, the pages go into a copy of the file
// instead, renamed over it (the reader keeps the old file). Nothing here knows HDF5's format
// beyond its 8-byte signature.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "record/atomic_file.hpp"
#include "record/cow_map.hpp"

namespace corescope::record::detail {

// The file as corescope last left it (the journal's record), when the journal holds one for
// the file of this path: then the file needs no check before it is written again.
struct Written {
  FileState file;
  std::int64_t version = 0;  // its schema_version
};
std::optional<Written> last_written(const Target& t, uid_t owner);

// Records that corescope wrote the file (schema_version `version`) and left it as it is now.
// Best effort: without the record, the next append checks the file first.
void note_written(const Target& t, std::int64_t version);

// Completes an append whose writer and finisher were both killed (the journal still holds
// pages for this file). Call with the writer lock held; does nothing when there is nothing to
// complete. RuntimeFailure, one line, when the pages cannot be written.
void complete_interrupted(const Target& t, uid_t owner, const std::string& shown);

// What a reader calls first: when both the writer and the finisher of an append were killed
// while they wrote the file (its signature is cleared and the journal holds its pages), takes
// the writer lock and completes the append. UsageError, one line, when this user cannot write
// the file.
void complete_if_interrupted(const Target& t, uid_t owner, const std::string& shown);

// Writes `changes` (an append to the file behind `fd`, open read-write, schema_version
// `version` after it) into the file as above; the first page must be among them. Returns false,
// having written nothing, when another process has the file open through HDF5 (the caller
// then writes a copy). No room: RuntimeFailure, one line, and the file is unchanged.
bool write_in_place(const Target& t, int fd, const Changes& changes, std::int64_t version,
                    const std::string& shown);

}  // namespace corescope::record::detail
