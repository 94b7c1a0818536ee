// Writing an append into the results file itself, after a journal. See journal.hpp.
#include "record/journal.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <cstring>
#include <utility>
#include <vector>

#include "core/errors.hpp"

namespace corescope::record::detail {

namespace {

// ---------------------------------------------------------------- the journal's bytes
//
// "CSJRNL1\n", kind, the file's state (dev, ino, size, mtime_ns), schema_version, the length
// after the pages, the number of pages, then each page (index, kPageBytes bytes), and a
// checksum of everything before it; integers are 64-bit little-endian.

constexpr char kMagic[8] = {'C', 'S', 'J', 'R', 'N', 'L', '1', '\n'};
enum Kind : std::uint64_t { kPending = 1, kRecord = 2 };
constexpr std::size_t kStateAt = sizeof kMagic + 8;  // where the state starts
const unsigned char kSignature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

struct Journal {
  std::uint64_t kind = 0;
  FileState file;  // pending: the file before the pages; a record: the file as corescope left it
  std::int64_t version = 0;
  std::uint64_t size = 0;
  Pages pages;
};

void put_u64(unsigned char* at, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) at[i] = static_cast<unsigned char>(v >> (8 * i));
}
void put_u64(std::vector<unsigned char>& out, std::uint64_t v) {
  out.resize(out.size() + 8);
  put_u64(out.data() + out.size() - 8, v);
}
void put_state(unsigned char* at, const FileState& s) {
  put_u64(at, s.dev);
  put_u64(at + 8, s.ino);
  put_u64(at + 16, s.size);
  put_u64(at + 24, static_cast<std::uint64_t>(s.mtime_ns));
}

std::uint64_t checksum(const unsigned char* data, std::size_t n) {
  std::uint64_t h = 1469598103934665603ull;
  for (std::size_t i = 0; i < n; ++i) h = (h ^ data[i]) * 1099511628211ull;
  return h;
}

std::vector<unsigned char> encode(Kind kind, const FileState& file, std::int64_t version,
                                  std::uint64_t size, const Pages& pages) {
  std::vector<unsigned char> out(kMagic, kMagic + sizeof kMagic);
  put_u64(out, kind);
  out.resize(out.size() + 32);
  put_state(out.data() + kStateAt, file);
  put_u64(out, static_cast<std::uint64_t>(version));
  put_u64(out, size);
  put_u64(out, pages.size());
  for (const auto& [index, page] : pages) {
    CS_CHECK(page.size() == kPageBytes);
    put_u64(out, index);
    out.insert(out.end(), page.begin(), page.end());
  }
  put_u64(out, checksum(out.data(), out.size()));
  return out;
}

struct Reader {
  const std::vector<unsigned char>& in;
  std::size_t at = 0;
  bool ok = true;
  std::uint64_t u64() {
    if (at + 8 > in.size()) {
      ok = false;
      return 0;
    }
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(in[at + i]) << (8 * i);
    at += 8;
    return v;
  }
};

std::optional<Journal> decode(const std::vector<unsigned char>& bytes) {
  if (bytes.size() < sizeof kMagic + 8 || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    return std::nullopt;
  const std::size_t body = bytes.size() - 8;
  Reader tail{bytes, body};
  if (tail.u64() != checksum(bytes.data(), body)) return std::nullopt;
  Reader r{bytes, sizeof kMagic};
  Journal j;
  j.kind = r.u64();
  j.file = FileState{r.u64(), r.u64(), r.u64(), static_cast<std::int64_t>(r.u64())};
  j.version = static_cast<std::int64_t>(r.u64());
  j.size = r.u64();
  const std::uint64_t count = r.u64();
  if (!r.ok || (j.kind != kPending && j.kind != kRecord) || count > body / kPageBytes)
    return std::nullopt;
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint64_t index = r.u64();
    if (!r.ok || r.at + kPageBytes > body) return std::nullopt;
    j.pages[index].assign(bytes.begin() + static_cast<std::ptrdiff_t>(r.at),
                          bytes.begin() + static_cast<std::ptrdiff_t>(r.at + kPageBytes));
    r.at += kPageBytes;
  }
  if (r.at != body) return std::nullopt;
  return j;
}

std::string journal_path(const Target& t) { return side_path(t, ".journal"); }

// nullopt when absent, a symbolic link, not a regular file of ours or `owner`, or incomplete.
std::optional<Journal> read_journal(const Target& t, uid_t owner) {
  Fd fd(::open(journal_path(t).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  struct stat st {};
  if (fd.get() < 0 || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
      (st.st_uid != ::geteuid() && st.st_uid != owner) || st.st_size > (1LL << 31))
    return std::nullopt;
  std::vector<unsigned char> bytes(static_cast<std::size_t>(st.st_size));
  for (std::size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::read(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    done += static_cast<std::size_t>(n);
  }
  return decode(bytes);
}

// The journal file, created afresh (O_EXCL, O_NOFOLLOW, mode 0600) with `bytes`, synced when
// `sync`; -1 with errno set, and nothing left behind, when it cannot be.
int create_journal(const Target& t, const std::vector<unsigned char>& bytes, bool sync) {
  const std::string path = journal_path(t);
  ::unlink(path.c_str());  // a link is removed, never followed
  const int fd =
      ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, kTempFileMode);
  if (fd < 0) return -1;
  if (::fchmod(fd, kTempFileMode) != 0 || !write_all(fd, bytes.data(), bytes.size(), 0) ||
      (sync && ::fsync(fd) != 0)) {
    const int e = errno;
    ::close(fd);
    ::unlink(path.c_str());
    errno = e;
    return -1;
  }
  return fd;
}

bool signature_intact(int fd) {
  unsigned char head[8] = {};
  return ::pread(fd, head, sizeof head, 0) == 8 && std::memcmp(head, kSignature, 8) == 0;
}

// ---------------------------------------------------------------- the finisher
//
// What runs after fork() uses system calls only (no allocation, no locks, no exceptions): the
// writer may have threads, and any of them may hold a lock the child would wait for forever.

// CORESCOPE_TEST_FINISHER, for tests only: "die" kills the finisher and "pause" holds it for a
// second, right after it cleared the signature; "nofork" acts as if fork() failed
// (tests/unit/test_recorder.cpp, "finisher").
enum class Hook { kNone, kDie, kPause, kNoFork };
Hook test_hook() {
  const char* v = std::getenv("CORESCOPE_TEST_FINISHER");
  if (!v) return Hook::kNone;
  for (const auto& [name, hook] : {std::pair{"die", Hook::kDie}, std::pair{"pause", Hook::kPause},
                                   std::pair{"nofork", Hook::kNoFork}})
    if (std::strcmp(v, name) == 0) return hook;
  return Hook::kNone;
}

// The pages into the file, the first one last after its signature was cleared, the length,
// fsync. Returns 0 or an errno.
int apply(int fd, const Pages& pages, std::uint64_t size, Hook hook = Hook::kNone) {
  const auto first = pages.find(0);
  if (first == pages.end()) return EINVAL;
  const unsigned char cleared[8] = {};
  if (!write_all(fd, cleared, sizeof cleared, 0)) return errno ? errno : EIO;
  if (hook == Hook::kDie) ::kill(::getpid(), SIGKILL);
  if (hook == Hook::kPause) {
    timespec second{1, 0};
    while (::nanosleep(&second, &second) != 0 && errno == EINTR) {
    }
  }
  for (const auto& [index, page] : pages) {
    const std::uint64_t at = index * kPageBytes;
    if (index == 0 || at >= size) continue;
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kPageBytes, size - at));
    if (!write_all(fd, page.data(), n, static_cast<off_t>(at))) return errno ? errno : EIO;
  }
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) return errno;
  const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kPageBytes, size));
  if (!write_all(fd, first->second.data(), n, 0)) return errno ? errno : EIO;
  return ::fsync(fd) == 0 ? 0 : errno;
}

// Turns the journal into the record of the file as it is now: `record` is an encoded record
// whose state is filled in here. Best effort (without it the next append checks the file).
void write_record(int file_fd, int journal_fd, std::vector<unsigned char>& record) {
  struct stat st {};
  if (::fstat(file_fd, &st) != 0) return;
  put_state(record.data() + kStateAt, state_of_stat(st));
  const std::size_t body = record.size() - 8;
  put_u64(record.data() + body, checksum(record.data(), body));
  if (write_all(journal_fd, record.data(), record.size(), 0)) {
    [[maybe_unused]] const int rc = ::ftruncate(journal_fd, static_cast<off_t>(record.size()));
  }
}

int write_here(int file_fd, int journal_fd, const Pages& pages, std::uint64_t size,
               std::vector<unsigned char>& record, Hook hook = Hook::kNone) {
  const int e = apply(file_fd, pages, size, hook);
  if (e == 0) write_record(file_fd, journal_fd, record);
  return e;
}

// Runs apply() and write_record() in a child process that the writer waits for: a writer killed
// meanwhile (kill -9, Ctrl-C) leaves the child to finish. Where no child can be made (a process
// limit, or memory under strict overcommit), the writer writes the pages itself. Returns 0 or an
// errno (ECHILD: the child died before it said how it went).
int run_finisher(int file_fd, int journal_fd, const Pages& pages, std::uint64_t size,
                 std::vector<unsigned char>& record) {
  const Hook hook = test_hook();
  int channel[2];
  const bool piped = ::pipe2(channel, O_CLOEXEC) == 0;
  const pid_t child = piped && hook != Hook::kNoFork ? ::fork() : -1;
  if (child < 0) {
    if (piped) {
      ::close(channel[0]);
      ::close(channel[1]);
    }
    return write_here(file_fd, journal_fd, pages, size, record);
  }
  if (child == 0) {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    for (const int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE})
      ::sigaction(s, &ignore, nullptr);
    int e = write_here(file_fd, journal_fd, pages, size, record, hook);
    [[maybe_unused]] const ssize_t n = ::write(channel[1], &e, sizeof e);
    ::_exit(e == 0 ? 0 : 1);
  }
  ::close(channel[1]);
  int e = ECHILD;
  for (;;) {
    const ssize_t n = ::read(channel[0], &e, sizeof e);
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof e)) e = ECHILD;
    break;
  }
  ::close(channel[0]);
  while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
  }
  return e;
}

// False when another process holds a lock on the file (an HDF5 reader has it open). A file
// system without flock has no readers' locks either: the append goes on in place.
bool lock_now(int fd) {
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0)
    if (errno != EINTR) return errno != EWOULDBLOCK;
  return true;
}

}  // namespace

std::optional<Written> last_written(const Target& t, uid_t owner) {
  const auto j = read_journal(t, owner);
  if (!j || j->kind != kRecord) return std::nullopt;
  return Written{j->file, j->version};
}

void note_written(const Target& t, std::int64_t version) {
  const auto now = state_of(t.file);
  if (!now) return;
  const int fd = create_journal(t, encode(kRecord, *now, version, now->size, {}), false);
  if (fd >= 0) ::close(fd);
}

namespace {
bool interrupted(const Target& t, uid_t owner) {
  const auto j = read_journal(t, owner);
  if (!j || j->kind != kPending) return false;
  Fd fd(::open(t.file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  struct stat st {};
  return fd.get() >= 0 && ::fstat(fd.get(), &st) == 0 &&
         static_cast<std::uint64_t>(st.st_dev) == j->file.dev &&
         static_cast<std::uint64_t>(st.st_ino) == j->file.ino && !signature_intact(fd.get());
}

}  // namespace

void complete_if_interrupted(const Target& t, uid_t owner, const std::string& shown) {
  if (!interrupted(t, owner)) return;
  WriterLock lock(t, owner);
  complete_interrupted(t, owner, shown);
}

void complete_interrupted(const Target& t, uid_t owner, const std::string& shown) {
  const std::string path = journal_path(t);
  const auto j = read_journal(t, owner);
  if (!j) {
    ::unlink(path.c_str());  // an incomplete journal: the file was not touched
    return;
  }
  if (j->kind != kPending) return;
  Fd fd(::open(t.file.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0 && errno != ENOENT)
    throw UsageError("an append to " + shown + " was interrupted while it wrote the file, which " +
                     "cannot be read until a user who can write it runs a corescope command " +
                     "that writes it (corescope compact " + shown + "): " + error_text(errno));
  struct stat st {};
  // A file replaced since, or one whose signature is whole (the finisher completed the pages, or
  // never began): nothing to complete, and the journal is not the file's any more.
  if (fd.get() < 0 || ::fstat(fd.get(), &st) != 0 ||
      static_cast<std::uint64_t>(st.st_dev) != j->file.dev ||
      static_cast<std::uint64_t>(st.st_ino) != j->file.ino || signature_intact(fd.get())) {
    ::unlink(path.c_str());
    return;
  }
  if (const int e = apply(fd.get(), j->pages, j->size); e != 0)
    throw RuntimeFailure("cannot complete the interrupted append to " + shown + ": " +
                         error_text(e) + " (its pages are kept in " + path + ")");
  note_written(t, j->version);
}

bool write_in_place(const Target& t, int fd, const Changes& changes, std::int64_t version,
                    const std::string& shown) {
  CS_CHECK(changes.pages.count(0) == 1);
  if (!lock_now(fd)) return false;
  struct Unlock {
    int fd;
    ~Unlock() { ::flock(fd, LOCK_UN); }
  } unlock{fd};
  const FileState before = state_of_fd(fd);
  if (changes.size > before.size) {
    // Reserved first, without changing the length: a full disk fails here, the file untouched.
    const off_t grow = static_cast<off_t>(changes.size - before.size);
    if (::fallocate(fd, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(before.size), grow) != 0 &&
        (errno == ENOSPC || errno == EDQUOT))
      no_space(shown, t.dir, static_cast<std::size_t>(grow), fd);
  }
  const std::vector<unsigned char> bytes =
      encode(kPending, before, version, changes.size, changes.pages);
  Fd journal(create_journal(t, bytes, true));
  if (journal.get() < 0) {
    if (errno == ENOSPC || errno == EDQUOT) no_space(shown, t.dir, bytes.size(), fd);
    throw RuntimeFailure("cannot write " + journal_path(t) + ": " + error_text(errno) + "; " +
                         shown + " is unchanged");
  }
  fsync_path(t.dir, true);
  std::vector<unsigned char> record = encode(kRecord, {}, version, changes.size, {});
  if (const int e = run_finisher(fd, journal.get(), changes.pages, changes.size, record); e != 0)
    throw RuntimeFailure(
        "cannot write " + shown + ": " +
        (e == ECHILD ? std::string("the process writing it died") : error_text(e)) +
        "; the next corescope command that reads or writes it completes the " + "append from " +
        journal_path(t));
  return true;
}

}  // namespace corescope::record::detail
