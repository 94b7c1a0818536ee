// The processes mode's IPC channels: how forked workers pass messages and run collectives.
// A channel is one file in this folder (shm, pipe, file, socket) plus one line in the table in
// channel.cpp. Each has two halves:
//   ChannelTeam  built by the supervisor before it forks (pipes, socket pairs, shared rings...),
//                inherited by every worker;
//   Channel      one worker's endpoint, made in the worker after the fork by ChannelTeam::attach.
// Barrier and allreduce default to messages through worker 0 (so they really go through the
// channel); a channel with something better (shm) overrides them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "backends/processes/ipc.hpp"
#include "core/worker.hpp"

namespace corescope::processes {

// What every channel of a team knows about the team.
struct TeamContext {
  int workers = 0;
  std::string dir;                        // the team's private temp directory
  const ControlBlock* control = nullptr;  // the abort flag, in shared memory
};

// Every message starts with this header (16 bytes), so a receiver can tell a point-to-point
// message from a collective's and a wrong size from a right one before it trusts the payload.
enum class Tag : std::uint32_t { p2p = 0x70327031u, collective = 0x636f6c31u };
struct MessageHeader {
  Tag tag;
  std::uint32_t from;
  std::uint64_t bytes;
};
static_assert(sizeof(MessageHeader) == 16);

// Throws RuntimeFailure unless `got` is the message `want_tag`/`want_bytes` from `src`.
void check_header(const MessageHeader& got, int src, int me, Tag want_tag, std::size_t want_bytes);

class Channel {
 public:
  Channel(int id, const TeamContext& team) : id_(id), team_(team) {}
  virtual ~Channel() = default;
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Blocking point-to-point; messages between one (src, dest) pair arrive in order.
  void send(int dest, const void* data, std::size_t bytes) { post(dest, Tag::p2p, data, bytes); }
  void recv(int src, void* data, std::size_t bytes) { take(src, Tag::p2p, data, bytes); }
  // Send and receive at once without deadlock, however large the messages. The default posts
  // first, which is right for channels whose post never waits for the receiver (file).
  virtual void sendrecv(int dest, const void* send_data, std::size_t send_bytes, int src,
                        void* recv_data, std::size_t recv_bytes);
  virtual void barrier();
  // Reduced in worker order on worker 0 and sent back, so every worker gets identical bits.
  virtual void allreduce(std::span<double> values, Op op);

 protected:
  virtual void post(int dest, Tag tag, const void* data, std::size_t bytes) = 0;
  virtual void take(int src, Tag tag, void* data, std::size_t bytes) = 0;
  void throw_if_aborted() const { processes::throw_if_aborted(*team_.control); }
  int id() const { return id_; }
  int workers() const { return team_.workers; }
  const TeamContext& team() const { return team_; }

 private:
  int id_;
  TeamContext team_;
  std::vector<double> scratch_;
};

// The supervisor's half: made before the fork, copied into every worker by fork().
class ChannelTeam {
 public:
  virtual ~ChannelTeam() = default;  // frees what the supervisor holds; never runs in a worker
  // In worker `id`, right after the fork: its endpoint. Closes what this worker must not hold
  // (other workers' pipe ends), so that a dead peer shows up as EOF.
  virtual std::unique_ptr<Channel> attach(int id) = 0;
  // In the supervisor once every worker is forked: drop the workers' ends.
  virtual void after_fork() {}
  // In the supervisor after it raised the abort flag: wake workers sleeping in the channel.
  virtual void wake_all() {}
};

struct ChannelInfo {
  std::string name;
  std::string description;  // one line, for `corescope list` and the docs
  std::function<std::unique_ptr<ChannelTeam>(const TeamContext&)> make;
};

// The channel table; the first is the default.
const std::vector<ChannelInfo>& channels();
std::vector<std::string> channel_names();
// UsageError listing the channels for an unknown name.
const ChannelInfo& find_channel(const std::string& name);

}  // namespace corescope::processes
