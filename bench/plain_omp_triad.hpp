// The reference for the side-by-side benchmark: STREAM triad written as a plain OpenMP program
// (`#pragma omp parallel for`), no corescope in between, compiled with the same flags.
#pragma once
#include <cstddef>

namespace corescope::bench {

class PlainOmpTriad {
 public:
  // Allocates and first-touches a, b, c with the same static schedule as the timed loop.
  PlainOmpTriad(std::size_t n, int threads);
  ~PlainOmpTriad();
  PlainOmpTriad(const PlainOmpTriad&) = delete;
  PlainOmpTriad& operator=(const PlainOmpTriad&) = delete;

  void iterate();       // a = b + 3 c, one parallel region
  bool verify() const;  // every a[i] as corescope's triad expects

 private:
  std::size_t n_;
  int threads_;
  double *a_, *b_, *c_;
};

}  // namespace corescope::bench
