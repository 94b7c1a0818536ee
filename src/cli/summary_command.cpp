// `corescope summary FILE`: the cells of a results file (runs of one configuration, build and
// host pooled) with their statistics, as a terminal table or csv/json; then the per-run GIL and
// convoy tables.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "cli/cell_view.hpp"
#include "cli/commands.hpp"
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

// gil runs: how the GIL was shared, per worker and repetition (means over /samples rows).
void print_gil_table(const Table& runs, const Table& samples, const std::vector<std::size_t>& kept) {
  // Runs under the emulated GIL: the only ones with a switch interval (NaN for every other mode)
  // but py-threads, whose interpreter keeps no such per-worker counts (its python column is set).
  std::vector<std::size_t> gil_runs;
  for (std::size_t i : kept)
    if (std::isfinite(runs.number("switch_interval_s", i)) && runs.text("python", i).empty()) gil_runs.push_back(i);
  if (gil_runs.empty()) return;
  struct Sums {
    double n = 0, wall = 0, wait = 0, acquires = 0, forced = 0, voluntary = 0, requests = 0;
  };
  std::vector<Sums> sums(runs.rows());
  for (std::size_t s = 0; s < samples.rows(); ++s) {
    const double run = samples.number("run", s);
    if (!(run >= 0 && run < static_cast<double>(runs.rows()))) continue;
    Sums& x = sums[static_cast<std::size_t>(run)];
    x.n += 1;
    x.wall += samples.number("wall_s", s);
    x.wait += samples.number("gil_wait_s", s);
    x.acquires += samples.number("gil_acquires", s);
    x.forced += samples.number("gil_forced_switches", s);
    x.voluntary += samples.number("gil_voluntary_releases", s);  // NaN in files from before the column
    x.requests += samples.number("gil_drop_requests", s);
  }
  std::printf("\nGIL (gil runs; per worker and repetition):\n");
  TextTable t({"run", "kernel", "workers", "interval", "release", "policy", "gil wait", "wait share", "acquires",
               "forced", "voluntary", "requests"});
  for (std::size_t i : gil_runs) {
    const Sums& x = sums[i];
    const double n = x.n > 0 ? x.n : NAN;
    t.add({std::to_string(i), runs.text("kernel", i),
           std::to_string(static_cast<long long>(runs.number("workers", i))),
           human_seconds(runs.number("switch_interval_s", i)), runs.text("gil_release", i),
           runs.text("gil_policy", i), human_seconds(x.wait / n),
           x.wall > 0 ? fixed(100.0 * x.wait / x.wall, 1) + "%" : "-", fixed(x.acquires / n, 1),
           fixed(x.forced / n, 1), fixed(x.voluntary / n, 1), fixed(x.requests / n, 1)});
  }
  t.print();
}

// convoy runs in any mode: what the I/O thread saw (the run-level metrics of kernels/convoy.cpp).
void print_convoy_table(const Table& runs, const std::vector<std::size_t>& kept) {
  std::vector<std::size_t> rows;
  for (std::size_t i : kept)
    if (runs.text("kernel", i) == "convoy") rows.push_back(i);
  if (rows.empty()) return;
  std::printf("\nconvoy (worker 0 = I/O thread, workers 1..K compute):\n");
  TextTable t({"run", "mode", "K", "interval", "io ops/s", "io median", "io p99", "reacquire median", "cpu steps/s"});
  for (std::size_t i : rows) {
    const bool gil = std::isfinite(runs.number("switch_interval_s", i));
    t.add({std::to_string(i), runs.text("mode", i),
           std::to_string(static_cast<long long>(runs.number("workers", i)) - 1),
           gil ? human_seconds(runs.number("switch_interval_s", i)) : "-",
           fixed(runs.number("io_ops_per_s", i), 0), human_seconds(runs.number("io_latency_median_s", i)),
           human_seconds(runs.number("io_latency_p99_s", i)),
           human_seconds(runs.number("io_reacquire_median_s", i)),
           fixed(runs.number("cpu_steps_per_s", i) / 1e6, 1) + "M"});
  }
  t.print();
}

// Cell statistics of the kept cells: text table, or csv/json records.
std::vector<record::Cell> kept_cells(const std::vector<record::Cell>& all, const CellFilter& filter) {
  std::vector<record::Cell> out;
  for (const auto& c : all)
    if (filter.keeps(c.config)) out.push_back(c);
  return out;
}

std::string run_status(const record::Cell& c) {
  if (c.failed_runs == 0) return "ok";
  return std::to_string(c.failed_runs) + "/" + std::to_string(c.runs.size()) + " failed";
}

double per_second(double per_iteration, double seconds) {
  return per_iteration > 0 && seconds > 0 ? per_iteration / seconds / 1e9 : NAN;
}

// What the stated speedup is computed from (the report's speedup_basis).
std::string speedup_basis(const std::optional<record::MatchedSpeedup>& matched,
                          const std::optional<stats::Interval>& all_reps) {
  if (matched) return "same state: " + matched->state;
  return all_reps ? "clean repetitions" : "";
}

std::vector<Record> cell_records(const std::vector<record::Cell>& cells, const std::vector<record::Cell>& all) {
  std::vector<Record> out;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const record::Cell& c = cells[i];
    const auto all_reps = record::speedup(c, all);
    const auto m = record::matched_speedup(c, all);
    const auto sp = m ? std::optional<stats::Interval>(m->ratio) : all_reps;  // the stated speedup
    Record r;
    r("cell", static_cast<std::int64_t>(i));
    add_config_fields(r, c.config);
    add_provenance_fields(r, c.provenance);
    const auto count = [](std::size_t n) { return static_cast<std::int64_t>(n); };
    r("runs", count(c.runs.size()))("failed_runs", count(c.failed_runs))("repetitions", count(c.repetitions.size()));
    r("n", count(c.times.size()))("disturbed", count(c.disturbed))("disturbed_share", c.disturbed_share());
    r("mostly_disturbed", std::int64_t{c.mostly_disturbed})("slow_runs", count(c.slow_runs));
    r("run_sigma", c.run_sigma.sigma)("run_sigma_df", count(c.run_sigma.df));
    r("median_s", c.median.point)("median_lo_s", c.median.lo)("median_hi_s", c.median.hi);
    r("median_ci_coverage", c.median.coverage)("speed_normalised_median_s", c.normalised_median);
    r("speedup", sp ? sp->point : NAN)("speedup_lo", sp ? sp->lo : NAN)("speedup_hi", sp ? sp->hi : NAN);
    r("speedup_basis", speedup_basis(m, all_reps));
    r("speedup_all", all_reps ? all_reps->point : NAN)("speedup_all_lo", all_reps ? all_reps->lo : NAN);
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

void print_cell_table(const std::vector<record::Cell>& cells, const std::vector<record::Cell>& all) {
  // Cells of several builds or hosts: a provenance number per cell and a legend.
  std::vector<std::string> provenances;
  std::vector<std::size_t> provenance_of(cells.size());
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const std::string key = cells[i].provenance.key();
    auto it = std::find(provenances.begin(), provenances.end(), key);
    provenance_of[i] = static_cast<std::size_t>(it - provenances.begin());
    if (it == provenances.end()) provenances.push_back(key);
  }
  const bool several = provenances.size() > 1;
  const bool probed = std::any_of(cells.begin(), cells.end(), [](const record::Cell& c) {
    return std::any_of(c.repetitions.begin(), c.repetitions.end(),
                       [](const record::Repetition& r) { return std::isfinite(r.speed_factor); });
  });
  std::vector<std::string> header = {"#", "kernel", "mode", "workers", "size", "channel"};
  if (several) header.push_back("build");
  for (const char* h : {"n", "median", "95% CI", "disturbed"}) header.push_back(h);
  if (probed) header.push_back("median speed-norm.");
  for (const char* h : {"speedup", "speedup 95% CI"}) header.push_back(h);
  // Where probes exist the speedup is the same-state one where there is one: its basis, and the
  // speedup over all clean repetitions beside it.
  if (probed)
    for (const char* h : {"from", "all clean reps"}) header.push_back(h);
  for (const char* h : {"rate @median", "verified", "status"}) header.push_back(h);
  TextTable t(header);
  bool any_mostly = false, any_short = false, any_slow_run = false, any_speedup = false;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const record::Cell& c = cells[i];
    const auto all_reps = record::speedup(c, all);
    const auto m = probed ? record::matched_speedup(c, all) : std::nullopt;
    const auto sp = m ? std::optional<stats::Interval>(m->ratio) : all_reps;
    std::vector<std::string> row = {std::to_string(i), c.config.kernel, c.config.mode, shape_of(c.config),
                                    std::to_string(c.config.size), c.config.channel};
    if (several) row.push_back(std::to_string(provenance_of[i] + 1));
    row.push_back(std::to_string(c.times.size()));
    row.push_back(human_seconds(c.median.point));
    std::string interval = seconds_interval(c.median.lo, c.median.hi);
    if (std::isfinite(c.median.lo) && c.median.coverage < 0.95) {  // too few values for 95 %
      interval += " " + fixed(100.0 * c.median.coverage, 0) + "%";
      any_short = true;
    }
    row.push_back(interval);
    std::string disturbed = c.repetitions.empty() ? "-" : fixed(100.0 * c.disturbed_share(), 0) + "%";
    if (c.mostly_disturbed) {
      disturbed += " mostly";
      any_mostly = true;
    }
    if (c.slow_runs > 0) {
      disturbed += " +" + std::to_string(c.slow_runs) + " slow run";
      any_slow_run = true;
    }
    row.push_back(disturbed);
    if (probed) row.push_back(human_seconds(c.normalised_median));
    any_speedup = any_speedup || sp.has_value();
    row.push_back(sp ? fixed_ratio(sp->point) : "-");
    row.push_back(sp ? ratio_interval(sp->lo, sp->hi) : "-");
    if (probed) {
      row.push_back(m ? m->state + ", n " + std::to_string(m->n) : all_reps ? "clean reps" : "-");
      row.push_back(all_reps ? fixed_ratio(all_reps->point) + " " + ratio_interval(all_reps->lo, all_reps->hi) : "-");
    }
    row.push_back(format_rate(per_second(c.bytes_per_iteration, c.median.point),
                              per_second(c.flops_per_iteration, c.median.point)));
    row.push_back(c.verified ? "yes" : "NO");
    row.push_back(run_status(c));
    t.add(row);
  }
  t.print();
  if (any_short)
    std::printf("fewer than 6 repetitions: the interval is [min, max], with the coverage shown\n");
  if (any_mostly)
    std::printf("mostly disturbed: fewer than %zu clean repetitions, so all were used (docs/compare.md)\n",
                record::kMinClean);
  if (any_slow_run)
    std::printf("slow run: a run of a CPU-bound kernel more than %.2fx slower than its cell's other runs, speed-normalised "
                "too; its repetitions count as disturbed (docs/noise.md)\n",
                record::kSlowRunFactor);
  if (any_speedup)
    std::printf("speedup intervals hold at least the run-to-run band of the kernel's runs in this file (run_sigma in "
                "--format csv/json; docs/noise.md)\n");
  if (probed)
    std::printf("speedup from a state: the repetitions of this cell and its 1-worker cell that ran in the same machine "
                "state (a 10%% window of the speed factor), n = the smaller side's; 'all clean reps': the speedup over "
                "every clean repetition of both, which can set a fast baseline against a slow team (docs/noise.md)\n");
  if (several) {
    std::printf("builds and hosts (cells of different ones are never pooled):\n");
    for (std::size_t p = 0; p < provenances.size(); ++p) {
      const auto i = static_cast<std::size_t>(std::find(provenance_of.begin(), provenance_of.end(), p) - provenance_of.begin());
      std::printf("  %zu: %s\n", p + 1, provenance_text(cells[i].provenance).c_str());
    }
  }
}

int summarize(const std::string& path, const CellViewOptions& o) {
  const Format format = parse_format(o.format);
  const CellFilter filter = make_filter(o);
  const Table runs = record::read_group(path, "runs");
  const Table trials = record::read_group(path, "isolation");
  if (runs.rows() == 0 && trials.rows() > 0 && format == Format::text) {  // a file of `corescope isolate` trials only
    print_isolation_matrix(trials);
    return 0;
  }
  if (runs.rows() == 0) throw UsageError(path + " holds no runs");
  const Table samples = record::read_group(path, "samples");
  const auto all = record::group_cells(runs, samples, {o.include_disturbed});
  const auto cells = kept_cells(all, filter);
  if (format != Format::text) {
    print_records(cell_records(cells, all), format);
    return 0;
  }
  if (cells.empty()) {
    std::printf("no runs of the kernels and modes asked for\n");
    return 0;
  }
  print_cell_table(cells, all);
  std::vector<std::size_t> rows;  // the runs the filter keeps, for the per-run tables
  for (std::size_t i = 0; i < runs.rows(); ++i)
    if (filter.keeps({runs.text("kernel", i), runs.text("mode", i)})) rows.push_back(i);
  print_gil_table(runs, samples, rows);
  print_convoy_table(runs, rows);
  if (trials.rows() > 0) {
    std::printf("\n");
    print_isolation_matrix(trials);
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
      "summary", "Print the cells of a results file: median with its 95% interval, disturbed share, speedup");
  sub->add_option("file", o->path, "HDF5 results file")->required();
  add_cell_view_options(sub, o->view);
  sub->callback([o, &exit_code] { exit_code = summarize(o->path, o->view); });
}

}  // namespace corescope::cli
