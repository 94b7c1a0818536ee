// The non-virtual half of the Worker contract: accounting around the mode's hooks.
#include "core/worker.hpp"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "core/errors.hpp"
#include "core/kernel.hpp"
#include "core/ticks.hpp"

namespace corescope {

namespace {
// Never set: outside gil mode yield_point() reads this and moves on.
const std::atomic<bool> kNeverDrop{false};
constexpr std::size_t kPrivatePadding = 4096;  // a page after each private slice
}  // namespace

// Adds the wall time of one team operation to the worker's communication time. It brackets
// every message, so it counts cheap ticks (core/ticks.hpp), converted only when read.
class Worker::CommTimer {
 public:
  explicit CommTimer(Worker& w) : w_(w), t0_(ticks::now()) { ++w_.team_op_depth_; }
  ~CommTimer() {
    --w_.team_op_depth_;
    w_.comm_ticks_ += ticks::now() - t0_;
  }

 private:
  Worker& w_;
  std::uint64_t t0_;
};

Worker::Worker(int id, int count, int rank, int thread)
    : id_(id), count_(count), rank_(rank), thread_(thread), drop_request_(&kNeverDrop) {
  ticks::seconds_per_tick();  // calibrate now, long before anything is timed
}

double Worker::comm_seconds() const {
  return static_cast<double>(comm_ticks_) * ticks::seconds_per_tick();
}

Worker::~Worker() = default;

void Worker::barrier() {
  CommTimer t(*this);
  blocking([&] { do_barrier(); });
}

double Worker::allreduce(double value, Op op) {
  allreduce(std::span<double>(&value, 1), op);
  return value;
}

void Worker::allreduce(std::span<double> values, Op op) {
  CommTimer t(*this);
  blocking([&] { do_allreduce(values, op); });
}

void Worker::check_peer(int peer) const {
  if (peer < 0 || peer >= count_ || peer == id_)
    throw UsageError("point-to-point peer " + std::to_string(peer) +
                     " is not another worker of a team of " + std::to_string(count_));
}

void Worker::send(int dest, const void* data, std::size_t bytes) {
  check_peer(dest);
  CommTimer t(*this);
  blocking([&] { do_send(dest, data, bytes); });
}

void Worker::recv(int src, void* data, std::size_t bytes) {
  check_peer(src);
  CommTimer t(*this);
  blocking([&] { do_recv(src, data, bytes); });
}

void Worker::sendrecv(int dest, const void* send_data, std::size_t send_bytes, int src,
                      void* recv_data, std::size_t recv_bytes) {
  check_peer(dest);
  check_peer(src);
  CommTimer t(*this);
  blocking([&] { do_sendrecv(dest, send_data, send_bytes, src, recv_data, recv_bytes); });
}

void Worker::do_send(int, const void*, std::size_t) {
  throw UsageError("this mode has no point-to-point messages");
}
void Worker::do_recv(int, void*, std::size_t) {
  throw UsageError("this mode has no point-to-point messages");
}

// Default exchange for modes whose send does not wait for the receiver (buffered channels):
// send first, then receive. Modes with synchronous sends override it.
void Worker::do_sendrecv(int dest, const void* send_data, std::size_t send_bytes, int src,
                         void* recv_data, std::size_t recv_bytes) {
  do_send(dest, send_data, send_bytes);
  do_recv(src, recv_data, recv_bytes);
}

void* Worker::do_alloc_slice(std::size_t bytes, std::size_t align) {
  const std::size_t a = align < 64 ? 64 : align;
  const std::size_t total = (bytes + kPrivatePadding + a - 1) / a * a;
  void* p = std::aligned_alloc(a, total);
  if (p == nullptr)
    throw RuntimeFailure("out of memory allocating " + std::to_string(bytes) + " bytes");
  private_slices_.emplace_back(static_cast<std::byte*>(p));
  return p;
}

void Worker::team_lock() {
  CommTimer t(*this);
  blocking([&] { do_team_lock(); });
}

void Worker::team_unlock() { do_team_unlock(); }

void* Worker::team_shared(std::size_t bytes) {
  void* p = do_team_shared(bytes);
  team_memory_ = team_memory_kind();
  return p;
}

TeamWords Worker::team_words(std::size_t n) {
  TeamWords words = do_team_words(n);
  team_memory_ = team_memory_kind();
  return words;
}

TeamWords Worker::do_team_words(std::size_t n) {
  return TeamWords(static_cast<std::uint64_t*>(do_team_shared(n * sizeof(std::uint64_t))));
}

// A team of one shares with itself only; modes with more workers override these.
void* Worker::do_team_shared(std::size_t bytes) {
  if (count_ != 1) throw UsageError("this mode has no team-shared memory");
  void* p = do_alloc_slice(bytes, 64);
  std::memset(p, 0, bytes);
  return p;
}

void Worker::do_team_lock() {
  if (count_ != 1) throw UsageError("this mode has no team lock");
}
void Worker::do_team_unlock() {}

void Worker::critical_section(void (*)(void*), void*) {
  throw UsageError("this mode has no OpenMP critical section (only --mode openmp has one)");
}

void Worker::FreeDeleter::operator()(std::byte* p) const { std::free(p); }

void Worker::run_iteration(Kernel& kernel) { kernel.iterate(*this); }

}  // namespace corescope
