// The file-system side of appends: where a results file really lives, the writer and reader
// locks, the temp copy, pages, copying, fsync and clearing what dead writers left. See
// atomic_file.hpp.
#include "record/atomic_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <thread>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <vector>

#include "core/errors.hpp"
#include "core/platform.hpp"

namespace corescope::record::detail {

namespace fs = std::filesystem;

std::string error_text(int e) { return std::strerror(e); }

namespace {

double lock_timeout_s = kDefaultLockTimeoutS;

std::uint64_t fnv1a(const std::string& text) {
  std::uint64_t h = 1469598103934665603ull;
  for (const unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Room for the longest suffix corescope puts after the output's name (".probe." + a pid).
constexpr std::size_t kSuffixRoom = 24;

std::string read_all(int fd) {
  std::string text;
  char buf[256];
  for (off_t at = 0;;) {
    const ssize_t n = ::pread(fd, buf, sizeof buf, at);
    if (n <= 0 || text.size() > 4096) break;
    text.append(buf, static_cast<std::size_t>(n));
    at += n;
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) text.pop_back();
  return text;
}

}  // namespace

void set_lock_timeout(double seconds) { lock_timeout_s = seconds; }
double lock_timeout() { return lock_timeout_s; }

std::string side_path(const Target& t, const std::string& suffix) {
  std::string name = "." + t.base;
  if (name.size() + kSuffixRoom > NAME_MAX) {
    char hash[17];
    std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(fnv1a(t.base)));
    name = "." + t.base.substr(0, 100) + "~" + hash;
  }
  return t.dir + "/" + name + suffix;
}

int open_side_file(const std::string& path, bool create, mode_t mode, uid_t owner) {
  constexpr int kFlags = O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;
  int fd = -1;
  if (create) {
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | kFlags, mode);
    if (fd >= 0) {
      // Explicit, whatever the umask.
      if (::fchmod(fd, mode) != 0) {
        const int e = errno;
        ::close(fd);
        throw RuntimeFailure("cannot set the mode of " + path + ": " + error_text(e));
      }
      return fd;
    }
    if (errno != EEXIST) throw RuntimeFailure("cannot create " + path + ": " + error_text(errno));
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return -1;
    throw RuntimeFailure("cannot access " + path + ": " + error_text(errno));
  }
  if (S_ISLNK(st.st_mode))
    throw UsageError(path +
                     " is a symbolic link; corescope does not follow links for its lock and temp "
                     "files (remove it)");
  if (!S_ISREG(st.st_mode))
    throw UsageError(path + " is not a regular file; corescope keeps its lock there (remove it)");
  fd = ::open(path.c_str(), O_RDWR | kFlags);
  // Another user's lock file may be read-only to us; flock does not need write access.
  if (fd < 0 && errno == EACCES) fd = ::open(path.c_str(), O_RDONLY | kFlags);
  if (fd < 0 && errno == ELOOP)
    throw UsageError(path +
                     " is a symbolic link; corescope does not follow links for its lock and temp "
                     "files (remove it)");
  if (fd < 0) throw RuntimeFailure("cannot open " + path + ": " + error_text(errno));
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      (st.st_uid != ::geteuid() && st.st_uid != owner)) {
    const bool regular = S_ISREG(st.st_mode);
    const auto uid = st.st_uid;
    ::close(fd);
    if (!regular)
      throw UsageError(path + " is not a regular file; corescope keeps its lock there (remove it)");
    throw UsageError(path + " belongs to uid " + std::to_string(uid) +
                     ", neither this user nor the results file's owner (remove it)");
  }
  return fd;
}

std::string holder_text() {
  return "pid " + std::to_string(platform::process_id()) + " on " + platform::hostname() +
         " since " + now_iso8601_utc();
}

Target locate(const std::string& path) {
  if (path.empty()) throw UsageError("the output path is empty");
  if (path.size() >= PATH_MAX)
    throw UsageError("the path " + path.substr(0, 60) + "... is longer than PATH_MAX");
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
  if (t.base.empty() || t.base == "." || t.base == "..")
    throw UsageError(path + " names a directory, not a file");
  if (t.base.size() > NAME_MAX)
    throw UsageError("the file name of " + path.substr(0, 60) + "... is " +
                     std::to_string(t.base.size()) + " bytes, longer than NAME_MAX (" +
                     std::to_string(NAME_MAX) + ")");
  t.dir = p.parent_path().empty() ? "." : p.parent_path().string();
  return t;
}

// Checks that the directory exists and accepts new files; UsageError otherwise.
void require_directory(const std::string& path, const Target& t) {
  struct stat st {};
  if (::stat(t.dir.c_str(), &st) != 0) {
    if (errno == ENOENT)
      throw UsageError("directory " + t.dir + " does not exist (output " + path + ")");
    throw UsageError("cannot access directory " + t.dir + " (output " + path +
                     "): " + error_text(errno));
  }
  if (!S_ISDIR(st.st_mode)) throw UsageError(t.dir + " is not a directory (output " + path + ")");
  if (::access(t.dir.c_str(), W_OK | X_OK) != 0)
    throw UsageError("directory " + t.dir + " is not writable (output " + path +
                     "): " + error_text(errno));
}

// Creates and removes a file, which is the only sure test (root passes access(), a read-only
// mount does not).
void probe_directory(const std::string& path, const Target& t) {
  const std::string probe = side_path(t, ".probe." + std::to_string(::getpid()));
  ::unlink(probe.c_str());  // our pid's name: a leftover, or a link someone planted (the link goes,
                            // not its target)
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    throw UsageError("directory " + t.dir + " is not writable (output " + path +
                     "): " + error_text(errno));
  ::close(fd);
  ::unlink(probe.c_str());
}

// Serialises writers of one output. The lock is on a separate, never-deleted file: the output
// itself is replaced by rename(), so a writer blocked on the old inode's lock would wake up
// holding a lock on a file that is no longer there; and a new output does not exist yet.
namespace {
// flock(fd, op | LOCK_NB) until it is granted: after a second of waiting `tell()` (once), after
// lock_timeout_s RuntimeFailure from `give_up()`. Returns 0, or the errno of a flock that cannot
// be had at all (not a wait).
template <typename Tell, typename GiveUp>
int wait_for_flock(int fd, int op, Tell tell, GiveUp give_up) {
  const auto start = std::chrono::steady_clock::now();
  bool told = false;
  for (;;) {
    if (::flock(fd, op | LOCK_NB) == 0) return 0;
    const int e = errno;
    if (e == EINTR) continue;
    if (e != EWOULDBLOCK) return e;
    const double waited =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (waited >= lock_timeout_s) give_up();
    if (!told && waited >= 1.0) {
      tell();
      told = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(waited < 1.0 ? 5 : 50));
  }
}

std::string timeout_text() {
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%g", lock_timeout_s);
  return "gave up after " + std::string(seconds) + " s waiting for ";
}
}  // namespace

WriterLock::WriterLock(const Target& t, uid_t owner) : path_(side_path(t, ".lock")) {
  fd_ = open_side_file(path_, true, kLockFileMode, owner);
  const auto holder = [&] {
    const std::string text = read_all(fd_);
    return text.empty() ? std::string("an unknown process") : text;
  };
  const int e = wait_for_flock(
      fd_, LOCK_EX,
      [&] {
        std::fprintf(stderr, "waiting for %s, held by %s\n", path_.c_str(), holder().c_str());
        std::fflush(stderr);
      },
      [&] {
        const std::string text = holder();
        ::close(fd_);
        throw RuntimeFailure(timeout_text() + path_ + ", held by " + text + " (--lock-timeout)");
      });
  if (e != 0) {
    ::close(fd_);
    throw RuntimeFailure("cannot lock " + path_ + ": " + error_text(e));
  }
  // Who holds it, for writers that wait (a lock file of another user may be read-only to us).
  const std::string text = holder_text() + "\n";
  if (::ftruncate(fd_, 0) == 0) {
    [[maybe_unused]] const ssize_t n = ::pwrite(fd_, text.data(), text.size(), 0);
  }
}

WriterLock::~WriterLock() { ::close(fd_); }

ReaderLock::ReaderLock(const std::string& file) {
  fd_ = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd_ < 0) return;
  wait_for_flock(
      fd_, LOCK_SH,
      [&] {
        std::fprintf(stderr, "waiting for %s: an append is writing it\n", file.c_str());
        std::fflush(stderr);
      },
      [&] {
        ::close(fd_);
        throw RuntimeFailure(timeout_text() + file +
                             ", which an append is writing (--lock-timeout)");
      });
}

ReaderLock::~ReaderLock() {
  if (fd_ >= 0) ::close(fd_);
}

// Removes temp and probe files left by writers that died (SIGKILL leaves them). Only called with
// the writer lock held, so no live writer on this host can be using one; files of live pids are
// left alone anyway, in case the directory is shared with another host.
void remove_stale_files(const Target& t) {
  DIR* dir = ::opendir(t.dir.c_str());
  if (!dir) return;
  std::vector<std::string> prefixes;
  for (const char* suffix : {".tmp.", ".probe."})
    prefixes.push_back(side_path(t, suffix).substr(t.dir.size() + 1));
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
  // What appends of corescope before December 2026 kept beside the file (a second copy of it).
  for (const char* suffix : {".twin", ".redo", ".prev"}) ::unlink(side_path(t, suffix).c_str());
}

TempFile::TempFile(std::string path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, kTempFileMode);
  if (fd_ < 0) throw RuntimeFailure("cannot create " + path_ + ": " + error_text(errno));
}

TempFile::~TempFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(path_.c_str());
}

int TempFile::close() {
  const int rc = ::close(fd_);
  fd_ = -1;
  return rc;
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

int Fd::close() {
  const int rc = ::close(fd_);
  fd_ = -1;
  return rc;
}

namespace {
std::string human_bytes(double bytes) {
  char text[32];
  if (bytes < 10 * 1024.0 * 1024.0)
    std::snprintf(text, sizeof text, "%.0f KiB", bytes / 1024.0);
  else
    std::snprintf(text, sizeof text, "%.1f MiB", bytes / (1024.0 * 1024.0));
  return text;
}

}  // namespace

[[noreturn]] void no_space(const std::string& shown, const std::string& dir, std::size_t needed,
                           int fd) {
  struct statvfs vfs {};
  const bool known = ::fstatvfs(fd, &vfs) == 0;
  throw RuntimeFailure("no space to write " + shown + ": " +
                       human_bytes(static_cast<double>(needed)) + " of free space needed in " +
                       dir +
                       (known ? ", " +
                                    human_bytes(static_cast<double>(vfs.f_bavail) *
                                                static_cast<double>(vfs.f_frsize)) +
                                    " free"
                              : std::string()) +
                       "; the file is unchanged");
}

void write_temp(TempFile& temp, const std::vector<unsigned char>& bytes, mode_t mode,
                const Owner* owner, const std::string& shown, const std::string& dir) {
  const int fd = temp.fd();
  const std::string& path = temp.path();
  // Known too small before anything is written (blocks for metadata aside).
  struct statvfs vfs {};
  if (::fstatvfs(fd, &vfs) == 0 &&
      static_cast<double>(vfs.f_bavail) * static_cast<double>(vfs.f_frsize) <
          static_cast<double>(bytes.size()))
    no_space(shown, dir, bytes.size(), fd);
  for (std::size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == ENOSPC || errno == EDQUOT)) no_space(shown, dir, bytes.size(), fd);
    if (n < 0) throw RuntimeFailure("cannot write " + path + ": " + error_text(errno));
    done += static_cast<std::size_t>(n);
  }
  // Ownership first: fchown may clear set-id bits, fchmod then sets the final mode.
  if (owner && ::fchown(fd, owner->uid, owner->gid) !=
                   0) { /* not permitted for other users' files; keep ours */
  }
  if (::fchmod(fd, mode) != 0)
    throw RuntimeFailure("cannot set the mode of " + path + ": " + error_text(errno));
  if (::fsync(fd) != 0) {
    if (errno == ENOSPC || errno == EDQUOT) no_space(shown, dir, bytes.size(), fd);
    throw RuntimeFailure("cannot sync " + path + " to disk: " + error_text(errno));
  }
  if (temp.close() != 0) throw RuntimeFailure("cannot write " + path + ": " + error_text(errno));
}

// ---------------------------------------------------------------- states and pages of a file

FileState state_of_stat(const struct stat& st) {
  return FileState{static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino),
                   static_cast<std::uint64_t>(st.st_size),
                   static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

bool write_all(int fd, const unsigned char* data, std::size_t n, off_t at) {
  for (std::size_t done = 0; done < n;) {
    const ssize_t w = ::pwrite(fd, data + done, n - done, at + static_cast<off_t>(done));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    done += static_cast<std::size_t>(w);
  }
  return true;
}

std::optional<FileState> state_of(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return std::nullopt;
  return state_of_stat(st);
}

FileState state_of_fd(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    throw RuntimeFailure("cannot stat a file being written: " + error_text(errno));
  return state_of_stat(st);
}

void write_pages(int fd, const Pages& pages, std::uint64_t size, const std::string& shown,
                 const std::string& dir) {
  const FileState now = state_of_fd(fd);
  if (size > now.size) {
    // Reserve the growth first: a full disk then fails here, before any byte is written.
    const int e =
        ::posix_fallocate(fd, static_cast<off_t>(now.size), static_cast<off_t>(size - now.size));
    if (e == ENOSPC || e == EDQUOT)
      no_space(shown, dir, static_cast<std::size_t>(size - now.size), fd);
  }
  for (const auto& [index, page] : pages) {
    const std::uint64_t at = index * kPageBytes;
    if (at >= size) continue;
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kPageBytes, size - at));
    if (!write_all(fd, page.data(), n, static_cast<off_t>(at))) {
      if (errno == ENOSPC || errno == EDQUOT) no_space(shown, dir, n, fd);
      throw RuntimeFailure("cannot write beside " + shown + ": " + error_text(errno));
    }
  }
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0)
    throw RuntimeFailure("cannot write beside " + shown + ": " + error_text(errno));
}

void copy_contents(int from, int to, const std::string& shown, const std::string& dir) {
  const FileState source = state_of_fd(from);
  const int e =
      ::posix_fallocate(to, 0, static_cast<off_t>(std::max<std::uint64_t>(source.size, 1)));
  if (e == ENOSPC || e == EDQUOT) no_space(shown, dir, static_cast<std::size_t>(source.size), to);
  off_t at = 0;
  while (static_cast<std::uint64_t>(at) < source.size) {
    const ssize_t n = ::sendfile(
        to, from, &at, static_cast<std::size_t>(source.size - static_cast<std::uint64_t>(at)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == ENOSPC || errno == EDQUOT))
      no_space(shown, dir, static_cast<std::size_t>(source.size), to);
    if (n < 0) throw RuntimeFailure("cannot copy " + shown + ": " + error_text(errno));
    if (n == 0) throw RuntimeFailure("cannot copy " + shown + ": it shrank while being copied");
  }
  if (::ftruncate(to, static_cast<off_t>(source.size)) != 0)
    throw RuntimeFailure("cannot copy " + shown + ": " + error_text(errno));
}

void fsync_path(const std::string& path, bool directory) {
  Fd fd(::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC));
  if (fd.get() < 0)
    throw RuntimeFailure("cannot open " + path + " to sync it: " + error_text(errno));
  // Some file systems cannot sync a directory (EINVAL); the rename is then as durable as they
  // allow.
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

}  // namespace corescope::record::detail
