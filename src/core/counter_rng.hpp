// Counter-based random numbers: value i is a hash of i alone, so it is the same whichever worker
// computes it (ep's samples, the speed probe's work).
#pragma once
#include <cstdint>

namespace corescope {

// A 64-bit finaliser (multiply-xorshift): every output bit depends on every input bit.
inline std::uint64_t mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
// Uniform in [0, 1) with 53 random bits.
inline double uniform01(std::uint64_t x) { return static_cast<double>(mix64(x) >> 11) * 0x1.0p-53; }

}  // namespace corescope
