// corescope's command line: dispatches to one subcommand; maps errors to exit codes
// (usage mistakes 2, runtime failures 1) with one line on stderr.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "cli/commands.hpp"
#include "cli/help_format.hpp"
#include "core/errors.hpp"
#include "core/suggest.hpp"
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

// The names of `app`'s subcommands; only those a user is shown (isolate-trial, started by
// isolate, has no group) when `visible`.
std::vector<std::string> command_names(CLI::App& app, bool visible) {
  std::vector<std::string> out;
  for (const CLI::App* sub :
       app.get_subcommands([&](CLI::App* s) { return !visible || !s->get_group().empty(); }))
    out.push_back(sub->get_name());
  return out;
}

// The options corescope takes before a command.
const std::vector<std::string> kTopOptions = {"--help", "-h", "--version"};

// "unknown option --wokers; did you mean --workers?"
std::string unknown_option(const std::string& typed, const std::vector<std::string>& known) {
  const std::string guess = corescope::did_you_mean(typed, known, "", "");
  return "unknown option " + typed + (guess.empty() ? "" : "; " + guess);
}

// Before CLI11 sees them: `corescope help [COMMAND]` is --help, and a first word that names no
// command gets a suggestion (CLI11 would only say that a subcommand is required).
std::vector<std::string> checked_words(CLI::App& app, int argc, char** argv) {
  std::vector<std::string> words(argv + 1, argv + argc);
  if (words.empty()) return words;
  const std::vector<std::string> all = command_names(app, false);
  const auto check = [&](const std::string& w) {
    if (std::find(all.begin(), all.end(), w) == all.end())
      throw corescope::UsageError(corescope::unknown_name("command", w, command_names(app, true)));
  };
  if (words[0] == "help") {
    if (words.size() > 1) check(words[1]);
    words.erase(words.begin());
    words.resize(std::min<std::size_t>(words.size(), 1));
    words.push_back("--help");
  } else if (words[0].rfind('-', 0) != 0) {
    check(words[0]);
  } else if (const std::string typed = words[0].substr(0, words[0].find('='));
             std::find(kTopOptions.begin(), kTopOptions.end(), typed) == kTopOptions.end()) {
    // (a one-letter option is not guessed at: -k is no typo of -h)
    const std::vector<std::string> guesses =
        typed.rfind("--", 0) == 0 ? kTopOptions : std::vector<std::string>{};
    throw corescope::UsageError(unknown_option(typed, guesses) +
                                " (a command's options follow the command; see corescope --help)");
  }
  return words;
}

// CLI11's "The following arguments were not expected: 2 --worker" as one line that names the
// first unknown option and the option probably meant.
std::string extras_text(CLI::App& app) {
  const std::vector<CLI::App*> chosen = app.get_subcommands();
  CLI::App* sub = chosen.empty() ? &app : chosen.front();
  const std::string help =
      " (see corescope " + (chosen.empty() ? "" : sub->get_name() + " ") + "--help)";
  const std::vector<std::string> extras = sub->remaining();
  const auto option = std::find_if(extras.begin(), extras.end(), [](const std::string& w) {
    return w.size() > 1 && w[0] == '-' && !std::isdigit(static_cast<unsigned char>(w[1]));
  });
  if (option == extras.end())
    return extras.empty() ? "unexpected arguments" + help
                          : "unexpected argument '" + extras.front() + "'" + help;
  const std::string typed = option->substr(0, option->find('='));
  std::vector<std::string> known;
  for (const CLI::Option* opt : sub->get_options())
    if (!opt->get_group().empty())
      for (const auto& name : opt->get_lnames()) known.push_back("--" + name);
  return unknown_option(typed, known) + help;
}
}  // namespace

int main(int argc, char** argv) {
  std::string command_line;
  for (int i = 0; i < argc; ++i) command_line += (i ? " " : "") + std::string(argv[i]);

  CLI::App app{
      "corescope: the same kernels under threads, processes, MPI, OpenMP and an emulated GIL, "
      "timed and recorded to HDF5"};
  app.formatter(corescope::cli::wrapping_formatter());
  app.require_subcommand(1);
  app.set_version_flag("--version", "corescope " CORESCOPE_VERSION);
  int exit_code = 0;
  corescope::cli::add_run(app, command_line, exit_code);
  corescope::cli::add_run_batch(app, command_line, exit_code);
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
    std::vector<std::string> words = checked_words(app, argc, argv);
    std::reverse(words.begin(), words.end());  // CLI11 takes them last first
    app.name(argv[0]);  // as parse(argc, argv) would, for --help's usage line
    app.parse(words);
    code = exit_code;
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e);
  } catch (const CLI::ExtrasError&) {
    code = fail(2, "error: ", extras_text(app));
  } catch (const CLI::ParseError& e) {
    code = fail(2, "error: ", std::string(e.what()) + " (see --help)");
  } catch (const corescope::UsageError& e) {
    code = fail(2, "error: ", e.what());
  } catch (const std::exception& e) {
    code = fail(1, "failed: ", e.what());
  }
  // HDF5 failed a close that nothing reported (a destructor cannot throw): never an exit 0, and
  // the file behind it is almost always damaged (docs/user/results-format.md, "Damaged files").
  if (code == 0)
    if (const auto failure = corescope::record::h5::take_close_failure())
      code = fail(2, "error: ", *failure);
  if (code != 0) corescope::record::h5::quiet_shutdown(code);
  return code;
}
