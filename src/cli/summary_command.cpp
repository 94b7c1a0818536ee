// `corescope summary FILE`: the cells of a results file (runs of one configuration, build and
// host pooled) with their statistics, as a terminal table or csv/json; then the per-run GIL and
// convoy tables.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "cli/cell_view.hpp"
#include "cli/commands.hpp"
#include "cli/help_format.hpp"
#include "cli/table_printer.hpp"
#include "core/errors.hpp"
#include "core/text.hpp"
#include "record/cells.hpp"
#include "record/recorder.hpp"

namespace corescope::cli {

namespace {
using record::Table;

std::string fixed(double v, int digits) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// The median over a cell's runs of a /runs column.
double run_median(const Table& runs, const record::Cell& c, const std::string& column) {
  std::vector<double> v;
  for (std::size_t i : c.runs)
    if (std::isfinite(runs.number(column, i))) v.push_back(runs.number(column, i));
  return v.empty() ? NAN : stats::median(v);
}

// Cells under the emulated GIL: how it was shared, per worker and repetition (means over their
// /samples rows). The only runs with a switch interval (NaN for every other mode) but
// py-threads, whose interpreter keeps no such per-worker counts (its python column is set).
void print_gil_table(const Table& runs, const Table& samples,
                     const std::vector<record::Cell>& cells) {
  struct Sums {
    double n = 0, wall = 0, wait = 0, acquires = 0, forced = 0, voluntary = 0, requests = 0;
  };
  std::vector<std::ptrdiff_t> cell_of_run(runs.rows(), -1);
  for (std::size_t c = 0; c < cells.size(); ++c)
    for (std::size_t i : cells[c].runs)
      if (std::isfinite(runs.number("switch_interval_s", i)) && runs.text("python", i).empty())
        cell_of_run[i] = static_cast<std::ptrdiff_t>(c);
  std::vector<Sums> sums(cells.size());
  for (std::size_t s = 0; s < samples.rows(); ++s) {
    const double run = samples.number("run", s);
    if (!(run >= 0 && run < static_cast<double>(runs.rows())) ||
        cell_of_run[static_cast<std::size_t>(run)] < 0)
      continue;
    Sums& x = sums[static_cast<std::size_t>(cell_of_run[static_cast<std::size_t>(run)])];
    x.n += 1;
    x.wall += samples.number("wall_s", s);
    x.wait += samples.number("gil_wait_s", s);
    x.acquires += samples.number("gil_acquires", s);
    x.forced += samples.number("gil_forced_switches", s);
    x.voluntary +=
        samples.number("gil_voluntary_releases", s);  // NaN in files from before the column
    x.requests += samples.number("gil_drop_requests", s);
  }
  TextTable t({"cell", "gil wait", "wait share", "acquires", "forced", "voluntary", "requests"});
  for (std::size_t c = 0; c < cells.size(); ++c) {
    const Sums& x = sums[c];
    if (x.n == 0) continue;
    t.add({short_name(cell_name(cells[c].config), 38), human_seconds(x.wait / x.n),
           x.wall > 0 ? fixed(100.0 * x.wait / x.wall, 1) + "%" : "-", fixed(x.acquires / x.n, 1),
           fixed(x.forced / x.n, 1), fixed(x.voluntary / x.n, 1), fixed(x.requests / x.n, 1)});
  }
  if (t.empty()) return;
  std::printf("\nGIL (emulated; per worker and repetition, means over the cell's runs):\n");
  t.print();
}

// convoy cells in any mode: what the I/O thread saw (kernels/convoy.cpp's run metrics; medians
// over the cell's runs).
void print_convoy_table(const Table& runs, const std::vector<record::Cell>& cells) {
  TextTable t({"cell", "io calls/s", "io median", "io p99", "reacquire median", "cpu steps/s"});
  for (const auto& c : cells) {
    if (c.config.kernel != "convoy") continue;
    t.add({short_name(cell_name(c.config), 38), fixed(run_median(runs, c, "io_ops_per_s"), 0),
           human_seconds(run_median(runs, c, "io_latency_median_s")),
           human_seconds(run_median(runs, c, "io_latency_p99_s")),
           human_seconds(run_median(runs, c, "io_reacquire_median_s")),
           fixed(run_median(runs, c, "cpu_steps_per_s") / 1e6, 1) + "M"});
  }
  if (t.empty()) return;
  std::printf("\nconvoy (worker 0 = I/O thread, the other workers compute; medians over runs):\n");
  t.print();
}

// Cell statistics of the kept cells: text table, or csv/json records.
std::vector<record::Cell> kept_cells(const std::vector<record::Cell>& all,
                                     const CellFilter& filter) {
  std::vector<record::Cell> out;
  for (const auto& c : all)
    if (filter.keeps(c.config)) out.push_back(c);
  return out;
}

std::string run_status(const record::Cell& c) {
  if (c.failed_runs == 0) return "ok";
  return std::to_string(c.failed_runs) + "/" + std::to_string(c.runs.size()) + " failed";
}

double per_second(double per_unit, double seconds) {
  return per_unit > 0 && seconds > 0 ? per_unit / seconds / 1e9 : NAN;
}

// The speedup a cell states: over its 1-worker cell in a machine state both met where the file
// has speed probes and there is one (matched), else over all clean repetitions (all_reps).
struct Speedup {
  std::optional<record::MatchedSpeedup> matched;
  std::optional<stats::Interval> all_reps;
  std::optional<stats::Interval> stated() const {
    return matched ? std::optional<stats::Interval>(matched->ratio) : all_reps;
  }
  std::string basis() const {  // the report's speedup_basis
    if (matched) return "same state: " + matched->state;
    return all_reps ? "clean repetitions" : "";
  }
};
Speedup speedup_of(const record::Cell& c, const std::vector<record::Cell>& all,
                   bool probed = true) {
  return {probed ? record::matched_speedup(c, all) : std::nullopt, record::speedup(c, all)};
}

// Disturbance worth a mark: too few clean repetitions, or the median over every repetition lies
// further from the clean median than half its interval.
bool disturbance_matters(const record::Cell& c) {
  if (c.mostly_disturbed) return true;
  if (c.disturbed == 0 || !std::isfinite(c.median.lo)) return false;
  std::vector<double> every;
  for (const auto& r : c.repetitions) every.push_back(r.wall_s);
  return std::abs(stats::median(every) - c.median.point) > (c.median.hi - c.median.lo) / 2;
}

std::vector<Record> cell_records(const std::vector<record::Cell>& cells,
                                 const std::vector<record::Cell>& all) {
  std::vector<Record> out;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const record::Cell& c = cells[i];
    const Speedup s = speedup_of(c, all);
    const auto& m = s.matched;
    const auto& all_reps = s.all_reps;
    const auto sp = s.stated();
    const Merit& merit = merit_of(c.config.kernel);
    Record r;
    r("cell", static_cast<std::int64_t>(i))("name", cell_name(c.config));
    add_config_fields(r, c.config);
    add_provenance_fields(r, c.provenance);
    const auto count = [](std::size_t n) { return static_cast<std::int64_t>(n); };
    r("runs", count(c.runs.size()))("failed_runs", count(c.failed_runs))(
        "repetitions", count(c.repetitions.size()));
    r("n", count(c.times.size()))("disturbed", count(c.disturbed))("disturbed_share",
                                                                   c.disturbed_share());
    r("mostly_disturbed", std::int64_t{c.mostly_disturbed})("slow_runs", count(c.slow_runs));
    r("disturbance_matters", std::int64_t{disturbance_matters(c)});
    r("run_sigma", c.run_sigma.sigma)("run_sigma_df", count(c.run_sigma.df));
    r("figure", merit.name)("unit", merit.unit)("figure_is_rate", std::int64_t{merit.rate});
    r("median_s", c.median.point)("median_lo_s", c.median.lo)("median_hi_s", c.median.hi);
    r("median_ci_coverage", c.median.coverage)("speed_normalised_median_s", c.normalised_median);
    r("repetition_median_s", c.repetition_median);
    r("speedup", sp ? sp->point : NAN)("speedup_lo", sp ? sp->lo : NAN)("speedup_hi",
                                                                        sp ? sp->hi : NAN);
    r("speedup_basis", s.basis());
    r("speedup_all", all_reps ? all_reps->point : NAN)("speedup_all_lo",
                                                       all_reps ? all_reps->lo : NAN);
    r("speedup_all_hi", all_reps ? all_reps->hi : NAN);
    r("speedup_matched", m ? m->ratio.point : NAN)("speedup_matched_lo", m ? m->ratio.lo : NAN);
    r("speedup_matched_hi", m ? m->ratio.hi : NAN)("matched_state", m ? m->state : std::string());
    r("n_matched", count(m ? m->n : 0));
    r("gbytes_per_s_at_median", per_second(c.bytes_per_iteration, c.median.point));
    r("gflops_per_s_at_median", per_second(c.flops_per_iteration, c.median.point));
    r("verified", std::int64_t{c.verified});
    out.push_back(std::move(r));
  }
  return out;
}

// Cells of several builds or hosts: a provenance number per cell (from 1) and the legend's keys.
struct Builds {
  std::vector<std::string> keys;
  std::vector<std::size_t> of_cell;
  explicit Builds(const std::vector<record::Cell>& cells) {
    for (const auto& c : cells) {
      // A Python mode's interpreter version is part of its cells' provenance, not another build.
      record::CellProvenance build = c.provenance;
      build.python_version.clear();
      const std::string key = build.key();
      auto it = std::find(keys.begin(), keys.end(), key);
      of_cell.push_back(static_cast<std::size_t>(it - keys.begin()) + 1);
      if (it == keys.end()) keys.push_back(key);
    }
  }
  bool several() const { return keys.size() > 1; }
  void print_legend(const std::vector<record::Cell>& cells) const {
    if (!several()) return;
    std::printf("builds and hosts (cells of different ones are never pooled):\n");
    for (std::size_t p = 1; p <= keys.size(); ++p) {
      const auto i =
          static_cast<std::size_t>(std::find(of_cell.begin(), of_cell.end(), p) - of_cell.begin());
      std::printf("  %zu: %s\n", p, provenance_text(cells[i].provenance).c_str());
    }
  }
};

std::string ratio2(double v) {
  if (!std::isfinite(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// The marks of a row, explained once under the table.
std::string row_marks(const record::Cell& c) {
  std::string marks;
  if (disturbance_matters(c)) marks += "!";
  if (std::isfinite(c.median.lo) && c.median.coverage < 0.95) marks += "?";
  if (!c.verified) marks += "x";
  if (c.failed_runs > 0) marks += "f";
  return marks;
}

// What each mark means, its first character the mark.
std::vector<std::string> mark_notes() {
  return {"! disturbed: fewer than " + std::to_string(record::kMinClean) +
              " clean repetitions, or the median over all of them lies more than half the interval "
              "away from "
              "the clean median (--wide shows the shares)",
          "? fewer than " + std::to_string(record::kMinRepsFor95) +
              " repetitions: the interval is [min, max], with a coverage below 95%",
          "x a run's answer failed its verification", "f a run failed (--wide: how many)"};
}

// The default table, within kTextColumns: name, n, the kernel's figure and the speedup.
void print_cell_table(const std::vector<record::Cell>& cells,
                      const std::vector<record::Cell>& all) {
  const Builds builds(cells);
  std::vector<std::string> header = {"cell", "n", "median [95% CI]", "speedup [95% CI]", ""};
  if (builds.several()) header.insert(header.begin() + 1, "build");
  TextTable t(header);
  std::string marks_seen;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const record::Cell& c = cells[i];
    const Merit& merit = merit_of(c.config.kernel);
    const auto sp = speedup_of(c, all).stated();
    const std::string marks = row_marks(c);
    for (char m : marks)
      if (marks_seen.find(m) == std::string::npos) marks_seen += m;
    std::vector<std::string> row = {
        short_name(cell_name(c.config), 38), std::to_string(c.times.size()),
        figure_text(merit, c.median.point) + " " +
            figure_interval(merit, c.median.point, c.median.lo, c.median.hi),
        sp ? ratio2(sp->point) + " [" + ratio2(sp->lo) + ", " + ratio2(sp->hi) + "]" : "-", marks};
    if (builds.several()) row.insert(row.begin() + 1, std::to_string(builds.of_cell[i]));
    t.add(row);
  }
  t.print();
  print_wrapped(
      "median: each kernel's figure of merit, per repetition unless a unit is named (corescope "
      "list); "
      "speedup: over the same cell with 1 worker. --wide: every column; --format csv/json: every "
      "field.");
  for (const std::string& note : mark_notes())
    if (marks_seen.find(note[0]) != std::string::npos) print_wrapped(note);
  builds.print_legend(cells);
}

// --wide: every column, names whole.
void print_wide_table(const std::vector<record::Cell>& cells,
                      const std::vector<record::Cell>& all) {
  const Builds builds(cells);
  const bool probed = std::any_of(cells.begin(), cells.end(), [](const record::Cell& c) {
    return std::any_of(c.repetitions.begin(), c.repetitions.end(),
                       [](const record::Repetition& r) { return std::isfinite(r.speed_factor); });
  });
  std::vector<std::string> header = {"cell"};
  if (builds.several()) header.push_back("build");
  for (const char* h : {"n", "median", "95% CI", "repetition", "disturbed"}) header.push_back(h);
  if (probed) header.push_back("median speed-norm.");
  for (const char* h : {"speedup", "speedup 95% CI"}) header.push_back(h);
  if (probed)
    for (const char* h : {"from", "all clean reps"}) header.push_back(h);
  for (const char* h : {"rate @median", "verified", "status"}) header.push_back(h);
  TextTable t(header);
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const record::Cell& c = cells[i];
    const Merit& merit = merit_of(c.config.kernel);
    const Speedup s = speedup_of(c, all, probed);
    const auto sp = s.stated();
    std::vector<std::string> row = {cell_name(c.config)};
    if (builds.several()) row.push_back(std::to_string(builds.of_cell[i]));
    row.push_back(std::to_string(c.times.size()));
    row.push_back(figure_text(merit, c.median.point));
    std::string interval = figure_interval(merit, c.median.point, c.median.lo, c.median.hi);
    if (std::isfinite(c.median.lo) && c.median.coverage < 0.95)
      interval += " " + fixed(100.0 * c.median.coverage, 0) + "%";
    row.push_back(interval);
    row.push_back(human_seconds(c.repetition_median));
    std::string disturbed =
        c.repetitions.empty() ? "-" : fixed(100.0 * c.disturbed_share(), 0) + "%";
    if (c.mostly_disturbed) disturbed += " mostly";
    if (c.slow_runs > 0) disturbed += " +" + std::to_string(c.slow_runs) + " slow run";
    row.push_back(disturbed);
    if (probed) row.push_back(figure_text(merit, c.normalised_median));
    row.push_back(sp ? fixed_ratio(sp->point) : "-");
    row.push_back(sp ? ratio_interval(sp->lo, sp->hi) : "-");
    if (probed) {
      row.push_back(s.matched    ? s.matched->state + ", n " + std::to_string(s.matched->n)
                    : s.all_reps ? "clean reps"
                                 : "-");
      row.push_back(s.all_reps ? fixed_ratio(s.all_reps->point) + " " +
                                     ratio_interval(s.all_reps->lo, s.all_reps->hi)
                               : "-");
    }
    row.push_back(format_rate(per_second(c.bytes_per_iteration, c.median.point),
                              per_second(c.flops_per_iteration, c.median.point)));
    row.push_back(c.verified ? "yes" : "NO");
    row.push_back(run_status(c));
    t.add(row);
  }
  t.print();
  print_wrapped(
      "median: the kernel's figure of merit; repetition: the median time of a whole repetition. "
      "disturbed: the share of repetitions a disturbance touched; 'mostly': fewer than " +
      std::to_string(record::kMinClean) + " clean ones, so all were used (docs/user/compare.md).");
  print_wrapped("slow run: a run of a CPU-bound kernel more than " +
                fixed(record::kSlowRunFactor, 2) +
                "x slower than its cell's other runs; its repetitions count as disturbed. Speedup "
                "intervals hold at "
                "least the run-to-run band of the kernel's runs in this file (run_sigma; "
                "docs/dev/noise.md).");
  if (probed)
    print_wrapped(
        "from: the machine state (a 10% window of the speed factor) in which the cell and its "
        "1-worker cell "
        "are compared, n = the smaller side's; all clean reps: the speedup over every clean "
        "repetition.");
  builds.print_legend(cells);
}

int summarize(const std::string& path, const CellViewOptions& o) {
  const Format format = parse_format(o.format);
  const CellFilter filter = make_filter(o);
  const Table runs = record::read_group(path, "runs");
  const Table trials = record::read_group(path, "isolation");
  if (runs.rows() == 0 && trials.rows() > 0 &&
      format == Format::text) {  // a file of `corescope isolate` trials only
    print_isolation_matrix(trials, {.wide = o.wide});
    return 0;
  }
  if (runs.rows() == 0) throw UsageError(path + " holds no runs");
  const Table samples = record::read_group(path, "samples");
  const auto all = record::group_cells(runs, samples, cell_options(o.include_disturbed));
  auto cells = kept_cells(all, filter);
  sort_cells(cells, o.sort, [&](const record::Cell& c) {
    const auto sp = speedup_of(c, all).stated();
    return sp ? sp->point : NAN;
  });
  if (format != Format::text) {
    print_records(cell_records(cells, all), format);
    return 0;
  }
  if (cells.empty()) {
    std::printf("no runs of the kernels and modes asked for\n");
    return 0;
  }
  if (o.wide)
    print_wide_table(cells, all);
  else
    print_cell_table(cells, all);
  print_gil_table(runs, samples, cells);
  print_convoy_table(runs, cells);
  if (trials.rows() > 0) {
    std::printf("\n");
    print_isolation_matrix(trials, {.wide = o.wide, .keeps = [&](const record::CellConfig& c) {
                                      return filter.keeps(c);
                                    }});
  }
  return 0;
}
}  // namespace

void add_summary(CLI::App& app, int& exit_code) {
  struct Options {
    std::string path;
    CellViewOptions view;
  };
  auto o = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand(
      "summary",
      "Print the cells of a results file: median with its 95% interval, disturbed share, speedup");
  sub->add_option("file", o->path, "HDF5 results file")->required();
  add_cell_view_options(sub, o->view);
  sub->callback([o, &exit_code] { exit_code = summarize(o->path, o->view); });
}

}  // namespace corescope::cli
