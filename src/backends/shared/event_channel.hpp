// The "event" channel of the thread-based modes: point-to-point messages through one-slot
// mailboxes guarded by a mutex and signalled with a condition variable, the way the founding
// notes' threads signal each other with Events (Python's threading.Event is a condition
// variable and a flag). The default "atomic" channel spins on an atomic flag instead; the pair
// shows what sleeping on a condition costs next to polling a flag.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace corescope {

class EventMailboxes {
 public:
  explicit EventMailboxes(int size);
  // Waits until the (src, dst) mailbox is empty, copies the payload in, signals the receiver.
  void send(int src, int dst, const void* data, std::size_t bytes);
  // Waits for the signal, copies the payload out, signals that the mailbox is free again.
  void recv(int dst, int src, void* data, std::size_t bytes);
  // Wakes every waiter; they and all later calls throw TeamAborted.
  void abort();

 private:
  struct Box {
    std::mutex m;
    std::condition_variable cv;  // "a message is in" and "the mailbox is free" share it
    bool full = false;
    std::size_t bytes = 0;
    std::vector<std::byte> buffer;
  };
  Box& box(int src, int dst) {
    return *boxes_[static_cast<std::size_t>(src) * size_ + static_cast<std::size_t>(dst)];
  }

  std::size_t size_;
  std::vector<std::unique_ptr<Box>> boxes_;
  std::atomic<bool> aborted_{false};
};

}  // namespace corescope
