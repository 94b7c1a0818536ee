// What the workers of one address space share: an abortable barrier, an allreduce over slots,
// one-slot mailboxes for point-to-point messages (the "atomic" channel: a shared buffer plus an
// atomic flag), and the arena that lays every worker's slice of a team array side by side.
// Used by the threads, gil, openmp and hybrid modes.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "backends/shared/event_channel.hpp"
#include "core/worker.hpp"

namespace corescope {

// Thrown in the other workers when one worker of the team failed, so nobody waits forever.
struct TeamAborted : std::exception {
  const char* what() const noexcept override { return "aborted because another worker failed"; }
};

class SharedTeam {
 public:
  // `channel` picks how point-to-point messages travel: "atomic" (default: a shared buffer and
  // an atomic flag) or "event" (a condition variable, EventMailboxes).
  explicit SharedTeam(int size, const std::string& channel = "atomic");
  ~SharedTeam();
  SharedTeam(const SharedTeam&) = delete;
  SharedTeam& operator=(const SharedTeam&) = delete;

  int size() const { return size_; }
  const std::string& channel() const { return channel_; }

  // Waits until all size() workers arrived. Spins briefly, then sleeps on a futex.
  void barrier();
  // Element-wise reduction of `values` over the team; every worker gets the same result
  // (reduced in worker order, so it is bitwise identical everywhere).
  void allreduce(int id, std::span<double> values, Op op);
  // Point-to-point through the (src, dst) mailbox; send returns once the payload is copied in.
  void send(int src, int dst, const void* data, std::size_t bytes);
  void recv(int dst, int src, void* data, std::size_t bytes);
  // Collective: slice `id` of one contiguous allocation (see Worker::alloc_slice).
  void* alloc_slice(int id, std::size_t bytes, std::size_t align);
  // Collective: one zeroed block that every worker gets (Worker::team_shared).
  void* shared_block(int id, std::size_t bytes);
  // The team lock (Worker::team_lock).
  void lock() { team_mutex_.lock(); }
  void unlock() { team_mutex_.unlock(); }

  // Makes every current and future wait throw TeamAborted.
  void abort();
  bool aborted() const { return aborted_.load(std::memory_order_acquire); }

 private:
  struct alignas(64) Mailbox {
    std::atomic<std::uint32_t> full{0};
    std::size_t bytes = 0;
    std::vector<std::byte> buffer;
  };
  struct alignas(64) Slot {
    std::vector<double> values;
    std::size_t bytes = 0;
  };
  // Waits until flag != value (returns) or the team aborts (throws).
  void wait_while(const std::atomic<std::uint32_t>& flag, std::uint32_t value) const;

  const int size_;
  std::string channel_;
  std::unique_ptr<EventMailboxes> events_;  // the "event" channel, when chosen
  std::atomic<bool> aborted_{false};
  alignas(64) std::atomic<std::uint32_t> arrived_{0};
  alignas(64) std::atomic<std::uint32_t> generation_{0};
  std::vector<Slot> slots_;
  std::vector<Mailbox> mailboxes_;  // size_ * size_, index src * size_ + dst
  std::byte* arena_base_ = nullptr;
  std::vector<std::size_t> arena_offsets_;
  std::mutex arena_mutex_;
  std::vector<void*> arenas_;
  std::mutex team_mutex_;
};

}  // namespace corescope
