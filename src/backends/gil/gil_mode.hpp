// gil mode: the threads mode's std::threads, serialized by one emulated CPython GIL. A worker
// holds the GIL while it runs kernel code, as a Python thread holds it while it runs bytecode;
// it drops it around blocking calls and when another thread has waited a switch interval.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "backends/gil/gil.hpp"
#include "backends/threads/threads_mode.hpp"

namespace corescope {

// What runs with the GIL released (--gil-release).
//   none:    only waits for other workers (barriers, messages, the team lock) release it, as
//            CPython's own locks do; a kernel's blocking calls keep it (a C extension that
//            forgot Py_BEGIN_ALLOW_THREADS).
//   io:      also the kernel's blocking calls (Python's I/O functions, time.sleep). Default.
//   compute: every timed iteration runs with the GIL released (NumPy, or a C extension that
//            releases it around its number crunching); setup and verification still hold it.
enum class GilRelease { none, io, compute };

const std::vector<std::string>& gil_release_names();
// UsageError listing the valid names for anything else.
GilRelease parse_gil_release(const std::string& name);

class GilWorker : public ThreadWorker {
 public:
  GilWorker(int id, SharedTeam& team, gil::Gil& gil, GilRelease release);
  ~GilWorker() override;  // drops the GIL if the worker still holds it (a failing kernel)

  void run_iteration(Kernel& kernel) override;
  void enter() override;
  void leave() override;
  void rep_barrier() override;

  double gil_wait_seconds() const override { return me_.wait_s; }
  std::int64_t gil_acquires() const override { return me_.acquires; }
  std::int64_t gil_forced_switches() const override { return me_.forced_drops; }
  std::int64_t gil_voluntary_releases() const override { return me_.voluntary_drops; }
  std::int64_t gil_drop_requests() const override { return me_.drop_requests_made; }

 protected:
  void release_for_blocking() override;
  void reacquire_after_blocking() override;
  void on_drop_request() override;
  // Collective allocations wait for the whole team inside SharedTeam (not through blocking()),
  // so they must let the GIL go too, or the first worker to arrive would hold it while waiting.
  void* do_alloc_slice(std::size_t bytes, std::size_t align) override;
  void* do_team_shared(std::size_t bytes) override;

 private:
  // Runs f() with the GIL released if this worker holds it, and takes it back afterwards.
  template <class F>
  decltype(auto) without_gil(F&& f);

  void take();
  void drop(gil::Gil::DropKind kind);

  gil::Gil& gil_;
  gil::GilThread me_;
  const GilRelease release_;
  bool held_ = false;
  bool take_pending_ = false;  // rep_barrier left the GIL for run_iteration to take
  // Blocking scopes nest (a barrier inside a kernel's blocking call, or any blocking call while
  // --gil-release compute has already dropped the GIL): only the scope that dropped it takes
  // it back. depth_ counts open scopes; released_at_ is the depth of the one that dropped.
  int depth_ = 0;
  int released_at_ = -1;
};

ModeInfo gil_mode();

}  // namespace corescope
