// The sweep's progress bar and per-cell lines (sweep_progress.hpp).
#include "cli/sweep_progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/text.hpp"

namespace corescope::cli {

namespace {
std::string clock_text(double s) {
  if (!(s >= 0) || !std::isfinite(s)) return "?";
  const long t = std::lround(s);
  char buf[32];
  if (s < 9.95)
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  else if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, t / 60 % 60);
  else if (t >= 60)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}
}  // namespace

Progress::Progress(int total, bool quiet)
    : total_(total), quiet_(quiet), tty_(::isatty(STDERR_FILENO) == 1) {}

void Progress::say(const std::string& line) {
  if (quiet_) return;
  clear();
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  draw();
}

void Progress::error(const std::string& line) {
  clear();
  std::fprintf(stderr, "%s\n", line.c_str());
  draw();
}

void Progress::listing(const std::string& line) { std::printf("%s\n", line.c_str()); }

void Progress::add_total(int more) {
  total_ += more;
  draw();
}

void Progress::skip() { ++position_; }

void Progress::start(const std::string& key) {
  current_ = key;
  elapsed_ = 0;
  draw();
}

void Progress::tick(double elapsed) {
  elapsed_ = elapsed;
  draw();
}

void Progress::finish(const std::string& key, const std::string& outcome, double seconds) {
  ++position_;
  ++ran_;
  spent_ += seconds;
  current_.clear();
  if (quiet_) return;
  const std::string line = "[" + std::to_string(position_) + "/" + std::to_string(total_) + "] " +
                           key + ": " + outcome + "; the run took " + human_seconds(seconds) +
                           "; ETA " + clock_text(eta());
  if (outcome.rfind("ok", 0) != 0) ++failed_;
  if (tty_) {
    if (outcome.rfind("ok", 0) != 0)
      say(line);  // failures stay on screen above the bar
    else
      draw();
  } else {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }
}

void Progress::done() {
  clear();
  finished_ = true;
}

double Progress::eta() const {
  const int left = total_ - position_;
  if (left == 0) return 0;
  if (ran_ == 0) return NAN;
  return spent_ / ran_ * left - (current_.empty() ? 0 : std::min(elapsed_, spent_ / ran_));
}

void Progress::clear() {
  if (tty_ && !quiet_ && drawn_) std::fprintf(stderr, "\r\x1b[K");
  drawn_ = false;
}

void Progress::draw() {
  if (!tty_ || quiet_ || finished_) return;
  constexpr int width = 28;
  const int filled = total_ ? position_ * width / total_ : width;
  std::string bar = "[" + std::string(static_cast<std::size_t>(filled), '#') +
                    std::string(static_cast<std::size_t>(width - filled), '.') + "]";
  std::string line = bar + " " + std::to_string(position_) + "/" + std::to_string(total_) +
                     "  ETA " + clock_text(eta());
  if (failed_) line += "  " + std::to_string(failed_) + " failed";
  if (!current_.empty()) line += "  " + current_ + " " + clock_text(elapsed_);
  std::fprintf(stderr, "\r\x1b[K%s", line.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

}  // namespace corescope::cli
