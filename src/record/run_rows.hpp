// Turns a RunResult into the rows of /runs and /samples, and computes the headline figures
// (median of the per-repetition maximum over workers, rates) one way for every mode. It lives in
// record (not core) because it builds the recorder's rows: record sits above core and the layers
// point down only (core <- backends, kernels <- record <- sweep <- isolate <- cli).
#pragma once
#include <optional>
#include <vector>

#include "core/run.hpp"
#include "record/recorder.hpp"

namespace corescope {

struct Headline {
  double wall_s_median = 0, wall_s_min = 0, wall_s_max = 0;
  double gbytes_per_s = 0, gflops_per_s = 0;  // NaN when the kernel declares no bytes / flops
  std::int64_t peak_rss_bytes = -1;           // largest peak RSS of any process of the team
  std::vector<double> times;                  // each repetition's, the slowest worker's wall_s
};
Headline headline(const RunResult& r);

// A fresh random run id (32 hex digits).
std::string new_run_id();

// Where a run came from, recorded in every /runs row (the root attributes only describe the
// build and machine that created the file): the build and the machine.
struct RunProvenance {
  std::string host, cpu_model;
  std::string software_version, git_commit, compiler, cxx_flags, build_type;
};
// This process's build and machine.
RunProvenance this_provenance();

// The /runs row and /samples rows of one run, ready for record::append.
std::vector<record::GroupRows> result_rows(const RunResult& r);
// The same with the provenance given (tests that write rows of another build or host).
std::vector<record::GroupRows> result_rows(const RunResult& r, const RunProvenance& provenance);
// The same with only `host` given (the column layout without probing the machine).
std::vector<record::GroupRows> result_rows(const RunResult& r, const std::string& host);

// Root attributes for a new results file.
record::Provenance file_provenance();

// Schema 1 -> 2: /runs gained `memory_model`. For rows written before it, the value follows from
// the row's `mode` by the mode table of schema 1 (serial, threads, gil, openmp: "shared";
// processes: "private"; mpi, hybrid: "per-rank"; any other mode: ""). Returns the column for the
// rows of `runs` (nullopt when `runs` has a memory_model column already or no mode column).
std::optional<record::Column> derived_memory_model(const record::Table& runs);

}  // namespace corescope
