// The file channel: the founding notes' "a file on the disk". Every message is one file in the
// receiver's inbox directory inside the team's temp dir. The protocol (docs/user/processes.md) is
// race-free without any lock:
//   1. the sender writes header + payload to  to-D/from-S-N.tmp  (opened O_CREAT|O_EXCL, so it
//      can never share a half-written file with anybody), closes it, and
//   2. renames it to  to-D/from-S-N.msg . rename() within one directory is atomic: the .msg
//      name either does not exist or names the complete file.
//   3. The receiver only ever opens .msg names, reads the file, checks the header, and unlinks
//      it. N counts the messages from S to D on both sides, so names never repeat and messages
//      between a pair stay in order.
// No fsync: the files are a way to talk, not data to keep, so the page cache is the medium
// (fsync would time the disk instead). The receiver waits with inotify (IN_MOVED_TO on its
// inbox) after a short retry; elsewhere it polls. The supervisor deletes the whole directory
// after the team ends, also when a worker died halfway through a message.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/inotify.h>
#endif

#include <cerrno>
#include <cstring>

#include "backends/processes/channels/channel.hpp"
#include "core/errors.hpp"

namespace corescope::processes {

namespace {
constexpr int kQuickRetries = 32;  // re-open attempts before sleeping on inotify

std::string inbox(const TeamContext& team, int id) {
  return team.dir + "/to-" + std::to_string(id);
}

class FileChannel : public Channel {
 public:
  FileChannel(int id, const TeamContext& team)
      : Channel(id, team),
        inbox_(inbox(team, id)),
        sent_(static_cast<std::size_t>(team.workers), 0),
        received_(static_cast<std::size_t>(team.workers), 0) {
#if defined(__linux__)
    notify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (notify_fd_ >= 0 && inotify_add_watch(notify_fd_, inbox_.c_str(), IN_MOVED_TO) < 0) {
      close(notify_fd_);
      notify_fd_ = -1;
    }
#endif
  }
  ~FileChannel() override {
    if (notify_fd_ >= 0) close(notify_fd_);
  }

 protected:
  void post(int dest, Tag tag, const void* data, std::size_t bytes) override {
    const std::string base = inbox(team(), dest) + "/from-" + std::to_string(id()) + "-" +
                             std::to_string(sent_[static_cast<std::size_t>(dest)]++);
    const std::string tmp = base + ".tmp";
    const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) fail("create", tmp);
    MessageHeader h{tag, static_cast<std::uint32_t>(id()), bytes};
    iovec iov[2] = {{&h, sizeof h}, {const_cast<void*>(data), bytes}};
    ssize_t k;
    do k = writev(fd, iov, 2);
    while (k < 0 && errno == EINTR);
    // A regular file takes it all at once unless the disk is full; finish a short write by hand.
    const std::size_t done = k < 0 ? 0 : static_cast<std::size_t>(k);
    const bool ok =
        k >= 0 &&
        (done >= sizeof h || write_all(fd, reinterpret_cast<char*>(&h) + done, sizeof h - done)) &&
        write_all(fd, static_cast<const char*>(data) + (done > sizeof h ? done - sizeof h : 0),
                  bytes - (done > sizeof h ? done - sizeof h : 0));
    if (!ok) {
      const int e = errno;
      close(fd);
      errno = e;
      fail("write", tmp);
    }
    if (close(fd) != 0) fail("close", tmp);
    if (rename(tmp.c_str(), (base + ".msg").c_str()) != 0) fail("rename", tmp);
  }

  void take(int src, Tag tag, void* data, std::size_t bytes) override {
    const std::string path = inbox_ + "/from-" + std::to_string(src) + "-" +
                             std::to_string(received_[static_cast<std::size_t>(src)]++) + ".msg";
    int fd;
    for (int attempt = 0;; ++attempt) {
      fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd >= 0) break;
      if (errno != ENOENT && errno != EINTR) fail("open", path);
      if (attempt < kQuickRetries) {
        sched_yield();
        continue;
      }
      wait_for_arrival();
    }
    struct Closer {
      int fd;
      ~Closer() { close(fd); }
    } closer{fd};
    MessageHeader h{};
    if (!read_all(fd, &h, sizeof h)) throw RuntimeFailure("message file " + path + " is truncated");
    check_header(h, src, id(), tag, bytes);
    if (!read_all(fd, data, bytes)) throw RuntimeFailure("message file " + path + " is truncated");
    unlink(path.c_str());
  }

 private:
  // Sleeps until something is renamed into the inbox (or a short while passes); throws when
  // the team was aborted.
  void wait_for_arrival() {
    throw_if_aborted();
    if (notify_fd_ < 0) {
      timespec ts{0, 50000};
      nanosleep(&ts, nullptr);
      return;
    }
    pollfd p{notify_fd_, POLLIN, 0};
    if (poll(&p, 1, kAbortPollMs) > 0) {
      alignas(8) char events[4096];
      while (read(notify_fd_, events, sizeof events) > 0) {
      }
    }
  }

  [[noreturn]] void fail(const char* what, const std::string& path) const {
    throw RuntimeFailure(std::string("file channel: cannot ") + what + " " + path + ": " +
                         std::strerror(errno));
  }

  std::string inbox_;
  std::vector<std::uint64_t> sent_, received_;  // messages so far, per peer
  int notify_fd_ = -1;
};

class FileTeam : public ChannelTeam {
 public:
  explicit FileTeam(const TeamContext& team) : team_(team) {
    for (int w = 0; w < team.workers; ++w)
      if (mkdir(inbox(team, w).c_str(), 0700) != 0)
        throw UsageError("file channel: cannot create " + inbox(team, w) + ": " +
                         std::strerror(errno) + " (set TMPDIR to a writable directory)");
  }
  std::unique_ptr<Channel> attach(int id) override {
    return std::make_unique<FileChannel>(id, team_);
  }

 private:
  TeamContext team_;
};
}  // namespace

std::unique_ptr<ChannelTeam> make_file_channel(const TeamContext& team) {
  return std::make_unique<FileTeam>(team);
}

}  // namespace corescope::processes
