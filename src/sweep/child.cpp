// Child processes of a sweep: start, capture, time out, forward signals, clean up the group.
#include "sweep/child.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/errors.hpp"
#include "core/platform.hpp"
#include "core/text.hpp"
#include "sweep/sweep_lock.hpp"

extern char** environ;

namespace corescope::sweep {

namespace {

volatile sig_atomic_t g_signal = 0;  // first SIGINT/SIGTERM/SIGHUP received
volatile sig_atomic_t g_count = 0;   // how many

void on_signal(int sig) {
  if (!g_signal) g_signal = sig;
  g_count = g_count + 1;
}

double now_s() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

constexpr std::size_t kTailBytes = 16 * 1024;

void keep_tail(std::string& tail, const char* data, std::size_t n) {
  tail.append(data, n);
  if (tail.size() > 2 * kTailBytes) tail.erase(0, tail.size() - kTailBytes);
}

// The child's output as it arrives: its tail, and each complete line to ChildOptions::on_line.
struct OutputSink {
  std::string& tail;
  const ChildOptions& options;
  std::string partial;         // the line not yet ended
  bool restart_clock = false;  // on_line asked for it since the watch loop last looked

  void take(const char* data, std::size_t n) {
    keep_tail(tail, data, n);
    if (!options.on_line) return;
    for (std::size_t i = 0; i < n; ++i) {
      if (data[i] != '\n') {
        partial.push_back(data[i]);
        continue;
      }
      restart_clock = options.on_line(partial) || restart_clock;
      partial.clear();
    }
  }
};

// Reads what the pipe has now (non-blocking); false at end of file.
bool drain(int fd, OutputSink& sink) {
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      sink.take(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return true;  // EAGAIN: nothing more for now
  }
}

std::vector<std::string> environment_with(
    const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    const std::string entry = *e;
    const auto eq = entry.find('=');
    const std::string name = entry.substr(0, eq);
    bool replaced = false;
    for (const auto& [k, v] : extra) replaced = replaced || k == name;
    if (!replaced) out.push_back(entry);
  }
  for (const auto& [k, v] : extra) out.push_back(k + "=" + v);
  return out;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: poll() returns at once with EINTR
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
}

int interrupt_signal() { return g_signal; }

bool find_program(const std::string& program, std::string* found) {
  auto executable = [](const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
  };
  if (program.empty()) return false;
  if (program.find('/') != std::string::npos) {
    if (!executable(program)) return false;
    if (found) *found = program;
    return true;
  }
  const char* path = std::getenv("PATH");
  for (const auto& dir : split(path ? path : "/usr/local/bin:/usr/bin:/bin", ':')) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (executable(candidate)) {
      if (found) *found = candidate;
      return true;
    }
  }
  return false;
}

std::string ChildResult::failure_text() const {
  std::string line, fallback;
  for (const auto& l : split(output, '\n')) {
    std::string t = l;
    while (!t.empty() && (t.back() == '\r' || t.back() == ' ')) t.pop_back();
    // the sweep's own protocol lines (sweep_lock.hpp) are not the child's account
    if (t.empty() || t.rfind(kRunStartTag, 0) == 0 || t.rfind(kRunOutcomeTag, 0) == 0) continue;
    fallback = t;
    if (t.rfind("corescope:", 0) == 0) line = t;
  }
  if (line.empty()) line = fallback;
  if (line.size() > 300) line = line.substr(0, 297) + "...";
  std::string how;
  if (timed_out)
    how = "timed out after " + human_seconds(seconds);
  else if (interrupted_by)
    how = "interrupted by " + signal_name(interrupted_by);
  else if (signal)
    how = "killed by " + signal_name(signal);
  else
    how = "exit code " + std::to_string(exit_code);
  return line.empty() ? how : line + " (" + how + ")";
}

namespace {
// Forks the child into a process group of its own, tied to this process, with stdin from
// /dev/null and stdout and stderr into the pipe `fds` (whose read end it closes); -1 when fork
// fails.
pid_t spawn(const std::string& program, char* const* argv, char* const* env, const int fds[2]) {
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  // Only async-signal-safe calls from here to exec.
  ::setpgid(0, 0);
  platform::die_with_parent();
  if (::getppid() != parent) ::_exit(127);  // the sweep died before we were tied to it
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) ::signal(sig, SIG_DFL);
  const int null = ::open("/dev/null", O_RDONLY);
  if (null >= 0) ::dup2(null, 0);
  ::dup2(fds[1], 1);
  ::dup2(fds[1], 2);
  ::execve(program.c_str(), argv, env);
  const char msg[] = "corescope: sweep: cannot execute the cell's command\n";
  [[maybe_unused]] auto w = ::write(2, msg, sizeof msg - 1);
  ::_exit(127);
}

// Collects the child's output from `fd` until it ends, passing a signal this process got on to
// its group (a second one kills it), ending it at the timeout and calling the tick; returns its
// wait status.
int watch(pid_t pid, int fd, const ChildOptions& options, double start, ChildResult& r) {
  bool open = true;
  double term_sent = -1;    // when TERM (or the forwarded signal) went to the group
  int forwarded_count = 0;  // signals seen when we last forwarded
  int status = 0;
  double last_tick = start;
  double clock_start = start;  // of timeout_s: the start, or the last line that restarted it
  OutputSink sink{r.output, options};
  const double period_s = options.tick_s > 0 && options.tick_s < 0.1 ? options.tick_s : 0.1;
  for (;;) {
    if (open) {
      pollfd p{fd, POLLIN, 0};
      const int n = ::poll(&p, 1, static_cast<int>(period_s * 1000 + 0.5));
      if (n > 0) open = drain(fd, sink);
    } else {
      ::usleep(static_cast<useconds_t>(period_s * 0.5e6));
    }
    if (::waitpid(pid, &status, WNOHANG) == pid) break;
    const double t = now_s();
    if (sink.restart_clock) {
      clock_start = t;
      sink.restart_clock = false;
    }
    if (g_signal && g_count != forwarded_count) {
      // First signal: pass it on and let the cell end cleanly; another one: kill at once.
      if (forwarded_count == 0) {
        r.interrupted_by = g_signal;
        ::kill(-pid, g_signal == SIGHUP ? SIGTERM : g_signal);
        term_sent = t;
      } else {
        ::kill(-pid, SIGKILL);
      }
      forwarded_count = g_count;
    }
    if (options.timeout_s > 0 && !r.timed_out && !r.interrupted_by &&
        t - clock_start > options.timeout_s) {
      r.timed_out = true;
      ::kill(-pid, SIGTERM);
      term_sent = t;
    }
    if (term_sent >= 0 && t - term_sent > options.grace_s) ::kill(-pid, SIGKILL);
    if (options.tick && t - last_tick >= period_s) {
      options.tick(t - start);
      last_tick = t;
    }
  }
  if (open) drain(fd, sink);
  return status;
}
}  // namespace

ChildResult run_child(const std::vector<std::string>& argv_in, const ChildOptions& options) {
  CS_CHECK(!argv_in.empty());
  std::string program;
  if (!find_program(argv_in.front(), &program))
    throw RuntimeFailure("cannot find program " + argv_in.front());
  std::vector<std::string> argv = argv_in;
  std::vector<std::string> envv = environment_with(options.env);
  auto argv_c = c_strings(argv);
  auto env_c = c_strings(envv);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw RuntimeFailure(std::string("pipe: ") + std::strerror(errno));
  const double start = now_s();
  const pid_t pid = spawn(program, argv_c.data(), env_c.data(), fds);
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw RuntimeFailure(std::string("fork: ") + std::strerror(errno));
  }
  ::setpgid(pid, pid);  // also here, so the group exists before we might signal it
  ::close(fds[1]);
  ::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) | O_NONBLOCK);

  ChildResult r;
  const int status = watch(pid, fds[0], options, start, r);
  r.seconds = now_s() - start;
  ::close(fds[0]);
  // Whatever the launcher left behind in the cell's group (a rank that outlived it) goes too.
  ::kill(-pid, SIGKILL);
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  if (r.output.size() > kTailBytes) r.output.erase(0, r.output.size() - kTailBytes);
  return r;
}

}  // namespace corescope::sweep
