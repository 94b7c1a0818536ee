// Sweep plans (options and plan files), their expansion into cells, and the launcher command
// lines of mpi and hybrid cells for each MPI flavour.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "backends/registry.hpp"
#include "core/kernel.hpp"
#include "kernels/registry.hpp"
#include "core/errors.hpp"
#include "core/mode.hpp"
#include "sweep/launch.hpp"
#include "sweep/plan.hpp"

namespace corescope::sweep {
namespace {

Settings from_plan(const std::string& text, int cpus = 4) {
  Settings s;
  std::istringstream in(text);
  read_plan(s, in, "test.plan", cpus);
  return s;
}

std::string usage_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no error)";
}

std::vector<std::string> keys(const std::vector<Cell>& cells) {
  std::vector<std::string> out;
  for (const auto& c : cells) out.push_back(c.key);
  return out;
}

bool built(const std::string& mode) {
  return std::any_of(modes().begin(), modes().end(),
                     [&](const ModeInfo& m) { return m.name == mode && m.built; });
}

TEST(SweepPlan, ReadsKeysValuesAndComments) {
  const Settings s = from_plan(
      "# a study\n"
      "kernels = triad, ep   # two kernels\n"
      "\n"
      "modes = serial,threads\n"
      "workers = 1, 2, max\n"
      "scaling = strong, weak\n"
      "size = S\n"
      "reps = 3\n"
      "warmup = 0\n"
      "pin = one\n"
      "timeout_per_run = 2.5\n");
  EXPECT_EQ(s.kernels, (std::vector<std::string>{"triad", "ep"}));
  EXPECT_EQ(s.modes, (std::vector<std::string>{"serial", "threads"}));
  EXPECT_EQ(s.workers, (std::vector<int>{1, 2, 4}));
  EXPECT_EQ(s.scaling, (std::vector<std::string>{"strong", "weak"}));
  EXPECT_EQ(s.reps, 3);
  EXPECT_EQ(s.warmup, 0);
  EXPECT_EQ(s.pins, (std::vector<std::string>{"one"}));
  EXPECT_DOUBLE_EQ(s.timeout_per_run_s, 2.5);
}

TEST(SweepPlan, ErrorsNameTheLine) {
  EXPECT_EQ(
      usage_error([] { from_plan("kernels = triad\n\nwrokers = 2\n"); })
          .rfind("test.plan:3: unknown key 'wrokers'; did you mean 'workers'? valid keys: kernels",
                 0),
      0u);
  EXPECT_EQ(usage_error([] {
              from_plan("kernels = triad\nworkers 2\n");
            }).rfind("test.plan:2: expected 'key = value'", 0),
            0u);
  EXPECT_EQ(usage_error([] { from_plan("kernels = a\nkernels = b\n"); }),
            "test.plan:2: 'kernels' is already set on line 1");
  EXPECT_EQ(usage_error([] { from_plan("reps = 0\n"); }).rfind("test.plan:1: reps:", 0), 0u);
  EXPECT_EQ(usage_error([] {
              from_plan("workers = 1,,2\n");
            }).rfind("test.plan:1: workers: empty item", 0),
            0u);
  EXPECT_EQ(usage_error([] { from_plan("workers =\n"); }), "test.plan:1: workers: no value");
  EXPECT_EQ(usage_error([] { from_plan("pin = all\n"); }),
            "test.plan:1: pin: 'all' is not one of none, cores, one");
  EXPECT_EQ(usage_error([] {
              from_plan("size = 12Q\n");
            }).rfind("test.plan:1: size: '12Q' is not a size", 0),
            0u);
}

// The kernel and mode registries and the kernels' parameters suggest what was meant (the
// messages run and sweep print alike).
TEST(Suggest, RegistriesSuggest) {
  EXPECT_EQ(usage_error([] {
              find_kernel("triads");
            }).rfind("unknown kernel 'triads'; did you mean 'triad'? valid kernels: ", 0),
            0u);
  EXPECT_EQ(usage_error([] {
              find_mode("thread");
            }).rfind("unknown mode 'thread'; did you mean 'threads'? valid modes: ", 0),
            0u);
  EXPECT_EQ(usage_error([] { make_params(find_kernel("ep"), 10, 1, 0, {"sed=1"}); }),
            "kernel ep: unknown parameter 'sed'; did you mean 'seed'? valid parameters: seed");
  EXPECT_EQ(usage_error([] { make_params(find_kernel("critical"), 10, 1, 0, {"sync=mutx"}); })
                .rfind("kernel critical: --param sync=mutx is not valid; did you mean sync=mutex? "
                       "valid values: ",
                       0),
            0u);
}

TEST(SweepPlan, WorkerListsRefuseZeroAndNegatives) {
  Settings s;
  EXPECT_EQ(usage_error([&] { apply(s, "workers", "1,0", "--workers", 4); }),
            "--workers: 0 is not a positive count");
  EXPECT_EQ(usage_error([&] { apply(s, "workers", "-1", "--workers", 4); }),
            "--workers: -1 is not a positive count");
  EXPECT_EQ(usage_error([&] { apply(s, "workers", "two", "--workers", 4); }),
            "--workers: 'two' is not a count");
  // run and isolate take one team size in the same words.
  EXPECT_EQ(usage_error([] { worker_count("0", "--workers", 4); }),
            "--workers: 0 is not a positive count");
  EXPECT_EQ(usage_error([] { worker_count("5000", "--workers", 4); }),
            "--workers: 5000 is more than 4096");
  EXPECT_EQ(worker_count("max", "--workers", 6), 6);
  EXPECT_EQ(usage_error([&] {
              apply(s, "hybrid", "2x0", "--hybrid", 4);
            }).find("0 is not a positive thread count") != std::string::npos,
            true);
  apply(s, "workers", "pow2", "--workers", 6);
  EXPECT_EQ(s.workers, (std::vector<int>{1, 2, 4, 6}));
  apply(s, "workers", "2,2,1", "--workers", 6);  // duplicates dropped, order kept
  EXPECT_EQ(s.workers, (std::vector<int>{2, 1}));
}

TEST(SweepPlan, ExpandsModesFromTheRegistry) {
  Settings s;
  s.kernels = {"triad"};
  s.modes = {"serial", "threads"};
  s.workers = {1, 2, 4};
  s.sizes = {"S"};
  const auto cells = expand(s, 4);
  // serial is the one-worker reference, whatever the worker list.
  EXPECT_EQ(keys(cells), (std::vector<std::string>{
                             "triad/serial/1/strong/S/none", "triad/threads/1/strong/S/none",
                             "triad/threads/2/strong/S/none", "triad/threads/4/strong/S/none"}));
  EXPECT_EQ(cells[2].workers, 2);
  EXPECT_EQ(cells[2].threads, 2);
  EXPECT_FALSE(cells[2].launched);

  s.modes = {"threads", "warp"};
  EXPECT_EQ(usage_error([&] { expand(s, 4); }).rfind("unknown mode 'warp'; valid modes: serial", 0),
            0u);
  s.modes = {"threads"};
  s.kernels = {"triad", "nope"};
  EXPECT_EQ(usage_error([&] { expand(s, 4); }).rfind("unknown kernel 'nope'", 0), 0u);
  s.kernels = {};
  EXPECT_NE(usage_error([&] { expand(s, 4); }).find("needs --kernels"), std::string::npos);
}

TEST(SweepPlan, HybridSplitsAndLaunchedCells) {
  if (!built("mpi") || !built("hybrid")) GTEST_SKIP() << "built without MPI";
  Settings s;
  s.kernels = {"reduce"};
  s.modes = {"mpi"};
  s.workers = {2};
  s.hybrid = {{2, 1}, {1, 2}};  // asks for hybrid cells although the mode list leaves it out
  auto cells = expand(s, 2);
  EXPECT_EQ(keys(cells), (std::vector<std::string>{"reduce/mpi/2/strong/M/none",
                                                   "reduce/hybrid/2x1/strong/M/none",
                                                   "reduce/hybrid/1x2/strong/M/none"}));
  EXPECT_TRUE(cells[0].launched);
  EXPECT_EQ(cells[0].ranks, 2);
  EXPECT_EQ(cells[2].ranks, 1);
  EXPECT_EQ(cells[2].threads, 2);
  EXPECT_TRUE(cells[2].split);

  s.hybrid.clear();
  s.cores = {4};  // every ranks x threads = 4
  cells = expand(s, 4);
  EXPECT_EQ(keys(cells),
            (std::vector<std::string>{
                "reduce/mpi/2/strong/M/none", "reduce/hybrid/4x1/strong/M/none",
                "reduce/hybrid/2x2/strong/M/none", "reduce/hybrid/1x4/strong/M/none"}));
}

TEST(SweepPlan, HashIdentifiesThePlan) {
  Settings s;
  s.kernels = {"triad", "ep"};
  s.modes = {"threads"};
  s.workers = {1, 2};
  const auto cells = expand(s, 2);
  const std::string h = plan_hash(s, cells);
  EXPECT_EQ(h.size(), 16u);
  EXPECT_EQ(h, plan_hash(s, expand(s, 2)));
  Settings more_reps = s;
  more_reps.reps = 11;
  EXPECT_NE(h, plan_hash(more_reps, cells));
  Settings fewer = s;
  fewer.workers = {1};
  EXPECT_NE(h, plan_hash(fewer, expand(fewer, 2)));
  // runs per round: a plan key (runs_per_round or runs-per-round), carried by every cell, and
  // another plan when it is not 1
  Settings twice = s;
  std::istringstream in("runs_per_round = 2\n");
  read_plan(twice, in, "plan.txt", 2);
  EXPECT_EQ(twice.runs_per_round, 2);
  const auto twice_cells = expand(twice, 2);
  for (const auto& c : twice_cells) EXPECT_EQ(c.runs_per_round, 2);
  EXPECT_NE(h, plan_hash(twice, twice_cells));
  Settings bad = s;
  std::istringstream zero("runs-per-round = 0\n");
  EXPECT_THROW(read_plan(bad, zero, "plan.txt", 2), UsageError);
}

TEST(SweepPlan, GroupsAxesAndOneHash) {
  std::istringstream in(
      "reps = 3\n"
      "[race]\n"
      "kernels = critical\n"
      "modes = threads\n"
      "workers = 2\n"
      "size = S\n"
      "param = sync=none,atomic\n"
      "[ipc]\n"
      "kernels = pingpong\n"
      "modes = processes\n"
      "workers = 2\n"
      "channels = pipe\n"
      "size = 0:2\n"
      "reps = 4\n");
  const Plan p = read_plan_groups(in, "g.plan", 4);
  ASSERT_EQ(p.groups.size(), 2u);
  EXPECT_EQ(p.groups[0].group, "race");
  EXPECT_EQ(p.groups[0].reps, 3);  // the defaults before the first group
  const auto cells = expand(p, 4);
  EXPECT_EQ(keys(cells),
            (std::vector<std::string>{"critical/threads/2/strong/S/none/sync=none",
                                      "critical/threads/2/strong/S/none/sync=atomic",
                                      "pingpong/processes/2/strong/0/none/channel=pipe",
                                      "pingpong/processes/2/strong/1/none/channel=pipe",
                                      "pingpong/processes/2/strong/2/none/channel=pipe"}));
  EXPECT_EQ(cells[1].params, (std::vector<std::string>{"sync=atomic"}));
  EXPECT_EQ(cell_request(cells[1]).params, (std::vector<std::string>{"sync=atomic"}));
  EXPECT_EQ(cells[2].channel, "pipe");
  EXPECT_EQ(cells[2].reps, 4);
  EXPECT_EQ(cell_request(cells[2]).reps, 4);
  EXPECT_EQ(cells[4].group, "ipc");
  // One hash for the whole plan; a group's reps are part of it.
  Plan more = p;
  more.groups[1].reps = 5;
  EXPECT_NE(plan_hash(p, cells), plan_hash(more, expand(more, 4)));
  EXPECT_EQ(plan_hash(p, cells), plan_hash(p, expand(p, 4)));
  // A one-group plan hashes as before the groups existed.
  Settings s = from_plan("kernels = triad\nmodes = threads\nworkers = 1,2\n");
  Plan one;
  one.groups = {s};
  EXPECT_EQ(plan_hash(one, expand(one, 4)), plan_hash(s, expand(s, 4)));
}

// One switch-interval axis for the emulated GIL and CPython's (py-threads: sys.setswitchinterval),
// so a fidelity sweep varies both; the modes without a switch interval get one cell.
TEST(SweepPlan, SwitchIntervalAppliesToGilAndPyThreads) {
  const Settings s = from_plan(
      "kernels = convoy\nmodes = gil,py-threads,py-processes,threads\nworkers = 2\n"
      "size = 10\nswitch-interval = 0.001,0.005\n");
  const auto cells = expand(s, 4);
  EXPECT_EQ(
      keys(cells),
      (std::vector<std::string>{
          "convoy/gil/2/strong/10/none/switch=0.001", "convoy/gil/2/strong/10/none/switch=0.005",
          "convoy/py-threads/2/strong/10/none/switch=0.001",
          "convoy/py-threads/2/strong/10/none/switch=0.005", "convoy/py-processes/2/strong/10/none",
          "convoy/threads/2/strong/10/none"}));
  EXPECT_EQ(cell_request(cells[2]).switch_interval_s, 0.001);
  EXPECT_EQ(cell_request(cells[3]).switch_interval_s, 0.005);
  EXPECT_TRUE(cells[4].switch_interval.empty());
  // Without the key, py-threads keeps its one cell and CPython's default.
  const auto plain =
      expand(from_plan("kernels = convoy\nmodes = py-threads\nworkers = 2\nsize = 10\n"), 4);
  EXPECT_EQ(keys(plain), (std::vector<std::string>{"convoy/py-threads/2/strong/10/none"}));
  EXPECT_EQ(cell_request(plain[0]).switch_interval_s, 0.005);
}

// Plan keys take the words the options take: singular, plural or the key itself.
TEST(SweepPlan, KeysInEitherSpelling) {
  const Settings s =
      from_plan("kernel = ep\nmode = threads\nworker = 1,2\nsizes = S\nparams = seed=1,2\n");
  EXPECT_EQ(keys(expand(s, 4)),
            keys(expand(from_plan("kernels = ep\nmodes = threads\nworkers = 1,2\n"
                                  "size = S\nparam = seed=1,2\n"),
                        4)));
  EXPECT_EQ(expand(s, 4).size(), 4u);
  EXPECT_NE(usage_error([] {
              from_plan("kernel = ep\nkernels = triad\n");
            }).find("'kernels' is already set"),
            std::string::npos);
}

TEST(SweepPlan, AxisErrors) {
  EXPECT_EQ(usage_error([] { from_plan("[a]\nkernels = triad\n"); }).find("has groups"),
            std::string("test.plan").size() + 1);
  std::istringstream twice("[a]\nreps = 2\n[a]\n");
  EXPECT_EQ(usage_error([&] { read_plan_groups(twice, "g", 4); }),
            "g:3: group 'a' is already defined on line 1");
  Settings s;
  s.kernels = {"critical"};
  s.modes = {"threads"};
  s.workers = {2};
  apply(s, "param", "sync=sometimes", "--param", 4);
  EXPECT_NE(usage_error([&] { expand(s, 4); }).find("sometimes"), std::string::npos);
  s.params.clear();
  apply(s, "channels", "shm", "--channels", 4);  // threads has atomic and event only
  // One mode: the words `run --channel` uses.
  EXPECT_EQ(usage_error([&] { expand(s, 4); }),
            "mode threads has no channel 'shm'; its channels: atomic, event");
  apply(s, "channels", "evnt", "--channels", 4);
  EXPECT_EQ(
      usage_error([&] { expand(s, 4); }),
      "mode threads has no channel 'evnt'; did you mean 'event'? its channels: atomic, event");
  s.modes = {"threads", "serial"};
  EXPECT_EQ(usage_error([&] { expand(s, 4); }),
            "channels: no mode of this plan has channel 'evnt'; did you mean 'event'? channels: "
            "threads:atomic, "
            "threads:event");
  s.modes = {"threads"};
  s.channels.clear();
  s.kernels = {"ep"};
  apply(s, "fault", "crash", "--fault", 4);  // ep cannot check one worker's part
  EXPECT_NE(usage_error([&] { expand(s, 4); }).find("cannot check one worker's part"),
            std::string::npos);
  s.kernels = {"triad"};
  const auto cells = expand(s, 4);
  ASSERT_EQ(cells.size(), 1u);
  EXPECT_EQ(cells[0].key, "triad/threads/2/strong/M/none/fault=crash");
  EXPECT_TRUE(cells[0].isolate());
  EXPECT_EQ(usage_error([&] { apply(s, "size", "4M:8", "--size", 4); }),
            "--size 4M:8: a range is FROM:TO with FROM <= TO");
}

TEST(SweepPlan, Shards) {
  EXPECT_EQ(parse_shard("1/4").index, 1);
  EXPECT_EQ(parse_shard("1/4").count, 4);
  EXPECT_NE(usage_error([] { parse_shard("4/4"); }).find("0 <= I < N"), std::string::npos);
  EXPECT_NE(usage_error([] { parse_shard("x"); }).find("must be I/N"), std::string::npos);
}

Cell cell(int ranks, int threads, const std::string& pin = "none") {
  Cell c;
  c.kernel = "triad";
  c.mode = threads > 1 ? "hybrid" : "mpi";
  c.ranks = ranks;
  c.threads = threads;
  c.workers = ranks * threads;
  c.launched = true;
  c.split = threads > 1;
  c.openmp = threads > 1;
  c.pin = pin;
  return c;
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(SweepLaunch, OpenMpiFlags) {
  const Launcher l{"mpirun", "/usr/bin/mpirun", "OpenMPI", ""};
  auto a = cell_launch(cell(2, 1), &l, 4, 4).prefix;
  EXPECT_EQ(std::vector<std::string>(a.begin(), a.begin() + 3),
            (std::vector<std::string>{"/usr/bin/mpirun", "-np", "2"}));
  EXPECT_FALSE(has(a, "--oversubscribe"));
  EXPECT_TRUE(has(a, "none"));  // --bind-to none unless binding is asked for
  a = cell_launch(cell(4, 1), &l, 2, 2).prefix;
  EXPECT_TRUE(has(a, "--oversubscribe"));  // more ranks than cores
  a = cell_launch(cell(2, 1, "cores"), &l, 4, 4).prefix;
  EXPECT_TRUE(has(a, "core"));
  a = cell_launch(cell(2, 2, "cores"), &l, 4, 4).prefix;  // each rank gets its threads' cores
  EXPECT_TRUE(has(a, "slot:PE=2"));
  const auto env = cell_launch(cell(2, 2, "cores"), &l, 4, 4).env;
  EXPECT_TRUE(std::find(env.begin(), env.end(),
                        std::pair<std::string, std::string>{"OMP_PLACES", "cores"}) != env.end());
}

TEST(SweepLaunch, MpichAndSrunFlags) {
  const Launcher hydra{"mpiexec", "/usr/bin/mpiexec.mpich", "MPICH", ""};
  auto a = cell_launch(cell(3, 1), &hydra, 2, 2).prefix;
  EXPECT_EQ(a, (std::vector<std::string>{"/usr/bin/mpiexec.mpich", "-n",
                                         "3"}));  // Hydra oversubscribes freely
  const Launcher srun{"srun", "srun", "MPICH", "pmi2"};
  a = cell_launch(cell(1, 2), &srun, 2, 2).prefix;
  EXPECT_EQ(a[0], "srun");
  EXPECT_TRUE(has(a, "--mpi=pmi2"));
  EXPECT_TRUE(has(a, "--ntasks=1"));
  EXPECT_TRUE(has(a, "--cpus-per-task=2"));
  EXPECT_TRUE(has(a, "--cpu-bind=none"));
  EXPECT_FALSE(has(a, "--overcommit"));
  a = cell_launch(cell(4, 1), &srun, 2, 2).prefix;
  EXPECT_TRUE(has(a, "--overcommit"));
  // In-process cells get no launcher at all.
  Cell local = cell(1, 1);
  local.launched = false;
  EXPECT_TRUE(cell_launch(local, &srun, 2, 2).prefix.empty());
}

// --hosts / --hostfile become each MPI's own flags, with the hosts' slots deciding
// oversubscription, and the user's launcher words follow the program.
TEST(SweepLaunch, HostsAndExtraWords) {
  Launcher ompi{"mpirun", "/usr/bin/mpirun", "OpenMPI", ""};
  set_hosts(ompi, parse_hosts("n1:1,n2:1", ""), {"--mca", "btl", "tcp,self"});
  auto a = cell_launch(cell(2, 1), &ompi, 64, 64).prefix;
  EXPECT_EQ(std::vector<std::string>(a.begin(), a.begin() + 4),
            (std::vector<std::string>{"/usr/bin/mpirun", "--mca", "btl", "tcp,self"}));
  EXPECT_TRUE(has(a, "--host"));
  EXPECT_TRUE(has(a, "n1:1,n2:1"));
  EXPECT_FALSE(has(a, "--oversubscribe"));  // 2 ranks on 2 slots
  a = cell_launch(cell(4, 1), &ompi, 64, 64).prefix;
  EXPECT_TRUE(
      has(a, "--oversubscribe"));  // 4 ranks on the hosts' 2 slots, however many local cores

  Launcher hydra{"mpiexec", "/usr/bin/mpiexec.mpich", "MPICH", ""};
  set_hosts(hydra, parse_hosts("a,b:3", ""), {});
  EXPECT_EQ(cell_launch(cell(4, 1), &hydra, 2, 2).prefix,
            (std::vector<std::string>{"/usr/bin/mpiexec.mpich", "-n", "4", "-hosts", "a,b:3"}));

  const std::string file = testing::TempDir() + "corescope_hostfile";
  {
    std::ofstream f(file);
    f << "# two nodes\nn1 slots=2\n\nn2:2  # MPICH style\n";
  }
  const Hosts h = parse_hosts("", file);
  EXPECT_EQ(h.slots, 4);
  set_hosts(hydra, h, {});
  a = cell_launch(cell(2, 1), &hydra, 2, 2).prefix;
  EXPECT_TRUE(has(a, "-f"));
  set_hosts(ompi, h, {});
  a = cell_launch(cell(2, 1), &ompi, 2, 2).prefix;
  EXPECT_TRUE(has(a, "--hostfile"));
  EXPECT_TRUE(has(a, h.file));

  Launcher srun{"srun", "srun", "OpenMPI", "pmix"};
  EXPECT_THROW(set_hosts(srun, h, {}), UsageError);
  EXPECT_NO_THROW(set_hosts(srun, Hosts{}, {"--exclusive"}));
}

// In an allocation of several nodes srun spreads the ranks: a hybrid rank gets its threads' CPUs
// from its own node's share, not the whole team's.
TEST(SweepLaunch, SrunCountsTheRanksPerNode) {
  const Launcher srun{"srun", "srun", "OpenMPI", "pmix"};
  ::unsetenv("SLURM_JOB_NUM_NODES");
  auto a = cell_launch(cell(4, 4), &srun, 8, 8).prefix;
  EXPECT_TRUE(has(a, "--cpus-per-task=2"));
  EXPECT_TRUE(has(a, "--overcommit"));
  ::setenv("SLURM_JOB_NUM_NODES", "2", 1);
  a = cell_launch(cell(4, 4), &srun, 8, 8).prefix;
  ::unsetenv("SLURM_JOB_NUM_NODES");
  EXPECT_TRUE(has(a, "--cpus-per-task=4"));
  EXPECT_FALSE(has(a, "--overcommit"));
}

TEST(SweepLaunch, BadHostsAreUsageErrors) {
  for (const char* bad : {"a:0", "a:", ":2", "a:b", "a,,b", "a b", "a:2:3", "a:1000000", ","})
    EXPECT_THROW(parse_hosts(bad, ""), UsageError) << bad;
  EXPECT_THROW(parse_hosts("a", "file"), UsageError);  // both
  EXPECT_THROW(parse_hosts("", testing::TempDir() + "no_such_hostfile"), UsageError);
  const std::string file = testing::TempDir() + "corescope_bad_hostfile";
  for (const char* text :
       {"", "# only a comment\n\n", "n1 slots=x\n", "n1 cpus=2\n", "n1:2 slots=2\n"}) {
    std::ofstream(file) << text;
    EXPECT_THROW(parse_hosts("", file), UsageError) << text;
  }
  EXPECT_TRUE(parse_hosts("", "").empty());
}

}  // namespace
}  // namespace corescope::sweep
