// Subcommands of the corescope CLI: each file adds its subcommand and options to the app; the
// subcommand's callback does the work and stores the process exit code.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "record/cells.hpp"
#include "record/table.hpp"

namespace corescope::cli {

// --batch of sweep and study (sweep::ExecOptions::batch).
inline constexpr const char* kBatchHelp =
    "one launch per team shape and round: the runs of a round that share a mode, a binding and "
    "the launcher's words run in one process (one mpirun), each with its own allocations and "
    "warm-up (default: one launch per run)";
void add_run(CLI::App& app, const std::string& command_line, int& exit_code);
void add_run_batch(CLI::App& app, const std::string& command_line, int& exit_code);
void add_list(CLI::App& app, int& exit_code);
void add_info(CLI::App& app, int& exit_code);
void add_summary(CLI::App& app, int& exit_code);
void add_compare(CLI::App& app, int& exit_code);
void add_sweep(CLI::App& app, int& exit_code);
void add_study(CLI::App& app, int& exit_code);
void add_merge(CLI::App& app, int& exit_code);
void add_compact(CLI::App& app, int& exit_code);
void add_isolate(CLI::App& app, const std::string& command_line, int& exit_code);

// The /isolation matrix (mode x fault) of a results file's trials; only those of one isolate
// invocation when isolate_id is not empty, and of the kernels and modes `keeps` keeps. Shared by
// isolate and summary; within kTextColumns unless wide.
struct IsolationView {
  bool wide = false;
  std::string isolate_id;
  std::function<bool(const record::CellConfig&)> keeps;
};
void print_isolation_matrix(const record::Table& trials, const IsolationView& view = {});

// This copy's rank when a launcher (mpirun, mpiexec, srun) started it, else -1.
int launcher_rank();

}  // namespace corescope::cli
