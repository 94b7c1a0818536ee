// What a sweep's runner tells the one who shows its progress (the CLI's bar): the runner
// decides, a Reporter prints, so the engine writes nothing to stdout or stderr itself.
#pragma once
#include <string>

namespace corescope::sweep {

class Reporter {
 public:
  virtual ~Reporter() = default;
  virtual void say(const std::string& line) = 0;  // a line for the user (not with --quiet)
  virtual void listing(
      const std::string& line) = 0;      // a line of --dry-run's listing (also with --quiet)
  virtual void add_total(int more) = 0;  // runs found to be needed after the start
  virtual void skip() = 0;               // a run already in the file
  virtual void start(const std::string& label) = 0;  // a run starts
  virtual void tick(double elapsed_s) = 0;           // the run is still going
  virtual void finish(const std::string& label, const std::string& outcome, double seconds) = 0;
};

}  // namespace corescope::sweep
