// pingpong: worker 0 and worker 1 bounce one message of --size bytes back and forth through the
// mode's channel (MPI messages, a processes channel, the threads' mailboxes); the other workers
// idle at the barrier. As in the OSU latency test, one timed iteration is many round trips, the
// run loop's warm-up iterations warm the path up, and each repetition is kept in /samples. The
// round trips per iteration are calibrated by time in setup (about rep_ms each, so a slow path
// cannot stretch a run to minutes) unless --param round_trips=N fixes them; /runs gets the
// count (round_trips), latency_s (median half round trip) and gbytes_per_s (message bytes / half
// round trip). A size sweep is `--size 0:4M` (one run each; 0 bytes, as in osu_latency,
// measures the channel's own cost: headers, wake-ups, system calls).
//
// Verification: the message carries the round-trip number in its first and last 8 bytes,
// checked by the receiver on every hop; the rest is a fixed pattern both sides check at the end.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include "core/run.hpp"
#include "kernels/kernel_util.hpp"

namespace corescope::kernel_lib {

namespace {
constexpr long long kMaxRoundTrips = 10'000'000;     // auto: at most this many per repetition
constexpr long long kMaxCalibrationBatch = 1 << 20;  // auto: the largest batch of timed round trips
// auto: timed round trips before the median counts (batches 1..16)
constexpr long long kMinCalibrationTrips = 31;

inline unsigned char pattern(std::size_t i) {
  return static_cast<unsigned char>((i * 131u + 7u) >> 1);
}

bool calibrated(const Params& p) { return p.get("round_trips") == "auto"; }

class PingPong : public Kernel {
 public:
  void setup(Worker& w, const Params& p) override {
    bytes_ = p.size;
    const bool active = w.id() < 2;
    // alloc_slice is collective: idle workers take an empty slice.
    out_ = w.alloc_slice<unsigned char>(active ? bytes_ : 0);
    in_ = w.alloc_slice<unsigned char>(active ? bytes_ : 0);
    chunked(w, 0, out_.size(), kChunk, [&](std::size_t lo, std::size_t hi) {
      for (std::size_t i = lo; i < hi; ++i) {
        out_[i] = pattern(i);
        in_[i] = 0;
      }
    });
    head_ = std::min<std::size_t>(8, bytes_);
    tail_ = bytes_ >= 16 ? 8 : 0;
    times_.reserve(p);
    trips_ = calibrated(p) ? calibrate(w, p.get_double("rep_ms") * 1e-3) : p.get_int("round_trips");
  }

  void iterate(Worker& w) override {
    if (w.id() == 0) times_.start();
    bounce(w, trips_);
    if (w.id() == 0) times_.stop();
  }

  Verification verify(Worker& w) override {
    // Both active workers hold the last message received; outside the stamps it must be the
    // pattern.
    double wrong_bytes = 0;
    if (w.id() < 2 && head_ + tail_ < bytes_)
      chunked(w, head_, bytes_ - tail_, kChunk, [&](std::size_t lo, std::size_t hi) {
        for (std::size_t i = lo; i < hi; ++i) wrong_bytes += in_[i] != pattern(i) ? 1 : 0;
      });
    const double bad_hops = w.allreduce(static_cast<double>(bad_hops_), Op::sum);
    wrong_bytes = w.allreduce(wrong_bytes, Op::sum);
    Verification v;
    v.ok = bad_hops == 0 && wrong_bytes == 0;
    v.error = bad_hops + wrong_bytes;
    if (!v.ok)
      v.detail = std::to_string(static_cast<long long>(bad_hops)) +
                 " messages arrived with the wrong round-trip stamp, " +
                 std::to_string(static_cast<long long>(wrong_bytes)) +
                 " payload bytes differ from the pattern";
    return v;
  }

  std::vector<Metric> metrics(Worker& w) override {
    if (w.id() != 0) return {};
    return {{"latency_s", times_.median() / (2.0 * static_cast<double>(trips_)), "s",
             "pingpong: median over repetitions of the half round-trip time"},
            {"round_trips", static_cast<double>(trips_), "",
             "pingpong: round trips per timed iteration"}};
  }

 private:
  void bounce(Worker& w, long long trips) {
    if (w.id() == 0) {
      for (long long r = 0; r < trips; ++r, ++hop_) {
        stamp(out_.data(), hop_);
        w.send(1, out_.data(), bytes_);
        w.recv(1, in_.data(), bytes_);
        if (!stamped(in_.data(), hop_)) ++bad_hops_;
      }
    } else if (w.id() == 1) {
      for (long long r = 0; r < trips; ++r, ++hop_) {
        w.recv(0, in_.data(), bytes_);
        if (!stamped(in_.data(), hop_)) ++bad_hops_;
        w.send(0, in_.data(), bytes_);  // echo what arrived
      }
    }
  }

  // Round trips for about `target` seconds. After one untimed round trip that opens the path,
  // worker 0 times round trips one by one, in batches of 1, 2, 4, ... (the workers agree after
  // each batch whether to go on), until they add up to a quarter of the target and at least
  // kMinCalibrationTrips were timed, or calibrating took three targets and 7 round trips (a slow
  // path: a round trip that takes seconds cannot make calibrating take minutes). The count
  // is the target over the median round trip: a round trip that caught a preemption on a loaded
  // machine moves the median little, where it sets the count of a calibration by batch totals
  // (1 to 10,105 round trips for the same 8-byte path here). Every worker derives the same count
  // from the reduced median.
  long long calibrate(Worker& w, double target) {
    using clock = std::chrono::steady_clock;
    bounce(w, 1);
    std::vector<double> trip_s;  // worker 0: each timed round trip
    double spent = 0.0;
    for (long long batch = 1;; batch *= 2) {
      double mine = 0.0;
      for (long long i = 0; i < batch; ++i) {
        const auto t0 = clock::now();
        bounce(w, 1);
        if (w.id() != 0) continue;
        trip_s.push_back(std::chrono::duration<double>(clock::now() - t0).count());
        mine += trip_s.back();
      }
      spent += w.allreduce(mine, Op::max);
      const long long timed = 2 * batch - 1;  // batches 1, 2, ..., batch
      const bool enough = spent >= target / 4 && timed >= kMinCalibrationTrips;
      // a few seconds at most for 1-second round trips
      const bool slow_path = spent >= 3 * target && timed >= 7;
      if (enough || slow_path || batch >= kMaxCalibrationBatch) break;
    }
    double median = 0.0;
    if (!trip_s.empty()) {
      std::nth_element(trip_s.begin(),
                       trip_s.begin() + static_cast<std::ptrdiff_t>(trip_s.size() / 2),
                       trip_s.end());
      median = trip_s[trip_s.size() / 2];
    }
    const double per_trip = w.allreduce(median, Op::max);
    return std::clamp(static_cast<long long>(target / std::max(per_trip, 1e-9)), 1LL,
                      kMaxRoundTrips);
  }

  // The hop number in the first (up to) 8 bytes and, for messages of 16 bytes or more, the last 8.
  // Fixed-size copies for the common case, so a hop costs a few instructions, not library calls.
  void stamp(unsigned char* m, std::uint64_t hop) const {
    if (head_ == 0) return;  // an empty message carries nothing: it arrived, that is all
    if (head_ == 8)
      std::memcpy(m, &hop, 8);
    else
      std::memcpy(m, &hop, head_);
    if (tail_) std::memcpy(m + bytes_ - 8, &hop, 8);
  }
  bool stamped(const unsigned char* m, std::uint64_t hop) const {
    if (head_ == 0) return true;
    std::uint64_t first = 0, expect = hop, last = hop;
    if (head_ == 8) {
      std::memcpy(&first, m, 8);
    } else {  // a message shorter than 8 bytes carries the first bytes of the number
      expect = 0;
      std::memcpy(&first, m, head_);
      std::memcpy(&expect, &hop, head_);
    }
    if (tail_) std::memcpy(&last, m + bytes_ - 8, 8);
    return first == expect && last == hop;
  }

  static constexpr std::size_t kChunk = 4096;  // bytes per GIL check in setup and verify
  std::size_t bytes_ = 0, head_ = 0, tail_ = 0;
  long long trips_ = 0;
  std::uint64_t hop_ = 0, bad_hops_ = 0;
  std::span<unsigned char> out_, in_;
  IterationTimes times_;
};
}  // namespace

KernelInfo pingpong_kernel() {
  KernelInfo k;
  k.name = "pingpong";
  k.category = "communication";
  k.description =
      "workers 0 and 1 bounce a message of --size bytes through the mode's channel (latency, "
      "bandwidth)";
  k.size_unit = "bytes per message";
  // One-way latency as osu_latency states it: a repetition holds 2 x round_trips messages.
  k.merit = {.name = "latency", .unit = "message", .count_column = "round_trips", .per = 2.0};
  k.params = {
      {"round_trips",
       "auto",
       {},
       "round trips per timed iteration; auto = as many as take about rep_ms (measured in setup)"},
      {"rep_ms", "10", {}, "round_trips=auto: milliseconds per timed iteration to aim for"}};
  k.size_for_class = [](SizeClass c, const MachineInfo&) -> std::size_t {
    switch (c) {
      case SizeClass::S: return 8;
      case SizeClass::M: return 1u << 20;
      case SizeClass::L: return 4u << 20;
    }
    return 1u << 20;
  };
  k.memory_bytes = [](const Params& p, int) { return 4.0 * static_cast<double>(p.size); };
  // Every round trip moves the message twice; gbytes_per_s is then bytes / half round trip.
  // With round_trips=auto the count is known only after setup: the round_trips metric has it.
  k.cost = [](const Params& p, int) {
    const double trips = calibrated(p) ? 0.0 : static_cast<double>(p.get_int("round_trips"));
    return Cost{2.0 * trips * static_cast<double>(p.size), 0.0};
  };
  k.measured_cost = [](const Params& p, int, const std::vector<Metric>& metrics) {
    for (const auto& m : metrics)
      if (m.name == "round_trips") return Cost{2.0 * m.value * static_cast<double>(p.size), 0.0};
    return Cost{};
  };
  k.validate = [](const RunSpec& spec) {
    const Params& p = spec.params;
    if (spec.workers < 2)
      throw UsageError("kernel pingpong needs at least 2 workers (0 and 1 bounce the message)");
    if (spec.scaling == "weak")
      throw UsageError(
          "kernel pingpong: --size is the message size; --scaling weak does not apply");
    if (p.size > (1ull << 30)) throw UsageError("kernel pingpong: messages are limited to 1 GiB");
    if (p.get("round_trips") != "auto" &&
        (p.get_int("round_trips") < 1 || p.get_int("round_trips") > 100000000))
      throw UsageError(
          "kernel pingpong: --param round_trips must be auto or between 1 and 100000000");
    const double rep_ms = p.get_double("rep_ms");
    if (!(rep_ms >= 0.01 && rep_ms <= 60000))
      throw UsageError("kernel pingpong: --param rep_ms must be between 0.01 and 60000");
  };
  k.make = [] { return std::make_unique<PingPong>(); };
  return k;
}

}  // namespace corescope::kernel_lib
