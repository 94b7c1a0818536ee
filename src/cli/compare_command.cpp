// `corescope compare A.h5 B.h5`: every cell present in both files (same configuration; the
// build and host may differ, that is what is compared), B/A of the medians with its 95 %
// bootstrap interval, a Mann-Whitney U p-value and a verdict. Exit 1 when a cell is slower beyond
// --threshold with confidence: a regression gate (docs/user/compare.md).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include "cli/cell_view.hpp"
#include "cli/commands.hpp"
#include "cli/help_format.hpp"
#include "cli/table_printer.hpp"
#include "core/errors.hpp"
#include "core/text.hpp"
#include "record/cells.hpp"

namespace corescope::cli {

namespace {

// "3%" or "0.03" -> 0.03.
double parse_threshold(const std::string& text) {
  std::string number = text;
  const bool percent = !number.empty() && number.back() == '%';
  if (percent) number.pop_back();
  char* end = nullptr;
  const double v = number.empty() ? NAN : std::strtod(number.c_str(), &end);
  if (number.empty() || end != number.c_str() + number.size() || !std::isfinite(v) || v < 0)
    throw UsageError("--threshold " + text + ": expected a fraction (0.03) or a percentage (3%)");
  const double fraction = percent ? v / 100.0 : v;
  if (fraction >= 1.0) throw UsageError("--threshold " + text + ": must be below 100%");
  return fraction;
}

std::vector<record::Cell> kept(std::vector<record::Cell> cells, const CellFilter& filter) {
  std::erase_if(cells, [&](const record::Cell& c) { return !filter.keeps(c.config); });
  return cells;
}

const record::Cell& either(const record::Comparison& c) { return c.a ? *c.a : *c.b; }

std::int64_t count(const record::Cell* c) {
  return c ? static_cast<std::int64_t>(c->times.size()) : 0;
}
// The repetitions a comparison used: a matched state's (none without one), else the cells' own.
bool unmatched(const record::Comparison& c) { return c.verdict == "no matched state"; }
std::int64_t n_a(const record::Comparison& c) {
  return unmatched(c) ? 0 : c.state.empty() ? count(c.a) : static_cast<std::int64_t>(c.n_a);
}
std::int64_t n_b(const record::Comparison& c) {
  return unmatched(c) ? 0 : c.state.empty() ? count(c.b) : static_cast<std::int64_t>(c.n_b);
}
double median(const record::Cell* c) { return c ? c->median.point : NAN; }
// The medians of the repetitions a comparison used (a matched state's), else the cells' own.
double median_a(const record::Comparison& c) {
  return unmatched(c) ? NAN : c.state.empty() ? median(c.a) : c.median_a_s;
}
double median_b(const record::Comparison& c) {
  return unmatched(c) ? NAN : c.state.empty() ? median(c.b) : c.median_b_s;
}

// Too few repetitions on a side for a 95 % interval (the outcome's note).
bool few_repetitions(const record::Comparison& c) {
  return std::isfinite(c.ratio.point) &&
         std::min(n_a(c), n_b(c)) < static_cast<std::int64_t>(record::kMinRepsFor95);
}

std::vector<Record> comparison_records(const std::vector<record::Comparison>& all,
                                       double threshold) {
  std::vector<Record> out;
  for (const auto& c : all) {
    Record r;
    r("name", cell_name(either(c).config));
    add_config_fields(r, either(c).config);
    if (c.a && c.b)  // fields left out of the match (--ignore) as B has them
      r("shape_b", shape_of(c.b->config))("pin_b", c.b->config.pin)("channel_b",
                                                                    c.b->config.channel);
    else
      r("shape_b", std::string())("pin_b", std::string())("channel_b", std::string());
    record::CellProvenance none;
    add_provenance_fields(r, c.a ? c.a->provenance : none, "a_");
    add_provenance_fields(r, c.b ? c.b->provenance : none, "b_");
    r("n_a", n_a(c))("n_b", n_b(c))("state", c.state)("median_a_s", median_a(c))(
        "median_b_s", median_b(c))("disturbed_share_a", c.a ? c.a->disturbed_share() : NAN)(
        "disturbed_share_b", c.b ? c.b->disturbed_share() : NAN)("ratio", c.ratio.point)(
        "ratio_lo", c.ratio.lo)("ratio_hi", c.ratio.hi)("mann_whitney_u", c.test.u)(
        "p_value", c.test.p)("threshold", threshold)("verdict", c.verdict)(
        "few_repetitions", std::int64_t{few_repetitions(c)});
    out.push_back(std::move(r));
  }
  return out;
}

std::string p_text(double p) {
  if (!std::isfinite(p)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, p < 0.001 ? "%.1e" : "%.3f", p);
  return buf;
}

// A cell's name in a comparison. Fields left out of the match (--ignore) may differ: those parts
// of the name read "A vs B" (iowait/threads/2 vs 1/4).
std::string pair_name(const record::Comparison& c, bool wide) {
  const auto a = split(cell_name(either(c).config), '/');
  const auto b = c.a && c.b ? split(cell_name(c.b->config), '/') : a;
  std::string name;
  if (a.size() == b.size()) {
    std::vector<std::string> parts;
    for (std::size_t i = 0; i < a.size(); ++i)
      parts.push_back(a[i] == b[i] ? a[i] : a[i] + " vs " + b[i]);
    name = join(parts, "/");
  } else {
    name = join(a, "/") + " vs " + join(b, "/");
  }
  return wide ? name : short_name(name, 36);
}

void print_comparison(std::vector<record::Comparison> all, double threshold, const std::string& a,
                      const std::string& b, bool wide) {
  std::set<std::string> differences;
  for (const auto& c : all)
    if (c.a && c.b)
      if (const auto d = c.a->provenance.differences(c.b->provenance); !d.empty())
        differences.insert(d);
  std::vector<NameKey> keys;
  for (const auto& c : all) keys.push_back(name_key(either(c).config));
  sort_by_keys(all, keys);
  std::printf("A = %s, B = %s\n", a.c_str(), b.c_str());
  for (const auto& d : differences) std::printf("A and B differ in: %s\n", d.c_str());
  std::vector<std::string> header = {"cell", "n A", "n B"};
  if (wide) header.insert(header.end(), {"median A", "median B"});
  header.insert(header.end(), {"B/A [95% CI]", "p (U test)", "outcome"});
  if (wide) header.push_back("state");
  TextTable t(header);
  std::map<std::string, int> outcomes;
  bool any_few = false, any_mostly = false;
  for (const auto& c : all) {
    const Merit& merit = merit_of(either(c).config.kernel);
    std::string outcome = c.verdict;
    if (few_repetitions(c)) outcome += " ?";
    if ((c.a && c.a->mostly_disturbed) || (c.b && c.b->mostly_disturbed)) outcome += " !";
    any_few = any_few || few_repetitions(c);
    any_mostly = any_mostly || outcome.back() == '!';
    std::vector<std::string> row = {pair_name(c, wide), c.a ? std::to_string(n_a(c)) : "-",
                                    c.b ? std::to_string(n_b(c)) : "-"};
    if (wide)
      row.insert(row.end(), {figure_text(merit, median_a(c)), figure_text(merit, median_b(c))});
    const std::string ratio =
        std::isfinite(c.ratio.point)
            ? fixed_ratio(c.ratio.point) + " " + ratio_interval(c.ratio.lo, c.ratio.hi)
            : "-";
    row.insert(row.end(), {ratio, p_text(c.test.p), outcome});
    if (wide) row.push_back(c.state.empty() ? "-" : c.state);
    t.add(row);
    ++outcomes[c.verdict];
  }
  t.print();
  char bounds[200];
  std::snprintf(bounds, sizeof bounds,
                "slower: the interval lies wholly above %.3f; faster: wholly below %.3f; no "
                "difference: wholly "
                "between them; inconclusive: it crosses one of them (--threshold %g%%).",
                1.0 + threshold, 1.0 / (1.0 + threshold), 100.0 * threshold);
  print_wrapped(
      "B/A: the ratio of the cells' figures of merit as time per unit (above 1: B takes longer), "
      "with "
      "its 95% interval. " +
      std::string(bounds));
  if (any_few)
    print_wrapped(
        "? fewer than " + std::to_string(record::kMinRepsFor95) +
        " repetitions on a side: too few for a 95% interval, so the outcome is tentative");
  if (any_mostly)
    print_wrapped("! a side is mostly disturbed: fewer than " + std::to_string(record::kMinClean) +
                  " clean repetitions, so all were used");
  std::string tally;
  for (const auto& [name, n] : outcomes)
    tally += (tally.empty() ? "" : ", ") + std::to_string(n) + " " + name;
  std::printf("%s\n", tally.c_str());
}

std::vector<std::string> ignored_fields(const std::vector<std::string>& given) {
  std::vector<std::string> out;
  for (const auto& g : given)
    for (const auto& name : split(g, ',')) {
      if (std::find(record::kIgnorable.begin(), record::kIgnorable.end(), name) ==
          record::kIgnorable.end())
        throw UsageError("--ignore " + name + ": can leave out " + join(record::kIgnorable, ", "));
      out.push_back(name);
    }
  return out;
}

int compare(const std::string& a, const std::string& b, const std::string& threshold_text,
            const std::vector<std::string>& ignore, bool speed_normalised, bool matched_state,
            bool all_states, const CellViewOptions& o) {
  if (speed_normalised && matched_state)
    throw UsageError(
        "--speed-normalised and --matched-state are two ways of taking the machine's speed out; "
        "use one");
  if (matched_state && all_states)
    throw UsageError("--matched-state and --all-states contradict each other; use one");
  if (matched_state && o.include_disturbed)
    throw UsageError(
        "--matched-state picks repetitions by their machine state itself; leave out "
        "--include-disturbed");
  // By default a pair is compared in a machine state both cells met, where there is one; speed-
  // normalised times and --include-disturbed are taken over all of a cell's repetitions.
  const record::States states = matched_state ? record::States::matched_only
                                : all_states || speed_normalised || o.include_disturbed
                                    ? record::States::all_reps
                                    : record::States::prefer_matched;
  const Format format = parse_format(o.format);
  const auto ignored = ignored_fields(ignore);
  const double threshold = parse_threshold(threshold_text);
  const CellFilter filter = make_filter(o);
  const record::CellOptions options = cell_options(o.include_disturbed, speed_normalised);
  const auto cells_a = kept(record::read_cells(a, options), filter);
  const auto cells_b = kept(record::read_cells(b, options), filter);
  const auto all = record::compare_cells(cells_a, cells_b, threshold, ignored, states);
  if (std::none_of(all.begin(), all.end(), [](const record::Comparison& c) { return c.a && c.b; }))
    throw UsageError("no cells in common between " + a + " (" + std::to_string(cells_a.size()) +
                     " cells) and " + b + " (" + std::to_string(cells_b.size()) + " cells)");
  if (format == Format::text)
    print_comparison(all, threshold, a, b, o.wide);
  else
    print_records(comparison_records(all, threshold), format);
  const bool slower = std::any_of(
      all.begin(), all.end(), [](const record::Comparison& c) { return c.verdict == "slower"; });
  return slower ? 1 : 0;
}

}  // namespace

void add_compare(CLI::App& app, int& exit_code) {
  struct Options {
    std::string a, b, threshold = "3%";
    std::vector<std::string> ignore;
    bool speed_normalised = false, matched_state = false, all_states = false;
    CellViewOptions view;
  };
  auto o = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand("compare",
                                     "B/A per cell of two results files with 95% intervals; exit 1 "
                                     "if a cell is slower beyond --threshold");
  sub->add_option("a", o->a, "the reference results file (A)")->required();
  sub->add_option("b", o->b, "the results file compared with it (B)")->required();
  sub->add_option("--threshold", o->threshold,
                  "slower means B/A's interval lies above 1 + this (3% or 0.03)")
      ->capture_default_str();
  sub->add_option("--ignore", o->ignore,
                  "match cells without these configuration fields (comma list of workers, pin, "
                  "channel, twin), "
                  "e.g. to compare a 2-worker cell with a 1-worker one")
      ->allow_extra_args(false);
  sub->add_flag("--speed-normalised", o->speed_normalised,
                "compare speed-normalised times (each repetition divided by its critical worker's "
                "speed factor, "
                "docs/noise.md) instead of wall times");
  sub->add_flag("--matched-state", o->matched_state,
                "compare each pair of cells only on their repetitions of one machine state (a 10% "
                "window of the "
                "speed factor); a pair without one gets no verdict (docs/compare.md)");
  sub->add_flag("--all-states", o->all_states,
                "compare on all clean repetitions of each cell, whatever machine state they met "
                "(by default a "
                "pair is compared in a state both met, where there is one)");
  add_cell_view_options(sub, o->view);
  sub->callback([o, &exit_code] {
    exit_code = compare(o->a, o->b, o->threshold, o->ignore, o->speed_normalised, o->matched_state,
                        o->all_states, o->view);
  });
}

}  // namespace corescope::cli
