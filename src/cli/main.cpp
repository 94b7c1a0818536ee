// corescope's command line: dispatches to one subcommand; maps errors to exit codes
// (usage mistakes 2, runtime failures 1) with one line on stderr.
#include <cstdio>
#include <cstdlib>

#include "cli/commands.hpp"
#include "core/errors.hpp"

namespace {
int fail(int code, const char* kind, const std::string& what) {
  if (corescope::cli::prints_errors()) std::fprintf(stderr, "corescope: %s%s\n", kind, what.c_str());
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

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fail(2, "error: ", std::string(e.what()) + " (see --help)");
  } catch (const corescope::UsageError& e) {
    return fail(2, "error: ", e.what());
  } catch (const std::exception& e) {
    return fail(1, "failed: ", e.what());
  }
  return exit_code;
}
