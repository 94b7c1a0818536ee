// Condition-variable mailboxes for the thread-based modes' "event" channel.
#include "backends/shared/event_channel.hpp"

#include <cstring>
#include <string>

#include "backends/shared/shared_team.hpp"
#include "core/errors.hpp"

namespace corescope {

EventMailboxes::EventMailboxes(int size) : size_(static_cast<std::size_t>(size)) {
  boxes_.reserve(size_ * size_);
  for (std::size_t i = 0; i < size_ * size_; ++i) boxes_.push_back(std::make_unique<Box>());
}

void EventMailboxes::send(int src, int dst, const void* data, std::size_t bytes) {
  Box& b = box(src, dst);
  std::unique_lock<std::mutex> lock(b.m);
  b.cv.wait(lock, [&] { return !b.full || aborted_.load(); });
  if (aborted_.load()) throw TeamAborted();
  if (b.buffer.size() < bytes) b.buffer.resize(bytes);
  if (bytes) std::memcpy(b.buffer.data(), data, bytes);
  b.bytes = bytes;
  b.full = true;
  lock.unlock();
  b.cv.notify_all();
}

void EventMailboxes::recv(int dst, int src, void* data, std::size_t bytes) {
  Box& b = box(src, dst);
  std::unique_lock<std::mutex> lock(b.m);
  b.cv.wait(lock, [&] { return b.full || aborted_.load(); });
  if (aborted_.load()) throw TeamAborted();
  if (b.bytes != bytes)
    throw RuntimeFailure("message size mismatch: worker " + std::to_string(src) + " sent " +
                         std::to_string(b.bytes) + " bytes, worker " + std::to_string(dst) +
                         " expected " + std::to_string(bytes));
  if (bytes) std::memcpy(data, b.buffer.data(), bytes);
  b.full = false;
  lock.unlock();
  b.cv.notify_all();
}

void EventMailboxes::abort() {
  aborted_.store(true);
  for (auto& b : boxes_) {
    // Taking the lock orders the flag before any waiter's next check: no wake-up is lost.
    { std::lock_guard<std::mutex> lock(b->m); }
    b->cv.notify_all();
  }
}

}  // namespace corescope
