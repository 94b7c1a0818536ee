// STREAM triad as a plain OpenMP program, the yardstick corescope's openmp mode is held to.
// Same initial values as kernels/triad.cpp so the two do identical work.
#include "bench/plain_omp_triad.hpp"

#include <omp.h>

#include <cstdlib>
#include <new>

namespace corescope::bench {

namespace {
double* allocate(std::size_t n) {
  void* p = std::aligned_alloc(64, (n * sizeof(double) + 63) / 64 * 64);
  if (p == nullptr) throw std::bad_alloc();
  return static_cast<double*>(p);
}
inline double b_of(std::size_t i) { return 1.0 + static_cast<double>(i % 7); }
inline double c_of(std::size_t i) { return 0.5 * static_cast<double>(i % 3); }
}  // namespace

PlainOmpTriad::PlainOmpTriad(std::size_t n, int threads)
    : n_(n), threads_(threads), a_(allocate(n)), b_(allocate(n)), c_(allocate(n)) {
  const long long count = static_cast<long long>(n_);
#pragma omp parallel for schedule(static) num_threads(threads_)
  for (long long i = 0; i < count; ++i) {
    const auto u = static_cast<std::size_t>(i);
    a_[u] = 0.0;
    b_[u] = b_of(u);
    c_[u] = c_of(u);
  }
}

PlainOmpTriad::~PlainOmpTriad() {
  std::free(a_);
  std::free(b_);
  std::free(c_);
}

void PlainOmpTriad::iterate() {
  double* __restrict a = a_;
  const double* __restrict b = b_;
  const double* __restrict c = c_;
  const long long count = static_cast<long long>(n_);
#pragma omp parallel for schedule(static) num_threads(threads_)
  for (long long i = 0; i < count; ++i) a[i] = b[i] + 3.0 * c[i];
}

bool PlainOmpTriad::verify() const {
  for (std::size_t i = 0; i < n_; ++i)
    if (a_[i] != b_of(i) + 3.0 * c_of(i)) return false;
  return true;
}

}  // namespace corescope::bench
