// Operating-system plumbing of the processes mode: POSIX shared-memory segments that leave no
// name behind, futex waits that work across processes, the team's private temp directory, fd
// helpers and wait-status text. Only the processes backend includes this file.
#pragma once
#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace corescope::processes {

// Thrown inside a worker when the team was aborted (the supervisor saw a worker die or fail) or
// a peer vanished (EOF on its pipe or socket). The worker itself did nothing wrong: it reports
// "aborted" and the supervisor reports the worker that caused it.
struct PeerLost : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The few words every worker and the supervisor share, in the team segment.
struct alignas(64) ControlBlock {
  std::atomic<std::uint32_t> aborted{0};  // 1 once the team must stop
};
static_assert(std::atomic<std::uint32_t>::is_always_lock_free, "futex words must be lock-free");

// How long one wait sleeps before it looks at the abort flag again. It bounds how long a worker
// takes to notice that the team was aborted when nobody wakes it explicitly.
constexpr int kAbortPollMs = 50;

// Throws PeerLost when the team was aborted.
void throw_if_aborted(const ControlBlock& control);

// Sleeps until *word != expected, a wake, or timeout_ms. Works across processes (a shared futex
// on Linux, a short sleep elsewhere); spurious returns are allowed, so callers re-check.
void wait_word(const std::atomic<std::uint32_t>& word, std::uint32_t expected, int timeout_ms);
// Wakes every process waiting on the word.
void wake_word(std::atomic<std::uint32_t>& word);

// A POSIX shared-memory segment (shm_open + mmap). The name is unlinked right after the mapping
// is made, before any worker exists: forked workers inherit the mapping, and nothing is left in
// /dev/shm whichever process dies, or when. Zero-filled; pages are taken from /dev/shm as they
// are first touched. The destructor unmaps (workers leave with _exit and never run it).
class SharedSegment {
 public:
  SharedSegment() = default;
  // UsageError with one clear line if /dev/shm has not `bytes` free; RuntimeFailure if
  // shm_open or mmap fail.
  SharedSegment(std::size_t bytes, const std::string& what);
  ~SharedSegment();
  SharedSegment(SharedSegment&& o) noexcept;
  SharedSegment& operator=(SharedSegment&& o) noexcept;
  SharedSegment(const SharedSegment&) = delete;
  SharedSegment& operator=(const SharedSegment&) = delete;

  std::byte* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

// Bytes free in the file system behind POSIX shared memory (/dev/shm), -1 if unknown.
std::int64_t shm_free_bytes();
// Throws UsageError (one line, before any worker starts) if a team needs more shared memory
// than /dev/shm has free.
void require_shm(std::size_t bytes, const std::string& what);

// The team's private directory under $TMPDIR (or /tmp): the team lock file and the file
// channel's messages live here. The destructor removes it with everything in it.
class TeamDir {
 public:
  TeamDir();  // UsageError with one clear line if the temp dir is not writable
  ~TeamDir();
  TeamDir(const TeamDir&) = delete;
  TeamDir& operator=(const TeamDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The directory temp files go to: $TMPDIR if set, else /tmp.
std::string temp_root();

// Reads/writes exactly n bytes on a blocking fd, retrying on EINTR. False on EOF or error.
bool write_all(int fd, const void* data, std::size_t n);
bool read_all(int fd, void* data, std::size_t n);
void set_nonblocking(int fd);
// Raises the soft limit on open files as far as the hard limit allows; returns the soft limit.
long raise_fd_limit();

// "exited with code 3", "killed by signal 9 (SIGKILL)" from a waitpid status.
std::string describe_wait_status(int status);

}  // namespace corescope::processes
