// `corescope compact FILE`: rewrites a results file without the space its appends left unused
// (same rows, columns and attributes), atomically and under the writer lock; the work is
// record::compact's.
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/lock_option.hpp"
#include "record/recorder.hpp"

namespace corescope::cli {

void add_compact(CLI::App& app, int& exit_code) {
  struct Options {
    std::string file;
    bool quiet = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* sub =
      app.add_subcommand("compact", "Rewrite a results file without unused space (rows unchanged)");
  sub->add_option("file", o->file, "the results file")->required();
  sub->add_flag("-q,--quiet", o->quiet, "print nothing but errors");
  add_lock_timeout_option(sub);
  sub->callback([o, &exit_code] {
    const auto [before, after] = record::compact(o->file);
    if (!o->quiet)
      std::printf("compacted %s: %llu bytes -> %llu bytes\n", o->file.c_str(),
                  static_cast<unsigned long long>(before), static_cast<unsigned long long>(after));
    exit_code = 0;
  });
}

}  // namespace corescope::cli
