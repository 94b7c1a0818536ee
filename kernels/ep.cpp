// ep: embarrassingly parallel Monte Carlo estimate of pi, CPU-bound. Sample i's point comes from
// a counter-based generator of i alone, so the hit count is the same for any number of workers;
// the only communication is one allreduce per iteration.
#include <cmath>
#include <numbers>

#include "core/run.hpp"
#include "kernels/kernel_util.hpp"

namespace corescope::kernel_lib {

namespace {

class Ep : public Kernel {
 public:
  void setup(Worker& w, const Params& p) override {
    n_ = p.size;
    range_ = block_range(n_, w.count(), w.id());
    seed_ = static_cast<std::uint64_t>(p.get_int("seed"));
  }

  void iterate(Worker& w) override {
    double local_hits = 0;
    chunked(w, range_.begin, range_.end, kChunk, [&](std::size_t lo, std::size_t hi) {
      std::uint64_t hits = 0;
      for (std::size_t i = lo; i < hi; ++i) {
        const std::uint64_t key = seed_ + 2 * static_cast<std::uint64_t>(i);
        const double x = uniform01(key), y = uniform01(key + 1);
        hits += (x * x + y * y < 1.0) ? 1u : 0u;
      }
      local_hits += static_cast<double>(hits);
    });
    hits_ = w.allreduce(local_hits, Op::sum);
  }

  Verification verify(Worker& w) override {
    // The estimate must lie within 5 standard deviations of pi (binomial error of n samples).
    const double n = static_cast<double>(n_);
    const double p = std::numbers::pi / 4.0;
    const double estimate = 4.0 * hits_ / n;
    const double sigma = 4.0 * std::sqrt(p * (1.0 - p) / n);
    Verification v;
    v.error = std::abs(estimate - std::numbers::pi);
    v.ok = v.error <= 5.0 * sigma && hits_ >= 0 && hits_ <= n;
    if (!v.ok)
      v.detail = "pi estimate " + std::to_string(estimate) + " is " +
                 std::to_string(v.error / sigma) + " sigma away from pi";
    return v;
  }

  std::vector<Metric> metrics(Worker&) override {
    return {
        {"ep_hits", hits_, "", "ep: samples inside the quarter circle (identical in every mode)"},
        {"pi_estimate", 4.0 * hits_ / static_cast<double>(n_), "", "ep: estimate of pi"}};
  }

 private:
  static constexpr std::size_t kChunk = 128;  // ~1 us of sampling per GIL check
  std::size_t n_ = 0;
  Range range_{};
  std::uint64_t seed_ = 0;
  double hits_ = -1;
};

}  // namespace

KernelInfo ep_kernel() {
  KernelInfo k;
  k.name = "ep";
  k.category = "compute-bound";
  k.description =
      "Monte Carlo estimate of pi from counter-based random numbers (embarrassingly parallel)";
  k.size_unit = "samples";
  k.params = {{"seed", "12345", {}, "offset of the random stream"}};
  k.size_for_class = [](SizeClass c, const MachineInfo&) -> std::size_t {
    switch (c) {
      case SizeClass::S: return 100003;
      case SizeClass::M: return 1u << 24;
      case SizeClass::L: return 1u << 28;
    }
    return 1u << 24;
  };
  k.memory_bytes = [](const Params&, int) { return 0.0; };
  k.cost = [](const Params&, int) {
    return Cost{0.0, 0.0};
  };  // integer RNG dominates: no flop rate
  k.validate = [](const RunSpec& spec) {
    const Params& p = spec.params;
    require_positive_size(p, "ep");
    if (p.get_int("seed") < 0) throw UsageError("kernel ep: --param seed must be >= 0");
  };
  k.make = [] { return std::make_unique<Ep>(); };
  return k;
}

}  // namespace corescope::kernel_lib
