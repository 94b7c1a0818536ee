// stencil: 2-D Jacobi sweep of the 5-point Laplacian (the explicit heat equation step at its
// stability limit, dt = h^2/4) on an n x n interior grid with zero Dirichlet boundaries.
// Rows are split in blocks over the workers; each iteration first exchanges one halo row with
// each neighbour through Worker::sendrecv (MPI messages, shared-memory mailboxes or the
// processes channel), then sweeps. Counted as STREAM would: 16 bytes (read u, write v) and 4
// flops per grid point per iteration.
//
// Verification is closed form: the initial field is the discrete eigenmode
// u0(i, j) = A sin(pi i h) sin(pi j h), h = 1/(n+1), which one Jacobi sweep multiplies by exactly
// lambda = cos(pi h). After t sweeps every point must equal lambda^t u0(i, j) to rounding; a
// missing, stale or misplaced halo row is off by orders of magnitude more. A is chosen so the
// field stays in the middle of the double range over all warm-up + timed sweeps.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numbers>

#include "core/run.hpp"
#include "kernels/kernel_util.hpp"

namespace corescope::kernel_lib {

namespace {

// ln(1/lambda) per sweep for an n x n grid.
double decay_rate(std::size_t n) {
  return -std::log(std::cos(std::numbers::pi / static_cast<double>(n + 1)));
}
constexpr double kMaxDecay = 1200.0;  // e^-1200 over a run still fits: amplitude e^600 .. e^-600

class Stencil : public Kernel {
 public:
  void setup(Worker& w, const Params& p) override {
    n_ = p.size;
    stride_ = n_ + 2;  // one boundary column each side
    rows_ = block_range(n_, w.count(), w.id());
    local_ = rows_.size();
    const double h = 1.0 / static_cast<double>(n_ + 1);
    lambda_ = std::cos(std::numbers::pi * h);
    const double sweeps = std::max(1, p.warmup + p.reps);
    amplitude_ = std::exp(0.5 * std::min(kMaxDecay, sweeps * decay_rate(n_)));
    sines_.resize(stride_);
    for (std::size_t j = 0; j < stride_; ++j)
      sines_[j] = std::sin(std::numbers::pi * static_cast<double>(j) * h);
    sines_.front() = sines_.back() = 0.0;  // the boundary is exactly zero

    // Local rows 1..local_ plus a halo row above (0) and below (local_ + 1).
    u_ = w.alloc_slice<double>((local_ + 2) * stride_).data();
    v_ = w.alloc_slice<double>((local_ + 2) * stride_).data();
    chunked(w, 0, local_ + 2, rows_per_chunk(), [&](std::size_t lo, std::size_t hi) {
      for (std::size_t r = lo; r < hi; ++r) {
        const bool halo = r == 0 || r == local_ + 1;
        // global row rows_.begin + r
        const double si = halo ? 0.0 : amplitude_ * sines_[rows_.begin + r];
        for (std::size_t j = 0; j < stride_; ++j) {
          u_[r * stride_ + j] = si * sines_[j];
          v_[r * stride_ + j] = 0.0;
        }
      }
    });
    sweeps_ = 0;
  }

  void iterate(Worker& w) override {
    exchange_halos(w);
    const double* __restrict u = u_;
    double* __restrict v = v_;
    const std::size_t s = stride_, n = n_;
    chunked(w, 1, local_ + 1, rows_per_chunk(), [&](std::size_t lo, std::size_t hi) {
      for (std::size_t r = lo; r < hi; ++r) {
        const double* up = u + (r - 1) * s;
        const double* mid = u + r * s;
        const double* down = u + (r + 1) * s;
        double* out = v + r * s;
        CORESCOPE_IVDEP
        for (std::size_t j = 1; j <= n; ++j)
          out[j] = 0.25 * (up[j] + down[j] + mid[j - 1] + mid[j + 1]);
      }
    });
    std::swap(u_, v_);
    ++sweeps_;
  }

  Verification verify(Worker& w) override {
    const double scale = amplitude_ * std::pow(lambda_, static_cast<double>(sweeps_));
    double worst = 0.0;
    for (std::size_t r = 1; r <= local_; ++r) {
      const double si = sines_[rows_.begin + r];
      for (std::size_t j = 1; j <= n_; ++j) {
        const double d = std::abs(u_[r * stride_ + j] - scale * si * sines_[j]) / scale;
        worst = std::isnan(d) ? std::numeric_limits<double>::infinity() : std::max(worst, d);
      }
    }
    worst = w.allreduce(worst, Op::max);
    // Each sweep rounds 3 additions; lambda^t rounds about t times: allow 16 eps per sweep.
    const double tolerance =
        16.0 * std::numeric_limits<double>::epsilon() * static_cast<double>(sweeps_ + 2);
    Verification v;
    v.error = worst;
    v.ok = worst <= tolerance;
    if (!v.ok) {
      char text[160];
      std::snprintf(
          text, sizeof text,
          "grid differs from lambda^t x eigenmode by %.3g relative (allowed %.3g) after %zu sweeps",
          worst, tolerance, sweeps_);
      v.detail = text;
    }
    return v;
  }

  std::vector<Metric> metrics(Worker&) override {
    return {
        {"sweeps", static_cast<double>(sweeps_), "",
         "stencil: Jacobi sweeps run (warm-up + timed)"},
        {"decay_per_sweep", lambda_, "", "stencil: exact decay factor of the eigenmode per sweep"}};
  }

 private:
  // Row r of the current field (0 = halo above, local_ + 1 = halo below); interior columns only.
  double* row(std::size_t r) const { return u_ + r * stride_ + 1; }

  // Two shifts along the chain of row blocks: first every block's last row goes down (and the
  // halo above arrives from the block above), then every first row goes up. Workers at the ends
  // have one neighbour and only send or only receive.
  void exchange_halos(Worker& w) {
    const int id = w.id(), up = id - 1, down = id + 1;
    const bool has_up = up >= 0, has_down = down < w.count();
    const std::size_t bytes = n_ * sizeof(double);
    if (has_up && has_down)
      w.sendrecv(down, row(local_), bytes, up, row(0), bytes);
    else if (has_down)
      w.send(down, row(local_), bytes);
    else if (has_up)
      w.recv(up, row(0), bytes);

    if (has_up && has_down)
      w.sendrecv(up, row(1), bytes, down, row(local_ + 1), bytes);
    else if (has_up)
      w.send(up, row(1), bytes);
    else if (has_down)
      w.recv(down, row(local_ + 1), bytes);
  }

  std::size_t rows_per_chunk() const {
    return std::max<std::size_t>(1, 2048 / stride_);
  }  // ~1 us per GIL check

  std::size_t n_ = 0, stride_ = 0, local_ = 0;
  std::size_t sweeps_ = 0;
  Range rows_{};
  double lambda_ = 1.0, amplitude_ = 1.0;
  std::vector<double> sines_;
  double* u_ = nullptr;
  double* v_ = nullptr;
};

// Grid side for a memory-bound class: n^2 points x 16 bytes (two fields).
std::size_t grid_side(SizeClass c, const MachineInfo& m) {
  if (c == SizeClass::S) return 251;  // prime: never divides evenly among workers
  return static_cast<std::size_t>(
      std::ceil(std::sqrt(static_cast<double>(memory_bound_size(c, m, 16)))));
}

}  // namespace

KernelInfo stencil_kernel() {
  KernelInfo k;
  k.name = "stencil";
  k.category = "memory-bound + halo exchange";
  k.description =
      "2-D Jacobi 5-point heat equation, row blocks with halo exchange (16 bytes, 4 flops/point)";
  k.size_unit = "grid side n (n x n points)";
  k.size_for_class = grid_side;
  k.memory_bytes = [](const Params& p, int workers) {
    const double n = static_cast<double>(p.size);
    return 16.0 * (n + 2.0) * (n + 2.0 * workers);
  };
  k.cost = [](const Params& p, int) {
    const double points = static_cast<double>(p.size) * static_cast<double>(p.size);
    return Cost{16.0 * points, 4.0 * points};
  };
  k.validate = [](const RunSpec& spec) {
    const Params& p = spec.params;
    if (p.size < 2) throw UsageError("kernel stencil: --size (grid side n) must be at least 2");
    if (p.size > (1u << 24))
      throw UsageError("kernel stencil: --size (grid side n) must be at most 2^24");
    if (p.size < static_cast<std::size_t>(spec.workers))
      throw UsageError("kernel stencil: a " + std::to_string(p.size) + " x " +
                       std::to_string(p.size) + " grid has fewer rows than the " +
                       std::to_string(spec.workers) +
                       " workers; use --size >= " + std::to_string(spec.workers));
    const double decay = static_cast<double>(p.warmup + p.reps) * decay_rate(p.size);
    if (decay > kMaxDecay)
      throw UsageError(
          "kernel stencil: " + std::to_string(p.warmup + p.reps) + " sweeps of a " +
          std::to_string(p.size) + " x " + std::to_string(p.size) +
          " grid decay the field below double range; use fewer --reps or a larger --size");
  };
  k.make = [] { return std::make_unique<Stencil>(); };
  return k;
}

}  // namespace corescope::kernel_lib
