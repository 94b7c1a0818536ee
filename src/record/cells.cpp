// Cells of a results file and their statistics (cells.hpp; the rule is in docs/user/compare.md).
#include "record/cells.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <utility>

#include "record/recorder.hpp"

namespace corescope::record {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Fields joined with separators no value of a column holds.
std::string joined(const std::vector<std::string>& fields) {
  std::string key;
  for (const auto& f : fields) key += f + '\x1f';
  return key;
}

std::string number_text(double v) {
  if (std::isnan(v)) return "nan";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

CellConfig config_of(const Table& runs, std::size_t i) {
  CellConfig c;
  c.kernel = runs.text("kernel", i);
  c.mode = runs.text("mode", i);
  c.workers = runs.integer("workers", i);
  c.ranks = runs.integer("ranks", i);
  c.threads_per_rank = runs.integer("threads_per_rank", i);
  c.size = runs.integer("size", i);
  c.scaling = runs.text("scaling", i);
  c.params = runs.text("params", i);
  c.channel = runs.text("channel", i);
  c.pin = runs.text("pin", i);
  c.switch_interval_s = runs.number("switch_interval_s", i);
  c.gil_release = runs.text("gil_release", i);
  c.gil_policy = runs.text("gil_policy", i);
  c.python_gil = runs.integer("python_gil", i);
  c.start_method = runs.text("start_method", i);
  c.twin = runs.integer("twin", i) == 1 ? 1 : 0;  // absent (-1) in files before rounds: not a twin
  return c;
}

// The provenance columns: the key's fields, then those only shown.
using ProvenanceField = std::pair<const char*, std::string CellProvenance::*>;
constexpr ProvenanceField kProvenanceKey[] = {
    {"host", &CellProvenance::host},
    {"software_version", &CellProvenance::software_version},
    {"git_commit", &CellProvenance::git_commit},
    {"compiler", &CellProvenance::compiler},
    {"cxx_flags", &CellProvenance::cxx_flags},
    {"build_type", &CellProvenance::build_type},
    {"python_version", &CellProvenance::python_version}};

CellProvenance provenance_of(const Table& runs, std::size_t i) {
  CellProvenance p;
  for (const auto& [name, field] : kProvenanceKey) p.*field = runs.text(name, i);
  p.cpu_model = runs.text("cpu_model", i);
  return p;
}

// Times of the repetitions `use` picks.
std::vector<double> picked(const std::vector<Repetition>& reps, double Repetition::*field,
                           bool clean_only) {
  std::vector<double> out;
  for (const auto& r : reps)
    if (!clean_only || !r.disturbed()) out.push_back(r.*field);
  return out;
}

bool slow_runs_apply(const CellConfig& c) {
  return std::isnan(c.switch_interval_s) &&
         std::find(kCpuBoundKernels.begin(), kCpuBoundKernels.end(), c.kernel) !=
             kCpuBoundKernels.end();
}

// The slow-run rule (docs/dev/noise.md; the report's stats.slow_run_mask): among the repetitions
// without record-time bits (all, when fewer than kMinClean are), a run whose median wall time is
// above kSlowRunFactor times the median of the other runs' medians, and whose speed-normalised
// median is too where both have probes, is a slow run; all its repetitions are marked.
void mark_slow_runs(Cell& c) {
  std::vector<const Repetition*> use;
  for (const auto& r : c.repetitions)
    if (r.disturbed_bits == 0) use.push_back(&r);
  if (use.size() < kMinClean) {
    use.clear();
    for (const auto& r : c.repetitions) use.push_back(&r);
  }
  // run -> raw, normalised
  std::map<std::size_t, std::pair<std::vector<double>, std::vector<double>>> by_run;
  for (const Repetition* r : use) {
    auto& [raw, norm] = by_run[r->run];
    raw.push_back(r->wall_s);
    if (std::isfinite(r->critical_factor)) norm.push_back(r->normalised_s);
  }
  if (by_run.size() < 2) return;
  std::map<std::size_t, std::pair<double, double>> medians;
  for (const auto& [run, v] : by_run)
    medians[run] = {stats::median(v.first), stats::median(v.second)};
  std::vector<std::size_t> slow;
  for (const auto& [run, m] : medians) {
    std::vector<double> raw, norm;
    for (const auto& [other, o] : medians)
      if (other != run) {
        raw.push_back(o.first);
        norm.push_back(o.second);
      }
    const double ref_raw = stats::median(raw), ref_norm = stats::median(norm);
    bool is_slow = m.first > kSlowRunFactor * ref_raw;
    if (std::isfinite(m.second) && std::isfinite(ref_norm))
      is_slow = is_slow && m.second > kSlowRunFactor * ref_norm;
    if (is_slow) slow.push_back(run);
  }
  for (auto& r : c.repetitions)
    if (std::find(slow.begin(), slow.end(), r.run) != slow.end()) r.slow_run = true;
  c.slow_runs = slow.size();
}

void compute_statistics(Cell& c, const CellOptions& options) {
  c.disturbed =
      static_cast<std::size_t>(std::count_if(c.repetitions.begin(), c.repetitions.end(),
                                             [](const Repetition& r) { return r.disturbed(); }));
  const std::size_t clean = c.repetitions.size() - c.disturbed;
  bool clean_only = !options.include_disturbed;
  if (clean_only && clean < kMinClean && c.disturbed > 0) {
    clean_only = false;
    c.mostly_disturbed = true;
  }
  c.repetition_median = stats::median(picked(c.repetitions, &Repetition::repetition_s, clean_only));
  c.normalised_times = picked(c.repetitions, &Repetition::normalised_s, clean_only);
  c.times = options.speed_normalised ? c.normalised_times
                                     : picked(c.repetitions, &Repetition::wall_s, clean_only);
  c.time_runs.clear();
  for (const auto& r : c.repetitions)
    if (!clean_only || !r.disturbed()) c.time_runs.push_back(static_cast<Int>(r.run));
  if (c.times.empty()) {
    c.median = {kNaN, kNaN, kNaN, 0};
    c.normalised_median = c.repetition_median = kNaN;
    return;
  }
  c.median = stats::median_ci(c.times);
  c.normalised_median = stats::median(c.normalised_times);
}

// Cell::run_sigma of every cell: run_spread pooled over the cells of one kernel and provenance.
void pool_run_sigmas(std::vector<Cell>& cells) {
  std::map<std::string, std::pair<double, std::size_t>> pooled;
  const auto key = [](const Cell& c) { return c.config.kernel + '\x1e' + c.provenance.key(); };
  for (const auto& c : cells) {
    const RunSpread s = run_spread(c);
    auto& [ss, df] = pooled[key(c)];
    ss += s.sum_squares;
    df += s.df;
  }
  for (auto& c : cells) {
    const auto& [ss, df] = pooled[key(c)];
    c.run_sigma.df = df;
    if (df > 0) c.run_sigma.sigma = std::sqrt(ss / static_cast<double>(df));
  }
}

}  // namespace

std::string CellConfig::key(const std::vector<std::string>& ignored) const {
  auto unless = [&](const char* field, const std::string& value) {
    return std::find(ignored.begin(), ignored.end(), field) == ignored.end() ? value
                                                                             : std::string("*");
  };
  return joined({kernel, mode, unless("workers", std::to_string(ranks)),
                 unless("workers", std::to_string(threads_per_rank)),
                 unless("workers", std::to_string(workers)), std::to_string(size), scaling, params,
                 unless("channel", channel), unless("pin", pin), number_text(switch_interval_s),
                 gil_release, gil_policy, std::to_string(python_gil), start_method,
                 unless("twin", std::to_string(twin))});
}

std::string CellProvenance::key() const {
  std::vector<std::string> values;
  for (const auto& [name, field] : kProvenanceKey) values.push_back(this->*field);
  return joined(values);
}

std::string CellProvenance::differences(const CellProvenance& other) const {
  std::string out;
  for (const auto& [name, field] : kProvenanceKey)
    if (this->*field != other.*field) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

double Cell::disturbed_share() const {
  return repetitions.empty()
             ? kNaN
             : static_cast<double>(disturbed) / static_cast<double>(repetitions.size());
}

std::vector<double> speed_factors(const Table& samples,
                                  const std::vector<std::string>& host_of_run) {
  const std::size_t n = samples.rows();
  auto host = [&](std::size_t s) {
    const Int run = samples.integer("run", s);
    return run >= 0 && static_cast<std::size_t>(run) < host_of_run.size()
               ? host_of_run[static_cast<std::size_t>(run)]
               : std::string();
  };
  // (host and probe kind, cpu_start) -> min probe_s
  std::map<std::pair<std::string, Int>, double> fastest;
  for (std::size_t s = 0; s < n; ++s) {
    const double probe = samples.number("probe_s", s);
    if (!(probe > 0)) continue;
    auto [it, fresh] =
        fastest.emplace(std::make_pair(host(s), samples.integer("cpu_start", s)), probe);
    if (!fresh) it->second = std::min(it->second, probe);
  }
  std::vector<double> factor(n, kNaN);
  for (std::size_t s = 0; s < n; ++s) {
    const double probe = samples.number("probe_s", s);
    if (!(probe > 0)) continue;
    factor[s] = probe / fastest.at({host(s), samples.integer("cpu_start", s)});
  }
  return factor;
}

std::vector<Cell> group_cells(const Table& runs, const Table& samples, const CellOptions& options) {
  std::vector<Cell> cells;
  std::map<std::string, std::size_t> index;  // config + provenance key -> cell
  std::vector<std::size_t> cell_of_run(runs.rows());
  std::vector<std::string> hosts(runs.rows());
  std::vector<bool> ok(runs.rows());
  std::vector<double> units(runs.rows());
  for (std::size_t i = 0; i < runs.rows(); ++i) {
    Cell candidate;
    candidate.config = config_of(runs, i);
    candidate.provenance = provenance_of(runs, i);
    // Probes are compared per host, CPU and probe kind (a file may merge builds whose probes
    // differ).
    hosts[i] = candidate.provenance.host + '\x1f' + runs.text("probe_kind", i);
    const std::string key = candidate.config.key() + '\x1e' + candidate.provenance.key();
    auto [it, fresh] = index.emplace(key, cells.size());
    units[i] = options.units_per_repetition ? options.units_per_repetition(runs, i) : 1.0;
    if (fresh) {
      candidate.bytes_per_iteration = runs.number("bytes_per_iteration", i) / units[i];
      candidate.flops_per_iteration = runs.number("flops_per_iteration", i) / units[i];
      cells.push_back(std::move(candidate));
    }
    Cell& c = cells[it->second];
    cell_of_run[i] = it->second;
    c.runs.push_back(i);
    ok[i] = runs.text("status", i) == "ok" && units[i] > 0 && std::isfinite(units[i]);
    if (runs.text("status", i) != "ok")
      ++c.failed_runs;
    else if (runs.integer("verified", i) != 1)
      c.verified = false;
  }

  // Repetitions: (run, rep) -> the slowest worker, its disturbance and speed.
  const std::vector<double> factor = speed_factors(samples, hosts);
  std::map<std::pair<std::size_t, Int>, Repetition> reps;
  for (std::size_t s = 0; s < samples.rows(); ++s) {
    const Int run = samples.integer("run", s);
    if (run < 0 || static_cast<std::size_t>(run) >= runs.rows() ||
        !ok[static_cast<std::size_t>(run)])
      continue;
    const double wall = samples.number("wall_s", s);
    if (!std::isfinite(wall)) continue;
    const Int rep = samples.integer("rep", s);
    auto [it, fresh] = reps.try_emplace({static_cast<std::size_t>(run), rep});
    Repetition& r = it->second;
    const double f = factor[s];
    const double compute = samples.number("compute_s", s);
    const double busy = std::isfinite(compute) ? compute : wall;
    if (fresh) {
      r.run = static_cast<std::size_t>(run);
      r.rep = rep;
      r.wall_s = wall;
      r.speed_factor = f;
    } else {
      r.wall_s = std::max(r.wall_s, wall);
      if (std::isfinite(f))
        r.speed_factor = std::isfinite(r.speed_factor) ? std::max(r.speed_factor, f) : f;
    }
    if (busy > r.critical_busy_s) {
      r.critical_busy_s = busy;
      r.critical_factor = f;
    }
    const Int bits = samples.integer("disturbed", s);  // -1: not recorded
    if (bits > 0) r.disturbed_bits |= bits;
  }
  for (auto& [where, r] : reps) {
    r.slow = r.speed_factor > kSlowFactor;  // false for NaN
    r.repetition_s = r.wall_s;
    r.units = units[r.run];
    r.wall_s /= r.units;
    r.normalised_s = std::isfinite(r.critical_factor) ? r.wall_s / r.critical_factor : r.wall_s;
    cells[cell_of_run[r.run]].repetitions.push_back(r);
  }
  for (auto& c : cells) {
    if (slow_runs_apply(c.config)) mark_slow_runs(c);
    compute_statistics(c, options);
  }
  pool_run_sigmas(cells);
  return cells;
}

std::vector<Cell> read_cells(const std::string& path, const CellOptions& options) {
  return group_cells(read_group(path, "runs"), read_group(path, "samples"), options);
}

const Cell* speedup_baseline(const Cell& cell, const std::vector<Cell>& all) {
  if (cell.config.scaling == "weak" || cell.config.workers == 1 || cell.times.empty())
    return nullptr;
  CellConfig one = cell.config;
  one.workers = one.ranks = one.threads_per_rank = 1;
  const std::string want = one.key(), from = cell.provenance.key();
  for (const auto& base : all)
    if (base.config.key() == want && base.provenance.key() == from && !base.times.empty())
      return &base;
  return nullptr;
}

namespace {
// The windows [x, kSlowFactor x] of the speed factor two sets of repetitions are matched in:
// x = 1 ("fast") or any factor of either side, smallest first (the report's stats.state_windows).
std::vector<double> window_starts(const std::vector<const Repetition*>& a,
                                  const std::vector<const Repetition*>& b) {
  std::vector<double> starts = {1.0};
  for (const auto* reps : {&a, &b})
    for (const Repetition* r : *reps)
      if (std::isfinite(r->speed_factor) && r->speed_factor >= 1.0)
        starts.push_back(r->speed_factor);
  std::sort(starts.begin(), starts.end());
  starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
  return starts;
}

bool in_window(const Repetition& r, double x) {
  return r.speed_factor >= x && r.speed_factor <= x * kSlowFactor;
}
}  // namespace

RunSpread run_spread(const Cell& cell) {
  std::vector<const Repetition*> use;
  bool probed = false;
  for (const auto& r : cell.repetitions)
    if (r.disturbed_bits == 0 && !r.slow_run) {
      use.push_back(&r);
      probed = probed || std::isfinite(r.speed_factor);
    }
  // per window: run -> its times in it
  auto runs_in = [&](double x) {
    std::map<std::size_t, std::vector<double>> out;
    for (const Repetition* r : use)
      if (!probed || in_window(*r, x)) out[r->run].push_back(r->wall_s);
    for (auto it = out.begin(); it != out.end();)
      it = it->second.size() < 2 ? out.erase(it) : std::next(it);
    return out;
  };
  std::map<std::size_t, std::vector<double>> best;
  std::size_t best_n = 0;
  for (const double x : probed ? window_starts(use, {}) : std::vector<double>{1.0}) {
    auto runs = runs_in(x);
    std::size_t n = 0;
    for (const auto& [run, times] : runs) n += times.size();
    if (runs.size() >= 2 && n > best_n) {
      best_n = n;
      best = std::move(runs);
    }
  }
  if (best.size() < 2) return {};
  std::vector<double> logs;
  for (const auto& [run, times] : best) logs.push_back(std::log(stats::median(times)));
  double mean = 0;
  for (double v : logs) mean += v;
  mean /= static_cast<double>(logs.size());
  RunSpread s;
  for (double v : logs) s.sum_squares += (v - mean) * (v - mean);
  s.df = logs.size() - 1;
  return s;
}

std::optional<stats::Interval> speedup(const Cell& cell, const std::vector<Cell>& all) {
  const Cell* base = speedup_baseline(cell, all);
  if (!base) return std::nullopt;
  const double sigma = cell.run_sigma.usable();
  return stats::with_run_band(
      stats::ratio_ci_grouped(base->times, base->time_runs, cell.times, cell.time_runs),
      base->time_runs, cell.time_runs, sigma, sigma);
}

std::string verdict(const stats::Interval& ratio, double threshold) {
  const double above = 1.0 + threshold, below = 1.0 / above;
  if (ratio.lo > above) return kSlower;
  if (ratio.hi < below) return kFaster;
  if (ratio.lo >= below && ratio.hi <= above) return kNoDifference;
  return kInconclusive;  // also for NaN
}

std::optional<StateTimes> matched_state_times(const Cell& a, const Cell& b) {
  // The repetitions without record-time bits, or all of them when fewer than kMinClean are.
  auto usable = [](const Cell& c) {
    std::vector<const Repetition*> out;
    for (const auto& r : c.repetitions)
      if (r.disturbed_bits == 0 && !r.slow_run) out.push_back(&r);
    if (out.size() < kMinClean) {
      out.clear();
      for (const auto& r : c.repetitions) out.push_back(&r);
    }
    return out;
  };
  const auto ra = usable(a), rb = usable(b);
  // The first window with the most on the smaller side wins.
  std::optional<StateTimes> best;
  std::size_t best_n = 0;
  for (const double x : window_starts(ra, rb)) {
    const double hi = x * kSlowFactor;
    StateTimes t;
    if (x == 1.0) {
      t.state = "fast";
    } else {
      char label[64];
      std::snprintf(label, sizeof label, "factor %.2f-%.2f", x, hi);
      t.state = label;
    }
    auto take = [x](const std::vector<const Repetition*>& reps, std::vector<double>& times,
                    std::vector<Int>& runs) {
      for (const Repetition* r : reps)
        if (in_window(*r, x)) {  // false for NaN
          times.push_back(r->wall_s);
          runs.push_back(static_cast<Int>(r->run));
        }
    };
    take(ra, t.a, t.a_runs);
    take(rb, t.b, t.b_runs);
    const std::size_t n = std::min(t.a.size(), t.b.size());
    if (n >= kMinClean && n > best_n) {
      best_n = n;
      best = std::move(t);
    }
  }
  return best;
}

std::optional<MatchedSpeedup> matched_speedup(const Cell& cell, const std::vector<Cell>& all) {
  const Cell* base = speedup_baseline(cell, all);
  if (!base) return std::nullopt;
  const auto t = matched_state_times(*base, cell);
  if (!t) return std::nullopt;
  const double sigma = cell.run_sigma.usable();
  return MatchedSpeedup{
      stats::with_run_band(stats::ratio_ci_grouped(t->a, t->a_runs, t->b, t->b_runs), t->a_runs,
                           t->b_runs, sigma, sigma),
      t->state, std::min(t->a.size(), t->b.size())};
}

std::vector<Comparison> compare_cells(const std::vector<Cell>& a, const std::vector<Cell>& b,
                                      double threshold, const std::vector<std::string>& ignored,
                                      States states) {
  std::vector<Comparison> out;
  std::vector<bool> b_matched(b.size(), false);
  std::vector<Comparison> only_a;
  for (const auto& ca : a) {
    bool matched = false;
    for (std::size_t j = 0; j < b.size(); ++j) {
      if (b[j].config.key(ignored) != ca.config.key(ignored)) continue;
      matched = b_matched[j] = true;
      Comparison c;
      c.a = &ca;
      c.b = &b[j];
      // B/A holds at least the run-to-run band of each file's runs of the kernel (run_sigma)
      const double sigma_a = ca.run_sigma.usable(), sigma_b = b[j].run_sigma.usable();
      if (ca.times.empty() || b[j].times.empty()) {
        c.ratio = {kNaN, kNaN, kNaN, 0};
        c.test = {kNaN, kNaN};
        c.verdict = "no data";
      } else if (const auto t =
                     states == States::all_reps ? std::nullopt : matched_state_times(ca, b[j])) {
        c.ratio = stats::with_run_band(stats::ratio_ci_grouped(t->b, t->b_runs, t->a, t->a_runs),
                                       t->b_runs, t->a_runs, sigma_b, sigma_a);
        c.test = stats::mann_whitney(t->a, t->b);
        c.verdict = verdict(c.ratio, threshold);
        c.state = t->state;
        c.n_a = t->a.size();
        c.n_b = t->b.size();
        c.median_a_s = stats::median(t->a);
        c.median_b_s = stats::median(t->b);
      } else if (states == States::matched_only) {
        c.ratio = {kNaN, kNaN, kNaN, 0};
        c.test = {kNaN, kNaN};
        c.verdict = "no matched state";
      } else {
        c.ratio = stats::with_run_band(
            stats::ratio_ci_grouped(b[j].times, b[j].time_runs, ca.times, ca.time_runs),
            b[j].time_runs, ca.time_runs, sigma_b, sigma_a);
        c.test = stats::mann_whitney(ca.times, b[j].times);
        c.verdict = verdict(c.ratio, threshold);
        c.n_a = ca.times.size();
        c.n_b = b[j].times.size();
        c.median_a_s = ca.median.point;
        c.median_b_s = b[j].median.point;
      }
      out.push_back(c);
    }
    if (!matched)
      only_a.push_back(Comparison{&ca, nullptr, {kNaN, kNaN, kNaN, 0}, {kNaN, kNaN}, "only in A"});
  }
  out.insert(out.end(), only_a.begin(), only_a.end());
  for (std::size_t j = 0; j < b.size(); ++j)
    if (!b_matched[j])
      out.push_back(Comparison{nullptr, &b[j], {kNaN, kNaN, kNaN, 0}, {kNaN, kNaN}, "only in B"});
  return out;
}

}  // namespace corescope::record
