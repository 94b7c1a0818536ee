// The Python driver's launcher and the reader of its line protocol (python_driver.hpp).
#include "backends/python/python_driver.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <algorithm>
#include <limits>
#include <map>

#include "backends/processes/ipc.hpp"
#include "core/errors.hpp"
#include "core/text.hpp"

#ifndef CORESCOPE_PY_SOURCE_DIR
#define CORESCOPE_PY_SOURCE_DIR ""
#endif

namespace corescope::python {

namespace {
constexpr int kResultFd = 3;
constexpr int kPollMs = 50;

std::map<std::string, std::string> fields(const std::string& line, std::string& kind) {
  std::map<std::string, std::string> f;
  const auto parts = split(line, '\t');
  kind = parts.empty() ? "" : parts.front();
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const auto eq = parts[i].find('=');
    if (eq == std::string::npos)
      throw RuntimeFailure("the Python driver wrote a malformed record: " + line.substr(0, 200));
    f[parts[i].substr(0, eq)] = parts[i].substr(eq + 1);
  }
  return f;
}

double number(const std::map<std::string, std::string>& f, const char* key, double fallback = -1) {
  const auto it = f.find(key);
  if (it == f.end() || it->second.empty()) return fallback;
  char* end = nullptr;
  const double v = std::strtod(it->second.c_str(), &end);
  if (end == it->second.c_str())
    throw RuntimeFailure(std::string("the Python driver wrote a bad number for ") + key);
  return v;
}

std::string text(const std::map<std::string, std::string>& f, const char* key) {
  const auto it = f.find(key);
  return it == f.end() ? "" : it->second;
}

WorkerOutcome& outcome_of(DriverReport& r, int worker) {
  for (auto& o : r.outcomes)
    if (o.worker == worker) return o;
  r.outcomes.push_back({});
  r.outcomes.back().worker = worker;
  return r.outcomes.back();
}

bool is_file(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::is_regular_file(p, ec);
}
}  // namespace

bool parse_hello(const std::string& line, Hello& out) {
  std::string kind;
  const auto f = fields(line, kind);
  if (kind != "hello") return false;
  out.python = text(f, "python");
  out.version = text(f, "version");
  out.start_method = text(f, "start_method");
  const double gil = number(f, "gil", -1);
  out.gil = gil == 1 ? 1 : gil == 0 ? 0 : -1;
  return true;
}

void parse_line(const std::string& line, DriverReport& r) {
  if (line.empty()) return;
  std::string kind;
  const auto f = fields(line, kind);
  if (kind == "hello") {
    parse_hello(line, r.hello);
  } else if (kind == "sample") {
    Sample s;
    s.rep = static_cast<std::int32_t>(number(f, "rep"));
    s.worker = static_cast<std::int32_t>(number(f, "worker"));
    s.rank = static_cast<std::int32_t>(number(f, "rank", 0));
    s.thread = static_cast<std::int32_t>(number(f, "thread", 0));
    s.cpu = static_cast<std::int32_t>(number(f, "cpu"));
    s.cpu_start = static_cast<std::int32_t>(number(f, "cpu_start"));
    // The scheduler records of docs/dev/noise.md; the driver sends no probe_s
    // (docs/user/python.md).
    s.steal_s = number(f, "steal_s", std::numeric_limits<double>::quiet_NaN());
    s.wall_s = number(f, "wall_s", 0);
    s.cpu_s = number(f, "cpu_s", 0);
    s.compute_s = number(f, "compute_s", 0);
    s.comm_s = number(f, "comm_s", 0);
    auto i64 = [&](const char* key) { return static_cast<std::int64_t>(number(f, key)); };
    s.rss_bytes = i64("rss_bytes");
    s.peak_rss_bytes = i64("peak_rss_bytes");
    s.minor_faults = i64("minor_faults");
    s.major_faults = i64("major_faults");
    s.vol_ctx_switches = i64("vol_ctx_switches");
    s.invol_ctx_switches = i64("invol_ctx_switches");
    s.pss_bytes = i64("pss_bytes");
    s.uss_bytes = i64("uss_bytes");
    s.base_pss_bytes = i64("base_pss_bytes");
    s.runnable_start = i64("runnable_start");
    r.samples.push_back(s);
  } else if (kind == "verify") {
    WorkerOutcome& o = outcome_of(r, static_cast<int>(number(f, "worker")));
    o.verified = number(f, "ok", 0) == 1;
    o.verify_error = number(f, "error", 0);
    o.verify_detail = text(f, "detail");
  } else if (kind == "metric") {
    WorkerOutcome& o = outcome_of(r, static_cast<int>(number(f, "worker")));
    o.metrics.push_back(
        {text(f, "name"), number(f, "value", 0), text(f, "units"), text(f, "long_name")});
  } else if (kind == "outcome") {
    WorkerOutcome& o = outcome_of(r, static_cast<int>(number(f, "worker")));
    o.completed = number(f, "completed", 0) == 1;
    o.error = text(f, "error");
  } else if (kind == "end") {
    r.ended = true;
  }
}

std::string driver_path() {
  if (const char* env = std::getenv("CORESCOPE_PY_PATH"); env && *env) return env;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  const auto main_py = std::filesystem::path("corescope_py") / "__main__.py";
  if (!ec) {
    for (const auto& dir : {exe.parent_path() / "python",
                            exe.parent_path() / ".." / "share" / "corescope" / "python"})
      if (is_file(dir / main_py)) return std::filesystem::weakly_canonical(dir, ec).string();
  }
  const std::filesystem::path source = CORESCOPE_PY_SOURCE_DIR;
  if (!source.empty() && is_file(source / main_py)) return source.string();
  throw UsageError(
      "the Python driver corescope_py is not next to this corescope (build or install it, or set "
      "CORESCOPE_PY_PATH)");
}

std::vector<std::string> driver_args(const RunSpec& spec, const std::string& kind) {
  std::vector<std::string> a = {"-m",
                                "corescope_py",
                                "run",
                                "--mode",
                                spec.mode,
                                "--kernel",
                                spec.kernel,
                                "--workers",
                                std::to_string(spec.workers),
                                "--size",
                                std::to_string(spec.params.size),
                                "--reps",
                                std::to_string(spec.params.reps),
                                "--warmup",
                                std::to_string(spec.params.warmup),
                                "--fd",
                                std::to_string(kResultFd)};
  for (const auto& [key, value] : spec.params.values) {
    a.push_back("--param");
    a.push_back(key + "=" + value);
  }
  if (!spec.channel.empty()) a.insert(a.end(), {"--channel", spec.channel});
  if (kind != "threads") a.insert(a.end(), {"--start-method", spec.start_method});
  if (std::isfinite(spec.switch_interval_s)) {  // py-threads: sys.setswitchinterval
    char interval[64];
    std::snprintf(interval, sizeof interval, "%.17g", spec.switch_interval_s);
    a.insert(a.end(), {"--switch-interval", interval});
  }
  return a;
}

namespace {
// Starts the interpreter on the driver in a process group of its own, tied to this process,
// with the result pipe's write end as kResultFd; returns its pid and the read end (non-blocking).
std::pair<pid_t, int> spawn_driver(const RunSpec& spec, const std::string& kind) {
  const std::string path = driver_path();
  std::vector<std::string> args = driver_args(spec, kind);
  args.insert(args.begin(), spec.python);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const char* old = std::getenv("PYTHONPATH");
  const std::string pythonpath = path + (old && *old ? std::string(":") + old : "");

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    throw RuntimeFailure(std::string("cannot create the result pipe: ") + std::strerror(errno));
  std::fflush(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    throw RuntimeFailure(std::string("cannot fork the Python driver: ") + std::strerror(errno));
  }
  if (pid == 0) {
    setpgid(0, 0);
#if defined(__linux__)
    prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
    if (getppid() != parent) _exit(70);
    if (fds[1] == kResultFd)
      fcntl(kResultFd, F_SETFD, 0);
    else if (dup2(fds[1], kResultFd) < 0)
      _exit(71);
    setenv("PYTHONPATH", pythonpath.c_str(), 1);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) signal(sig, SIG_DFL);
    execv(spec.python.c_str(), argv.data());
    _exit(127);
  }
  setpgid(pid, pid);  // also from here: no race with the kill below
  close(fds[1]);
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  return {pid, fds[0]};
}

// What the driver reported until it ended, and how it ended.
struct DriverEnd {
  DriverReport report;
  std::string protocol_error;
  bool timed_out = false;
  int status = 0;
};

// Reads the driver's report lines from `fd` until it has ended and the pipe is closed, killing
// its group at the watchdog, or when something it started still holds the pipe after it ended.
DriverEnd read_driver(pid_t pid, int fd, const TeamControl& control) {
  DriverEnd end;
  std::string pending;
  bool open = true, reaped = false;
  const auto t0 = std::chrono::steady_clock::now();
  while (open || !reaped) {
    if (open) {
      pollfd p{fd, POLLIN, 0};
      poll(&p, 1, kPollMs);
      char buf[65536];
      for (;;) {
        const ssize_t k = read(fd, buf, sizeof buf);
        if (k > 0) {
          pending.append(buf, static_cast<std::size_t>(k));
          continue;
        }
        if (k == 0 || (errno != EAGAIN && errno != EINTR)) open = false;
        break;
      }
      for (std::size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
        try {
          parse_line(pending.substr(0, nl), end.report);
        } catch (const RuntimeFailure& e) {
          if (end.protocol_error.empty()) end.protocol_error = e.what();
        }
        pending.erase(0, nl + 1);
      }
    } else {
      usleep(kPollMs * 1000);
    }
    if (!reaped && waitpid(pid, &end.status, WNOHANG) == pid) reaped = true;
    if (reaped && open) kill(-pid, SIGKILL);
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!end.timed_out && control.watchdog_s > 0 && elapsed > control.watchdog_s) {
      end.timed_out = true;
      kill(-pid, SIGKILL);
    }
  }
  return end;
}

// The run as the driver reported it; failed, with why, when it did not end cleanly.
RunResult driver_result(const RunSpec& spec, DriverEnd& end, const TeamControl& control) {
  DriverReport& report = end.report;
  const int status = end.status;
  RunResult result;
  result.spec = spec;
  result.python_version = report.hello.version;
  result.python_gil = report.hello.gil;
  std::sort(report.outcomes.begin(), report.outcomes.end(),
            [](const auto& a, const auto& b) { return a.worker < b.worker; });
  combine_outcomes(result, report.outcomes);
  result.samples = std::move(report.samples);
  const bool clean_exit = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (end.timed_out || !clean_exit || !report.ended || !end.protocol_error.empty()) {
    std::string why = end.timed_out ? "hung: the Python driver was killed by the watchdog after " +
                                          std::to_string(control.watchdog_s) + " s"
                      : !end.protocol_error.empty() ? end.protocol_error
                      : WIFEXITED(status) && WEXITSTATUS(status) == 127
                          ? "cannot run " + spec.python
                          : "the Python interpreter " + processes::describe_wait_status(status);
    if (!result.error.empty()) why += " (" + result.error + ")";
    result.status = "failed";
    result.error = why;
    result.verified = false;
    // Every worker that shipped no completed outcome ended with the driver (one interpreter for
    // all in py-threads; a hung worker the driver waited for).
    if (control.on_worker_lost)
      for (int w = 0; w < spec.workers; ++w) {
        const auto it = std::find_if(report.outcomes.begin(), report.outcomes.end(),
                                     [w](const WorkerOutcome& o) { return o.worker == w; });
        if (it == report.outcomes.end() || !it->completed) control.on_worker_lost(w, why);
      }
  }
  return result;
}
}  // namespace

RunResult run_driver(const RunSpec& spec, const std::string& kind, const TeamControl& control) {
  const auto [pid, fd] = spawn_driver(spec, kind);
  DriverEnd end = read_driver(pid, fd, control);
  close(fd);
  kill(-pid, SIGKILL);  // whatever of the group is left (a hung pool process, a helper)
  return driver_result(spec, end, control);
}

}  // namespace corescope::python
