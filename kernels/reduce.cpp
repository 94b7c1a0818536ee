// reduce: dot product x.y of two distributed vectors, then an allreduce. Memory-bound streaming
// plus one collective per iteration; the exact answer is known in closed form.
#include <cmath>

#include "core/run.hpp"
#include "kernels/kernel_util.hpp"

namespace corescope::kernel_lib {

namespace {
// x_i = ((i mod 16) + 1) / 16 and y_i = 2: every product and partial sum is a multiple of 1/8,
// exact in double precision, so the sum does not depend on the order of additions.
inline double x_of(std::size_t i) { return static_cast<double>(i % 16 + 1) / 16.0; }
constexpr double kY = 2.0;

double expected_dot(std::size_t n) {
  const double blocks = static_cast<double>(n / 16), r = static_cast<double>(n % 16);
  return 17.0 * blocks + r * (r + 1.0) / 16.0;
}

class Reduce : public Kernel {
 public:
  void setup(Worker& w, const Params& p) override {
    n_ = p.size;
    range_ = block_range(n_, w.count(), w.id());
    x_ = w.alloc_slice<double>(range_.size());
    y_ = w.alloc_slice<double>(range_.size());
    chunked(w, 0, range_.size(), kChunk, [&](std::size_t lo, std::size_t hi) {
      for (std::size_t i = lo; i < hi; ++i) {
        x_[i] = x_of(range_.begin + i);
        y_[i] = kY;
      }
    });
  }

  void iterate(Worker& w) override {
    const double* __restrict x = x_.data();
    const double* __restrict y = y_.data();
    double local = 0.0;
    chunked(w, 0, range_.size(), kChunk, [&](std::size_t lo, std::size_t hi) {
      double s = 0.0;
      for (std::size_t i = lo; i < hi; ++i) s += x[i] * y[i];
      local += s;
    });
    result_ = w.allreduce(local, Op::sum);
  }

  Verification verify(Worker&) override {
    Verification v;
    const double want = expected_dot(n_);
    v.error = std::abs(result_ - want);
    v.ok = v.error == 0.0;
    if (!v.ok) v.detail = "dot product " + std::to_string(result_) + " != " + std::to_string(want);
    return v;
  }

  std::vector<Metric> metrics(Worker&) override {
    return {{"dot", result_, "", "reduce: the dot product computed"}};
  }

 private:
  static constexpr std::size_t kChunk = 2048;
  std::size_t n_ = 0;
  Range range_{};
  std::span<double> x_, y_;
  double result_ = 0.0;
};

}  // namespace

KernelInfo reduce_kernel() {
  KernelInfo k;
  k.name = "reduce";
  k.category = "memory-bound + collective";
  k.description = "dot product of two distributed vectors with an allreduce (16 bytes/element)";
  k.size_unit = "elements";
  k.size_for_class = [](SizeClass c, const MachineInfo& m) { return memory_bound_size(c, m, 16); };
  k.memory_bytes = [](const Params& p, int) { return 16.0 * static_cast<double>(p.size); };
  k.cost = [](const Params& p, int) {
    return Cost{16.0 * static_cast<double>(p.size), 2.0 * static_cast<double>(p.size)};
  };
  k.validate = [](const RunSpec& spec) {
    const Params& p = spec.params;
    require_positive_size(p, "reduce");
    if (p.size > (1ull << 49)) throw UsageError("kernel reduce: --size above 2^49 loses exactness");
  };
  k.make = [] { return std::make_unique<Reduce>(); };
  return k;
}

}  // namespace corescope::kernel_lib
