// The progress of a sweep: a redrawn bar with an ETA on a terminal (stderr), one plain line per
// cell otherwise (stdout, for job logs), nothing with --quiet. The sweep runner reports to it.
#pragma once
#include <string>

#include "sweep/reporter.hpp"

namespace corescope::cli {

class Progress : public sweep::Reporter {
 public:
  Progress(int total, bool quiet);
  void say(const std::string& line) override;  // a line above the bar (stdout; not with --quiet)
  void error(const std::string& line);         // a line above the bar on stderr, also with --quiet
  void listing(
      const std::string& line) override;  // a line on stdout, also with --quiet (--dry-run)
  void add_total(int more) override;      // runs found to be needed after the bar was sized
  void skip() override;                   // a cell already done
  void start(const std::string& key) override;
  void tick(double elapsed) override;
  void finish(const std::string& key, const std::string& outcome, double seconds) override;
  void done();

 private:
  double eta() const;
  void clear();
  void draw();

  int total_, position_ = 0, ran_ = 0;
  bool quiet_, tty_, drawn_ = false, finished_ = false;
  int failed_ = 0;
  double spent_ = 0, elapsed_ = 0;
  std::string current_;
};

}  // namespace corescope::cli
