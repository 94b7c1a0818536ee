// The progress of a sweep: a redrawn bar with an ETA on a terminal (stderr), one plain line per
// cell otherwise (stdout, for job logs), nothing with --quiet.
#pragma once
#include <string>

namespace corescope::cli {

class Progress {
 public:
  Progress(int total, bool quiet);
  void say(const std::string& line);    // a line above the bar (stdout; not with --quiet)
  void error(const std::string& line);  // a line above the bar on stderr, also with --quiet
  void add_total(int more);             // runs found to be needed after the bar was sized
  void skip();                        // a cell already done
  void start(const std::string& key);
  void tick(double elapsed);
  void finish(const std::string& key, const std::string& outcome, double seconds);
  void done();
  int ran() const { return ran_; }
  int skipped() const { return skipped_; }

 private:
  double eta() const;
  void clear();
  void draw();

  int total_, position_ = 0, ran_ = 0, skipped_ = 0;
  bool quiet_, tty_, drawn_ = false, finished_ = false;
  int failed_ = 0;
  double spent_ = 0, elapsed_ = 0;
  std::string current_;
};

}  // namespace corescope::cli
