// One isolate trial, supervisor side (trial.hpp): launch, watch, watchdog, classify, clean up.
#include "isolate/trial.hpp"

#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>

#include "core/errors.hpp"
#include "core/platform.hpp"
#include "core/text.hpp"
#include "isolate/events.hpp"
#include "sweep/child.hpp"

namespace corescope::isolation {

namespace {
namespace fs = std::filesystem;

constexpr double kTickS = 0.02;  // how often the supervisor looks at the trial's processes
// Watchdog: SIGTERM to the group, then SIGKILL this much later. An MPI launcher needs longer:
// it stops its ranks and removes its session dir and shared memory before it exits (seen to take
// over 3 s on a loaded machine; SIGKILL would leave them behind).
constexpr double kGraceS = 3.0;
constexpr double kLauncherGraceS = 15.0;

// What the event file and /proc said about one worker.
struct WorkerView {
  long long pid = -1;
  double warm_t = -1, done_t = -1, fail_t = -1;
  std::int64_t warm_peak = -1;
  int ok = -1;
  std::string failure, ended;
};

// One process of the trial (a worker's, or the processes mode's supervisor).
struct ProcessView {
  std::int64_t peak = -1;  // largest VmHWM seen
  double gone_t = -1;      // when it was first seen dead (or a zombie)
  std::string exe;  // its binary when it was first named (this corescope, or a Python interpreter)
};

std::string exe_of(long long pid) {
  std::error_code ec;
  const fs::path p = fs::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec);
  return ec ? "" : p.string();
}

class Monitor {
 public:
  Monitor(std::string path, int workers)
      : workers(static_cast<std::size_t>(workers)), path_(std::move(path)) {}

  // Reads new event lines and looks at every known process.
  void poll(double now) {
    read_events();
    for (auto& [pid, p] : processes) {
      if (p.gone_t >= 0) continue;
      const platform::OtherProcess o = platform::other_process(static_cast<int>(pid));
      p.peak = std::max(p.peak, o.peak_rss);
      if (!o.alive) p.gone_t = now;
    }
  }

  // When the worker's process was first seen gone, and its largest peak RSS; -1 if unknown.
  double gone_t(const WorkerView& w) const {
    const auto it = processes.find(w.pid);
    return it == processes.end() ? -1.0 : it->second.gone_t;
  }
  std::int64_t peak_of(const WorkerView& w) const {
    const auto it = processes.find(w.pid);
    return it == processes.end() ? std::int64_t{-1} : it->second.peak;
  }
  bool same_process_for_all() const {
    for (const auto& w : workers)
      if (w.pid != workers.front().pid) return false;
    return true;
  }

  std::vector<WorkerView> workers;
  std::map<long long, ProcessView> processes;
  std::vector<std::string> shm_files;
  double inject_t = -1;

 private:
  void read_events() {
    std::ifstream in(path_, std::ios::binary);
    if (!in) return;
    in.seekg(static_cast<std::streamoff>(offset_));
    const std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    offset_ += chunk.size();
    partial_ += chunk;
    for (std::size_t nl; (nl = partial_.find('\n')) != std::string::npos; partial_.erase(0, nl + 1))
      apply(partial_.substr(0, nl));
  }

  void apply(const std::string& line) {
    Event e;
    if (!parse_event(line, e)) return;
    if (e.kind == "supervisor") {
      processes.emplace(e.pid, ProcessView{.exe = exe_of(e.pid)});
      return;
    }
    if (e.worker >= static_cast<int>(workers.size())) return;
    WorkerView& w = workers[static_cast<std::size_t>(e.worker)];
    auto saw_peak = [&](std::int64_t v) {
      if (w.pid >= 0) processes[w.pid].peak = std::max(processes[w.pid].peak, v);
    };
    if (e.kind == "start") {
      w.pid = e.pid;
      processes.emplace(e.pid, ProcessView{.exe = exe_of(e.pid)});
    } else if (e.kind == "warm") {
      w.warm_t = e.t;
      w.warm_peak = e.peak_rss;
      saw_peak(e.peak_rss);
    } else if (e.kind == "done") {
      w.done_t = e.t;
      w.ok = e.ok;
      saw_peak(e.peak_rss);
    } else if (e.kind == "fail") {
      w.fail_t = e.t;
      w.failure = e.text;
    } else if (e.kind == "inject") {
      inject_t = e.t;
    } else if (e.kind == "shm") {
      if (std::find(shm_files.begin(), shm_files.end(), e.text) == shm_files.end())
        shm_files.push_back(e.text);
    } else if (e.kind == "ended") {
      w.ended = e.text;
    }
  }

  std::string path_;
  std::size_t offset_ = 0;
  std::string partial_;
};

// How the trial's top process ended: "SIGSEGV", "exit 3".
std::string top_process_end(const sweep::ChildResult& r) {
  return r.signal ? signal_name(r.signal) : "exit " + std::to_string(r.exit_code);
}

// What the MPI launcher said about rank `rank`, "" if nothing.
std::string launcher_says(const std::string& output, int rank) {
  std::smatch m;
  const std::string id = std::to_string(rank);
  // Open MPI: "process rank 1 with PID 0 on node vm exited on signal 11 (Segmentation fault)."
  if (std::regex_search(
          output, m,
          std::regex("process rank " + id + " with PID \\d+ on node \\S+ exited on signal (\\d+)")))
    return signal_name(std::atoi(m[1].str().c_str()));
  if (std::regex_search(output, m, std::regex("MPI_ABORT was invoked on rank " + id + "\\b")))
    return "MPI_Abort";
  // Slurm: "srun: error: vm: task 1: Segmentation fault"
  if (std::regex_search(output, m, std::regex("task " + id + ": ([^\\n(]+)"))) {
    std::string t = m[1].str();
    while (!t.empty() && (t.back() == ' ' || t.back() == '\r')) t.pop_back();
    return t;
  }
  return "";
}

// The trial's last words: its last corescope error line, else what the launcher noticed, else
// its last line that is not decoration; then how it ended.
std::string trial_note(const sweep::ChildResult& r) {
  std::string mine, noticed, last;
  for (std::string line : split(r.output, '\n')) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.find_first_not_of("-*= ") == std::string::npos) continue;
    if (line.rfind("corescope:", 0) == 0) mine = line;
    if (line.find("noticed") != std::string::npos || line.find("srun: error") != std::string::npos)
      noticed = line;
    last = line;
  }
  std::string text = !mine.empty() ? mine : !noticed.empty() ? noticed : last;
  if (text.size() > 300) text = text.substr(0, 297) + "...";
  const std::string how =
      r.timed_out ? "timed out after " + human_seconds(r.seconds) : top_process_end(r);
  return text.empty() ? how : text + " (" + how + ")";
}

void add(std::string& list, const std::string& item) { list += (list.empty() ? "" : " ") + item; }

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// Removes what the trial left: processes still running, named shared memory of its processes,
// files in its temp dir. Returns what it found.
std::string clean_up(Monitor& mon, const std::string& self_exe, const std::string& tmp,
                     double now) {
  std::string left;
  std::vector<long long> killed;
  for (auto& [pid, p] : mon.processes) {
    if (!platform::other_process(static_cast<int>(pid)).alive) continue;
    // The pid was reused by something else (a Python mode's processes run the interpreter).
    if (exe_of(pid) != (p.exe.empty() ? self_exe : p.exe)) continue;
    ::kill(static_cast<pid_t>(pid), SIGKILL);
    killed.push_back(pid);
    add(left, "process:" + std::to_string(pid));
  }
  for (int i = 0; i < 100 && !killed.empty(); ++i) {
    killed.erase(std::remove_if(killed.begin(), killed.end(),
                                [](long long pid) {
                                  return !platform::other_process(static_cast<int>(pid)).alive;
                                }),
                 killed.end());
    if (!killed.empty()) ::usleep(10000);
  }
  for (long long pid : killed) add(left, "process:" + std::to_string(pid) + "(unkillable)");
  for (auto& [pid, p] : mon.processes)
    if (p.gone_t < 0) p.gone_t = now;

  std::vector<std::string> shm = mon.shm_files;
  for (const auto& name : names_in("/dev/shm"))
    for (const auto& [pid, p] : mon.processes)
      if (name.rfind("corescope-" + std::to_string(pid) + "-", 0) == 0)
        shm.push_back("/dev/shm/" + name);
  for (const auto& path : shm) {
    std::error_code ec;
    if (fs::exists(path, ec)) {
      add(left, "shm:" + fs::path(path).filename().string());
      fs::remove(path, ec);
    }
  }
  for (const auto& name : names_in(tmp)) add(left, "tmp:" + name);
  return left;
}

// The trial's own directory: its event file, and TMPDIR for whatever the team creates (the
// processes mode's team dir, the MPI launcher's session dir), so that leftovers show. Removed
// with everything in it when the trial ends.
struct TrialDir {
  TrialDir() {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base && *base ? base : "/tmp") + "/corescope-isolate-XXXXXX";
    if (!::mkdtemp(templ.data()))
      throw RuntimeFailure("cannot create a temp dir for the trial in " + templ);
    path = templ;
    tmp = path + "/tmp";
    if (::mkdir(tmp.c_str(), 0700) != 0) throw RuntimeFailure("cannot create " + tmp);
  }
  ~TrialDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  TrialDir(const TrialDir&) = delete;
  TrialDir& operator=(const TrialDir&) = delete;
  std::string path, tmp;
};

// The command line of the trial's team (`corescope isolate-trial ...`, under the launcher's
// words for launched modes).
std::vector<std::string> team_command(const TrialSetup& s, const std::string& report) {
  const Plan& plan = s.plan;
  auto num = [](double v) {
    char number[64];
    std::snprintf(number, sizeof number, "%.17g", v);
    return std::string(number);
  };
  std::vector<std::string> argv = s.launch_prefix;
  argv.insert(argv.end(), {s.self_exe,      "isolate-trial",
                           "--kernel",      s.kernel,
                           "--mode",        s.mode,
                           "--workers",     std::to_string(s.workers),
                           "--size",        s.size,
                           "--warmup",      std::to_string(s.warmup),
                           "--fault",       fault_name(plan.fault),
                           "--victim",      std::to_string(plan.victim),
                           "--run-seconds", num(plan.run_s),
                           "--inject-at",   num(plan.inject_s),
                           "--leak-rate",   num(plan.leak_bytes_per_s),
                           "--mem-limit",   std::to_string(plan.mem_limit_bytes),
                           "--report",      report});
  if (!s.channel.empty()) argv.insert(argv.end(), {"--channel", s.channel});
  for (const auto& p : s.params) argv.insert(argv.end(), {"--param", p});
  // A watchdog inside the trial too, where the mode has one (supervised modes): it fires first
  // and lets the team clean up after itself; this one is the backstop.
  argv.insert(argv.end(), {"--watchdog", num(plan.run_s + 0.4 * (s.timeout_s - plan.run_s))});
  return argv;
}

// What happened to each worker: survivors, corrupted, killed, hung, the victim's outcome.
void classify_workers(const TrialSetup& s, const Monitor& mon, const sweep::ChildResult& r,
                      double watchdog_t, TrialResult& out) {
  const int victim = s.plan.victim;
  const bool launched = !s.launch_prefix.empty();
  // How a worker that did not complete ended.
  auto death_of = [&](int id) -> std::string {
    const WorkerView& w = mon.workers[static_cast<std::size_t>(id)];
    if (!w.ended.empty()) return w.ended;  // supervised: its supervisor's wait status
    if (!launched && mon.same_process_for_all()) return top_process_end(r);  // one process for all
    if (launched) {
      const std::string said = launcher_says(r.output, id);
      return said.empty() ? "killed by the launcher" : said;
    }
    return "gone";
  };

  std::vector<std::string> codes;
  for (int id = 0; id < s.workers; ++id) {
    const WorkerView& w = mon.workers[static_cast<std::size_t>(id)];
    const double gone = mon.gone_t(w);
    // (A worker that completed or failed was not running; a Python driver stopped by its watchdog
    // reports every worker it had not heard of yet as hung.)
    const bool finished = w.done_t >= 0 || w.fail_t >= 0;
    const bool hung = !finished && ((r.timed_out && (gone < 0 || gone >= watchdog_t)) ||
                                    w.ended.rfind("hung", 0) == 0);
    std::string code, text;
    if (w.done_t >= 0) {
      code = w.ok == 1 ? "ok" : "wrong";
      text = w.ok == 1 ? "completed, verified" : "completed with a wrong answer";
    } else if (w.fail_t >= 0) {
      code = "failed";
      text = "failed: " + w.failure;
    } else if (hung) {
      code = "hung";
      text = w.ended.empty() ? "hung: still running when the watchdog fired" : w.ended;
    } else {
      const std::string how = death_of(id);
      code = (id == victim ? "died(" : "killed(") + how + ")";
      text = (id == victim ? "died: " : "killed: ") + how;
    }
    codes.push_back(std::to_string(id) + "=" + code);
    if (hung) ++out.hung;
    if (id == victim) {
      out.victim_outcome = text;
      continue;
    }
    if (code == "ok")
      ++out.survivors;
    else if (code == "wrong")
      ++out.corrupted;
    else if (!hung)
      ++out.killed;
  }
  out.outcomes = join(codes, " ");
}

// Time to detection: from the fault to its first sign outside the victim's own code.
void detection(const TrialSetup& s, const Monitor& mon, const sweep::ChildResult& r,
               double watchdog_t, double t_end, TrialResult& out) {
  const int victim = s.plan.victim;
  const WorkerView& v = mon.workers[static_cast<std::size_t>(victim)];
  out.injected = mon.inject_t >= 0;
  if (!out.injected) return;
  double seen = -1;
  switch (s.plan.fault) {
    case Fault::crash:
    case Fault::abort:
    case Fault::exit: seen = mon.gone_t(v); break;
    case Fault::hang:
      seen = r.timed_out ? watchdog_t : v.ended.rfind("hung", 0) == 0 ? mon.gone_t(v) : -1;
      break;
    case Fault::stray_write:
      for (int id = 0; id < s.workers; ++id) {
        const WorkerView& w = mon.workers[static_cast<std::size_t>(id)];
        if (id != victim && w.done_t >= 0 && w.ok == 0 && (seen < 0 || w.done_t < seen))
          seen = w.done_t;
      }
      break;
    case Fault::leak:
      if (v.fail_t >= 0)
        seen = v.fail_t;
      else if (v.done_t < 0)
        seen = mon.gone_t(v);
      break;
  }
  out.detect_s = seen >= 0 ? std::max(0.0, seen - mon.inject_t) : -1.0;
  out.ended_s = std::max(0.0, t_end - mon.inject_t);
}

// Memory (each worker's process, peak at the end against its peak at the start line) and the
// processes the workers ran in.
void memory_and_processes(const TrialSetup& s, const Monitor& mon, TrialResult& out) {
  const int victim = s.plan.victim;
  const WorkerView& v = mon.workers[static_cast<std::size_t>(victim)];
  out.victim_peak_rss = mon.peak_of(v);
  if (out.victim_peak_rss >= 0 && v.warm_peak >= 0)
    out.victim_growth = out.victim_peak_rss - v.warm_peak;
  for (int id = 0; id < s.workers; ++id) {
    const WorkerView& w = mon.workers[static_cast<std::size_t>(id)];
    const std::int64_t peak = mon.peak_of(w);
    if (id == victim || peak < 0 || w.warm_peak <= 0) continue;
    const std::int64_t growth = peak - w.warm_peak;
    out.others_peak_rss = std::max(out.others_peak_rss, peak);
    out.others_growth = std::max(out.others_growth, growth);
    out.others_growth_frac = std::max(
        out.others_growth_frac, static_cast<double>(growth) / static_cast<double>(w.warm_peak));
  }
  std::vector<long long> pids;
  for (const auto& w : mon.workers)
    if (w.pid >= 0 && std::find(pids.begin(), pids.end(), w.pid) == pids.end())
      pids.push_back(w.pid);
  out.processes = static_cast<int>(pids.size());
  for (long long pid : pids) add(out.pids, std::to_string(pid));
  for (const auto& path : mon.shm_files) add(out.shared_memory, fs::path(path).filename().string());
}
}  // namespace

TrialResult run_trial(const TrialSetup& s) {
  const TrialDir dir;
  const std::string report = dir.path + "/events";
  Monitor mon(report, s.workers);
  sweep::ChildOptions options;
  options.env = s.env;
  options.env.emplace_back("TMPDIR", dir.tmp);
  options.timeout_s = s.timeout_s;
  options.grace_s = s.launch_prefix.empty() ? kGraceS : kLauncherGraceS;
  options.tick_s = kTickS;
  options.tick = [&mon](double) { mon.poll(monotonic_s()); };
  const double t0 = monotonic_s();
  const sweep::ChildResult r = sweep::run_child(team_command(s, report), options);
  const double t_end = monotonic_s();
  mon.poll(t_end);
  if (r.interrupted_by)
    throw RuntimeFailure("isolate interrupted by " + signal_name(r.interrupted_by));

  TrialResult out;
  out.leftovers = clean_up(mon, s.self_exe, dir.tmp, t_end);
  out.timed_out = r.timed_out;
  out.exit_code = r.exit_code >= 0 ? r.exit_code : 128 + r.signal;
  out.note = r.ok() ? "" : trial_note(r);
  const bool any_warm = std::any_of(mon.workers.begin(), mon.workers.end(),
                                    [](const WorkerView& w) { return w.warm_t >= 0; });
  if (!any_warm)
    throw RuntimeFailure("the " + s.mode + " trial never started its team: " + r.failure_text());
  const double watchdog_t = t0 + s.timeout_s;
  classify_workers(s, mon, r, watchdog_t, out);
  detection(s, mon, r, watchdog_t, t_end, out);
  memory_and_processes(s, mon, out);
  return out;
}

}  // namespace corescope::isolation
