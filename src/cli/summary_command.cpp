// `corescope summary FILE`: the runs in a results file as a terminal table.
#include <cmath>

#include "cli/commands.hpp"
#include "cli/table_printer.hpp"
#include "core/errors.hpp"
#include "core/text.hpp"
#include "record/recorder.hpp"

namespace corescope::cli {

namespace {
using record::Table;

const std::vector<std::string>& texts(const Table& t, const std::string& name) {
  static const std::vector<std::string> none;
  const auto* c = t.find(name);
  return c ? std::get<std::vector<std::string>>(c->values) : none;
}
std::string text_at(const Table& t, const std::string& name, std::size_t i) {
  const auto& v = texts(t, name);
  return i < v.size() ? v[i] : "";
}
double number_at(const Table& t, const std::string& name, std::size_t i) {
  const auto* c = t.find(name);
  if (!c) return NAN;
  if (auto* d = std::get_if<std::vector<double>>(&c->values)) return i < d->size() ? (*d)[i] : NAN;
  if (auto* n = std::get_if<std::vector<record::Int>>(&c->values)) return i < n->size() ? double((*n)[i]) : NAN;
  return NAN;
}

int summarize(const std::string& path) {
  const Table runs = record::read_group(path, "runs");
  if (runs.rows() == 0) throw UsageError(path + " holds no runs");
  TextTable t({"#", "kernel", "mode", "workers", "size", "channel", "median", "rate", "verified", "status"});
  for (std::size_t i = 0; i < runs.rows(); ++i) {
    const double verified = number_at(runs, "verified", i);
    t.add({std::to_string(i), text_at(runs, "kernel", i), text_at(runs, "mode", i),
           std::to_string(static_cast<long long>(number_at(runs, "workers", i))),
           std::to_string(static_cast<long long>(number_at(runs, "size", i))), text_at(runs, "channel", i),
           human_seconds(number_at(runs, "wall_s_median", i)),
           format_rate(number_at(runs, "gbytes_per_s", i), number_at(runs, "gflops_per_s", i)),
           verified > 0.5 ? "yes" : "NO", text_at(runs, "status", i)});
  }
  t.print();
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
