// Fault injection, worker side (fault.hpp): the fault-injecting kernel decorator and the
// isolation run loop.
#include "isolate/fault.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <sstream>

#include "core/errors.hpp"
#include "core/platform.hpp"
#include "core/text.hpp"
#include "isolate/events.hpp"

namespace corescope::isolation {

namespace {
// When this worker crossed the start line (monotonic seconds), -1 outside the timed part. The
// decorator runs in the worker's own thread, so it can read it without any handshake.
thread_local double t_start_line = -1.0;

constexpr std::size_t kLeakChunk = 1u << 20;  // the leak grows in 1 MiB steps

// Kept opaque so that the compiler cannot see the null pointer and turn the write into a trap
// instruction (SIGILL): the crash fault must be a real SIGSEGV from a real store.
volatile std::uintptr_t g_null_address = 0;

// The real kernel plus the fault, injected into the victim plan.inject_s after the start line.
class FaultyKernel : public Kernel {
 public:
  FaultyKernel(std::unique_ptr<Kernel> inner, const Plan& plan)
      : inner_(std::move(inner)), plan_(plan) {}
  ~FaultyKernel() override {
    for (void* p : leaked_chunks_) ::munmap(p, kLeakChunk);
  }

  void setup(Worker& w, const Params& p) override {
    inner_->setup(w, p);
    if (w.id() == plan_.victim) log_ = std::make_unique<EventLog>(plan_.report_path);
  }

  void iterate(Worker& w) override {
    inner_->iterate(w);
    if (!log_ || t_start_line < 0) return;  // not the victim, or still warming up
    const double now = monotonic_s();
    if (injected_at_ < 0) {
      if (now - t_start_line >= plan_.inject_s) inject(w, now);
    } else if (plan_.fault == Fault::leak) {
      leak_until(now);
    }
  }

  Verification verify(Worker& w) override { return inner_->verify(w); }
  bool verifies_locally() const override { return inner_->verifies_locally(); }
  Verification verify_local(Worker& w) override { return inner_->verify_local(w); }
  std::vector<Metric> metrics(Worker& w) override { return inner_->metrics(w); }

 private:
  void inject(Worker& w, double now) {
    injected_at_ = now;
    log_->linef("inject %d %.6f %s", w.id(), now, fault_name(plan_.fault).c_str());
    switch (plan_.fault) {
      case Fault::crash:
        *reinterpret_cast<volatile int*>(g_null_address) = 1;
        throw RuntimeFailure("the crash fault did not crash (a null write was survived)");
      case Fault::abort: std::abort();
      case Fault::exit: std::_Exit(3);
      case Fault::leak:
        if (plan_.mem_limit_bytes > 0 &&
            !platform::limit_address_space_growth(plan_.mem_limit_bytes))
          throw RuntimeFailure("--mem-limit: cannot limit this process's address space");
        leak_until(now);
        return;
      case Fault::stray_write: stray_write(w); return;
      case Fault::hang: hang(w);
    }
  }

  // The classic off-by-one: one 8-byte element written just past the end of the victim's last
  // slice. Shared-memory modes pack the slices of a team array side by side, so it lands in the
  // next worker's first element; private allocations end in a padding page, so it lands there.
  void stray_write(Worker& w) {
    const std::span<std::byte> slice = w.last_slice();
    if (slice.empty())
      throw RuntimeFailure("stray-write: the kernel allocated no slice to write past");
    const double poison = std::numeric_limits<double>::quiet_NaN();
    unsigned char bytes[sizeof poison];
    std::memcpy(bytes, &poison, sizeof poison);
    volatile unsigned char* past_end =
        reinterpret_cast<volatile unsigned char*>(slice.data() + slice.size());
    for (std::size_t i = 0; i < sizeof bytes; ++i) past_end[i] = bytes[i];
  }

  // Allocates and touches memory until plan.leak_bytes_per_s * (time since the fault) is leaked.
  void leak_until(double now) {
    const double due = plan_.leak_bytes_per_s * (now - injected_at_);
    const long page = ::sysconf(_SC_PAGESIZE);
    while (static_cast<double>(leaked_ + kLeakChunk) <= due) {
      void* p =
          ::mmap(nullptr, kLeakChunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED)
        throw RuntimeFailure(
            "out of memory after leaking " + human_bytes(static_cast<double>(leaked_)) +
            (plan_.mem_limit_bytes > 0
                 ? " (--mem-limit " + human_bytes(static_cast<double>(plan_.mem_limit_bytes)) + ")"
                 : std::string()));
      auto* bytes = static_cast<volatile char*>(p);
      for (std::size_t off = 0; off < kLeakChunk; off += static_cast<std::size_t>(page))
        bytes[off] = 1;
      leaked_chunks_.push_back(p);
      leaked_ += kLeakChunk;
    }
  }

  // Stops making progress for good, but answers GIL drop requests (a Python `while True: pass`
  // does too): in gil mode the other threads go on, at the speed the GIL allows.
  [[noreturn]] void hang(Worker& w) {
    std::atomic<unsigned> spins{0};
    for (;;) {
      w.yield_point();
      spins.fetch_add(1, std::memory_order_relaxed);
    }
  }

  std::unique_ptr<Kernel> inner_;
  const Plan& plan_;
  std::unique_ptr<EventLog> log_;  // the victim's only
  double injected_at_ = -1.0;
  std::size_t leaked_ = 0;
  std::vector<void*> leaked_chunks_;  // unmapped when the run ends, as the OS would at exit
};
}  // namespace

const std::vector<std::string>& fault_names() {
  static const std::vector<std::string> names{"crash", "abort",       "exit",
                                              "leak",  "stray-write", "hang"};
  return names;
}

std::string fault_name(Fault f) { return fault_names()[static_cast<std::size_t>(f)]; }

Fault parse_fault(const std::string& name) {
  const auto& names = fault_names();
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<Fault>(i);
  throw UsageError("unknown fault '" + name + "'; faults: " + join(names, ", "));
}

void require_local_verification(const KernelInfo& kernel) {
  if (!kernel.make()->verifies_locally())
    throw UsageError("kernel " + kernel.name +
                     " cannot check one worker's part on its own (no verify_local), " +
                     "so isolate cannot tell a survivor's answer; use triad or dgemm");
}

KernelInfo with_fault(const KernelInfo& kernel, const Plan& plan) {
  require_local_verification(kernel);
  KernelInfo k = kernel;
  auto make = kernel.make;
  const Plan* p = &plan;
  k.make = [make, p] { return std::make_unique<FaultyKernel>(make(), *p); };
  return k;
}

WorkerLoop isolation_loop(const Plan& plan) {
  return
      [&plan](Worker& w, Kernel& k, const RunSpec& spec) { return run_isolated(w, k, spec, plan); };
}

WorkerOutcome run_isolated(Worker& w, Kernel& kernel, const RunSpec& spec, const Plan& plan) {
  const EventLog log(plan.report_path);
  WorkerOutcome out;
  out.worker = w.id();
  log.linef("start %d %lld %d %d %.6f", w.id(), static_cast<long long>(::getpid()), w.rank(),
            w.thread(), monotonic_s());
  struct ResetStartLine {
    ~ResetStartLine() { t_start_line = -1.0; }
  } reset;
  try {
    w.enter();
    kernel.setup(w, spec.params);
    for (int i = 0; i < spec.params.warmup; ++i) w.run_iteration(kernel);
    // A check now, too: every code path the worker runs after the start line has run once, so
    // the growth measured from there is memory, not code pages faulting in.
    kernel.verify_local(w);
    // The start line: every worker is set up and warm. It is the last team operation; from here
    // on no worker waits for another, so a dead or stuck peer cannot stop the others.
    w.rep_barrier();
    const double start = monotonic_s();
    if (w.thread() == 0)
      for (const auto& path : platform::mapped_shared_memory_files())
        log.linef("shm %d %s", w.id(), path.c_str());
    // Measured after everything this loop does only once, so that its growth is the run's own.
    auto mem = platform::process_memory(false);
    log.linef("warm %d %.6f %lld %lld", w.id(), start, static_cast<long long>(mem.rss),
              static_cast<long long>(mem.peak_rss));
    t_start_line = start;
    while (monotonic_s() - start < plan.run_s) w.run_iteration(kernel);
    t_start_line = -1.0;
    const Verification v = kernel.verify_local(w);
    mem = platform::process_memory(false);
    char done[128];
    std::snprintf(done, sizeof done, "done %d %.6f %d %lld %lld ", w.id(), monotonic_s(),
                  v.ok ? 1 : 0, static_cast<long long>(mem.rss),
                  static_cast<long long>(mem.peak_rss));
    log.line(done + v.detail);
    w.leave();
    out.completed = true;
    out.verified = v.ok;
    out.verify_error = v.error;
    out.verify_detail = v.detail;
  } catch (const std::exception& e) {
    char fail[64];
    std::snprintf(fail, sizeof fail, "fail %d %.6f ", w.id(), monotonic_s());
    log.line(fail + std::string(e.what()));
    throw;
  }
  return out;
}

}  // namespace corescope::isolation
