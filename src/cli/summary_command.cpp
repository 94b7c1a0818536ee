// `corescope summary FILE`: the runs in a results file as a terminal table.
#include <cmath>
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/table_printer.hpp"
#include "core/errors.hpp"
#include "core/text.hpp"
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
void print_gil_table(const std::string& path, const Table& runs) {
  // Runs under a GIL: the only ones with a switch interval (NaN for every other mode).
  std::vector<std::size_t> gil_runs;
  for (std::size_t i = 0; i < runs.rows(); ++i)
    if (std::isfinite(runs.number("switch_interval_s", i))) gil_runs.push_back(i);
  if (gil_runs.empty()) return;
  const Table samples = record::read_group(path, "samples");
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
  TextTable t({"#", "kernel", "workers", "interval", "release", "policy", "gil wait", "wait share", "acquires",
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
void print_convoy_table(const Table& runs) {
  std::vector<std::size_t> rows;
  for (std::size_t i = 0; i < runs.rows(); ++i)
    if (runs.text("kernel", i) == "convoy") rows.push_back(i);
  if (rows.empty()) return;
  std::printf("\nconvoy (worker 0 = I/O thread, workers 1..K compute):\n");
  TextTable t({"#", "mode", "K", "interval", "io ops/s", "io median", "io p99", "reacquire median", "cpu steps/s"});
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

int summarize(const std::string& path) {
  const Table runs = record::read_group(path, "runs");
  const Table trials = record::read_group(path, "isolation");
  if (runs.rows() == 0 && trials.rows() > 0) {  // a file of `corescope isolate` trials only
    print_isolation_matrix(trials);
    return 0;
  }
  if (runs.rows() == 0) throw UsageError(path + " holds no runs");
  TextTable t({"#", "kernel", "mode", "workers", "size", "channel", "median", "rate", "verified", "status"});
  for (std::size_t i = 0; i < runs.rows(); ++i) {
    const double verified = runs.number("verified", i);
    t.add({std::to_string(i), runs.text("kernel", i), runs.text("mode", i),
           std::to_string(static_cast<long long>(runs.number("workers", i))),
           std::to_string(static_cast<long long>(runs.number("size", i))), runs.text("channel", i),
           human_seconds(runs.number("wall_s_median", i)),
           format_rate(runs.number("gbytes_per_s", i), runs.number("gflops_per_s", i)),
           verified > 0.5 ? "yes" : "NO", runs.text("status", i)});
  }
  t.print();
  print_gil_table(path, runs);
  print_convoy_table(runs);
  if (trials.rows() > 0) {
    std::printf("\n");
    print_isolation_matrix(trials);
  }
  return 0;
}
}  // namespace

void add_summary(CLI::App& app, int& exit_code) {
  auto path = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand("summary", "Print the runs of a results file as a table");
  sub->add_option("file", *path, "HDF5 results file")->required();
  sub->callback([path, &exit_code] { exit_code = summarize(*path); });
}

}  // namespace corescope::cli
