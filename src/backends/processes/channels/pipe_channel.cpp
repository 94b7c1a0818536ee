// The pipe channel: the founding notes' "message pipe". One anonymous pipe per direction of each
// worker pair, made by the supervisor before the fork and inherited; each worker keeps only the
// read ends of pipes to it and the write ends of pipes from it, so a worker that dies shows up
// as EOF at its peers. No name in the file system, so nothing can be left behind. The pipes
// keep the kernel's default buffer (64 KiB on Linux), as Python's multiprocessing does.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "backends/processes/channels/stream.hpp"
#include "core/errors.hpp"

namespace corescope::processes {

namespace {
class PipeTeam : public ChannelTeam {
 public:
  explicit PipeTeam(const TeamContext& team) : team_(team), fds_(team.workers) {
    const int n = team.workers;
    require_fds(2L * n * (n - 1) + 4L * n, "--channel pipe with " + std::to_string(n) + " workers");
    for (int a = 0; a < n; ++a)
      for (int b = 0; b < n; ++b) {
        if (a == b) continue;
        int p[2];
        if (pipe2(p, O_CLOEXEC) != 0)
          throw RuntimeFailure(std::string("cannot create a pipe for the pipe channel: ") +
                               std::strerror(errno));
        fds_.at(a, b, 0) = p[0];  // read end: worker b reads what a wrote
        fds_.at(a, b, 1) = p[1];  // write end: worker a writes to b
      }
  }

  std::unique_ptr<Channel> attach(int id) override {
    const int n = team_.workers;
    std::vector<int> in(static_cast<std::size_t>(n), -1), out(static_cast<std::size_t>(n), -1);
    for (int p = 0; p < n; ++p) {
      if (p == id) continue;
      in[static_cast<std::size_t>(p)] = fds_.at(p, id, 0);
      out[static_cast<std::size_t>(p)] = fds_.at(id, p, 1);
    }
    std::vector<int> keep(in);
    keep.insert(keep.end(), out.begin(), out.end());
    fds_.close_all_but(keep);
    return std::make_unique<StreamChannel>(id, team_, std::move(in), std::move(out));
  }

  void after_fork() override { fds_.close_all(); }

 private:
  TeamContext team_;
  FdTable fds_;
};
}  // namespace

std::unique_ptr<ChannelTeam> make_pipe_channel(const TeamContext& team) {
  return std::make_unique<PipeTeam>(team);
}

}  // namespace corescope::processes
