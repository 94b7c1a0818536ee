// Aligned text tables for the terminal.
#include "cli/table_printer.hpp"

#include <algorithm>
#include <cmath>

#include "record/run_rows.hpp"
#include "core/text.hpp"

namespace corescope::cli {

void TextTable::print(std::FILE* out) const {
  std::vector<std::size_t> width(headers_.size());
  for (std::size_t c = 0; c < headers_.size(); ++c) width[c] = headers_[c].size();
  for (const auto& r : rows_)
    for (std::size_t c = 0; c < r.size() && c < width.size(); ++c) width[c] = std::max(width[c], r[c].size());
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (std::size_t c = 0; c < width.size(); ++c) {
      const std::string cell = c < cells.size() ? cells[c] : "";
      s += cell;
      if (c + 1 < width.size()) s += std::string(width[c] - cell.size() + 2, ' ');
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    std::fprintf(out, "%s\n", s.c_str());
  };
  line(headers_);
  for (const auto& r : rows_) line(r);
}

std::string format_rate(double gbytes_per_s, double gflops_per_s) {
  char buf[64];
  // Above one flop per byte (dgemm) the kernel is compute-bound: its flop rate is the headline.
  const bool compute_bound = std::isfinite(gflops_per_s) && std::isfinite(gbytes_per_s) && gflops_per_s > gbytes_per_s;
  if (compute_bound) std::snprintf(buf, sizeof buf, "%.2f GFLOP/s", gflops_per_s);
  else if (std::isfinite(gbytes_per_s)) std::snprintf(buf, sizeof buf, "%.2f GB/s", gbytes_per_s);
  else if (std::isfinite(gflops_per_s)) std::snprintf(buf, sizeof buf, "%.2f GFLOP/s", gflops_per_s);
  else return "-";
  return buf;
}

void print_run_table(const std::vector<RunResult>& results) {
  TextTable t({"kernel", "mode", "workers", "size", "median", "rate", "verified", "peak RSS"});
  for (const auto& r : results) {
    const Headline h = headline(r);
    t.add({r.spec.kernel, r.spec.mode, std::to_string(r.spec.workers), std::to_string(r.spec.params.size),
           human_seconds(h.wall_s_median), format_rate(h.gbytes_per_s, h.gflops_per_s),
           r.verified ? "yes" : (r.status == "ok" ? "NO" : r.status),
           human_bytes(static_cast<double>(h.peak_rss_bytes))});
  }
  t.print();
}

}  // namespace corescope::cli
