// `corescope sweep`: expands a matrix of kernels x modes x team shapes (from options or a plan
// file) and runs each cell as a child `corescope run`, under mpirun/mpiexec/srun for mpi and
// hybrid cells; every cell lands in one results file, a failing cell is recorded and the sweep
// goes on, and --resume skips the cells already done. See docs/user/sweeps.md.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/lock_option.hpp"
#include "cli/plan_exec.hpp"
#include "cli/sweep_exec.hpp"
#include "cli/vocabulary.hpp"
#include "core/errors.hpp"
#include "core/text.hpp"
#include "sweep/launch.hpp"
#include "sweep/plan.hpp"

namespace corescope::cli {

namespace {

struct SweepOptions {
  std::map<std::string, std::string> values;  // plan keys given as options
  std::map<std::string, CLI::Option*> options;
  std::string plan, out = "results.h5", shard, mpirun, aa, hosts, hostfile, launcher_args;
  bool resume = false, quiet = false, dry_run = false, no_rerun = false, batch = false;
  int rounds = 3;
  std::uint64_t seed = 0;
  double target_ci = NAN, max_time = 60;
  CLI::Option *seed_opt = nullptr, *aa_opt = nullptr;
};

// The plan: a plan file (or stdin; `[name]` lines make groups), then the options given on the
// command line over every group.
sweep::Plan load_plan(const SweepOptions& o, int cpus) {
  sweep::Plan p;
  if (o.plan == "-")
    p = sweep::read_plan_groups(std::cin, "<stdin>", cpus);
  else if (!o.plan.empty())
    p = sweep::read_plan_groups_file(o.plan, cpus);
  else
    p.groups.emplace_back();
  for (auto& s : p.groups)
    for (const auto& [key, opt] : o.options)
      if (opt->count()) sweep::apply(s, key, o.values.at(key), "--" + key, cpus);
  return p;
}

int execute(SweepOptions& o) {
  sweep::ExecOptions x;
  const sweep::Plan plan = load_plan(o, x.cpus.cpus);
  const sweep::Settings& s = plan.groups.front();
  const std::vector<sweep::Cell> all = sweep::expand(plan, x.cpus.cpus);
  x.plan = sweep::plan_hash(plan, all);  // over all shards: their files merge as one plan
  sweep::Shard shard;
  if (!o.shard.empty()) shard = sweep::parse_shard(o.shard);
  // --aa alone: a twin for every cell; --aa KEY,KEY: for those cells.
  std::set<std::string> twins;
  if (o.aa_opt->count() && !o.aa.empty() && o.aa != "all")
    for (const auto& key : split(o.aa, ',')) {
      if (std::none_of(all.begin(), all.end(), [&](const sweep::Cell& c) { return c.key == key; }))
        throw UsageError("--aa: '" + key + "' is not a cell of this sweep (see --dry-run)");
      twins.insert(key);
    }
  const bool twin_all = o.aa_opt->count() && twins.empty();
  std::vector<sweep::Cell> cells;
  for (std::size_t i = 0; i < all.size(); ++i)
    if (static_cast<int>(i % static_cast<std::size_t>(shard.count)) == shard.index)
      cells.push_back(all[i]);
  if (shard.count > 1) x.note = "shard " + o.shard + " of " + std::to_string(all.size());
  x.out = o.out;
  x.resume = o.resume;
  x.quiet = o.quiet;
  x.dry_run = o.dry_run;
  x.launcher = s.launcher;
  x.mpirun = o.mpirun;
  x.hosts = sweep::parse_hosts(o.hosts, o.hostfile);
  std::istringstream words(o.launcher_args);
  for (std::string w; words >> w;) x.launcher_args.push_back(w);
  x.timeout_per_run_s = s.timeout_per_run_s;
  x.rounds = o.rounds;
  if (o.seed_opt->count()) x.seed = o.seed;
  x.target_ci = o.target_ci;
  x.max_time_s = o.max_time;
  x.rerun_disturbed = !o.no_rerun;
  x.batch = o.batch;
  return execute_plan(cells, x,
                      [&](const sweep::Cell& c) { return twin_all || twins.count(c.key) > 0; });
}

const std::map<std::string, std::pair<std::string, std::string>>& option_help() {
  // key -> (short flag or "", help); the vocabulary's terms take their flags from it
  static const std::map<std::string, std::pair<std::string, std::string>> help = {
      {"kernels", {"", "kernels, comma-separated, or all"}},
      {"modes", {"", "modes, comma-separated, or all (default: every built mode)"}},
      {"workers",
       {"", "team sizes: 1,2,4; max = the CPUs; pow2 = 1,2,4,... up to max (default pow2)"}},
      {"hybrid", {"", "ranks x threads cells for hybrid, e.g. 2x1,1x2 (implies the hybrid mode)"}},
      {"cores", {"", "core counts C: every ranks x threads = C for hybrid (max = the CPUs)"}},
      {"scaling",
       {"", "strong (size is the team total), weak (size per worker), or both: strong,weak"}},
      {"size", {"", "problem size(s): S, M, L or a count with K/M/G (default M)"}},
      {"reps", {"-r", "timed repetitions per cell (default 10)"}},
      {"warmup", {"", "untimed warm-up iterations per cell (default 2)"}},
      {"runs-per-round",
       {"",
        "runs of each cell in every round, each with its share of the repetitions (default 1); "
        "more, shorter runs meet more of a noisy machine's states"}},
      {"pin",
       {"",
        "binding: none, cores or one (everything on one CPU); a list runs each (default none)"}},
      {"timeout-per-run",
       {"", "seconds after which a cell is stopped and recorded as failed (default 0 = none)"}},
      {"launcher",
       {"", "for mpi/hybrid cells: auto (srun inside Slurm, else mpirun/mpiexec), srun or mpirun"}},
      {"param",
       {"", "kernel parameter NAME=V1,V2, e.g. sync=none,mutex: one cell per value (repeatable)"}},
      {"channels",
       {"", "point-to-point channels, or all (every channel of each mode); one cell per channel"}},
      {"switch-interval",
       {"", "gil and py-threads: GIL switch intervals in seconds, one cell per value"}},
      {"fault",
       {"", "isolate trials instead of runs: crash, abort, exit, leak, stray-write, hang"}},
      {"run-seconds", {"", "fault trials: each worker's run after the start line (default 1)"}},
  };
  return help;
}

}  // namespace

void add_sweep(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<SweepOptions>();
  CLI::App* sub = app.add_subcommand(
      "sweep",
      "Run a matrix of kernels x modes x team sizes, one `corescope run` per cell, into one file");
  for (const auto& key : sweep::plan_keys()) {
    const auto& [flag, help] = option_help().at(key);
    const std::optional<Term> term = term_of(key);
    o->options[key] =
        term ? add_term(sub, *term, o->values[key], help)
             : sub->add_option((flag.empty() ? "" : flag + ",") + "--" + key, o->values[key], help);
  }
  sub->add_option("--plan", o->plan,
                  "plan file: one `key = value` per line, keys as the options above, "
                  "[name] lines start groups (each its own matrix); - reads stdin; options "
                  "given too override it in every group");
  sub->add_option("-o,--out", o->out, "HDF5 results file to append to")->capture_default_str();
  sub->add_flag("--resume", o->resume, "skip cells of this plan already complete in --out");
  sub->add_option("--shard", o->shard,
                  "I/N: run every N-th cell starting at I (job arrays); merge the files after");
  sub->add_option("--mpirun", o->mpirun,
                  "launcher binary for mpi/hybrid cells (default: found for this MPI)");
  sub->add_option("--hosts", o->hosts,
                  "mpi/hybrid cells: hosts for the ranks, NAME[:SLOTS],... (mpirun --host, "
                  "mpiexec -hosts)");
  sub->add_option("--hostfile", o->hostfile,
                  "mpi/hybrid cells: a hostfile for the launcher (mpirun --hostfile, "
                  "mpiexec -f)");
  sub->add_option("--launcher-args", o->launcher_args,
                  "mpi/hybrid cells: extra launcher words, after the launcher "
                  "program (e.g. '--mca btl_tcp_if_include eth0')");
  sub->add_flag("-q,--quiet", o->quiet, "print nothing but errors");
  sub->add_flag("--dry-run", o->dry_run, "print the cells and their launch commands, run nothing");
  sub->add_option("--rounds", o->rounds,
                  "rounds: each runs every cell once (or --runs-per-round times), in a new "
                  "shuffled order, with a share of its repetitions (default 3)");
  o->seed_opt = sub->add_option("--seed", o->seed,
                                "seed of the rounds' orders (default: a fresh one; under "
                                "--resume the file's)");
  sub->add_option("--target-ci", o->target_ci,
                  "after the rounds, repeat each cell until the 95 % interval of its "
                  "median is within +- this fraction of it (0.05 = +-5 %)");
  sub->add_option("--max-time", o->max_time,
                  "with --target-ci: the most seconds of runs per cell (default 60)");
  sub->add_flag("--batch", o->batch, kBatchHelp);
  sub->add_flag("--no-disturbed-rerun", o->no_rerun,
                "do not give a cell of 10 or more repetitions, fewer than 3 of "
                "them undisturbed after the rounds, its one more run");
  o->aa_opt = sub->add_option("--aa", o->aa,
                              "also run an A/A twin (the same configuration, twin = 1) of every "
                              "cell, or of the cells named (KEY,KEY), in the same rounds")
                  ->expected(0, 1);
  add_lock_timeout_option(sub);  // also passed on to every cell's run
  sub->callback([o, &exit_code] { exit_code = execute(*o); });
}

}  // namespace corescope::cli
