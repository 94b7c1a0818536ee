// The Worker of the processes mode: one forked process. Team operations go through the chosen
// channel; team-shared memory is carved from a POSIX shared-memory pool the supervisor mapped
// before the fork; the team lock is flock() on a lock file in the team's temp dir.
#pragma once
#include <cstddef>
#include <string>

#include "backends/processes/channels/channel.hpp"
#include "core/worker.hpp"

namespace corescope::processes {

// What the supervisor hands every worker besides its channel.
struct WorkerResources {
  std::string channel_name;
  std::byte* pool = nullptr;  // team-shared memory, zero-filled, mapped in every worker
  std::size_t pool_bytes = 0;
  std::string lock_path;  // the team lock file
};

class ProcessWorker : public Worker {
 public:
  ProcessWorker(int id, int count, Channel& channel, WorkerResources resources);
  ~ProcessWorker() override;
  std::string channel() const override { return res_.channel_name; }

 protected:
  void do_barrier() override { ch_.barrier(); }
  void do_allreduce(std::span<double> v, Op op) override { ch_.allreduce(v, op); }
  void do_send(int dest, const void* d, std::size_t n) override { ch_.send(dest, d, n); }
  void do_recv(int src, void* d, std::size_t n) override { ch_.recv(src, d, n); }
  void do_sendrecv(int dest, const void* sd, std::size_t sn, int src, void* rd,
                   std::size_t rn) override {
    ch_.sendrecv(dest, sd, sn, src, rd, rn);
  }
  void* do_team_shared(std::size_t bytes) override;
  std::string team_memory_kind() const override { return "shm"; }
  void do_team_lock() override;
  void do_team_unlock() override;

 private:
  Channel& ch_;
  WorkerResources res_;
  std::size_t pool_used_ = 0;
  int lock_fd_ = -1;
};

}  // namespace corescope::processes
