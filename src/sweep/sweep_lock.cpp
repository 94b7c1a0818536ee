// The sweep lock: flock on a never-deleted file beside the results file, holding the owner's id.
#include "sweep/sweep_lock.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/errors.hpp"
#include "record/atomic_file.hpp"

namespace corescope::sweep {

namespace {

// Beside the file the output really is (links followed), under the same name rules as the
// writer lock (record::detail::side_path).
std::string lock_path(const std::string& out) {
  return record::detail::side_path(record::detail::locate(out), ".sweep");
}

uid_t output_owner(const std::string& out) {
  struct stat st {};
  return ::stat(out.c_str(), &st) == 0 ? st.st_uid : ::geteuid();
}

std::string read_all(int fd) {
  std::string text;
  char buf[256];
  ::lseek(fd, 0, SEEK_SET);
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
    text.append(buf, static_cast<std::size_t>(n));
  return text;
}

bool unsupported(int e) { return e == ENOLCK || e == EOPNOTSUPP || e == ENOSYS || e == EINVAL; }

}  // namespace

SweepLock::SweepLock(const std::string& out, const std::string& sweep_id) {
  const std::string path = lock_path(out);
  // O_CLOEXEC: a cell that inherited the descriptor would keep the lock alive after the sweep died.
  // O_NOFOLLOW and the checks of open_side_file: a planted link cannot redirect the lock.
  fd_ =
      record::detail::open_side_file(path, true, record::detail::kLockFileMode, output_owner(out));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    if (unsupported(e)) return;  // cannot lock here: run without the guard
    std::string owner = read_all(fd_);
    ::close(fd_);
    fd_ = -1;
    while (!owner.empty() && owner.back() == '\n') owner.pop_back();
    if (e == EWOULDBLOCK)
      throw UsageError("another corescope sweep is writing " + out + " (" +
                       (owner.empty() ? "unknown" : owner) +
                       "); wait for it, or use another --out");
    throw UsageError("cannot lock " + path + ": " + std::strerror(e));
  }
  const std::string text = sweep_id + " " + record::detail::holder_text() + "\n";
  if (::ftruncate(fd_, 0) != 0 ||
      ::pwrite(fd_, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
    throw RuntimeFailure("cannot write the sweep lock " + path + ": " + std::strerror(errno));
}

SweepLock::~SweepLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock; the file stays (deleting it would race)
}

bool sweep_alive(const std::string& out, const std::string& sweep_id) {
  int fd = -1;
  try {
    fd = record::detail::open_side_file(lock_path(out), false, record::detail::kLockFileMode,
                                        output_owner(out));
  } catch (const std::exception&) {
    return true;  // cannot tell
  }
  if (fd < 0) return false;  // no lock file: no sweep
  bool alive = true;
  if (::flock(fd, LOCK_SH | LOCK_NB) == 0) {
    alive = false;  // nobody holds it: the sweep has ended
  } else if (errno == EWOULDBLOCK) {
    alive = read_all(fd).rfind(sweep_id + " ", 0) == 0;
  }
  ::close(fd);
  return alive;
}

}  // namespace corescope::sweep
