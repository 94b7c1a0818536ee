// Helpers shared by kernel files: chunked loops that reach the GIL check once per chunk, and
// size-class defaults tied to the detected cache size.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "core/errors.hpp"
#include "core/kernel.hpp"
#include "core/machine.hpp"

namespace corescope::kernel_lib {

// Runs body(begin, end) over [begin, end) in chunks of `chunk` items, with one yield_point() per
// chunk: the GIL check costs one load per chunk, never one per element.
template <class Body>
inline void chunked(Worker& w, std::size_t begin, std::size_t end, std::size_t chunk, Body&& body) {
  for (std::size_t lo = begin; lo < end; lo += chunk) {
    body(lo, std::min(end, lo + chunk));
    w.yield_point();
  }
}

// Elements for a memory-bound kernel moving `bytes_per_element`: S is small enough for the test
// suite; M is at least 4x the last-level cache (and 4 MiB); L is 16x M.
inline std::size_t memory_bound_size(SizeClass c, const MachineInfo& m, std::size_t bytes_per_element) {
  const std::size_t llc = static_cast<std::size_t>(std::max<std::int64_t>(m.llc_bytes, 1 << 20));
  const std::size_t medium = std::max<std::size_t>(4 * llc, 4u << 20) / bytes_per_element;
  switch (c) {
    case SizeClass::S: return 100003;  // prime, so it never divides evenly among workers
    case SizeClass::M: return medium;
    case SizeClass::L: return 16 * medium;
  }
  return medium;
}

inline void require_positive_size(const Params& p, const char* kernel) {
  if (p.size == 0) throw UsageError(std::string("kernel ") + kernel + ": --size must be at least 1");
}

// A counter-based random number: the same value for index i whatever worker computes it.
inline std::uint64_t mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
// Uniform in [0, 1) with 53 random bits.
inline double uniform01(std::uint64_t x) { return static_cast<double>(mix64(x) >> 11) * 0x1.0p-53; }

}  // namespace corescope::kernel_lib
