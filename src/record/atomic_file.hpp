// The file-system side of a crash-safe append, for the recorder only: where a results file
// really lives, the writer lock on a file beside it and the readers' lock on the file, the temp
// copy that replaces the file by rename(), writing pages, copying and fsync, and removing what
// writers killed by SIGKILL left behind.
// Nothing here knows HDF5. Also used by the sweep lock (src/sweep/sweep_lock.cpp), which keeps
// its own file beside the output. (docs/user/results-format.md, "Appends are crash-safe" and "Files
// beside the results file")
#pragma once
#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace corescope::record::detail {

std::string error_text(int e);  // strerror

// Where the results file really lives: a symbolic link is followed, so that the rename at the
// end of an append replaces the file it points to rather than the link.
struct Target {
  std::string file;  // path to operate on
  std::string dir;   // its directory (temp and lock files go there)
  std::string base;  // its file name
};
// UsageError for an empty path, a directory name or a link to a missing file.
Target locate(const std::string& path);

// How long a writer waits for another writer's lock before it gives up (RuntimeFailure, one
// line naming the holder); process-wide, set by --lock-timeout (record::set_lock_timeout).
inline constexpr double kDefaultLockTimeoutS = 300;
void set_lock_timeout(double seconds);
double lock_timeout();

// File modes corescope sets explicitly (never from the umask): a new results file, lock files
// (readable by all, so that writers of other users can flock them and read the holder) and temp
// files while they are written.
inline constexpr mode_t kResultsFileMode = 0644;
inline constexpr mode_t kLockFileMode = 0644;
inline constexpr mode_t kTempFileMode = 0600;

// The path of a file corescope keeps beside the output: "DIR/.NAME" + suffix, or, when that
// could exceed NAME_MAX, "DIR/." + NAME's first 100 bytes + "~" + 16 hex digits of a hash of
// NAME, + suffix. Suffixes: ".lock", ".sweep", ".journal", ".tmp.<pid>", ".probe.<pid>".
std::string side_path(const Target& t, const std::string& suffix);

// Opens a lock file beside the output read-write (read-only when only that is allowed),
// creating it with `mode` (set explicitly) when `create` and it is absent; never through a
// symbolic link (O_NOFOLLOW). UsageError, one line, when it is a symbolic link, not a regular
// file, or owned by neither this user nor `owner` (the results file's owner). Returns -1 when
// it does not exist and !create.
int open_side_file(const std::string& path, bool create, mode_t mode, uid_t owner);

// "pid P on HOST since ISO-8601": what a lock file holds about its holder.
std::string holder_text();

// Checks that the directory exists and accepts new files (require_directory by its mode,
// probe_directory by creating and removing a file); UsageError otherwise.
void require_directory(const std::string& path, const Target& t);
void probe_directory(const std::string& path, const Target& t);

// Serialises writers of one output: an exclusive flock on a separate, never-deleted file
// beside it (side_path ".lock"), held while alive. The holder writes holder_text() into it; a
// writer that waits prints the holder after one second and gives up after lock_timeout().
// `owner`: the uid besides ours that may own the lock file (the results file's owner).
class WriterLock {
 public:
  WriterLock(const Target& t, uid_t owner);
  ~WriterLock();  // releases the lock
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  std::string path_;
  int fd_ = -1;
};

// A reader's shared flock on the results file itself, held while alive (HDF5 takes the same
// when it opens a file): an append that writes into the file holds it exclusively for a moment
// (journal.hpp), and a reader waits for it as a writer waits for the writer lock. Nothing is
// locked when the file cannot be opened or locked at all (the reader's own open says why).
class ReaderLock {
 public:
  explicit ReaderLock(const std::string& file);
  ~ReaderLock();
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  int fd_ = -1;
};

// Removes temp and probe files of writers that died, and the twin, redo log and link of
// appends made by corescope before December 2026. Call with the writer lock held.
void remove_stale_files(const Target& t);

// The temp file of an append, created (O_EXCL, O_NOFOLLOW, mode 0600) by the constructor and
// removed on every path except a completed rename.
class TempFile {
 public:
  explicit TempFile(std::string path);
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }
  int fd() const { return fd_; }
  int close();  // the result of close(2)
  void commit() { committed_ = true; }

 private:
  std::string path_;
  int fd_ = -1;
  bool committed_ = false;
};

// An owned file descriptor, closed on destruction; close() reports the close's result.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd();
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int close();

 private:
  int fd_;
};

struct Owner {
  uid_t uid;
  gid_t gid;
};
// Writes `bytes` into the temp file, gives it `owner` where permitted and `mode`, fsyncs and
// closes it. When the file system cannot take it (checked before writing, and
// ENOSPC/EDQUOT while writing) RuntimeFailure, one line: "no space to write SHOWN: X KiB of free
// space needed in DIR, Y KiB free; the file is unchanged".
void write_temp(TempFile& temp, const std::vector<unsigned char>& bytes, mode_t mode,
                const Owner* owner, const std::string& shown, const std::string& dir);
// fsync of a file or a directory; RuntimeFailure on failure (a directory that cannot be synced
// is accepted).
void fsync_path(const std::string& path, bool directory);
std::string now_iso8601_utc();

// ---------------------------------------------------------------- states and pages of a file

// One state of a file: which inode, how long, last written when.
struct FileState {
  std::uint64_t dev = 0, ino = 0, size = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const FileState&) const = default;
};
// nullopt when the path cannot be stat'ed (a symbolic link is not followed).
std::optional<FileState> state_of(const std::string& path);
FileState state_of_fd(int fd);
FileState state_of_stat(const struct stat& st);

using Pages = std::map<std::uint64_t, std::vector<unsigned char>>;  // page index -> page bytes
inline constexpr std::size_t kPageBytes = 4096;

// pwrite of all `n` bytes at `at`, retried on EINTR; false with errno set when it cannot.
bool write_all(int fd, const unsigned char* data, std::size_t n, off_t at);
// RuntimeFailure, one line: "no space to write SHOWN: X KiB of free space needed in DIR, Y KiB
// free; the file is unchanged" (Y from the file system of `fd`).
[[noreturn]] void no_space(const std::string& shown, const std::string& dir, std::size_t needed,
                           int fd);

// Writes `pages` into the file behind `fd` and makes it `size` bytes long; the space the file
// grows by is reserved first. No room: RuntimeFailure, one line, as write_temp.
void write_pages(int fd, const Pages& pages, std::uint64_t size, const std::string& shown,
                 const std::string& dir);
// Copies all of `from` into the empty file `to`; no room: as write_pages.
void copy_contents(int from, int to, const std::string& shown, const std::string& dir);

}  // namespace corescope::record::detail
