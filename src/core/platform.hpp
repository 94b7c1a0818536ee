// Everything that talks to the operating system about the current process and thread. This is
// the one place with OS-specific code (platform_linux.cpp); a macOS or Windows port is one more
// file implementing these functions. Probes that the OS cannot answer return -1.
#pragma once
#include <cstdint>
#include <string>

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

double thread_cpu_seconds();     // CPU time of the calling thread
int current_cpu();               // CPU the calling thread runs on, -1 if unknown
std::int64_t available_memory_bytes();  // memory a new allocation can count on
std::int64_t total_memory_bytes();
std::string hostname();
std::string cpu_model();
int process_id();

// CPUs this process may run on (its affinity mask; a cgroup or taskset shrinks it).
int allowed_cpu_count();
// Restricts the calling thread, and so every thread and process it starts later, to the lowest
// CPU it may run on; returns that CPU, -1 if the OS cannot do it (`corescope run --pin one`).
int restrict_to_one_cpu();
// The calling process gets SIGKILL when its parent dies (a sweep's cells die with the sweep);
// async-signal-safe, for use between fork and exec. A no-op where the OS has no such thing.
void die_with_parent();

}  // namespace corescope::platform
