// Framed messages over non-blocking fds with poll() waits (the pipe and socket channels).
#include "backends/processes/channels/stream.hpp"

#include <poll.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/errors.hpp"

namespace corescope::processes {

namespace {
constexpr std::size_t kHeader = sizeof(MessageHeader);

// One message leaving: header then payload, written as far as the fd takes it.
struct Outgoing {
  MessageHeader h;
  const std::byte* data;
  std::size_t done = 0;  // bytes of header + payload written

  bool complete() const { return done == kHeader + h.bytes; }
  // Writes what the fd accepts; false when it would block.
  bool step(int fd, int peer) {
    while (!complete()) {
      iovec iov[2];
      int n = 0;
      if (done < kHeader) {
        iov[n++] = {reinterpret_cast<char*>(&h) + done, kHeader - done};
        if (h.bytes) iov[n++] = {const_cast<std::byte*>(data), h.bytes};
      } else {
        iov[n++] = {const_cast<std::byte*>(data) + (done - kHeader), h.bytes - (done - kHeader)};
      }
      const ssize_t k = writev(fd, iov, n);
      if (k < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
        if (errno == EPIPE || errno == ECONNRESET)
          throw PeerLost("worker " + std::to_string(peer) +
                         " is gone (its end of the channel closed)");
        throw RuntimeFailure(std::string("writing to worker ") + std::to_string(peer) + ": " +
                             std::strerror(errno));
      }
      done += static_cast<std::size_t>(k);
    }
    return true;
  }
};

// One message arriving: the header is checked as soon as it is in, before the payload is trusted.
struct Incoming {
  MessageHeader h{};
  std::byte* data;
  std::size_t bytes;
  Tag tag;
  int src, me;
  std::size_t done = 0;
  bool checked = false;

  bool complete() const { return done == kHeader + bytes; }
  bool step(int fd) {
    while (!complete()) {
      iovec iov[2];
      int n = 0;
      if (done < kHeader) {
        iov[n++] = {reinterpret_cast<char*>(&h) + done, kHeader - done};
        if (bytes) iov[n++] = {data, bytes};
      } else {
        iov[n++] = {data + (done - kHeader), bytes - (done - kHeader)};
      }
      const ssize_t k = readv(fd, iov, n);
      if (k == 0)
        throw PeerLost("worker " + std::to_string(src) +
                       " closed its end of the channel (it exited or died)");
      if (k < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
        if (errno == ECONNRESET)
          throw PeerLost("worker " + std::to_string(src) + " is gone (connection reset)");
        throw RuntimeFailure(std::string("reading from worker ") + std::to_string(src) + ": " +
                             std::strerror(errno));
      }
      done += static_cast<std::size_t>(k);
      if (!checked && done >= kHeader) {
        check_header(h, src, me, tag, bytes);
        checked = true;
      }
    }
    return true;
  }
};
}  // namespace

StreamChannel::StreamChannel(int id, const TeamContext& team, std::vector<int> in,
                             std::vector<int> out)
    : Channel(id, team), in_(std::move(in)), out_(std::move(out)) {
  for (int fd : in_)
    if (fd >= 0) set_nonblocking(fd);
  for (int fd : out_)
    if (fd >= 0) set_nonblocking(fd);
}

StreamChannel::~StreamChannel() {
  for (std::size_t p = 0; p < in_.size(); ++p) {
    if (in_[p] >= 0) close(in_[p]);
    if (out_[p] >= 0 && out_[p] != in_[p]) close(out_[p]);
  }
}

void StreamChannel::post(int dest, Tag tag, const void* data, std::size_t bytes) {
  Outgoing out{{tag, static_cast<std::uint32_t>(id()), bytes}, static_cast<const std::byte*>(data)};
  const int fd = out_[static_cast<std::size_t>(dest)];
  while (!out.step(fd, dest)) {
    pollfd p{fd, POLLOUT, 0};
    if (poll(&p, 1, kAbortPollMs) == 0) throw_if_aborted();
  }
}

void StreamChannel::take(int src, Tag tag, void* data, std::size_t bytes) {
  Incoming in{{}, static_cast<std::byte*>(data), bytes, tag, src, id()};
  const int fd = in_[static_cast<std::size_t>(src)];
  while (!in.step(fd)) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, kAbortPollMs) == 0) throw_if_aborted();
  }
}

void StreamChannel::sendrecv(int dest, const void* send_data, std::size_t send_bytes, int src,
                             void* recv_data, std::size_t recv_bytes) {
  Outgoing out{{Tag::p2p, static_cast<std::uint32_t>(id()), send_bytes},
               static_cast<const std::byte*>(send_data)};
  Incoming in{{}, static_cast<std::byte*>(recv_data), recv_bytes, Tag::p2p, src, id()};
  const int wfd = out_[static_cast<std::size_t>(dest)], rfd = in_[static_cast<std::size_t>(src)];
  bool sent = out.step(wfd, dest), received = in.step(rfd);
  while (!sent || !received) {
    pollfd p[2];
    int n = 0;
    if (!sent) p[n++] = {wfd, POLLOUT, 0};
    if (!received) p[n++] = {rfd, POLLIN, 0};
    if (poll(p, static_cast<nfds_t>(n), kAbortPollMs) == 0) throw_if_aborted();
    if (!sent) sent = out.step(wfd, dest);
    if (!received) received = in.step(rfd);
  }
}

void FdTable::close_all_but(const std::vector<int>& keep) {
  for (int& fd : fds_) {
    if (fd < 0) continue;
    if (std::find(keep.begin(), keep.end(), fd) == keep.end()) close(fd);
    fd = -1;  // kept fds now belong to the worker's channel
  }
}

void require_fds(long needed, const std::string& what) {
  const long limit = raise_fd_limit();
  if (needed + 64 > limit)
    throw UsageError(what + " needs about " + std::to_string(needed) +
                     " open files but the limit is " + std::to_string(limit) +
                     " (ulimit -n): use fewer --workers or --channel shm");
}

}  // namespace corescope::processes
