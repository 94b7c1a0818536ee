// Aligned text tables for the terminal.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <variant>
#include <vector>

#include "core/run.hpp"

namespace corescope::cli {

// Every text a command prints for a terminal fits this many columns (--wide aside).
inline constexpr std::size_t kTextColumns = 100;
// A note under a table: `text` wrapped to kTextColumns, then a newline.
void print_wrapped(const std::string& text);

// Columns two spaces apart; a last column that would pass kTextColumns is wrapped between
// words, its further lines starting where it starts.
class TextTable {
 public:
  explicit TextTable(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print(std::FILE* out = stdout) const;
  // The same rows as a Markdown table (no wrapping; `|` in a cell escaped).
  void print_markdown(std::FILE* out = stdout) const;
  bool empty() const { return rows_.empty(); }

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// The short table `corescope run` prints: median time, rate, verified, peak RSS.
void print_run_table(const std::vector<RunResult>& results);

std::string format_rate(double gbytes_per_s, double gflops_per_s);

// A team as the user asked for it: "2" workers, or "2x1" (ranks x threads) for a mode that
// splits its workers into ranks and threads (hybrid), so 2x1 and 1x2 read differently.
std::string team_shape(const std::string& mode, std::int64_t workers, std::int64_t ranks,
                       std::int64_t threads_per_rank);

// "[lo, hi]" of two times, "-" when either is missing.
std::string seconds_interval(double lo, double hi);
// "1.23" / "[1.10, 1.35]" for ratios, "-" when missing.
std::string fixed_ratio(double v);
std::string ratio_interval(double lo, double hi);

// Machine-readable output of the same rows a command prints as text: one record per row, the
// fields in the same order in every record; numbers raw (seconds, ratios), NaN as empty/null.
enum class Format { text, csv, json };
Format parse_format(const std::string& name);  // UsageError for anything but text, csv, json
using Value = std::variant<std::string, double, std::int64_t>;
struct Record {
  std::vector<std::pair<std::string, Value>> fields;
  Record& operator()(std::string name, Value v) {
    fields.emplace_back(std::move(name), std::move(v));
    return *this;
  }
};
// csv: a header line from the first record's names, then one line per record; json: an array of
// objects. Nothing but the records is written.
void print_records(const std::vector<Record>& records, Format format, std::FILE* out = stdout);

}  // namespace corescope::cli
