// Aligned text tables for the terminal.
#include "cli/table_printer.hpp"

#include <algorithm>
#include <cmath>

#include "backends/registry.hpp"
#include "core/errors.hpp"
#include "core/text.hpp"
#include "record/run_rows.hpp"

namespace corescope::cli {

void print_wrapped(const std::string& text) {
  std::printf("%s\n", wrapped(text, kTextColumns).c_str());
}

void TextTable::print(std::FILE* out) const {
  const std::size_t n = headers_.size();
  std::vector<std::size_t> width(n);
  for (std::size_t c = 0; c < n; ++c) width[c] = headers_[c].size();
  for (const auto& r : rows_)
    for (std::size_t c = 0; c < r.size() && c < n; ++c) width[c] = std::max(width[c], r[c].size());
  std::size_t last_start = 0;  // where the last column starts
  for (std::size_t c = 0; c + 1 < n; ++c) last_start += width[c] + 2;
  // 0: no wrap
  const std::size_t last_width = last_start + 20 < kTextColumns ? kTextColumns - last_start : 0;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (std::size_t c = 0; c < n; ++c) {
      std::string cell = c < cells.size() ? cells[c] : "";
      if (c + 1 == n && last_width > 0) {
        std::string indented;
        for (const char ch : wrapped(cell, last_width)) {
          indented += ch;
          if (ch == '\n') indented += std::string(last_start, ' ');
        }
        cell = indented;
      }
      s += cell;
      if (c + 1 < n) s += std::string(width[c] - cell.size() + 2, ' ');
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    std::fprintf(out, "%s\n", s.c_str());
  };
  line(headers_);
  for (const auto& r : rows_) line(r);
}

void TextTable::print_markdown(std::FILE* out) const {
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s = "|";
    for (std::size_t c = 0; c < headers_.size(); ++c) {
      std::string cell = c < cells.size() ? cells[c] : "";
      for (std::size_t at = 0; (at = cell.find('|', at)) != std::string::npos; at += 2)
        cell.insert(at, "\\");
      s += " " + cell + " |";
    }
    std::fprintf(out, "%s\n", s.c_str());
  };
  line(headers_);
  std::string rule = "|";
  for (std::size_t c = 0; c < headers_.size(); ++c) rule += "---|";
  std::fprintf(out, "%s\n", rule.c_str());
  for (const auto& r : rows_) line(r);
}

namespace {
// 3 significant digits in the largest SI prefix below the value: "12.3 GB/s", "34.5 kB/s".
std::string si_rate(double per_s, const char* unit) {
  static const std::pair<double, const char*> prefixes[] = {
      {1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}};
  double v = per_s;
  const char* prefix = "";
  for (const auto& [scale, p] : prefixes)
    if (per_s >= scale) {
      v = per_s / scale;
      prefix = p;
      break;
    }
  char buf[64];
  std::snprintf(buf, sizeof buf,
                v >= 100  ? "%.0f %s%s"
                : v >= 10 ? "%.1f %s%s"
                          : "%.2f %s%s",
                v, prefix, unit);
  return buf;
}
}  // namespace

std::string format_rate(double gbytes_per_s, double gflops_per_s) {
  // Above one flop per byte (dgemm) the kernel is compute-bound: its flop rate is the headline.
  const bool compute_bound =
      std::isfinite(gflops_per_s) && std::isfinite(gbytes_per_s) && gflops_per_s > gbytes_per_s;
  if (compute_bound || (!std::isfinite(gbytes_per_s) && std::isfinite(gflops_per_s)))
    return si_rate(gflops_per_s * 1e9, "FLOP/s");
  if (std::isfinite(gbytes_per_s)) return si_rate(gbytes_per_s * 1e9, "B/s");
  return "-";
}

std::string team_shape(const std::string& mode, std::int64_t workers, std::int64_t ranks,
                       std::int64_t threads_per_rank) {
  const auto& all = modes();
  const auto it =
      std::find_if(all.begin(), all.end(), [&](const ModeInfo& m) { return m.name == mode; });
  if (it != all.end() && it->takes_threads && ranks > 0 && threads_per_rank > 0)
    return std::to_string(ranks) + "x" + std::to_string(threads_per_rank);
  return std::to_string(workers);
}

std::string seconds_interval(double lo, double hi) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return "-";
  return "[" + human_seconds(lo) + ", " + human_seconds(hi) + "]";
}

std::string fixed_ratio(double v) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

std::string ratio_interval(double lo, double hi) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return "-";
  return "[" + fixed_ratio(lo) + ", " + fixed_ratio(hi) + "]";
}

Format parse_format(const std::string& name) {
  if (name == "text") return Format::text;
  if (name == "csv") return Format::csv;
  if (name == "json") return Format::json;
  throw UsageError("--format " + name + ": expected text, csv or json");
}

namespace {
std::string number_text(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string csv_field(const Value& v) {
  if (const auto* d = std::get_if<double>(&v)) return std::isfinite(*d) ? number_text(*d) : "";
  if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  const auto& s = std::get<std::string>(v);
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string quoted = "\"";
  for (char c : s) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string json_field(const Value& v) {
  if (const auto* d = std::get_if<double>(&v)) return std::isfinite(*d) ? number_text(*d) : "null";
  if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  return "\"" + json_escape(std::get<std::string>(v)) + "\"";
}
}  // namespace

void print_records(const std::vector<Record>& records, Format format, std::FILE* out) {
  if (format == Format::json) {
    std::fprintf(out, "[");
    for (std::size_t r = 0; r < records.size(); ++r) {
      std::string line = r ? ",\n {" : "\n {";
      for (std::size_t f = 0; f < records[r].fields.size(); ++f) {
        const auto& [name, value] = records[r].fields[f];
        line += (f ? ", \"" : "\"") + json_escape(name) + "\": " + json_field(value);
      }
      std::fprintf(out, "%s}", line.c_str());
    }
    std::fprintf(out, "\n]\n");
    return;
  }
  if (records.empty()) return;
  std::vector<std::string> header;
  for (const auto& [name, value] : records.front().fields) header.push_back(csv_field(name));
  std::fprintf(out, "%s\n", join(header, ",").c_str());
  for (const auto& r : records) {
    std::vector<std::string> cells;
    for (const auto& [name, value] : r.fields) cells.push_back(csv_field(value));
    std::fprintf(out, "%s\n", join(cells, ",").c_str());
  }
}

void print_run_table(const std::vector<RunResult>& results) {
  TextTable t({"kernel", "mode", "workers", "size", "median", "rate", "verified", "peak RSS"});
  for (const auto& r : results) {
    const Headline h = headline(r);
    t.add({r.spec.kernel, r.spec.mode,
           team_shape(r.spec.mode, r.spec.workers, r.spec.ranks, r.spec.threads_per_rank),
           std::to_string(r.spec.params.size), human_seconds(h.wall_s_median),
           format_rate(h.gbytes_per_s, h.gflops_per_s),
           r.verified ? "yes" : (r.status == "ok" ? "NO" : r.status),
           human_bytes(static_cast<double>(h.peak_rss_bytes))});
  }
  t.print();
}

}  // namespace corescope::cli
