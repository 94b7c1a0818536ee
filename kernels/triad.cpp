// triad: a = b + s*c over three arrays (STREAM's triad), memory-bound. Counted as STREAM does:
// 24 bytes and 2 flops per element per iteration.
#include <cmath>

#include "core/run.hpp"
#include "kernels/kernel_util.hpp"

namespace corescope::kernel_lib {

namespace {
constexpr double kScalar = 3.0;
// Exactly representable initial values, known in closed form for every global index.
inline double b_of(std::size_t i) { return 1.0 + static_cast<double>(i % 7); }
inline double c_of(std::size_t i) { return 0.5 * static_cast<double>(i % 3); }

class Triad : public Kernel {
 public:
  void setup(Worker& w, const Params& p) override {
    range_ = block_range(p.size, w.count(), w.id());
    a_ = w.alloc_slice<double>(range_.size());
    b_ = w.alloc_slice<double>(range_.size());
    c_ = w.alloc_slice<double>(range_.size());
    // First touch by the worker that computes on the data.
    chunked(w, 0, range_.size(), kChunk, [&](std::size_t lo, std::size_t hi) {
      for (std::size_t i = lo; i < hi; ++i) {
        a_[i] = 0.0;
        b_[i] = b_of(range_.begin + i);
        c_[i] = c_of(range_.begin + i);
      }
    });
  }

  void iterate(Worker& w) override {
    double* __restrict a = a_.data();
    const double* __restrict b = b_.data();
    const double* __restrict c = c_.data();
    chunked(w, 0, range_.size(), kChunk, [&](std::size_t lo, std::size_t hi) {
      CORESCOPE_IVDEP
      for (std::size_t i = lo; i < hi; ++i) a[i] = b[i] + kScalar * c[i];
    });
  }

  Verification verify(Worker& w) override {
    return verdict(w.allreduce(wrong_elements(), Op::sum));
  }

  // Every element is known in closed form, so a worker can check its own block alone.
  bool verifies_locally() const override { return true; }
  Verification verify_local(Worker&) override { return verdict(wrong_elements()); }

 private:
  double wrong_elements() const {
    double wrong = 0;
    for (std::size_t i = 0; i < range_.size(); ++i) {
      const std::size_t g = range_.begin + i;
      if (a_[i] != b_of(g) + kScalar * c_of(g) || b_[i] != b_of(g) || c_[i] != c_of(g)) wrong += 1;
    }
    return wrong;
  }
  static Verification verdict(double wrong) {
    Verification v;
    v.ok = wrong == 0;
    v.error = wrong;
    if (!v.ok)
      v.detail = std::to_string(static_cast<long long>(wrong)) + " elements differ from b + s*c";
    return v;
  }

  static constexpr std::size_t kChunk = 2048;  // ~1 us of streaming per GIL check
  Range range_{};
  std::span<double> a_, b_, c_;
};
}  // namespace

KernelInfo triad_kernel() {
  KernelInfo k;
  k.name = "triad";
  k.category = "memory-bound";
  k.description = "a = b + s*c over three arrays (STREAM triad, 24 bytes/element)";
  k.size_unit = "elements";
  k.size_for_class = [](SizeClass c, const MachineInfo& m) { return memory_bound_size(c, m, 24); };
  k.memory_bytes = [](const Params& p, int) { return 24.0 * static_cast<double>(p.size); };
  k.cost = [](const Params& p, int) {
    return Cost{24.0 * static_cast<double>(p.size), 2.0 * static_cast<double>(p.size)};
  };
  k.validate = [](const RunSpec& spec) {
    const Params& p = spec.params;
    require_positive_size(p, "triad");
  };
  k.make = [] { return std::make_unique<Triad>(); };
  return k;
}

}  // namespace corescope::kernel_lib
