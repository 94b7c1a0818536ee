// What the pipe and socket channels share: framed messages over non-blocking file descriptors,
// one (read fd, write fd) per peer, with poll() waits that notice an aborted team and EOF from a
// dead peer. sendrecv moves both directions at once, so two workers exchanging messages larger
// than the kernel's buffer cannot deadlock.
#pragma once
#include <vector>

#include "backends/processes/channels/channel.hpp"

namespace corescope::processes {

class StreamChannel : public Channel {
 public:
  // in[p] / out[p]: the fds this worker reads from and writes to peer p (-1 for itself). The
  // channel owns them and makes them non-blocking. Pipes pass two fds, sockets one fd twice.
  StreamChannel(int id, const TeamContext& team, std::vector<int> in, std::vector<int> out);
  ~StreamChannel() override;

  void sendrecv(int dest, const void* send_data, std::size_t send_bytes, int src, void* recv_data,
                std::size_t recv_bytes) override;

 protected:
  void post(int dest, Tag tag, const void* data, std::size_t bytes) override;
  void take(int src, Tag tag, void* data, std::size_t bytes) override;

 private:
  std::vector<int> in_, out_;
};

// The fd-table bookkeeping pipe and socket teams share: N x N slots, closed on request.
class FdTable {
 public:
  explicit FdTable(int n)
      : n_(n), fds_(static_cast<std::size_t>(n) * static_cast<std::size_t>(n) * 2, -1) {}
  ~FdTable() { close_all(); }
  FdTable(const FdTable&) = delete;
  FdTable& operator=(const FdTable&) = delete;
  // Slot k (0 or 1) of pair (a, b).
  int& at(int a, int b, int k) {
    return fds_[(static_cast<std::size_t>(a) * static_cast<std::size_t>(n_) +
                 static_cast<std::size_t>(b)) *
                    2 +
                static_cast<std::size_t>(k)];
  }
  // Closes every fd except those in `keep`.
  void close_all_but(const std::vector<int>& keep);
  void close_all() { close_all_but({}); }

 private:
  int n_;
  std::vector<int> fds_;
};

// UsageError unless `needed` descriptors fit under the open-files limit (raised if possible).
void require_fds(long needed, const std::string& what);

}  // namespace corescope::processes
