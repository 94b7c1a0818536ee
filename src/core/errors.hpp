// Error kinds shared by the whole tool: user mistakes (exit 2), runtime failures (exit 1),
// and internal invariants (abort with file and line).
#pragma once
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace corescope {

// A mistake in what the user asked for. The CLI prints the message as one line and exits 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Something went wrong while doing what was asked (I/O, a worker died, ...). Exit 1.
struct RuntimeFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] inline void invariant_failed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "corescope: internal error: %s failed at %s:%d\n", expr, file, line);
  std::abort();
}

}  // namespace corescope

// Internal invariants only: never for user input.
#define CS_CHECK(expr) \
  ((expr) ? static_cast<void>(0) : ::corescope::invariant_failed(#expr, __FILE__, __LINE__))
