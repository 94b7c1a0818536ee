// An emulated CPython global interpreter lock: the "new GIL" of CPython >= 3.2 (a locked flag, a
// timed wait that asks the holder to drop after the switch interval, and forced switching so a
// thread that was asked to drop cannot grab the lock straight back). Used by gil mode and by
// tests/unit/test_gil.cpp; it knows nothing of Workers or kernels.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace corescope::gil {

// Who gets the GIL when it is released.
//   cpython: nobody is queued; the holder signals one waiter and the OS scheduler decides who
//            wins (what CPython does; the default).
//   fifo:    waiters are served in the order they started waiting (a ticket lock) — not CPython,
//            an experiment in what fairness would change.
enum class Policy { cpython, fifo };

// Names accepted by --gil-policy, default first.
const std::vector<std::string>& policy_names();
// UsageError listing the valid names for anything else.
Policy parse_policy(const std::string& name);
std::string policy_name(Policy p);

// One thread's side of the GIL: the drop-request flag that the thread polls at its yield points
// (other threads set it; see Gil::take) and its statistics. The statistics are written only by
// the owning thread, inside take()/drop(), so the owner can read them without locking.
struct alignas(64) GilThread {
  GilThread();
  std::atomic<bool> drop_request{false};
  const std::uint64_t id;  // unique per GilThread ever made (addresses can be reused)

  double wait_s = 0.0;                  // time spent inside take() before holding the GIL
  std::int64_t acquires = 0;            // completed take()s
  std::int64_t forced_drops = 0;        // drops because another thread asked (at a yield point)
  std::int64_t voluntary_drops = 0;     // drops around blocking calls and at the end
  std::int64_t drop_requests_made = 0;  // times this thread, waiting, asked the holder to drop
};

class Gil {
 public:
  // `interval` is CPython's sys.setswitchinterval(): how long a waiter waits before it asks the
  // holder to drop.
  explicit Gil(std::chrono::nanoseconds interval, Policy policy = Policy::cpython);
  Gil(const Gil&) = delete;
  Gil& operator=(const Gil&) = delete;

  // Blocks until `me` holds the GIL. `me` must not hold it already.
  void take(GilThread& me);

  enum class DropKind {
    requested,  // at a yield point, because me.drop_request was set: a forced switch
    voluntary,  // around a blocking call, or when the thread stops running Python-like code
  };
  // Releases the GIL, which `me` must hold. If another thread has asked for it (me.drop_request
  // is set), waits until some other thread has taken it before returning, so the caller cannot
  // take it straight back (CPython's FORCE_SWITCHING).
  void drop(GilThread& me, DropKind kind);

  // Hand-offs so far: times the GIL was taken by a thread other than the one before.
  std::uint64_t switch_number() const;
  std::chrono::nanoseconds interval() const { return interval_; }
  Policy policy() const { return policy_; }

 private:
  bool may_take(std::uint64_t ticket) const;

  const std::chrono::nanoseconds interval_;
  const Policy policy_;

  mutable std::mutex mutex_;
  std::condition_variable released_;  // signalled on every drop: "the GIL may be free"
  // Signalled on every take. A thread that was forced to drop waits on it for someone else to
  // take the GIL. CPython guards this with a second mutex because its drop path has already
  // unlocked the first; here both conditions share one mutex, which keeps take() and the forced
  // waiter's check of last_holder_ ordered without a second lock.
  std::condition_variable taken_;
  bool locked_ = false;
  GilThread* holder_ = nullptr;    // valid while locked_
  std::uint64_t last_holder_ = 0;  // GilThread::id of the latest taker (0: nobody yet)
  std::uint64_t switch_number_ = 0;
  std::uint64_t next_ticket_ = 0, now_serving_ = 0;  // fifo policy only
};

}  // namespace corescope::gil
