// Aligned text tables for the terminal.
#pragma once
#include <cstdio>
#include <string>
#include <vector>

#include "core/run.hpp"

namespace corescope::cli {

class TextTable {
 public:
  explicit TextTable(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print(std::FILE* out = stdout) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// The short table `corescope run` prints: median time, rate, verified, peak RSS.
void print_run_table(const std::vector<RunResult>& results);

std::string format_rate(double gbytes_per_s, double gflops_per_s);

}  // namespace corescope::cli
