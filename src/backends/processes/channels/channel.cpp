// The channel table, and the collectives every message channel gets for free: barrier and
// allreduce as messages through worker 0.
#include "backends/processes/channels/channel.hpp"

#include <algorithm>

#include "core/errors.hpp"
#include "core/text.hpp"

namespace corescope::processes {

std::unique_ptr<ChannelTeam> make_shm_channel(const TeamContext& team);
std::unique_ptr<ChannelTeam> make_pipe_channel(const TeamContext& team);
std::unique_ptr<ChannelTeam> make_file_channel(const TeamContext& team);
std::unique_ptr<ChannelTeam> make_socket_channel(const TeamContext& team);

const std::vector<ChannelInfo>& channels() {
  static const std::vector<ChannelInfo> table = {
      {"shm", "POSIX shared memory: a ring buffer per worker pair, futex wake-ups",
       make_shm_channel},
      {"pipe", "anonymous pipes, one per direction of each worker pair", make_pipe_channel},
      {"file", "one file per message in the team's temp dir (write, then rename into place)",
       make_file_channel},
      {"socket", "Unix domain stream sockets, one socket pair per worker pair",
       make_socket_channel},
  };
  return table;
}

std::vector<std::string> channel_names() {
  std::vector<std::string> names;
  for (const auto& c : channels()) names.push_back(c.name);
  return names;
}

const ChannelInfo& find_channel(const std::string& name) {
  for (const auto& c : channels())
    if (c.name == name) return c;
  throw UsageError("unknown channel '" + name +
                   "' for the processes mode; channels: " + join(channel_names(), ", "));
}

namespace {
const char* tag_name(Tag t) {
  return t == Tag::p2p ? "point-to-point" : t == Tag::collective ? "collective" : "unknown";
}
}  // namespace

void check_header(const MessageHeader& got, int src, int me, Tag want_tag, std::size_t want_bytes) {
  if (got.tag == want_tag && got.bytes == want_bytes && got.from == static_cast<std::uint32_t>(src))
    return;
  if (got.tag != Tag::p2p && got.tag != Tag::collective)
    throw RuntimeFailure("worker " + std::to_string(me) +
                         " received a corrupt message header from worker " + std::to_string(src));
  throw RuntimeFailure("worker " + std::to_string(src) + " sent a " + tag_name(got.tag) +
                       " message of " + std::to_string(got.bytes) + " bytes where worker " +
                       std::to_string(me) + " expected a " + tag_name(want_tag) + " message of " +
                       std::to_string(want_bytes) + " bytes (the workers' calls do not match)");
}

void Channel::sendrecv(int dest, const void* send_data, std::size_t send_bytes, int src,
                       void* recv_data, std::size_t recv_bytes) {
  post(dest, Tag::p2p, send_data, send_bytes);
  take(src, Tag::p2p, recv_data, recv_bytes);
}

void Channel::barrier() { allreduce({}, Op::sum); }

void Channel::allreduce(std::span<double> values, Op op) {
  const std::size_t bytes = values.size() * sizeof(double);
  if (id_ != 0) {
    post(0, Tag::collective, values.data(), bytes);
    take(0, Tag::collective, values.data(), bytes);
    return;
  }
  scratch_.resize(values.size());
  for (int w = 1; w < workers(); ++w) {
    take(w, Tag::collective, scratch_.data(), bytes);
    for (std::size_t k = 0; k < values.size(); ++k) {
      const double x = scratch_[k];
      values[k] = combine(op, values[k], x);
    }
  }
  for (int w = 1; w < workers(); ++w) post(w, Tag::collective, values.data(), bytes);
}

}  // namespace corescope::processes
