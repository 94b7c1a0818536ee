// The supervisor of the processes mode: fork, watch, collect, reap (see supervisor.hpp).
#include "backends/processes/supervisor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "backends/processes/channels/channel.hpp"
#include "backends/processes/ipc.hpp"
#include "backends/processes/process_worker.hpp"
#include "core/errors.hpp"
#include "core/text.hpp"
#include "core/outcome_codec.hpp"
#include "core/run_loop.hpp"

namespace corescope::processes {

namespace {
constexpr std::size_t kControlBytes = 4096;
constexpr std::size_t kPoolBytes = 4u << 20;  // team-shared memory per run
constexpr int kSupervisePollMs = 20;
constexpr double kPipeDrainS = 1.0;  // after a reap, how long its result pipe may stay open

// What a worker writes on its result pipe: kind, length, then the encoded WorkerOutcome.
struct ReportHeader {
  std::uint32_t kind;  // a WorkerEnd
  std::uint32_t pad;
  std::uint64_t bytes;
};

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// While a team runs, these stop it cleanly instead of killing the supervisor on the spot (which
// would leave the team's temp dir behind): the workers are killed and reaped, the team's
// resources freed, and then the signal is raised again under its previous disposition.
constexpr int kStopSignals[] = {SIGINT, SIGTERM, SIGHUP};
volatile sig_atomic_t g_stop_signal = 0;
extern "C" void note_stop_signal(int sig) { g_stop_signal = sig; }

class StopSignals {
 public:
  StopSignals() {
    g_stop_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = note_stop_signal;
    sigemptyset(&sa.sa_mask);
    for (std::size_t i = 0; i < std::size(kStopSignals); ++i) {
      sigaction(kStopSignals[i], nullptr, &old_[i]);
      if (old_[i].sa_handler != SIG_IGN)
        sigaction(kStopSignals[i], &sa, nullptr);  // ignored stays ignored
    }
  }
  ~StopSignals() {
    for (std::size_t i = 0; i < std::size(kStopSignals); ++i)
      sigaction(kStopSignals[i], &old_[i], nullptr);
    if (g_stop_signal) raise(g_stop_signal);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct sigaction old_[std::size(kStopSignals)];
};

// Everything a worker process needs, by reference to the supervisor's memory it inherited.
struct WorkerStart {
  int id;
  pid_t supervisor;
  const RunSpec& spec;
  const KernelInfo& kernel;
  const TeamOptions& options;
  ChannelTeam& channel_team;
  ControlBlock* control;
  WorkerResources resources;
  const std::vector<std::array<int, 2>>& result_pipes;
};

// The body of a worker process. Never returns and never runs the supervisor's destructors:
// those would free the team's resources under the other workers' feet.
[[noreturn]] void worker_main(const WorkerStart& s) {
#if defined(__linux__)
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // the supervisor dies -> so do we
#endif
  if (getppid() != s.supervisor) _exit(70);           // it died before prctl took effect
  signal(SIGPIPE, SIG_IGN);                           // a dead peer is EPIPE, not a silent death
  for (int sig : kStopSignals) signal(sig, SIG_DFL);  // not the supervisor's handler
  const int result_fd = s.result_pipes[static_cast<std::size_t>(s.id)][1];
  for (std::size_t w = 0; w < s.result_pipes.size(); ++w) {
    close(s.result_pipes[w][0]);
    if (static_cast<int>(w) != s.id) close(s.result_pipes[w][1]);
  }

  WorkerEnd end = WorkerEnd::completed;
  WorkerOutcome out;
  try {
    auto channel = s.channel_team.attach(s.id);
    ProcessWorker w(s.id, s.spec.workers, *channel, s.resources);
    auto kernel = s.kernel.make();
    out = s.options.loop ? s.options.loop(w, *kernel, s.spec) : run_worker(w, *kernel, s.spec);
  } catch (const PeerLost& e) {
    end = WorkerEnd::aborted;
    out.error = e.what();
  } catch (const std::exception& e) {
    end = WorkerEnd::failed;
    out.error = e.what();
    if (s.options.abort_on_death) s.control->aborted.store(1, std::memory_order_release);
  }
  out.worker = s.id;
  const std::vector<std::byte> bytes = encode_outcome(out);
  const ReportHeader h{static_cast<std::uint32_t>(end), 0, bytes.size()};
  const bool shipped =
      write_all(result_fd, &h, sizeof h) && write_all(result_fd, bytes.data(), bytes.size());
  _exit(shipped ? 0 : 71);
}

// One worker as the supervisor sees it.
struct Child {
  pid_t pid = -1;
  int fd = -1;  // read end of its result pipe
  std::vector<std::byte> report;
  bool reaped = false;
  double reaped_at = 0.0;
  int status = 0;
  bool killed = false;
};

// Kills and reaps whatever is still running if the supervisor leaves early (an exception).
struct ChildGuard {
  std::vector<Child>& children;
  ~ChildGuard() {
    for (auto& c : children) {
      if (c.pid > 0 && !c.reaped) {
        kill(c.pid, SIGKILL);
        while (waitpid(c.pid, nullptr, 0) < 0 && errno == EINTR) {
        }
      }
      if (c.fd >= 0) close(c.fd);
    }
  }
};

// Parses a complete report; false if it is missing or cut short (the worker died writing).
bool parse_report(const std::vector<std::byte>& data, WorkerEnd& end, WorkerOutcome& out) {
  if (data.size() < sizeof(ReportHeader)) return false;
  ReportHeader h;
  std::memcpy(&h, data.data(), sizeof h);
  if (data.size() != sizeof h + h.bytes || h.kind > static_cast<std::uint32_t>(WorkerEnd::aborted))
    return false;
  try {
    std::size_t pos = sizeof h;
    out = decode_outcome(data, pos);
  } catch (const RuntimeFailure&) {
    return false;
  }
  end = static_cast<WorkerEnd>(h.kind);
  return true;
}

void read_available(Child& c) {
  std::byte buf[65536];
  for (;;) {
    const ssize_t k = read(c.fd, buf, sizeof buf);
    if (k > 0) {
      c.report.insert(c.report.end(), buf, buf + k);
      continue;
    }
    if (k < 0 && errno == EINTR) continue;
    if (k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
      close(c.fd);
      c.fd = -1;
    }
    return;
  }
}

// One result pipe per worker (read end kept by the supervisor, write end by the worker); the
// write ends the supervisor still holds are closed when this goes away.
struct ResultPipes {
  explicit ResultPipes(int n) : fds(static_cast<std::size_t>(n), {-1, -1}) {
    for (auto& f : fds) {
      int p[2];
      if (pipe2(p, O_CLOEXEC) != 0) {
        const std::string why = std::strerror(errno);
        for (auto& made : fds)
          for (int& fd : made)
            if (fd >= 0) close(std::exchange(fd, -1));
        throw RuntimeFailure("cannot create a result pipe: " + why);
      }
      f = {p[0], p[1]};
    }
  }
  ~ResultPipes() {
    for (auto& f : fds)
      if (f[1] >= 0) close(f[1]);
  }
  ResultPipes(const ResultPipes&) = delete;
  ResultPipes& operator=(const ResultPipes&) = delete;
  // After the fork: the supervisor reads without blocking and writes nothing.
  void supervisor_side() {
    for (auto& f : fds) {
      close(f[1]);
      f[1] = -1;
      set_nonblocking(f[0]);
    }
  }
  std::vector<std::array<int, 2>> fds;
};

// Watches the team until every worker is reaped and its pipe drained: reads reports, reaps,
// aborts the team on a death (abort_on_death), on a stop signal or at the watchdog, and kills
// what does not stop within the grace period. Returns the workers whose death or failure was
// seen, in that order.
std::vector<int> supervise(std::vector<Child>& children, ControlBlock* control,
                           ChannelTeam& channel_team, const TeamOptions& options,
                           Clock::time_point t0, TeamReport& report) {
  const int n = static_cast<int>(children.size());
  bool aborting = false;
  double abort_at = 0.0;
  std::vector<int> failures;
  auto abort_team = [&] {
    if (aborting) return;
    aborting = true;
    abort_at = seconds_since(t0);
    control->aborted.store(1, std::memory_order_release);
    channel_team.wake_all();
  };
  auto failed = [&](int id) {
    if (std::find(failures.begin(), failures.end(), id) != failures.end()) return;
    failures.push_back(id);
    if (options.abort_on_death) abort_team();
  };

  for (;;) {
    std::vector<pollfd> fds;
    std::vector<Child*> owners;
    for (auto& c : children)
      if (c.fd >= 0) {
        fds.push_back({c.fd, POLLIN, 0});
        owners.push_back(&c);
      }
    const bool all_reaped =
        std::all_of(children.begin(), children.end(), [](const Child& c) { return c.reaped; });
    if (fds.empty() && all_reaped) break;
    if (!fds.empty())
      poll(fds.data(), fds.size(), kSupervisePollMs);
    else
      usleep(kSupervisePollMs * 1000);
    for (std::size_t i = 0; i < fds.size(); ++i)
      if (fds[i].revents) read_available(*owners[i]);

    const double now = seconds_since(t0);
    for (int id = 0; id < n; ++id) {
      Child& c = children[static_cast<std::size_t>(id)];
      if (!c.reaped) {
        int status = 0;
        const pid_t r = waitpid(c.pid, &status, WNOHANG);
        if (r == c.pid || (r < 0 && errno == ECHILD)) {
          c.reaped = true;
          c.reaped_at = now;
          c.status = status;
          if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) failed(id);
        }
      }
      if (c.reaped && c.fd >= 0 && now - c.reaped_at > kPipeDrainS) {
        close(c.fd);  // something else holds its pipe open; what it wrote is all there is
        c.fd = -1;
      }
      if (c.reaped && c.fd < 0 && c.report.size() >= sizeof(ReportHeader)) {
        ReportHeader h;
        std::memcpy(&h, c.report.data(), sizeof h);
        if (h.kind == static_cast<std::uint32_t>(WorkerEnd::failed)) failed(id);
      }
    }
    if (g_stop_signal && !aborting) {
      abort_team();
      abort_at = now - options.grace_s;  // no grace: the user asked to stop
    }
    if (options.timeout_s > 0 && !report.timed_out && now > options.timeout_s) {
      report.timed_out = true;
      abort_team();
    }
    if (aborting && now - abort_at > options.grace_s)
      for (auto& c : children)
        if (!c.reaped && !c.killed) {
          kill(c.pid, SIGKILL);
          c.killed = true;
        }
  }
  return failures;
}

// How each worker ended, from its wait status and its report.
void collect(const std::vector<Child>& children, TeamReport& report) {
  report.workers.resize(children.size());
  for (std::size_t id = 0; id < children.size(); ++id) {
    const Child& c = children[id];
    WorkerStatus& s = report.workers[id];
    s.worker = static_cast<int>(id);
    s.pid = c.pid;
    s.killed_by_supervisor = c.killed;
    s.ended_s = c.reaped_at;
    s.wait_status = describe_wait_status(c.status);
    if (WIFEXITED(c.status)) s.exit_code = WEXITSTATUS(c.status);
    if (WIFSIGNALED(c.status)) s.signal = WTERMSIG(c.status);
    if (!(parse_report(c.report, s.end, s.outcome) && s.exit_code == 0)) {
      s.end = WorkerEnd::died;
      s.outcome = WorkerOutcome{};
      s.outcome.error = s.wait_status;
    }
    s.outcome.worker = static_cast<int>(id);
  }
}

// The culprit: the first death or failure seen; else a worker the supervisor had to kill (it
// hung); else one that lost its peer for a reason of the peer's own (it left early). And the
// one line that says what happened.
void blame(const std::vector<int>& failures, const TeamOptions& options, TeamReport& report) {
  const int n = static_cast<int>(report.workers.size());
  report.stop_signal = g_stop_signal;
  if (!failures.empty() && !report.stop_signal) report.culprit = failures.front();
  for (int id = 0; report.culprit < 0 && !report.stop_signal && id < n; ++id)
    if (report.workers[static_cast<std::size_t>(id)].killed_by_supervisor) report.culprit = id;
  for (int id = 0; report.culprit < 0 && !report.stop_signal && id < n; ++id)
    if (report.workers[static_cast<std::size_t>(id)].end == WorkerEnd::aborted) report.culprit = id;
  char seconds[32];
  if (report.culprit >= 0) {
    const WorkerStatus& s = report.workers[static_cast<std::size_t>(report.culprit)];
    if (s.killed_by_supervisor) {
      std::snprintf(seconds, sizeof seconds, "%g", options.timeout_s);
      report.failure = report.timed_out
                           ? std::string("still running when the watchdog fired after ") + seconds +
                                 " s; killed by the supervisor"
                           : "did not stop after the team was aborted; killed by the supervisor";
    } else {
      report.failure = s.outcome.error;
      if (s.end == WorkerEnd::died) {
        std::snprintf(seconds, sizeof seconds, "%.2f", s.ended_s);
        report.failure +=
            std::string(" (pid ") + std::to_string(s.pid) + ", after " + seconds + " s)";
      }
    }
  } else if (report.stop_signal) {
    report.failure = "stopped by " + signal_text(report.stop_signal) + " to the supervisor";
  } else if (report.timed_out) {
    std::snprintf(seconds, sizeof seconds, "%g", options.timeout_s);
    report.failure = std::string("the watchdog fired after ") + seconds + " s";
  }
}
}  // namespace

TeamReport run_team(const RunSpec& spec, const KernelInfo& kernel, const TeamOptions& options) {
  const int n = spec.workers;
  if (n < 1) throw UsageError("the processes mode needs at least one worker");
  const ChannelInfo& channel =
      find_channel(spec.channel.empty() ? channels().front().name : spec.channel);

  // Everything the team uses is made before the first fork: a failure here is one clear line
  // and no process to clean up.
  StopSignals stop_signals;  // first made, last gone: re-raises a caught signal after the cleanup
  TeamDir dir;
  SharedSegment segment(kControlBytes + kPoolBytes, "the processes team");
  auto* control = new (segment.data()) ControlBlock;
  const TeamContext context{n, dir.path(), control};
  std::unique_ptr<ChannelTeam> channel_team = channel.make(context);
  const WorkerResources resources{channel.name, segment.data() + kControlBytes, kPoolBytes,
                                  dir.path() + "/team.lock"};
  std::vector<Child> children(static_cast<std::size_t>(n));
  ChildGuard guard{children};
  ResultPipes pipes(n);
  for (int id = 0; id < n; ++id)
    children[static_cast<std::size_t>(id)].fd = pipes.fds[static_cast<std::size_t>(id)][0];

  std::fflush(nullptr);  // a worker must not inherit and later repeat buffered output
  const pid_t me = getpid();
  const auto t0 = Clock::now();
  for (int id = 0; id < n; ++id) {
    const pid_t pid = fork();
    if (pid < 0)
      throw RuntimeFailure("cannot fork worker " + std::to_string(id) + " of " + std::to_string(n) +
                           ": " + std::strerror(errno));
    if (pid == 0)
      worker_main({id, me, spec, kernel, options, *channel_team, control, resources, pipes.fds});
    children[static_cast<std::size_t>(id)].pid = pid;
  }
  channel_team->after_fork();
  pipes.supervisor_side();

  TeamReport report;
  const std::vector<int> failures =
      supervise(children, control, *channel_team, options, t0, report);
  report.wall_s = seconds_since(t0);
  collect(children, report);
  blame(failures, options, report);
  return report;
}

RunResult to_run_result(const RunSpec& spec, const TeamReport& report) {
  std::vector<WorkerOutcome> outcomes;
  for (const auto& s : report.workers) {
    WorkerOutcome o = s.outcome;
    const bool culprit = s.worker == report.culprit;
    if (!culprit) {
      // Workers stopped because of the culprit carry no error of their own.
      if (s.end == WorkerEnd::aborted || s.killed_by_supervisor) o.error.clear();
      o.completed = o.completed && s.end == WorkerEnd::completed;
    } else {
      o.completed = false;
      o.error = report.failure;  // combine_outcomes puts "worker N: " in front
      if (s.end == WorkerEnd::died || s.killed_by_supervisor)
        o.error += "; the supervisor stopped the other workers";
    }
    outcomes.push_back(std::move(o));
  }
  RunResult result;
  result.spec = spec;
  combine_outcomes(result, std::move(outcomes));
  if (report.culprit < 0 && !report.failure.empty()) {
    result.status = "failed";
    result.error = report.failure;
  }
  return result;
}

}  // namespace corescope::processes
