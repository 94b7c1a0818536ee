// The trial's event lines: writing (EventLog) and parsing (parse_event).
#include "isolate/events.hpp"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <sstream>

namespace corescope::isolation {

namespace {
std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}
}  // namespace

EventLog::EventLog(const std::string& path)
    : fd_(path.empty() ? -1
                       : ::open(path.c_str(),
                                O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) {}

EventLog::~EventLog() {
  if (fd_ >= 0) ::close(fd_);
}

void EventLog::line(const std::string& text) const {
  if (fd_ < 0) return;
  const std::string l = one_line(text) + "\n";
  [[maybe_unused]] const ssize_t n = ::write(fd_, l.data(), l.size());
}

void EventLog::linef(const char* fmt, ...) const {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  line(buf);
}

bool parse_event(const std::string& line, Event& e) {
  std::istringstream in(line);
  e = Event{};
  if (!(in >> e.kind >> e.worker)) return false;
  auto rest = [&in] {
    std::string r;
    std::getline(in, r);
    const auto first = r.find_first_not_of(' ');
    return first == std::string::npos ? std::string() : r.substr(first);
  };
  long long rss = -1, peak = -1;
  if (e.kind == "supervisor") {
    if (!(in >> e.pid)) return false;
  } else if (e.kind == "start") {
    if (!(in >> e.pid >> e.rank >> e.thread >> e.t)) return false;
  } else if (e.kind == "warm") {
    if (!(in >> e.t >> rss >> peak)) return false;
  } else if (e.kind == "done") {
    if (!(in >> e.t >> e.ok >> rss >> peak)) return false;
    e.text = rest();
  } else if (e.kind == "inject" || e.kind == "fail") {
    if (!(in >> e.t)) return false;
    e.text = rest();
  } else if (e.kind == "shm" || e.kind == "ended") {
    e.text = rest();
  } else {
    return false;
  }
  e.rss = rss;
  e.peak_rss = peak;
  return e.worker >= 0;
}

void append_ended(const std::string& report_path, int worker, const std::string& how) {
  EventLog(report_path).line("ended " + std::to_string(worker) + " " + how);
}

void append_supervisor(const std::string& report_path) {
  EventLog(report_path).linef("supervisor 0 %lld", static_cast<long long>(::getpid()));
}

double monotonic_s() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

}  // namespace corescope::isolation
