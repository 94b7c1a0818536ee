// A small column-oriented table: the in-memory shape of every HDF5 group corescope writes.
// Rows are built by the core (runs, samples) and by experiments (isolation, ...); the recorder
// turns each Column into a 1-D dataset and every Table into a compound copy under /tables.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace corescope::record {

using Int = std::int64_t;
using Values = std::variant<std::vector<Int>, std::vector<double>, std::vector<std::string>>;

// What a column is for, beyond its name, for readers that discover columns: written as the
// dataset attribute `corescope_role` when not empty (docs/user/results-format.md).
inline constexpr const char* kRoleAttribute = "corescope_role";
inline constexpr const char* kRoleKernelMetric =
    "kernel_metric";  // a kernel's own run-level metric

struct Column {
  std::string name;
  std::string units;      // "" when the column has no unit
  std::string long_name;  // one-line description, written as the long_name attribute
  Values values;
  std::string role = {};  // "" or a role such as kRoleKernelMetric

  std::size_t size() const {
    return std::visit([](const auto& v) { return v.size(); }, values);
  }
};

// Missing values when a column is added to a file that already has rows (or a row lacks it).
inline constexpr Int kMissingInt = -1;
inline const std::string kMissingText;  // empty string
// doubles use NaN

class Table {
 public:
  std::vector<Column> columns;

  std::size_t rows() const { return columns.empty() ? 0 : columns.front().size(); }
  const Column* find(const std::string& name) const {
    for (const auto& c : columns)
      if (c.name == name) return &c;
    return nullptr;
  }
  Column* find(const std::string& name) {
    for (auto& c : columns)
      if (c.name == name) return &c;
    return nullptr;
  }

  // Typed cell readers, for code that reports rows: the value of `column` at `row`, or the
  // missing value ("", kMissingInt, NaN) when the column is absent, of another kind, or has no
  // such row. number() reads int64 and float64 columns (ints converted).
  std::string text(const std::string& column, std::size_t row) const;
  Int integer(const std::string& column, std::size_t row) const;
  double number(const std::string& column, std::size_t row) const;
};

// Appends values to a table row by row while declaring each column once. Usage:
//   TableBuilder b(table); b.row(); b.i64("workers", 4); b.f64("wall_s", 1.2, "s", "wall time");
//   ...
// Columns seen for the first time are created and back-filled with missing values; columns not
// set in a row get a missing value, so every column always has rows() entries.
class TableBuilder {
 public:
  // Continues after the rows `t` already has.
  explicit TableBuilder(Table& t) : t_(t), row_(t.rows()) {}
  void row();  // starts a new row (finishes the previous one)
  void finish();
  void i64(const std::string& name, Int v, const std::string& units = "",
           const std::string& long_name = "");
  void f64(const std::string& name, double v, const std::string& units = "",
           const std::string& long_name = "");
  void str(const std::string& name, std::string v, const std::string& long_name = "");
  // Gives the column `name` (already set in some row) the role `role` (see Column::role).
  void role(const std::string& name, const std::string& role);

 private:
  Column& column(const std::string& name, const std::string& units, const std::string& long_name,
                 Values empty);
  void pad_all(std::size_t n);
  Table& t_;
  std::size_t row_ = 0;  // number of rows started
};

}  // namespace corescope::record
