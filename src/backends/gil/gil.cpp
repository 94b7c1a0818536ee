// The emulated GIL: take/drop with CPython's interval-based drop requests and forced switching.
#include "backends/gil/gil.hpp"

#include "core/errors.hpp"
#include "core/text.hpp"

namespace corescope::gil {

namespace {
std::atomic<std::uint64_t> g_next_thread_id{1};
}  // namespace

const std::vector<std::string>& policy_names() {
  static const std::vector<std::string> names{"cpython", "fifo"};
  return names;
}

Policy parse_policy(const std::string& name) {
  if (name == "cpython") return Policy::cpython;
  if (name == "fifo") return Policy::fifo;
  throw UsageError("unknown --gil-policy '" + name +
                   "'; valid policies: " + join(policy_names(), ", "));
}

std::string policy_name(Policy p) { return p == Policy::fifo ? "fifo" : "cpython"; }

GilThread::GilThread() : id(g_next_thread_id.fetch_add(1, std::memory_order_relaxed)) {}

Gil::Gil(std::chrono::nanoseconds interval, Policy policy) : interval_(interval), policy_(policy) {
  CS_CHECK(interval.count() > 0);
}

bool Gil::may_take(std::uint64_t ticket) const {
  return !locked_ && (policy_ != Policy::fifo || ticket == now_serving_);
}

void Gil::take(GilThread& me) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  std::unique_lock<std::mutex> lock(mutex_);
  CS_CHECK(!(locked_ && holder_ == &me));
  const std::uint64_t ticket = policy_ == Policy::fifo ? next_ticket_++ : 0;
  while (!may_take(ticket)) {
    // Ask the holder to drop only if a whole interval passed with the GIL locked and without
    // any hand-off: if it changed hands meanwhile, the new holder deserves its own interval.
    const std::uint64_t switches_before = switch_number_;
    const bool timed_out = released_.wait_for(lock, interval_) == std::cv_status::timeout;
    if (timed_out && locked_ && switch_number_ == switches_before) {
      if (!holder_->drop_request.exchange(true, std::memory_order_relaxed)) ++me.drop_requests_made;
    }
  }
  locked_ = true;
  holder_ = &me;
  if (last_holder_ != me.id) {
    last_holder_ = me.id;
    ++switch_number_;
  }
  if (policy_ == Policy::fifo) ++now_serving_;
  taken_.notify_all();  // a thread forced off may now return from drop()
  // A request aimed at an earlier holding of this thread is stale now.
  me.drop_request.store(false, std::memory_order_relaxed);
  lock.unlock();
  me.wait_s += std::chrono::duration<double>(clock::now() - t0).count();
  ++me.acquires;
}

void Gil::drop(GilThread& me, DropKind kind) {
  std::unique_lock<std::mutex> lock(mutex_);
  CS_CHECK(locked_ && holder_ == &me);
  locked_ = false;
  holder_ = nullptr;
  // cpython: wake one waiter and let the scheduler choose; fifo: the next ticket must be among
  // the woken, so wake them all.
  if (policy_ == Policy::fifo)
    released_.notify_all();
  else
    released_.notify_one();
  if (kind == DropKind::requested)
    ++me.forced_drops;
  else
    ++me.voluntary_drops;
  if (me.drop_request.load(std::memory_order_relaxed)) {
    // Somebody waited a whole interval for us. Without this wait we could take the GIL back
    // before the waiter even woke up (the old GIL's convoy); with it, the hand-off happens.
    // The requester is inside take() and only leaves it holding the GIL, so this ends.
    me.drop_request.store(false, std::memory_order_relaxed);
    taken_.wait(lock, [&] { return last_holder_ != me.id; });
  }
}

std::uint64_t Gil::switch_number() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return switch_number_;
}

}  // namespace corescope::gil
