// corescope's command line: dispatches to one subcommand; maps errors to exit codes
// (usage mistakes 2, runtime failures 1) with one line on stderr.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "cli/commands.hpp"
#include "core/errors.hpp"
#include "record/h5.hpp"

namespace {
// Under a launcher, rank 0 prints an error and exits at once. The other copies hit the same
// usage error (it comes from the same arguments) and stay silent, so it is said once; they
// first pause, so that rank 0's line reaches the launcher before a copy's early exit makes it
// end the job (which can kill rank 0 before it has printed). A runtime failure may be a copy's
// own, so after the pause a copy that is still alive says it, with its rank.
int fail(int code, const char* kind, const std::string& what) {
  const int rank = corescope::cli::launcher_rank();
  if (rank <= 0) {
    std::fprintf(stderr, "corescope: %s%s\n", kind, what.c_str());
  } else {
    std::this_thread::sleep_for(std::chrono::seconds(3));
    if (code != 2) std::fprintf(stderr, "corescope (rank %d): %s%s\n", rank, kind, what.c_str());
  }
  return code;
}
}  // namespace

int main(int argc, char** argv) {
  std::string command_line;
  for (int i = 0; i < argc; ++i) command_line += (i ? " " : "") + std::string(argv[i]);

  CLI::App app{"corescope: the same kernels under threads, processes, MPI, OpenMP and an emulated GIL, "
               "timed and recorded to HDF5"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "corescope " CORESCOPE_VERSION);
  int exit_code = 0;
  corescope::cli::add_run(app, command_line, exit_code);
  corescope::cli::add_list(app, exit_code);
  corescope::cli::add_info(app, exit_code);
  corescope::cli::add_summary(app, exit_code);
  corescope::cli::add_compare(app, exit_code);
  corescope::cli::add_sweep(app, exit_code);
  corescope::cli::add_study(app, exit_code);
  corescope::cli::add_merge(app, exit_code);
  corescope::cli::add_compact(app, exit_code);
  corescope::cli::add_isolate(app, command_line, exit_code);

  int code = 0;
  try {
    app.parse(argc, argv);
    code = exit_code;
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    code = fail(2, "error: ", std::string(e.what()) + " (see --help)");
  } catch (const corescope::UsageError& e) {
    code = fail(2, "error: ", e.what());
  } catch (const std::exception& e) {
    code = fail(1, "failed: ", e.what());
  }
  // HDF5 failed a close that nothing reported (a destructor cannot throw): never an exit 0, and
  // the file behind it is almost always damaged (docs/results-format.md, "Damaged files").
  if (code == 0)
    if (const auto failure = corescope::record::h5::take_close_failure()) code = fail(2, "error: ", *failure);
  if (code != 0) corescope::record::h5::quiet_shutdown();
  return code;
}
