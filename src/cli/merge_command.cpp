// `corescope merge -o all.h5 a.h5 b.h5 ...`: one file from many (a job array writes one per
// task). Runs are never duplicated (run_id), linked rows follow their runs, and files of
// different schema versions are refused; the work is record::merge's.
#include <cstdio>
#include <filesystem>

#include "cli/commands.hpp"
#include "cli/lock_option.hpp"
#include "core/errors.hpp"
#include "record/recorder.hpp"

namespace corescope::cli {

namespace {

std::size_t run_count(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return 0;
  return record::read_group(path, "runs").rows();
}

}  // namespace

void add_merge(CLI::App& app, int& exit_code) {
  struct Options {
    std::string out;
    std::vector<std::string> inputs;
    bool quiet = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* sub =
      app.add_subcommand("merge", "Merge results files into one (added to --out if it exists)");
  sub->add_option("-o,--out", o->out, "the merged file (created, or added to)")->required();
  sub->add_option("inputs", o->inputs, "results files to merge")->required();
  sub->add_flag("-q,--quiet", o->quiet, "print nothing but errors");
  add_lock_timeout_option(sub);
  sub->callback([o, &exit_code] {
    record::check_output(o->out);  // before anything is read: a bad --out is one line, exit 2
    for (const auto& in : o->inputs) {
      std::error_code ec;
      if (!std::filesystem::exists(in, ec)) throw UsageError("no such file: " + in);
    }
    const std::size_t before = run_count(o->out);
    std::size_t offered = 0;
    for (const auto& in : o->inputs) offered += run_count(in);
    record::merge(o->out, o->inputs);
    const std::size_t added = run_count(o->out) - before;
    if (!o->quiet)
      std::printf(
          "merged %zu file%s into %s: %zu runs added, %zu duplicate runs (same run_id) skipped\n",
          o->inputs.size(), o->inputs.size() == 1 ? "" : "s", o->out.c_str(), added,
          offered - added);
    exit_code = 0;
  });
}

}  // namespace corescope::cli
