// Linux implementation of the platform probes (getrusage, /proc, sched_getcpu).
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "core/platform.hpp"

namespace corescope::platform {

ThreadUsage thread_usage() {
  rusage ru{};
  if (getrusage(RUSAGE_THREAD, &ru) != 0) return {};
  return {ru.ru_minflt, ru.ru_majflt, ru.ru_nvcsw, ru.ru_nivcsw};
}

namespace {
// Reads "Key:   1234 kB" lines of a /proc file into bytes.
std::int64_t proc_kb(const char* path, const char* key) {
  FILE* f = std::fopen(path, "r");
  if (!f) return -1;
  char line[256];
  const std::size_t n = std::strlen(key);
  std::int64_t value = -1;
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, key, n) == 0 && line[n] == ':') {
      long long kb = 0;
      if (std::sscanf(line + n + 1, "%lld", &kb) == 1) value = kb * 1024;
      break;
    }
  }
  std::fclose(f);
  return value;
}
}  // namespace

bool fresh_memory_accounting() {
  ::malloc_trim(0);
  // "5" resets the peak resident set size (Linux 4.0 and later; proc(5), /proc/pid/clear_refs).
  FILE* f = std::fopen("/proc/self/clear_refs", "w");
  if (!f) return false;
  const bool written = std::fputs("5", f) >= 0;
  return std::fclose(f) == 0 && written;
}

ProcessMemory process_memory(bool with_pss) {
  ProcessMemory m;
  m.rss = proc_kb("/proc/self/status", "VmRSS");
  m.peak_rss = proc_kb("/proc/self/status", "VmHWM");
  if (with_pss) {
    FILE* f = std::fopen("/proc/self/smaps_rollup", "r");
    if (f) {
      char line[256];
      std::int64_t priv = 0;
      bool any_private = false;
      while (std::fgets(line, sizeof line, f)) {
        long long kb = 0;
        if (std::sscanf(line, "Pss: %lld", &kb) == 1) m.pss = kb * 1024;
        if (std::sscanf(line, "Private_Clean: %lld", &kb) == 1 ||
            std::sscanf(line, "Private_Dirty: %lld", &kb) == 1) {
          priv += kb * 1024;
          any_private = true;
        }
      }
      std::fclose(f);
      if (any_private) m.uss = priv;
    }
  }
  return m;
}

std::string memory_probes() {
  return "rss,peak_rss:/proc/self/status(VmRSS,VmHWM); pss,uss:/proc/self/smaps_rollup; "
         "faults,ctx_switches:getrusage(RUSAGE_THREAD); stack:mincore(pthread_getattr_np stack)";
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

int current_cpu() { return sched_getcpu(); }

std::int64_t available_memory_bytes() {
  const std::int64_t avail = proc_kb("/proc/meminfo", "MemAvailable");
  if (avail >= 0) return avail;
  struct sysinfo si {};
  if (sysinfo(&si) == 0) return static_cast<std::int64_t>(si.freeram) * si.mem_unit;
  return -1;
}

std::int64_t total_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<std::int64_t>(pages) * page : -1;
}

std::string hostname() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown";
}

int process_id() { return static_cast<int>(getpid()); }

int online_cpu_count() { return std::max(1, static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN))); }

namespace {
// The number at the start of `text` (after blanks) into `value`; the rest of the text, or an
// empty view if there is no number.
std::string_view next_number(std::string_view text, std::int64_t& value) {
  const std::size_t at = text.find_first_not_of(' ');
  if (at == std::string_view::npos) return {};
  const auto [end, ec] = std::from_chars(text.data() + at, text.data() + text.size(), value);
  if (ec != std::errc()) return {};
  return text.substr(static_cast<std::size_t>(end - text.data()));
}

// The rest of the line that starts with `key` ("cpu3 ", "procs_running "), empty if none.
std::string_view line_after(std::string_view text, std::string_view key) {
  std::size_t at = 0;
  while (at < text.size()) {
    if (text.compare(at, key.size(), key) == 0) {
      const std::size_t from = at + key.size(), end = text.find('\n', from);
      return text.substr(from, end == std::string_view::npos ? std::string_view::npos : end - from);
    }
    at = text.find('\n', at);
    if (at == std::string_view::npos) break;
    ++at;
  }
  return {};
}
}  // namespace

std::int64_t parse_procs_running(std::string_view proc_stat) {
  std::int64_t n = -1;
  return next_number(line_after(proc_stat, "procs_running "), n).data() ? n : -1;
}

std::int64_t parse_steal_ticks(std::string_view proc_stat, int cpu) {
  if (cpu < 0) return -1;
  char key[24];
  std::snprintf(key, sizeof key, "cpu%d ", cpu);
  // user nice system idle iowait irq softirq steal ...: steal is the eighth number.
  std::string_view rest = line_after(proc_stat, key);
  std::int64_t value = -1;
  for (int field = 0; field < 8 && rest.data(); ++field) rest = next_number(rest, value);
  return rest.data() ? value : -1;
}

bool SchedSnapshot::read() {
  size_ = 0;
  const int fd = ::open("/proc/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  if (text_.empty()) text_.resize(4096);
  // The kernel writes the whole text at once when the buffer holds it; a full buffer may have
  // cut it short, so grow and read again.
  for (;;) {
    const ssize_t n = ::pread(fd, text_.data(), text_.size(), 0);
    if (n < 0) break;
    if (static_cast<std::size_t>(n) < text_.size()) {
      size_ = static_cast<std::size_t>(n);
      break;
    }
    text_.resize(text_.size() * 2);
  }
  ::close(fd);
  return size_ > 0;
}

std::int64_t SchedSnapshot::procs_running() const {
  return parse_procs_running({text_.data(), size_});
}

std::int64_t SchedSnapshot::steal_ticks(int cpu) const {
  return parse_steal_ticks({text_.data(), size_}, cpu);
}

double clock_tick_seconds() {
  const long hz = sysconf(_SC_CLK_TCK);
  return hz > 0 ? 1.0 / static_cast<double>(hz) : std::numeric_limits<double>::quiet_NaN();
}

double load_average_1m() {
  double load[1];
  return getloadavg(load, 1) == 1 ? load[0] : std::numeric_limits<double>::quiet_NaN();
}

int allowed_cpu_count() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0)
    return std::max(1, static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)));
  return std::max(1, CPU_COUNT(&set));
}

int restrict_to_one_cpu() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &set)) continue;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    return sched_setaffinity(0, sizeof one, &one) == 0 ? cpu : -1;
  }
  return -1;
}

void die_with_parent() { prctl(PR_SET_PDEATHSIG, SIGKILL); }

namespace {
std::int64_t resident_bytes(std::uintptr_t lo, std::uintptr_t hi) {
  const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  lo = lo / page * page;
  hi = (hi + page - 1) / page * page;
  if (hi <= lo) return 0;
  std::vector<unsigned char> resident((hi - lo) / page);
  if (mincore(reinterpret_cast<void*>(lo), hi - lo, resident.data()) != 0) return -1;
  std::int64_t n = 0;
  for (unsigned char r : resident) n += r & 1;
  return n * static_cast<std::int64_t>(page);
}

// The /proc/self/maps range [lo, hi) holding `address`; false if none.
bool mapping_of(std::uintptr_t address, std::uintptr_t& lo, std::uintptr_t& hi) {
  FILE* f = std::fopen("/proc/self/maps", "r");
  if (!f) return false;
  char line[512];
  bool found = false;
  while (!found && std::fgets(line, sizeof line, f)) {
    unsigned long a = 0, b = 0;
    if (std::sscanf(line, "%lx-%lx", &a, &b) == 2 && a <= address && address < b) {
      lo = a;
      hi = b;
      found = true;
    }
  }
  std::fclose(f);
  return found;
}
}  // namespace

std::int64_t thread_stack_resident_bytes() {
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return -1;
  void* addr = nullptr;
  std::size_t size = 0;
  const int rc = pthread_attr_getstack(&attr, &addr, &size);
  pthread_attr_destroy(&attr);
  if (rc != 0) return -1;
  auto lo = reinterpret_cast<std::uintptr_t>(addr), hi = lo + size;
  const std::int64_t all = resident_bytes(lo, hi);
  if (all >= 0) return all;
  // The main thread's stack is reported up to its rlimit but mapped only as far as it has grown
  // (mincore fails on the unmapped rest): count the mapping that holds this frame.
  int here = 0;
  std::uintptr_t map_lo = 0, map_hi = 0;
  if (!mapping_of(reinterpret_cast<std::uintptr_t>(&here), map_lo, map_hi)) return -1;
  return resident_bytes(std::max(lo, map_lo), std::min(hi, map_hi));
}

bool limit_address_space_growth(std::int64_t bytes) {
  const std::int64_t size = proc_kb("/proc/self/status", "VmSize");
  rlimit lim{};
  if (size < 0 || bytes <= 0 || getrlimit(RLIMIT_AS, &lim) != 0) return false;
  rlim_t cap = static_cast<rlim_t>(size + bytes);
  if (lim.rlim_max != RLIM_INFINITY && cap > lim.rlim_max) cap = lim.rlim_max;
  lim.rlim_cur = cap;
  return setrlimit(RLIMIT_AS, &lim) == 0;
}

void disable_core_dumps() {
  rlimit none{0, 0};
  setrlimit(RLIMIT_CORE, &none);
}

OtherProcess other_process(int pid) {
  OtherProcess p;
  const std::string path = "/proc/" + std::to_string(pid) + "/status";
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return p;
  char line[256];
  char state = '?';
  while (std::fgets(line, sizeof line, f)) {
    long long kb = 0;
    if (std::sscanf(line, "State: %c", &state) == 1) continue;
    if (std::sscanf(line, "VmRSS: %lld", &kb) == 1)
      p.rss = kb * 1024;
    else if (std::sscanf(line, "VmHWM: %lld", &kb) == 1)
      p.peak_rss = kb * 1024;
  }
  std::fclose(f);
  p.alive = state != 'Z' && state != 'X' && state != '?';
  return p;
}

std::vector<std::string> mapped_shared_memory_files() {
  std::vector<std::string> out;
  std::ifstream in("/proc/self/maps");
  std::string line;
  while (std::getline(in, line)) {
    const auto at = line.find(" /dev/shm/");
    if (at == std::string::npos || line.find(" (deleted)") != std::string::npos) continue;
    const std::string path = line.substr(at + 1);
    if (std::find(out.begin(), out.end(), path) == out.end()) out.push_back(path);
  }
  return out;
}

}  // namespace corescope::platform
