// Everything that talks to the operating system about the current process and thread. This is
// the one place with OS-specific code (platform_linux.cpp); a macOS or Windows port is one more
// file implementing these functions. Probes that the OS cannot answer return -1.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace corescope::platform {

// Per-thread resource counters (getrusage(RUSAGE_THREAD) on Linux).
struct ThreadUsage {
  std::int64_t minor_faults = -1, major_faults = -1;
  std::int64_t vol_ctx_switches = -1, invol_ctx_switches = -1;
};
ThreadUsage thread_usage();

// Memory of the whole process, in bytes.
struct ProcessMemory {
  std::int64_t rss = -1, peak_rss = -1;
  std::int64_t pss = -1, uss = -1;  // proportional / unique set size, where the OS has them
};
ProcessMemory process_memory(bool with_pss);

// Which memory probes process_memory() uses on this OS, recorded with the results.
std::string memory_probes();

double thread_cpu_seconds();            // CPU time of the calling thread
int current_cpu();                      // CPU the calling thread runs on, -1 if unknown
std::int64_t available_memory_bytes();  // memory a new allocation can count on
std::int64_t total_memory_bytes();
std::string hostname();
std::string cpu_model();
int process_id();

// Online CPUs of the machine (not only those this process may use).
int online_cpu_count();

// Machine-wide scheduler statistics, taken around each repetition (docs/dev/noise.md). On Linux a
// snapshot is one read of /proc/stat kept as text; only what is asked for is parsed, and after
// the first read no memory is allocated.
class SchedSnapshot {
 public:
  bool read();                              // false if the OS has no such statistics
  std::int64_t procs_running() const;       // runnable tasks on the machine, the reader included
  std::int64_t steal_ticks(int cpu) const;  // running total of `cpu`'s steal time, in clock ticks
 private:
  std::vector<char> text_;
  std::size_t size_ = 0;
};
// Seconds per clock tick of the scheduler statistics (1 / USER_HZ).
double clock_tick_seconds();
// The parsers of a /proc/stat text behind SchedSnapshot (tested on canned text); -1 if absent.
std::int64_t parse_procs_running(std::string_view proc_stat);
std::int64_t parse_steal_ticks(std::string_view proc_stat, int cpu);

// The machine's 1-minute load average, NaN if unknown.
double load_average_1m();

// CPUs this process may run on (its affinity mask; a cgroup or taskset shrinks it).
int allowed_cpu_count();
// Restricts the calling thread, and so every thread and process it starts later, to the lowest
// CPU it may run on; returns that CPU, -1 if the OS cannot do it (`corescope run --pin one`).
int restrict_to_one_cpu();
// Before the next of several runs in one process (`corescope run-batch`): gives the allocator's
// free memory back to the OS and starts the peak RSS (VmHWM) afresh, so that a run's memory
// figures are its own and not the largest of the runs before it. False where the OS cannot reset
// the peak (then the caller must not run several runs in one process).
bool fresh_memory_accounting();
// The calling process gets SIGKILL when its parent dies (a sweep's cells die with the sweep);
// async-signal-safe, for use between fork and exec. A no-op where the OS has no such thing.
void die_with_parent();

// Resident bytes of the calling thread's own stack (every thread has one, inside the process's
// RSS and PSS): mincore() over the stack pthread_getattr_np reports, as far as it is mapped.
std::int64_t thread_stack_resident_bytes();

// Caps the calling process's address space (RLIMIT_AS) at its current size plus `bytes`, so that
// a leak runs out of memory; false if the OS cannot. Every thread of the process shares the cap.
bool limit_address_space_growth(std::int64_t bytes);

// No core file when the calling process (or a child it starts later) crashes: an injected crash
// must not litter the working directory.
void disable_core_dumps();

// Another process of this machine, as a supervisor sees it: alive = exists and is not a zombie;
// memory from /proc/PID/status (-1 when it is gone).
struct OtherProcess {
  bool alive = false;
  std::int64_t rss = -1, peak_rss = -1;
};
OtherProcess other_process(int pid);

// The POSIX shared-memory files (/dev/shm/...) the calling process has mapped and that still
// have a name: what would be left behind if the process died now.
std::vector<std::string> mapped_shared_memory_files();

// A spin-wait's pause between polls: on a core shared by hardware threads it leaves the core's
// resources to the sibling, which may be the very worker being waited for.
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace corescope::platform
