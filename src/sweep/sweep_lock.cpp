// The sweep lock: flock on a never-deleted file beside the results file, holding the owner's id.
#include "sweep/sweep_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/errors.hpp"
#include "core/platform.hpp"

namespace corescope::sweep {

namespace {

std::string lock_path(const std::string& out) {
  const std::filesystem::path p(out);
  const std::string dir = p.parent_path().empty() ? "." : p.parent_path().string();
  return dir + "/." + p.filename().string() + ".sweep";
}

std::string read_all(int fd) {
  std::string text;
  char buf[256];
  ::lseek(fd, 0, SEEK_SET);
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
  return text;
}

bool unsupported(int e) { return e == ENOLCK || e == EOPNOTSUPP || e == ENOSYS || e == EINVAL; }

}  // namespace

SweepLock::SweepLock(const std::string& out, const std::string& sweep_id) {
  const std::string path = lock_path(out);
  // O_CLOEXEC: a cell that inherited the descriptor would keep the lock alive after the sweep died.
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw UsageError("cannot create the sweep lock " + path + ": " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    if (unsupported(e)) return;  // cannot lock here: run without the guard
    std::string owner = read_all(fd_);
    ::close(fd_);
    fd_ = -1;
    while (!owner.empty() && owner.back() == '\n') owner.pop_back();
    if (e == EWOULDBLOCK)
      throw UsageError("another corescope sweep is writing " + out + " (" + (owner.empty() ? "unknown" : owner) +
                       "); wait for it, or use another --out");
    throw UsageError("cannot lock " + path + ": " + std::strerror(e));
  }
  const std::string text = sweep_id + " pid " + std::to_string(platform::process_id()) + " on " + platform::hostname() + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
    throw RuntimeFailure("cannot write the sweep lock " + path + ": " + std::strerror(errno));
}

SweepLock::~SweepLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock; the file stays (deleting it would race)
}

bool sweep_alive(const std::string& out, const std::string& sweep_id) {
  const int fd = ::open(lock_path(out).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno != ENOENT;
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
