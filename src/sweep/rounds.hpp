// Rounds of a sweep (docs/user/sweeps.md): every round runs every cell once (or its runs per
// round), in an order shuffled afresh for each round from the sweep's seed, each run with a share
// of the cell's repetitions, so that a slow period of the machine spreads over all cells instead of
// landing on one.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace corescope::sweep {

// The largest seed a sweep takes (and writes to /runs `round_seed`, an int64).
inline constexpr std::uint64_t kMaxSeed = (std::uint64_t{1} << 62) - 1;

// A fresh seed from the system's entropy, in [0, 2^31) so that it is easy to type back as --seed.
std::uint64_t fresh_seed();

// The order of `n` items in round `round` for `seed`: a permutation of 0..n-1. The same on every
// machine and build (its own generator and shuffle, not the standard library's
// implementation-defined distributions).
std::vector<std::size_t> round_order(std::size_t n, std::uint64_t seed, int round);

// The same order with items that run several times a round spread over it: item i is run
// `slot[i]` (0 ... per[i] - 1) of an item with per[i] runs a round; it goes into the slot[i]-th
// of per[i] equal parts of the round, at the place round_order gives it within that part (sort
// key (slot + rank / n) / per, rank its place in round_order). An item with per = 1 goes
// anywhere, as in round_order, so a cell's runs of one round never bunch together while all
// cells stay shuffled among each other. slot and per have n entries, 0 <= slot < per.
std::vector<std::size_t> spread_order(std::uint64_t seed, int round, const std::vector<int>& slot,
                                      const std::vector<int>& per);

// The repetitions of round `round` when `reps` are split over `rounds`: reps / rounds each, the
// first reps % rounds rounds one more, and at least 1 (so the total is max(reps, rounds)). A
// round past the planned ones (an extra run for --target-ci) gets reps / rounds, at least 1.
int round_reps(int reps, int rounds, int round);

// The plan id of a sweep in rounds: 16 hex digits over the caller's plan id and the number of
// rounds, so that a sweep with other rounds is another plan (--resume refuses to mix them).
std::string plan_with_rounds(const std::string& plan, int rounds);

}  // namespace corescope::sweep
