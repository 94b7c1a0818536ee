// Cells: the runs of a results file grouped by configuration and provenance, their repetitions
// classified as clean or disturbed, and the statistics every command reports for a cell (median
// with its 95 % interval, speedup, B/A ratio). The one C++ place those figures come from
// (docs/user/compare.md, docs/dev/noise.md).
#pragma once
#include <cstddef>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "core/stats.hpp"
#include "record/table.hpp"

namespace corescope::record {

// A repetition is slow when its CPU's speed probe took this much longer than the fastest probe
// of the same CPU on the same host anywhere in the file.
inline constexpr double kSlowFactor = 1.10;
// Fewer clean repetitions than this: the cell uses all of them and is flagged "mostly disturbed".
inline constexpr std::size_t kMinClean = 3;
// A run of a CPU-bound cell whose median time is more than this many times the median of its
// cell's other runs' medians, speed-normalised too, is a slow run (mark_slow_runs, in group_cells).
inline constexpr double kSlowRunFactor = 1.30;
// Kernels whose work per repetition is fixed arithmetic (the slow-run rule applies to them, in
// modes without a GIL).
inline const std::vector<std::string> kCpuBoundKernels = {"ep", "dgemm", "reduce"};
// A pooled run spread with fewer degrees of freedom than this is not used (run_sigma).
inline constexpr std::size_t kMinRunDf = 4;

// What was run: two cells with the same configuration ran the same experiment.
struct CellConfig {
  std::string kernel, mode;
  Int workers = -1, ranks = -1, threads_per_rank = -1, size = -1;
  std::string scaling, params, channel, pin;
  double switch_interval_s = 0;  // NaN without a GIL
  std::string gil_release, gil_policy;
  Int python_gil = -1;
  std::string start_method;
  Int twin = 0;  // 1: the A/A twin of its cell, kept apart from it

  // Equal for equal configurations; the fields named in `ignored` (of kIgnorable) are left out.
  std::string key(const std::vector<std::string>& ignored = {}) const;
};
// Configuration fields `compare --ignore` may leave out of the match: "workers" (with ranks and
// threads_per_rank), "pin", "channel", "twin".
inline const std::vector<std::string> kIgnorable = {"workers", "pin", "channel", "twin"};

// Which build on which machine ran it ("" where an older file did not record it).
struct CellProvenance {
  std::string host, software_version, git_commit, compiler, cxx_flags, build_type, python_version;
  std::string cpu_model;  // shown, not part of the key (the host decides it)

  std::string key() const;
  // "host, git commit, ..." naming the fields in which *this and `other` differ.
  std::string differences(const CellProvenance& other) const;
};

// One repetition of one run: its time is the slowest worker's, per unit of the kernel's figure
// of merit (CellOptions::units_per_repetition; the repetition itself for most kernels).
struct Repetition {
  std::size_t run = 0;  // row of /runs
  Int rep = -1;
  double repetition_s = 0;  // max over workers of wall_s
  double units = 1;         // units of work in the repetition
  double wall_s = 0;        // repetition_s / units
  // wall_s / the speed factor of the critical worker: the one with the most compute_s (wall_s
  // where compute_s is not recorded), whose speed set the repetition's time; wall_s where it has
  // no probe. (Dividing each worker's own wall_s would leave a fast worker that waited for a slow
  // one un-normalised.)
  double normalised_s = 0;
  double critical_busy_s = -1;  // the critical worker's compute_s (or wall_s)
  // its speed factor (NaN: no probe)
  double critical_factor = std::numeric_limits<double>::quiet_NaN();
  double speed_factor = 0;  // max over workers; NaN without probes
  Int disturbed_bits = 0;   // OR of the record-time `disturbed` bitmasks of its samples
  bool slow = false;        // speed_factor > kSlowFactor
  bool slow_run = false;    // of a slow run (kSlowRunFactor)
  bool disturbed() const { return disturbed_bits != 0 || slow || slow_run; }
};

// The pooled run spread of a cell's kernel: sqrt(sum of squares / df) of run_spread over the
// file's cells with the same kernel and provenance, and df. One ratio's 2-3 runs per side are too
// few to measure how much runs of a cell differ; a file's cells of one kernel together are not
// (docs/dev/noise.md). group_cells sets it on every cell (Cell::run_sigma).
struct RunSigma {
  double sigma = std::numeric_limits<double>::quiet_NaN();
  std::size_t df = 0;
  double usable() const {
    return df >= kMinRunDf ? sigma : std::numeric_limits<double>::quiet_NaN();
  }
};

struct CellOptions {
  bool include_disturbed = false;
  // times = the speed-normalised repetition times (Repetition::normalised_s) instead of wall_s
  bool speed_normalised = false;
  // The units of work in one repetition of a run (a row of /runs) that times are divided by:
  // the kernel's figure of merit (cli::merit_units); empty = 1. A run whose count is missing or
  // not positive contributes no repetitions.
  std::function<double(const Table& runs, std::size_t row)> units_per_repetition;
};

struct Cell {
  CellConfig config;
  CellProvenance provenance;
  std::vector<std::size_t> runs;  // rows of /runs in the cell
  std::size_t failed_runs = 0;    // status other than ok (their repetitions are not used)
  bool verified = true;           // every ok run verified
  // Per unit of the figure of merit (per repetition for most kernels); NaN when none declared.
  double bytes_per_iteration = 0, flops_per_iteration = 0;
  std::vector<Repetition> repetitions;  // of the ok runs, every one

  // Statistics (group_cells fills them).
  std::vector<double> times;             // the repetition times the statistics use
  std::vector<double> normalised_times;  // the same, speed-normalised
  // the /runs row of each of `times` (intervals resample runs, then reps)
  std::vector<Int> time_runs;
  std::size_t disturbed = 0;      // disturbed repetitions
  std::size_t slow_runs = 0;      // runs whose repetitions were all marked slow_run
  bool mostly_disturbed = false;  // fewer than kMinClean clean ones: all were used
  stats::Interval median{};       // of `times`, with its 95 % interval; NaN when empty
  double repetition_median = 0;   // of the same repetitions' whole times (repetition_s)
  double normalised_median = 0;
  RunSigma run_sigma;  // of the cell's kernel and provenance in its file

  double disturbed_share() const;
};

// How far the medians of a cell's runs lie apart in one machine state: the sum of squared
// deviations of their logs from their mean and its degrees of freedom (runs - 1), from the
// repetitions without record-time bits and outside slow runs, in the cell's own window
// [x, kSlowFactor x] of the speed factor that holds the most repetitions of runs with at least 2
// in it (all repetitions where none has a probe); {0, 0} with fewer than 2 such runs.
struct RunSpread {
  double sum_squares = 0;
  std::size_t df = 0;
};
RunSpread run_spread(const Cell& cell);

// Groups the rows of /runs and /samples of ONE file into cells (in the order of their first run)
// and computes each cell's statistics (run_sigma included). Runs of the same configuration but
// another provenance are other cells; rounds of a cell pool.
std::vector<Cell> group_cells(const Table& runs, const Table& samples,
                              const CellOptions& options = {});
// The same, read from a results file.
std::vector<Cell> read_cells(const std::string& path, const CellOptions& options = {});

// speed factor of every sample: probe_s / (min probe_s of the samples with the same host and
// cpu_start); NaN where the sample has no probe. `host_of_run` gives each /runs row's host (with
// its probe kind appended, so that probes of different kinds are never compared).
std::vector<double> speed_factors(const Table& samples,
                                  const std::vector<std::string>& host_of_run);

// Speedup of `cell` over the 1-worker cell of the same kernel, mode, size and everything else
// (same provenance): median(baseline) / median(cell) with its bootstrap interval, widened to hold
// the run-to-run band of the cell's run_sigma (stats::with_run_band). nullopt for weak scaling, a
// 1-worker cell, or when there is no such baseline with repetitions.
std::optional<stats::Interval> speedup(const Cell& cell, const std::vector<Cell>& all);
// That baseline cell (null where speedup() gives nullopt).
const Cell* speedup_baseline(const Cell& cell, const std::vector<Cell>& all);

// B/A of two files.
struct Comparison {
  const Cell* a = nullptr;  // either may be null: a cell found in one file only
  const Cell* b = nullptr;
  stats::Interval ratio{};  // median(B)/median(A), bootstrap over runs, then their repetitions
  stats::RankTest test{};   // Mann-Whitney U of the repetition times, two-sided
  std::string verdict;      // faster, slower, same; "only in A" / "only in B"
  std::string
      state;  // with matched states: "fast" or "factor X-Y", the state compared ("" otherwise)
  std::size_t n_a = 0, n_b = 0;                                  // repetitions compared
  double median_a_s = std::numeric_limits<double>::quiet_NaN();  // of the repetitions compared
  double median_b_s = std::numeric_limits<double>::quiet_NaN();
};

// Two cells' repetition times (wall_s) in one machine state, for comparing like with like on a
// machine whose speed changes (docs/dev/noise.md, "The stated speedup is the same-state one"):
// repetitions with record-time disturbance bits or of a slow run are left out (all kept in a cell
// with fewer than kMinClean without); a state is a window [x, kSlowFactor * x] of the speed factor
// (of the repetition's slowest worker; no probe: in none), x = 1 ("fast": every factor within the
// slow-CPU threshold) or any factor of either side ("factor X-Y"); the window where the smaller
// side has the most, at least kMinClean on both, is taken (ties: the smallest x). nullopt when
// there is none. The report's matched-state speedup uses the same windows (analysis:
// stats.state_windows).
struct StateTimes {
  std::string state;
  std::vector<double> a, b;
  std::vector<Int> a_runs, b_runs;
};
std::optional<StateTimes> matched_state_times(const Cell& a, const Cell& b);
// The speedup from the repetitions of `cell` and its baseline that ran in the same machine state
// (matched_state_times(baseline, cell)): median(baseline's) / median(cell's) with its interval
// (widened to the run-to-run band of run_sigma, as speedup()),
// the state, and n = the smaller side's count. nullopt without a baseline, probes or such a state.
// The report's speedup_matched (analysis/corescope_analysis/stats.py) is the same figure.
struct MatchedSpeedup {
  stats::Interval ratio{};
  std::string state;
  std::size_t n = 0;
};
std::optional<MatchedSpeedup> matched_speedup(const Cell& cell, const std::vector<Cell>& all);
// The outcomes of comparing two times (B/A), the same words in compare, summary and the report:
// slower when the whole interval lies above 1 + threshold, faster when it lies below
// 1 / (1 + threshold), no difference when it lies between the two, inconclusive when it crosses
// either (or is missing).
inline constexpr const char* kSlower = "slower";
inline constexpr const char* kFaster = "faster";
inline constexpr const char* kNoDifference = "no difference";
inline constexpr const char* kInconclusive = "inconclusive";
std::string verdict(const stats::Interval& ratio, double threshold);
// Fewer repetitions than this on a side: an interval cannot reach 95 % (stats::median_ci gives
// [min, max]), so an outcome carries the note "few repetitions".
inline constexpr std::size_t kMinRepsFor95 = 6;
// Which repetitions a pair of cells is compared on.
enum class States {
  prefer_matched,  // those of one machine state (matched_state_times) where the pair has one, else
                   // all_reps
  matched_only,    // those of one machine state; a pair without one is "no matched state"
  all_reps,        // the cells' own statistics' repetitions (Cell::times)
};
// Every pair of cells with the same configuration (provenance may differ; the fields in `ignored`
// left out), then the cells of A without a partner, then those of B.
std::vector<Comparison> compare_cells(const std::vector<Cell>& a, const std::vector<Cell>& b,
                                      double threshold,
                                      const std::vector<std::string>& ignored = {},
                                      States states = States::prefer_matched);

}  // namespace corescope::record
