// The shm channel (default): the founding notes' "shared memory" between processes. One POSIX
// shared-memory segment per team, made by the supervisor before the fork and unlinked at once
// (nothing is left in /dev/shm, whatever dies), holds
//   - a ring buffer per ordered worker pair: single producer, single consumer, 32-bit positions
//     published with release stores; a message is a 16-byte header then its payload, streamed
//     through the ring in chunks so that large messages pipeline;
//   - a doorbell per worker: a futex word its peers ring when it sleeps and they made progress
//     for it (data in, space freed, a barrier arrival). Waiters spin briefly, then sleep on the
//     shared futex with a timeout, so an aborted team is noticed within kAbortPollMs;
//   - per-worker barrier arrival counters and two banks of allreduce slots.
// Process-shared synchronization is lock-free: no pthread mutex that a dying worker could leave
// locked. A dead peer is seen through the supervisor's abort flag.
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "backends/processes/channels/channel.hpp"
#include "core/errors.hpp"
#include "core/platform.hpp"

namespace corescope::processes {

namespace {
constexpr std::size_t kSlotDoubles = 32;        // allreduce values per round
constexpr std::size_t kChunk = 64 * 1024;       // largest piece published at once
constexpr std::size_t kRingBudget = 64u << 20;  // all rings of a team together, at most...
constexpr std::size_t kRingMin = 64u << 10, kRingMax = 1u << 20;  // ...within these per ring
// A waiter spins (the peer is on another core: ~0.2 us per message), then keeps polling but
// yields the CPU between polls (the peer may be waiting for this very core), then sleeps.
constexpr auto kSpin = std::chrono::microseconds(5);
constexpr auto kYield = std::chrono::microseconds(200);

struct alignas(64) Doorbell {
  std::atomic<std::uint32_t> seq{0};
  std::atomic<std::uint32_t> sleeping{0};
};
struct alignas(64) Arrival {
  std::atomic<std::uint32_t> count{0};  // barriers this worker has entered
};
struct alignas(64) Slot {
  double v[kSlotDoubles];
};
struct RingState {
  alignas(64) std::atomic<std::uint32_t> tail{0};  // bytes ever written (producer)
  alignas(64) std::atomic<std::uint32_t> head{0};  // bytes ever read (consumer)
};

std::size_t ring_capacity(int n) {
  const std::size_t pairs =
      std::max<std::size_t>(1, static_cast<std::size_t>(n) * static_cast<std::size_t>(n - 1));
  std::size_t cap = kRingMax;
  while (cap > kRingMin && cap * pairs > kRingBudget) cap /= 2;
  return cap;
}

// Where everything lives in the segment.
struct Layout {
  int n;
  std::size_t cap, bells, arrivals, slots, rings, data, total;
  explicit Layout(int workers) : n(workers), cap(ring_capacity(workers)) {
    const std::size_t w = static_cast<std::size_t>(n), pairs = w * (w > 0 ? w - 1 : 0);
    bells = 0;
    arrivals = bells + w * sizeof(Doorbell);
    slots = arrivals + w * sizeof(Arrival);
    rings = slots + 2 * w * sizeof(Slot);
    data = (rings + pairs * sizeof(RingState) + 4095) / 4096 * 4096;
    total = data + pairs * cap;
  }
  std::size_t pair(int from, int to) const {
    return static_cast<std::size_t>(from) * static_cast<std::size_t>(n - 1) +
           static_cast<std::size_t>(to < from ? to : to - 1);
  }
};

class ShmChannel : public Channel {
 public:
  ShmChannel(int id, const TeamContext& team, std::byte* base, const Layout& layout)
      : Channel(id, team),
        base_(base),
        l_(layout),
        mask_(static_cast<std::uint32_t>(layout.cap - 1)) {}

  void sendrecv(int dest, const void* send_data, std::size_t send_bytes, int src, void* recv_data,
                std::size_t recv_bytes) override {
    Transfer out(*this, id(), dest, {Tag::p2p, static_cast<std::uint32_t>(id()), send_bytes},
                 static_cast<std::byte*>(const_cast<void*>(send_data)));
    Transfer in(*this, src, id(), {Tag::p2p, 0, recv_bytes}, static_cast<std::byte*>(recv_data));
    while (!out.complete() || !in.complete()) {
      // Both directions are tried on every pass (no short-circuit), so neither side starves.
      const bool pushed = !out.complete() && out.push();
      const bool pulled = !in.complete() && in.pull();
      if (!pushed && !pulled)
        wait_until([&] {
          return (!out.complete() && out.can_push()) || (!in.complete() && in.can_pull());
        });
    }
  }

  void barrier() override {
    const std::uint32_t target = ++barriers_;
    arrival(id()).count.store(target, std::memory_order_release);
    for (int w = 0; w < workers(); ++w)
      if (w != id()) ring_bell(w);
    wait_until([&] {
      for (int w = 0; w < workers(); ++w)
        if (static_cast<std::int32_t>(arrival(w).count.load(std::memory_order_acquire) - target) <
            0)
          return false;
      return true;
    });
  }

  // Two banks of slots: a worker writing bank b in round k+2 has passed round k+1's barrier,
  // so everybody has finished reading bank b of round k. One barrier per round.
  void allreduce(std::span<double> values, Op op) override {
    for (std::size_t lo = 0; lo < values.size() || lo == 0; lo += kSlotDoubles) {
      const std::size_t m = std::min(kSlotDoubles, values.size() - std::min(lo, values.size()));
      const int bank = static_cast<int>(rounds_++ & 1);
      std::copy_n(values.data() + lo, m, slot(bank, id()).v);
      barrier();
      for (std::size_t k = 0; k < m; ++k) {
        double acc = slot(bank, 0).v[k];
        for (int w = 1; w < workers(); ++w) {
          const double x = slot(bank, w).v[k];
          acc = combine(op, acc, x);
        }
        values[lo + k] = acc;
      }
      if (values.empty()) break;
    }
  }

 protected:
  void post(int dest, Tag tag, const void* data, std::size_t bytes) override {
    Transfer out(*this, id(), dest, {tag, static_cast<std::uint32_t>(id()), bytes},
                 static_cast<std::byte*>(const_cast<void*>(data)));
    while (!out.complete())
      if (!out.push()) wait_until([&] { return out.can_push(); });
  }

  void take(int src, Tag tag, void* data, std::size_t bytes) override {
    Transfer in(*this, src, id(), {tag, 0, bytes}, static_cast<std::byte*>(data));
    while (!in.complete())
      if (!in.pull()) wait_until([&] { return in.can_pull(); });
  }

 private:
  // One message moving through the ring from -> to: the header, then the payload. The sending
  // side pushes, the receiving side pulls; `want` is the header sent, or the header expected.
  class Transfer {
   public:
    Transfer(ShmChannel& c, int from, int to, MessageHeader want, std::byte* payload)
        : c_(c),
          from_(from),
          to_(to),
          want_(want),
          payload_(payload),
          ring_(c.ring_state(from, to)),
          buf_(c.ring_data(from, to)) {
      if (from == c.id()) got_ = want;
    }
    bool complete() const { return done_ == sizeof(MessageHeader) + want_.bytes; }
    bool can_push() const {
      return ring_.tail.load(std::memory_order_relaxed) -
                 ring_.head.load(std::memory_order_acquire) <=
             c_.mask_;
    }
    bool can_pull() const {
      return ring_.tail.load(std::memory_order_acquire) !=
             ring_.head.load(std::memory_order_relaxed);
    }
    // Copies what fits into the ring; false if the ring was full.
    bool push() {
      const std::uint32_t tail = ring_.tail.load(std::memory_order_relaxed);
      const std::size_t space = c_.l_.cap - (tail - ring_.head.load(std::memory_order_acquire));
      const std::size_t n = std::min({space, remaining(), kChunk});
      if (n == 0) return false;
      stream(tail, n, /*into_ring=*/true);
      ring_.tail.store(tail + static_cast<std::uint32_t>(n), std::memory_order_release);
      c_.ring_bell(to_);
      return true;
    }
    // Copies what arrived out of the ring; false if it was empty.
    bool pull() {
      const std::uint32_t head = ring_.head.load(std::memory_order_relaxed);
      const std::size_t avail = ring_.tail.load(std::memory_order_acquire) - head;
      const std::size_t n = std::min({avail, remaining(), kChunk});
      if (n == 0) return false;
      const bool had_header = done_ >= sizeof(MessageHeader);
      stream(head, n, /*into_ring=*/false);
      ring_.head.store(head + static_cast<std::uint32_t>(n), std::memory_order_release);
      c_.ring_bell(from_);
      if (!had_header && done_ >= sizeof(MessageHeader))
        check_header(got_, from_, to_, want_.tag, want_.bytes);
      return true;
    }

   private:
    std::size_t remaining() const { return sizeof(MessageHeader) + want_.bytes - done_; }
    // Moves n bytes of the message stream (header, then payload) at ring position pos.
    void stream(std::uint32_t pos, std::size_t n, bool into_ring) {
      while (n > 0) {
        std::byte* msg = done_ < sizeof(MessageHeader) ? reinterpret_cast<std::byte*>(&got_) + done_
                                                       : payload_ + (done_ - sizeof(MessageHeader));
        const std::size_t in_part = done_ < sizeof(MessageHeader)
                                        ? sizeof(MessageHeader) - done_
                                        : sizeof(MessageHeader) + want_.bytes - done_;
        const std::size_t offset = pos & c_.mask_;
        const std::size_t k = std::min({n, in_part, c_.l_.cap - offset});
        if (into_ring)
          std::memcpy(buf_ + offset, msg, k);
        else
          std::memcpy(msg, buf_ + offset, k);
        done_ += k;
        pos += static_cast<std::uint32_t>(k);
        n -= k;
      }
    }

    ShmChannel& c_;
    int from_, to_;
    MessageHeader want_, got_{};
    std::byte* payload_;
    RingState& ring_;
    std::byte* buf_;
    std::size_t done_ = 0;
  };

  Doorbell& bell(int w) const { return reinterpret_cast<Doorbell*>(base_ + l_.bells)[w]; }
  Arrival& arrival(int w) const { return reinterpret_cast<Arrival*>(base_ + l_.arrivals)[w]; }
  Slot& slot(int bank, int w) const {
    return reinterpret_cast<Slot*>(
        base_ + l_.slots)[static_cast<std::size_t>(bank) * static_cast<std::size_t>(l_.n) +
                          static_cast<std::size_t>(w)];
  }
  RingState& ring_state(int from, int to) const {
    return reinterpret_cast<RingState*>(base_ + l_.rings)[l_.pair(from, to)];
  }
  std::byte* ring_data(int from, int to) const {
    return base_ + l_.data + l_.pair(from, to) * l_.cap;
  }

  // Wakes worker w if it sleeps. The fence pairs with the one in wait_until: either the sleeper
  // sees what was just published, or this sees it sleeping.
  void ring_bell(int w) const {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    Doorbell& b = bell(w);
    if (b.sleeping.load(std::memory_order_relaxed)) {
      b.seq.fetch_add(1, std::memory_order_release);
      wake_word(b.seq);
    }
  }

  template <class Ready>
  void wait_until(Ready ready) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0;; ++i) {
      if (ready()) return;
      platform::cpu_relax();
      if ((i & 63) == 63 && std::chrono::steady_clock::now() > start + kSpin) break;
    }
    while (std::chrono::steady_clock::now() < start + kYield) {
      if (ready()) return;
      sched_yield();
    }
    Doorbell& b = bell(id());
    for (;;) {
      b.sleeping.store(1, std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_seq_cst);
      const std::uint32_t seen = b.seq.load(std::memory_order_acquire);
      if (ready()) break;
      wait_word(b.seq, seen, kAbortPollMs);
      throw_if_aborted();
    }
    b.sleeping.store(0, std::memory_order_relaxed);
  }

  std::byte* base_;
  const Layout& l_;
  const std::uint32_t mask_;
  std::uint32_t barriers_ = 0;
  std::uint64_t rounds_ = 0;
};

class ShmTeam : public ChannelTeam {
 public:
  explicit ShmTeam(const TeamContext& team)
      : team_(team),
        layout_(team.workers),
        segment_(layout_.total, "--channel shm with " + std::to_string(team.workers) + " workers") {
    auto* base = segment_.data();
    for (int w = 0; w < team.workers; ++w) {
      new (base + layout_.bells + static_cast<std::size_t>(w) * sizeof(Doorbell)) Doorbell;
      new (base + layout_.arrivals + static_cast<std::size_t>(w) * sizeof(Arrival)) Arrival;
    }
    const std::size_t pairs =
        static_cast<std::size_t>(team.workers) * static_cast<std::size_t>(team.workers - 1);
    for (std::size_t p = 0; p < pairs; ++p)
      new (base + layout_.rings + p * sizeof(RingState)) RingState;
  }

  std::unique_ptr<Channel> attach(int id) override {
    return std::make_unique<ShmChannel>(id, team_, segment_.data(), layout_);
  }

  void wake_all() override {
    for (int w = 0; w < team_.workers; ++w) {
      auto* b = reinterpret_cast<Doorbell*>(segment_.data() + layout_.bells) + w;
      b->seq.fetch_add(1, std::memory_order_release);
      wake_word(b->seq);
    }
  }

 private:
  TeamContext team_;
  Layout layout_;
  SharedSegment segment_;
};
}  // namespace

std::unique_ptr<ChannelTeam> make_shm_channel(const TeamContext& team) {
  return std::make_unique<ShmTeam>(team);
}

}  // namespace corescope::processes
