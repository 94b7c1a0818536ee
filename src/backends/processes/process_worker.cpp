// ProcessWorker: team-shared memory from the supervisor's pool, and the founding notes' lock
// across processes as flock() on a file.
#include "backends/processes/process_worker.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/errors.hpp"
#include "core/text.hpp"

namespace corescope::processes {

ProcessWorker::ProcessWorker(int id, int count, Channel& channel, WorkerResources resources)
    : Worker(id, count, id, 0), ch_(channel), res_(std::move(resources)) {
  // flock() locks belong to an open file description, so each worker opens the file itself
  // (an fd inherited through fork would share one lock between all workers).
  lock_fd_ = open(res_.lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0)
    throw RuntimeFailure("cannot open the team lock file " + res_.lock_path + ": " +
                         std::strerror(errno));
}

ProcessWorker::~ProcessWorker() {
  if (lock_fd_ >= 0) close(lock_fd_);
}

// Every worker calls this in the same order (it is collective), so every worker computes the
// same offset without talking; the pool is fresh, hence zeroed, and offsets are never reused.
void* ProcessWorker::do_team_shared(std::size_t bytes) {
  const std::size_t offset = (pool_used_ + 63) / 64 * 64;
  if (bytes > res_.pool_bytes || offset > res_.pool_bytes - bytes)
    throw RuntimeFailure("team-shared memory of the processes mode is limited to " +
                         human_bytes(static_cast<double>(res_.pool_bytes)) +
                         " per run (asked for " + human_bytes(static_cast<double>(bytes)) +
                         " more)");
  pool_used_ = offset + bytes;
  ch_.barrier();  // collective, as in every other mode
  return res_.pool + offset;
}

// The kernel drops a flock() when its holder dies, so a crashed worker never leaves the team
// locked out (a pthread mutex in shared memory would stay locked).
void ProcessWorker::do_team_lock() {
  while (flock(lock_fd_, LOCK_EX) != 0)
    if (errno != EINTR)
      throw RuntimeFailure(std::string("flock on the team lock failed: ") + std::strerror(errno));
}

void ProcessWorker::do_team_unlock() { flock(lock_fd_, LOCK_UN); }

}  // namespace corescope::processes
