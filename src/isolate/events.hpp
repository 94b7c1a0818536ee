// The event file of one isolate trial: every worker (thread or process) of the team appends one
// line per event (start, warm, shm, inject, done, fail), and the trial's supervisor side reads
// them to tell what happened to whom (docs/user/isolation.md).
#pragma once
#include <cstdint>
#include <string>

namespace corescope::isolation {

// One line per event, written with one write() to a file opened O_APPEND, so the lines of
// concurrent workers (threads or processes) never interleave. Times are CLOCK_MONOTONIC
// seconds, comparable between the processes of one machine.
struct Event {
  std::string kind;  // start warm shm inject done fail ended supervisor
  int worker = -1;
  double t = 0.0;                        // when (not for shm, ended)
  long long pid = -1;                    // start, supervisor
  int rank = -1, thread = -1;            // start
  std::int64_t rss = -1, peak_rss = -1;  // warm, done: the worker's process
  int ok = -1;                           // done: verify_local passed
  std::string text;  // shm: path; inject: fault; done: detail; fail: message; ended: how
};
// Parses one line (without the newline); false for a line that is not an event.
bool parse_event(const std::string& line, Event& e);
// Appends an `ended` event (the processes trial reports how each worker process ended).
void append_ended(const std::string& report_path, int worker, const std::string& how);
// Appends a `supervisor` event: the calling process runs no worker but belongs to the trial
// (the processes mode's supervisor), so the trial's leftovers include what it names.
void append_supervisor(const std::string& report_path);

// Monotonic clock in seconds (the events' time base).
double monotonic_s();

// The trial's event file, opened by each worker (thread or process) for itself; one write()
// per line to a file opened O_APPEND, so concurrent lines stay whole. No-op for an empty path.
class EventLog {
 public:
  explicit EventLog(const std::string& path);
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;
  void line(const std::string& text) const;
  // printf-style line.
  [[gnu::format(printf, 2, 3)]] void linef(const char* fmt, ...) const;

 private:
  int fd_;
};

}  // namespace corescope::isolation
