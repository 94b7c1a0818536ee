// The socket channel: Unix domain stream sockets, one connected pair (socketpair) per worker
// pair, made by the supervisor before the fork. Both directions share one socket, as two
// processes talking over a local socket do; the pair has no path in the file system, so no
// socket file can be left behind. A dead peer shows up as EOF or ECONNRESET.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "backends/processes/channels/stream.hpp"
#include "core/errors.hpp"

namespace corescope::processes {

namespace {
class SocketTeam : public ChannelTeam {
 public:
  explicit SocketTeam(const TeamContext& team) : team_(team), fds_(team.workers) {
    const int n = team.workers;
    require_fds(1L * n * (n - 1) + 4L * n,
                "--channel socket with " + std::to_string(n) + " workers");
    for (int a = 0; a < n; ++a)
      for (int b = a + 1; b < n; ++b) {
        int s[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s) != 0)
          throw RuntimeFailure(std::string("cannot create a socket pair for the socket channel: ") +
                               std::strerror(errno));
        fds_.at(a, b, 0) = s[0];  // worker a's end
        fds_.at(b, a, 0) = s[1];  // worker b's end
      }
  }

  std::unique_ptr<Channel> attach(int id) override {
    const int n = team_.workers;
    std::vector<int> ends(static_cast<std::size_t>(n), -1);
    for (int p = 0; p < n; ++p)
      if (p != id) ends[static_cast<std::size_t>(p)] = fds_.at(id, p, 0);
    fds_.close_all_but(ends);
    return std::make_unique<StreamChannel>(id, team_, ends, ends);
  }

  void after_fork() override { fds_.close_all(); }

 private:
  TeamContext team_;
  FdTable fds_;
};
}  // namespace

std::unique_ptr<ChannelTeam> make_socket_channel(const TeamContext& team) {
  return std::make_unique<SocketTeam>(team);
}

}  // namespace corescope::processes
