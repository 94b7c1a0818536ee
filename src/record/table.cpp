// TableBuilder: fills a column-oriented Table row by row, padding gaps with missing values.
#include <cmath>
#include <limits>
#include <type_traits>

#include "core/errors.hpp"
#include "record/table.hpp"

namespace corescope::record {

namespace {

template <typename T>
T missing() {
  if constexpr (std::is_same_v<T, Int>)
    return kMissingInt;
  else if constexpr (std::is_same_v<T, double>)
    return std::numeric_limits<double>::quiet_NaN();
  else
    return kMissingText;
}

void pad(Values& values, std::size_t n) {
  std::visit(
      [n](auto& v) {
        using T = typename std::decay_t<decltype(v)>::value_type;
        if (v.size() < n) v.resize(n, missing<T>());
      },
      values);
}

const char* type_name(std::size_t index) {
  static const char* const names[] = {"int64", "float64", "text"};
  return names[index];
}

template <typename T>
void set(Column& c, std::size_t row, T value) {
  auto& v = std::get<std::vector<T>>(c.values);
  CS_CHECK(v.size() + 1 == row || v.size() == row);
  // Setting a column twice in one row keeps the last value.
  if (v.size() == row)
    v.back() = std::move(value);
  else
    v.push_back(std::move(value));
}

}  // namespace

namespace {
template <typename T>
const T* cell(const Table& t, const std::string& column, std::size_t row) {
  const Column* c = t.find(column);
  const auto* v = c ? std::get_if<std::vector<T>>(&c->values) : nullptr;
  return v && row < v->size() ? &(*v)[row] : nullptr;
}
}  // namespace

std::string Table::text(const std::string& column, std::size_t row) const {
  const auto* v = cell<std::string>(*this, column, row);
  return v ? *v : kMissingText;
}

Int Table::integer(const std::string& column, std::size_t row) const {
  const auto* v = cell<Int>(*this, column, row);
  return v ? *v : kMissingInt;
}

double Table::number(const std::string& column, std::size_t row) const {
  if (const auto* d = cell<double>(*this, column, row)) return *d;
  if (const auto* i = cell<Int>(*this, column, row)) return static_cast<double>(*i);
  return missing<double>();
}

void TableBuilder::pad_all(std::size_t n) {
  for (auto& c : t_.columns) pad(c.values, n);
}

void TableBuilder::finish() { pad_all(row_); }

void TableBuilder::row() {
  finish();
  ++row_;
}

Column& TableBuilder::column(const std::string& name, const std::string& units,
                             const std::string& long_name, Values empty) {
  CS_CHECK(row_ > 0);  // a value set before the first row()
  Column* c = t_.find(name);
  if (c == nullptr) {
    t_.columns.push_back(Column{name, units, long_name, std::move(empty)});
    c = &t_.columns.back();
  } else {
    if (c->values.index() != empty.index())
      throw RuntimeFailure("column '" + name + "' holds " + type_name(c->values.index()) +
                           " values but is set as " + type_name(empty.index()));
    if (c->units.empty()) c->units = units;
    if (c->long_name.empty()) c->long_name = long_name;
  }
  pad(c->values, row_ - 1);
  return *c;
}

void TableBuilder::i64(const std::string& name, Int v, const std::string& units,
                       const std::string& long_name) {
  set(column(name, units, long_name, std::vector<Int>{}), row_, v);
}

void TableBuilder::f64(const std::string& name, double v, const std::string& units,
                       const std::string& long_name) {
  set(column(name, units, long_name, std::vector<double>{}), row_, v);
}

void TableBuilder::str(const std::string& name, std::string v, const std::string& long_name) {
  set(column(name, "", long_name, std::vector<std::string>{}), row_, std::move(v));
}

void TableBuilder::role(const std::string& name, const std::string& role) {
  Column* c = t_.find(name);
  CS_CHECK(c != nullptr);  // a role for a column never set
  c->role = role;
}

}  // namespace corescope::record
