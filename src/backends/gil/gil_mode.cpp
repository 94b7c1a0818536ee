// gil mode: GilWorker (the GIL around a ThreadWorker's hooks) and the mode that runs a team of
// them.
#include "backends/gil/gil_mode.hpp"

#include <cmath>
#include <cstdio>
#include <utility>

#include "core/errors.hpp"
#include "core/kernel.hpp"
#include "core/text.hpp"

namespace corescope {

namespace {
constexpr double kMaxSwitchInterval = 10.0;  // seconds; longer would look like a hang

using DropKind = gil::Gil::DropKind;
}  // namespace

const std::vector<std::string>& gil_release_names() {
  static const std::vector<std::string> names{"none", "io", "compute"};
  return names;
}

GilRelease parse_gil_release(const std::string& name) {
  if (name == "none") return GilRelease::none;
  if (name == "io") return GilRelease::io;
  if (name == "compute") return GilRelease::compute;
  throw UsageError("unknown --gil-release '" + name +
                   "'; valid values: " + join(gil_release_names(), ", "));
}

GilWorker::GilWorker(int id, SharedTeam& team, gil::Gil& gil, GilRelease release)
    : ThreadWorker(id, team), gil_(gil), release_(release) {
  set_drop_request_flag(&me_.drop_request);
}

GilWorker::~GilWorker() {
  // A worker that failed mid-kernel still holds the GIL; the others must not wait for it forever.
  if (held_) drop(DropKind::voluntary);
}

void GilWorker::take() {
  gil_.take(me_);
  held_ = true;
}

void GilWorker::drop(DropKind kind) {
  held_ = false;
  gil_.drop(me_, kind);
}

void GilWorker::enter() { take(); }

void GilWorker::leave() {
  if (held_) drop(DropKind::voluntary);
}

void GilWorker::rep_barrier() {
  if (held_) drop(DropKind::voluntary);
  barrier();  // the GIL is not held, so the barrier's blocking scope neither drops nor takes it
  take_pending_ = true;
}

void GilWorker::run_iteration(Kernel& kernel) {
  const bool pending = std::exchange(take_pending_, false);
  if (release_ == GilRelease::compute) {
    // The whole iteration runs with the GIL released; it is held again afterwards, for the
    // run loop's bookkeeping and the kernel's verification.
    if (held_) drop(DropKind::voluntary);
    kernel.iterate(*this);
    take();
    return;
  }
  if (pending) take();
  kernel.iterate(*this);
}

void GilWorker::release_for_blocking() {
  ++depth_;
  // Waiting for another worker while holding the GIL would deadlock the team (the other worker
  // needs the GIL to get there), so team operations release it under every policy.
  const bool releases = release_ != GilRelease::none || in_team_operation();
  if (held_ && releases) {
    drop(DropKind::voluntary);
    released_at_ = depth_;
  }
}

void GilWorker::reacquire_after_blocking() {
  if (released_at_ == depth_) {
    released_at_ = -1;
    take();
  }
  --depth_;
}

template <class F>
decltype(auto) GilWorker::without_gil(F&& f) {
  struct Retake {
    GilWorker* w;  // null when the GIL was not held on entry
    ~Retake() {
      if (w) w->take();
    }
  } retake{held_ ? this : nullptr};
  if (held_) drop(DropKind::voluntary);
  return std::forward<F>(f)();
}

void* GilWorker::do_alloc_slice(std::size_t bytes, std::size_t align) {
  return without_gil([&] { return ThreadWorker::do_alloc_slice(bytes, align); });
}

void* GilWorker::do_team_shared(std::size_t bytes) {
  return without_gil([&] { return ThreadWorker::do_team_shared(bytes); });
}

void GilWorker::on_drop_request() {
  // The flag is only ever set while this thread holds the GIL; the check keeps a stray call
  // harmless.
  if (!held_) return;
  drop(DropKind::requested);
  take();
}

namespace {
class GilMode : public Mode {
 public:
  void prepare(const RunSpec& spec) override {
    const double s = spec.switch_interval_s;
    char text[32];
    std::snprintf(text, sizeof text, "%g", s);
    if (!(s > 0.0 && s <= kMaxSwitchInterval))
      throw UsageError(std::string("--switch-interval ") + text +
                       ": must be > 0 and <= 10 seconds");
    if (std::llround(s * 1e9) < 1)
      throw UsageError(std::string("--switch-interval ") + text + ": shorter than a nanosecond");
    parse_gil_release(spec.gil_release);
    gil::parse_policy(spec.gil_policy);
  }

  RunResult do_run(const RunSpec& spec, const KernelInfo& kernel,
                   const TeamControl& control) override {
    gil::Gil gil(std::chrono::nanoseconds(std::llround(spec.switch_interval_s * 1e9)),
                 gil::parse_policy(spec.gil_policy));
    const GilRelease release = parse_gil_release(spec.gil_release);
    return run_thread_team(spec, kernel, control, [&gil, release](int id, SharedTeam& team) {
      return std::make_unique<GilWorker>(id, team, gil, release);
    });
  }
};
}  // namespace

ModeInfo gil_mode() {
  return {
      .name = "gil",
      .description =
          "std::threads serialized by an emulated CPython GIL (--switch-interval, --gil-release)",
      .shape = shapes::one_process,
      .memory = Memory::shared,
      .gil = true,
      .isolate = true,
      .channels = {"atomic", "event"},
      .make = [] { return std::unique_ptr<Mode>(new GilMode); }};
}

}  // namespace corescope
