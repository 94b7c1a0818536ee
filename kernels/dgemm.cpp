// dgemm: C = A B for n x n doubles, compute-bound; each worker computes a block of rows of C
// from its rows of A and its own full copy of B (as an MPI code without shared memory would).
//   algo=blocked  cache-blocked: a KB x JB block of B stays in L2 while four rows of C stream
//                 through it, each B element loaded once for four multiply-adds
//   algo=naive    the textbook i-j-k triple loop (B walked by columns), for the ratio
// Entries are small integers chosen so that C is known in closed form:
//   A(i,k) = alpha_i + beta_k, B(k,j) = gamma_k + delta_j  =>
//   C(i,j) = n alpha_i delta_j + alpha_i sum(gamma) + delta_j sum(beta) + sum(beta gamma)
// Every product and partial sum is an integer far below 2^53, so every entry of C must match
// exactly, whatever the blocking or summation order. Flops: 2 n^3 per iteration.
#include <algorithm>
#include <cmath>

#include "core/run.hpp"
#include "kernels/kernel_util.hpp"

namespace corescope::kernel_lib {

namespace {

inline double alpha_of(std::size_t i) { return static_cast<double>(i % 7) - 3.0; }
inline double beta_of(std::size_t k) { return static_cast<double>(k % 5) - 2.0; }
inline double gamma_of(std::size_t k) { return static_cast<double>(k % 3) - 1.0; }
inline double delta_of(std::size_t j) { return static_cast<double>(j % 11) - 5.0; }

constexpr std::size_t kJB = 256;   // columns of a block: 4 C rows x 256 doubles = 8 KiB in L1
constexpr std::size_t kKB = 128;   // depth of a block: 128 x 256 doubles of B = 256 KiB in L2
constexpr std::size_t kKStep = 8;  // GIL check every 8 rank-1 updates of a row quad (~1-2 us)

class Dgemm : public Kernel {
 public:
  void setup(Worker& w, const Params& p) override {
    n_ = p.size;
    naive_ = p.get("algo") == "naive";
    rows_ = block_range(n_, w.count(), w.id());
    a_ = w.alloc_slice<double>(rows_.size() * n_).data();
    c_ = w.alloc_slice<double>(rows_.size() * n_).data();
    b_ = w.alloc_slice<double>(n_ * n_).data();
    chunked(w, 0, rows_.size(), 1, [&](std::size_t lo, std::size_t hi) {
      for (std::size_t r = lo; r < hi; ++r)
        for (std::size_t k = 0; k < n_; ++k) {
          a_[r * n_ + k] = alpha_of(rows_.begin + r) + beta_of(k);
          c_[r * n_ + k] = 0.0;
        }
    });
    chunked(w, 0, n_, 1, [&](std::size_t lo, std::size_t hi) {
      for (std::size_t k = lo; k < hi; ++k)
        for (std::size_t j = 0; j < n_; ++j) b_[k * n_ + j] = gamma_of(k) + delta_of(j);
    });
  }

  void iterate(Worker& w) override {
    if (naive_)
      multiply_naive(w);
    else
      multiply_blocked(w);
  }

  Verification verify(Worker& w) override {
    const Check mine = check_rows();
    return verdict(w.allreduce(mine.wrong, Op::sum), w.allreduce(mine.worst, Op::max));
  }

  // C has a closed form, so a worker can check its own rows alone.
  bool verifies_locally() const override { return true; }
  Verification verify_local(Worker&) override {
    const Check mine = check_rows();
    return verdict(mine.wrong, mine.worst);
  }

 private:
  struct Check {
    double wrong = 0, worst = 0;
  };
  Check check_rows() const {
    double sum_gamma = 0, sum_beta = 0, sum_beta_gamma = 0;
    for (std::size_t k = 0; k < n_; ++k) {
      sum_gamma += gamma_of(k);
      sum_beta += beta_of(k);
      sum_beta_gamma += beta_of(k) * gamma_of(k);
    }
    const double n = static_cast<double>(n_);
    double wrong = 0, worst = 0;
    for (std::size_t r = 0; r < rows_.size(); ++r) {
      const double a = alpha_of(rows_.begin + r);
      for (std::size_t j = 0; j < n_; ++j) {
        const double d = delta_of(j);
        const double want = n * a * d + a * sum_gamma + d * sum_beta + sum_beta_gamma;
        const double diff = std::abs(c_[r * n_ + j] - want);
        if (!(diff == 0.0)) {
          wrong += 1;
          worst = std::isnan(diff) ? INFINITY : std::max(worst, diff);
        }
      }
    }
    return {wrong, worst};
  }
  static Verification verdict(double wrong, double worst) {
    Verification v;
    v.error = worst;
    v.ok = wrong == 0;
    if (!v.ok)
      v.detail = std::to_string(static_cast<long long>(wrong)) +
                 " entries of C differ from the closed form (max by " + std::to_string(v.error) +
                 ")";
    return v;
  }

  void multiply_blocked(Worker& w) {
    const std::size_t n = n_, rows = rows_.size();
    for (std::size_t r = 0; r < rows; ++r) std::fill_n(c_ + r * n, n, 0.0);
    for (std::size_t jb = 0; jb < n; jb += kJB) {
      const std::size_t jw = std::min(kJB, n - jb);
      for (std::size_t kb = 0; kb < n; kb += kKB) {
        const std::size_t ke = std::min(n, kb + kKB);
        std::size_t r = 0;
        for (; r + 4 <= rows; r += 4) quad(w, r, kb, ke, jb, jw);
        for (; r < rows; ++r) single(w, r, kb, ke, jb, jw);
      }
    }
  }

  // Rows r..r+3 of C, columns jb..jb+jw, accumulate A(:, kb..ke) B(kb..ke, :).
  void quad(Worker& w, std::size_t r, std::size_t kb, std::size_t ke, std::size_t jb,
            std::size_t jw) {
    const std::size_t n = n_;
    const double* a0 = a_ + r * n;
    const double* a1 = a0 + n;
    const double* a2 = a1 + n;
    const double* a3 = a2 + n;
    double* __restrict c0 = c_ + r * n + jb;
    double* __restrict c1 = c0 + n;
    double* __restrict c2 = c1 + n;
    double* __restrict c3 = c2 + n;
    for (std::size_t k0 = kb; k0 < ke; k0 += kKStep) {
      const std::size_t k1 = std::min(ke, k0 + kKStep);
      for (std::size_t k = k0; k < k1; ++k) {
        const double x0 = a0[k], x1 = a1[k], x2 = a2[k], x3 = a3[k];
        const double* __restrict b = b_ + k * n + jb;
        CORESCOPE_IVDEP
        for (std::size_t j = 0; j < jw; ++j) {
          const double bj = b[j];
          c0[j] += x0 * bj;
          c1[j] += x1 * bj;
          c2[j] += x2 * bj;
          c3[j] += x3 * bj;
        }
      }
      w.yield_point();
    }
  }

  void single(Worker& w, std::size_t r, std::size_t kb, std::size_t ke, std::size_t jb,
              std::size_t jw) {
    const std::size_t n = n_;
    const double* a = a_ + r * n;
    double* __restrict c = c_ + r * n + jb;
    for (std::size_t k = kb; k < ke; ++k) {
      const double x = a[k];
      const double* __restrict b = b_ + k * n + jb;
      CORESCOPE_IVDEP
      for (std::size_t j = 0; j < jw; ++j) c[j] += x * b[j];
      if ((k - kb) % (4 * kKStep) == 0) w.yield_point();
    }
  }

  void multiply_naive(Worker& w) {
    const std::size_t n = n_;
    // ~1 us of dot products per check
    const std::size_t per_chunk = std::max<std::size_t>(1, 512 / n);
    for (std::size_t r = 0; r < rows_.size(); ++r) {
      const double* a = a_ + r * n;
      chunked(w, 0, n, per_chunk, [&](std::size_t lo, std::size_t hi) {
        for (std::size_t j = lo; j < hi; ++j) {
          double s = 0.0;
          for (std::size_t k = 0; k < n; ++k) s += a[k] * b_[k * n + j];
          c_[r * n + j] = s;
        }
      });
    }
  }

  std::size_t n_ = 0;
  bool naive_ = false;
  Range rows_{};
  double* a_ = nullptr;
  double* b_ = nullptr;
  double* c_ = nullptr;
};

}  // namespace

KernelInfo dgemm_kernel() {
  KernelInfo k;
  k.name = "dgemm";
  k.category = "compute-bound";
  k.description =
      "cache-blocked dense C = A B (2 n^3 flops), rows of C over workers; algo=naive for the "
      "triple loop";
  k.size_unit = "matrix order n";
  k.params = {{"algo",
               "blocked",
               {"blocked", "naive"},
               "cache-blocked kernel, or the naive i-j-k triple loop"}};
  k.size_for_class = [](SizeClass c, const MachineInfo&) -> std::size_t {
    switch (c) {
      case SizeClass::S: return 131;
      case SizeClass::M: return 1000;
      case SizeClass::L: return 3001;
    }
    return 1000;
  };
  // A and C split over the workers, plus one full B per worker.
  k.memory_bytes = [](const Params& p, int workers) {
    const double n2 = static_cast<double>(p.size) * static_cast<double>(p.size);
    return 8.0 * n2 * (2.0 + workers);
  };
  // Compulsory traffic: A read, C written, B read by every worker; 2 n^3 flops.
  k.cost = [](const Params& p, int workers) {
    const double n = static_cast<double>(p.size);
    return Cost{8.0 * n * n * (2.0 + workers), 2.0 * n * n * n};
  };
  k.validate = [](const RunSpec& spec) {
    const Params& p = spec.params;
    require_positive_size(p, "dgemm");
    if (p.size > (1u << 20))
      throw UsageError("kernel dgemm: --size (matrix order) must be at most 2^20");
  };
  k.make = [] { return std::make_unique<Dgemm>(); };
  return k;
}

}  // namespace corescope::kernel_lib
