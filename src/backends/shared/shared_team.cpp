// Shared-memory team operations for the thread-based modes.
#include "backends/shared/shared_team.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <thread>

#include "core/errors.hpp"
#include "core/platform.hpp"

namespace corescope {

namespace {
constexpr int kSpins = 4000;  // ~ a few microseconds of spinning before sleeping on the futex

}  // namespace

SharedTeam::SharedTeam(int size, const std::string& channel)
    : size_(size),
      channel_(channel.empty() ? "atomic" : channel),
      slots_(static_cast<std::size_t>(size)),
      mailboxes_(static_cast<std::size_t>(size) * static_cast<std::size_t>(size)),
      arena_offsets_(static_cast<std::size_t>(size)) {
  if (channel_ == "event")
    events_ = std::make_unique<EventMailboxes>(size);
  else if (channel_ != "atomic")
    throw UsageError("unknown channel '" + channel_ +
                     "' for a thread team; channels: atomic, event");
}

SharedTeam::~SharedTeam() {
  for (void* p : arenas_) std::free(p);
}

void SharedTeam::abort() {
  aborted_.store(true, std::memory_order_release);
  if (events_) events_->abort();
  // Wake every sleeper: bump the barrier generation and every mailbox flag's waiters.
  generation_.fetch_add(1, std::memory_order_acq_rel);
  generation_.notify_all();
  // atomic::wait only returns when the value changes, so move every mailbox to a third state.
  for (auto& m : mailboxes_) {
    m.full.store(2, std::memory_order_release);
    m.full.notify_all();
  }
}

void SharedTeam::wait_while(const std::atomic<std::uint32_t>& flag, std::uint32_t value) const {
  int spins = 0;
  while (flag.load(std::memory_order_acquire) == value) {
    if (aborted()) throw TeamAborted();
    if (spins < kSpins) {
      ++spins;
      platform::cpu_relax();
    } else {
      flag.wait(value, std::memory_order_acquire);
    }
  }
  if (aborted()) throw TeamAborted();
}

void SharedTeam::barrier() {
  if (aborted()) throw TeamAborted();
  const std::uint32_t gen = generation_.load(std::memory_order_acquire);
  if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == static_cast<std::uint32_t>(size_)) {
    arrived_.store(0, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_acq_rel);
    generation_.notify_all();
    return;
  }
  wait_while(generation_, gen);
}

void SharedTeam::allreduce(int id, std::span<double> values, Op op) {
  auto& mine = slots_[static_cast<std::size_t>(id)].values;
  mine.assign(values.begin(), values.end());
  barrier();
  for (std::size_t k = 0; k < values.size(); ++k) {
    double acc = slots_[0].values[k];
    for (int w = 1; w < size_; ++w)
      acc = combine(op, acc, slots_[static_cast<std::size_t>(w)].values[k]);
    values[k] = acc;
  }
  barrier();  // nobody overwrites a slot before everyone has read them all
}

void SharedTeam::send(int src, int dst, const void* data, std::size_t bytes) {
  if (events_) return events_->send(src, dst, data, bytes);
  Mailbox& m = mailboxes_[static_cast<std::size_t>(src) * size_ + dst];
  wait_while(m.full, 1);  // the previous message was taken
  if (m.buffer.size() < bytes) m.buffer.resize(bytes);
  if (bytes) std::memcpy(m.buffer.data(), data, bytes);
  m.bytes = bytes;
  m.full.store(1, std::memory_order_release);
  m.full.notify_one();
}

void SharedTeam::recv(int dst, int src, void* data, std::size_t bytes) {
  if (events_) return events_->recv(dst, src, data, bytes);
  Mailbox& m = mailboxes_[static_cast<std::size_t>(src) * size_ + dst];
  wait_while(m.full, 0);
  if (m.bytes != bytes)
    throw RuntimeFailure("message size mismatch: worker " + std::to_string(src) + " sent " +
                         std::to_string(m.bytes) + " bytes, worker " + std::to_string(dst) +
                         " expected " + std::to_string(bytes));
  if (bytes) std::memcpy(data, m.buffer.data(), bytes);
  m.full.store(0, std::memory_order_release);
  m.full.notify_one();
}

void* SharedTeam::alloc_slice(int id, std::size_t bytes, std::size_t align) {
  slots_[static_cast<std::size_t>(id)].bytes = bytes;
  barrier();
  if (id == 0) {
    // Slices are packed: each starts at the element alignment right after the previous one, so
    // a write one past the end of a slice lands in the neighbour's data, as in a real shared array.
    std::size_t offset = 0;
    for (int w = 0; w < size_; ++w) {
      offset = (offset + align - 1) / align * align;
      arena_offsets_[static_cast<std::size_t>(w)] = offset;
      offset += slots_[static_cast<std::size_t>(w)].bytes;
    }
    const std::size_t total = (offset + 4096 + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, total);
    std::lock_guard<std::mutex> lock(arena_mutex_);
    if (p) arenas_.push_back(p);
    arena_base_ = static_cast<std::byte*>(p);
  }
  barrier();
  if (arena_base_ == nullptr) throw RuntimeFailure("out of memory allocating a team array");
  std::byte* mine = arena_base_ + arena_offsets_[static_cast<std::size_t>(id)];
  barrier();  // everyone has its pointer before the next call reuses arena_base_
  return mine;
}

}  // namespace corescope

namespace corescope {

void* SharedTeam::shared_block(int id, std::size_t bytes) {
  if (id == 0) {
    const std::size_t total = (bytes + 63) / 64 * 64 + 64;
    void* p = std::aligned_alloc(64, total);
    if (p) {
      std::memset(p, 0, total);
      std::lock_guard<std::mutex> lock(arena_mutex_);
      arenas_.push_back(p);
    }
    arena_base_ = static_cast<std::byte*>(p);
  }
  barrier();
  if (arena_base_ == nullptr) throw RuntimeFailure("out of memory allocating team-shared memory");
  std::byte* block = arena_base_;
  barrier();
  return block;
}

}  // namespace corescope
