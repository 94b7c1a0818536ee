// Operating-system plumbing of the processes mode (POSIX; the futex is Linux's, with a portable
// sleep fallback).
#include "backends/processes/ipc.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/errors.hpp"
#include "core/text.hpp"

namespace corescope::processes {

void throw_if_aborted(const ControlBlock& control) {
  if (control.aborted.load(std::memory_order_acquire) != 0)
    throw PeerLost("aborted because another worker failed");
}

void wait_word(const std::atomic<std::uint32_t>& word, std::uint32_t expected, int timeout_ms) {
#if defined(__linux__)
  // A shared (not FUTEX_PRIVATE) futex: the kernel keys it by the physical page, so processes
  // that map the same segment at different addresses still meet.
  timespec ts{timeout_ms / 1000, static_cast<long>(timeout_ms % 1000) * 1000000L};
  syscall(SYS_futex, reinterpret_cast<const std::uint32_t*>(&word), FUTEX_WAIT, expected, &ts,
          nullptr, 0);
#else
  if (word.load(std::memory_order_acquire) == expected) {
    timespec ts{0, 50000};
    nanosleep(&ts, nullptr);
  }
#endif
}

void wake_word(std::atomic<std::uint32_t>& word) {
#if defined(__linux__)
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE, INT32_MAX, nullptr,
          nullptr, 0);
#else
  (void)word;
#endif
}

// --- shared memory ------------------------------------------------------------------------------

namespace {
// 64 random bits as 16 hex digits, from the kernel's generator.
std::string random_hex() {
  unsigned char bytes[8] = {};
  std::size_t got = 0;
  while (got < sizeof bytes) {
    const ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw RuntimeFailure(std::string("cannot read random bytes: ") + std::strerror(errno));
    got += static_cast<std::size_t>(n);
  }
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (const unsigned char b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}
}  // namespace

std::int64_t shm_free_bytes() {
  struct statvfs st {};
  if (statvfs("/dev/shm", &st) != 0) return -1;
  return static_cast<std::int64_t>(st.f_bavail) * static_cast<std::int64_t>(st.f_frsize);
}

void require_shm(std::size_t bytes, const std::string& what) {
  const std::int64_t free = shm_free_bytes();
  if (free >= 0 && static_cast<double>(bytes) > static_cast<double>(free))
    throw UsageError(what + " needs " + human_bytes(static_cast<double>(bytes)) +
                     " of shared memory but /dev/shm has " +
                     human_bytes(static_cast<double>(free)) +
                     " free (fewer --workers, another --channel, or a larger /dev/shm)");
}

SharedSegment::SharedSegment(std::size_t bytes, const std::string& what) {
  require_shm(bytes, what);
  // A name nobody can guess (another user could otherwise create it first and make the run
  // fail), created exclusively; a name taken anyway is retried with new random bits.
  std::string name;
  int fd = -1;
  for (int attempt = 0; fd < 0 && attempt < 16; ++attempt) {
    name = "/corescope-" + std::to_string(getpid()) + "-" + random_hex();
    fd = shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0)
    throw RuntimeFailure("cannot create the shared-memory segment for " + what + " (shm_open " +
                         name + "): " + std::strerror(errno));
  fchmod(fd, 0600);  // explicit, whatever the umask
  // Unlink at once: the open fd and the mappings keep the memory alive, the name is never seen
  // by anybody else and cannot outlive a crash.
  shm_unlink(name.c_str());
  if (ftruncate(fd, static_cast<off_t>(bytes)) != 0) {
    const int e = errno;
    close(fd);
    throw RuntimeFailure("cannot size the shared-memory segment for " + what + " to " +
                         human_bytes(static_cast<double>(bytes)) + ": " + std::strerror(e));
  }
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  const int e = errno;
  close(fd);
  if (p == MAP_FAILED)
    throw RuntimeFailure("cannot map the shared-memory segment for " + what + ": " +
                         std::strerror(e));
  data_ = static_cast<std::byte*>(p);
  size_ = bytes;
}

SharedSegment::~SharedSegment() {
  if (data_) munmap(data_, size_);
}

SharedSegment::SharedSegment(SharedSegment&& o) noexcept : data_(o.data_), size_(o.size_) {
  o.data_ = nullptr;
  o.size_ = 0;
}

SharedSegment& SharedSegment::operator=(SharedSegment&& o) noexcept {
  if (this != &o) {
    if (data_) munmap(data_, size_);
    data_ = o.data_;
    size_ = o.size_;
    o.data_ = nullptr;
    o.size_ = 0;
  }
  return *this;
}

// --- temp directory ----------------------------------------------------------------------------

std::string temp_root() {
  const char* t = std::getenv("TMPDIR");
  return (t && *t) ? t : "/tmp";
}

namespace {
// Removes a directory and everything below it (plain files and directories only).
void remove_tree(const std::string& path) {
  if (DIR* d = opendir(path.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      const std::string child = path + "/" + name;
      struct stat st {};
      if (lstat(child.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
        remove_tree(child);
      else
        unlink(child.c_str());
    }
    closedir(d);
  }
  rmdir(path.c_str());
}
}  // namespace

// Team directories of teams whose corescope process died (kill -9 skips every destructor):
// "corescope-<pid>-XXXXXX" directories of this user in `root` whose pid no longer exists.
static void remove_stale_team_dirs(const std::string& root) {
  DIR* d = opendir(root.c_str());
  if (!d) return;
  const std::string prefix = "corescope-";
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::size_t dash = name.find('-', prefix.size());
    const std::string digits =
        name.substr(prefix.size(), dash == std::string::npos ? 0 : dash - prefix.size());
    if (digits.empty() || digits.size() > 9 || name.size() != dash + 7 ||
        digits.find_first_not_of("0123456789") != std::string::npos)
      continue;
    const pid_t pid = static_cast<pid_t>(std::stol(digits));
    struct stat st {};
    const std::string path = root + "/" + name;
    if (pid == getpid() || lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
        st.st_uid != geteuid())
      continue;
    if (kill(pid, 0) != 0 && errno == ESRCH) remove_tree(path);
  }
  closedir(d);
}

TeamDir::TeamDir() {
  const std::string root = temp_root();
  remove_stale_team_dirs(root);
  std::string templ = root + "/corescope-" + std::to_string(getpid()) + "-XXXXXX";
  if (mkdtemp(templ.data()) == nullptr)
    throw UsageError("the processes mode cannot create its team directory in " + root + " (" +
                     std::strerror(errno) + "): set TMPDIR to a writable directory");
  path_ = templ;
}

TeamDir::~TeamDir() { remove_tree(path_); }

// --- fds -----------------------------------------------------------------------------------------

bool write_all(int fd, const void* data, std::size_t n) {
  const auto* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t k = write(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    p += k;
    n -= static_cast<std::size_t>(k);
  }
  return true;
}

bool read_all(int fd, void* data, std::size_t n) {
  auto* p = static_cast<char*>(data);
  while (n > 0) {
    const ssize_t k = read(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    p += k;
    n -= static_cast<std::size_t>(k);
  }
  return true;
}

void set_nonblocking(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

long raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit want = rl;
    want.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &want) == 0) rl = want;
  }
  return rl.rlim_cur == RLIM_INFINITY ? 1L << 20 : static_cast<long>(rl.rlim_cur);
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by " + signal_text(WTERMSIG(status));
  return "stopped (wait status " + std::to_string(status) + ")";
}

}  // namespace corescope::processes
