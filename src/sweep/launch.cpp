// Launcher detection and the launcher command lines of a sweep's mpi and hybrid cells.
#include "sweep/launch.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/errors.hpp"
#include "core/text.hpp"
#include "sweep/child.hpp"

#ifndef CORESCOPE_MPIEXEC
#define CORESCOPE_MPIEXEC ""
#endif

namespace corescope::sweep {

namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return (v && *v) ? v : nullptr;
}

// What `program --version` says it is: "OpenMPI", "MPICH" or "".
std::string launcher_flavour(const std::string& program) {
  ChildOptions o;
  o.timeout_s = 20;
  o.grace_s = 1;
  ChildResult r;
  try {
    r = run_child({program, "--version"}, o);
  } catch (const std::exception&) {
    return "";
  }
  if (r.output.find("Open MPI") != std::string::npos ||
      r.output.find("OpenRTE") != std::string::npos)
    return "OpenMPI";
  if (r.output.find("HYDRA") != std::string::npos || r.output.find("MPICH") != std::string::npos)
    return "MPICH";
  return "";
}

std::vector<std::string> srun_plugins() {
  ChildOptions o;
  o.timeout_s = 20;
  o.grace_s = 1;
  std::vector<std::string> out;
  const ChildResult r = run_child({"srun", "--mpi=list"}, o);
  bool listing = false;
  for (auto line : split(r.output, '\n')) {
    line.erase(0, line.find_first_not_of(" \t"));
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
    if (line.find("MPI plugin types") != std::string::npos) {
      listing = true;
      continue;
    }
    if (listing && !line.empty() && line.find(' ') == std::string::npos) out.push_back(line);
    if (line.rfind("srun:", 0) == 0 || line.rfind("specific", 0) == 0) listing = false;
  }
  return out;
}

Launcher find_srun(const std::string& flavour) {
  if (!find_program("srun"))
    throw UsageError(
        "--launcher srun: srun is not in PATH (load the Slurm module, or use --launcher mpirun)");
  Launcher l;
  l.kind = "srun";
  l.program = "srun";
  l.flavour = flavour;
  // Open MPI starts its ranks' wire-up through PMIx; MPICH through PMI-2. With the wrong one
  // (or none) srun starts N independent singletons, each of them rank 0 of a world of 1.
  l.srun_mpi = flavour == "MPICH" ? "pmi2" : "pmix";
  if (const char* v = env("CORESCOPE_SRUN_MPI")) l.srun_mpi = v;
  const auto plugins = srun_plugins();
  const bool has = std::any_of(plugins.begin(), plugins.end(), [&](const std::string& p) {
    return p == l.srun_mpi || p.rfind(l.srun_mpi + "_", 0) == 0;
  });
  if (!plugins.empty() && !has)
    throw UsageError(
        "srun here has no --mpi=" + l.srun_mpi +
        " plugin (srun --mpi=list: " + join(plugins, ", ") + "), which this corescope's " +
        flavour + " needs; use --launcher mpirun, or set CORESCOPE_SRUN_MPI to the site's plugin");
  return l;
}

Launcher find_mpirun(const std::string& flavour, const std::string& program) {
  std::vector<std::string> candidates;
  if (!program.empty()) {
    candidates.push_back(program);
  } else {
    if (const char* v = env("CORESCOPE_MPIRUN")) candidates.push_back(v);
    if (*CORESCOPE_MPIEXEC)
      candidates.push_back(CORESCOPE_MPIEXEC);  // the one CMake found at build time
    if (flavour == "MPICH")
      for (const char* c : {"mpiexec.mpich", "mpiexec.hydra", "mpirun.mpich", "mpiexec", "mpirun"})
        candidates.push_back(c);
    else
      for (const char* c : {"mpirun.openmpi", "mpirun", "mpiexec.openmpi", "mpiexec", "orterun"})
        candidates.push_back(c);
  }
  std::vector<std::string> tried;
  for (const auto& c : candidates) {
    std::string path;
    if (!find_program(c, &path)) {
      tried.push_back(c + " (not found)");
      continue;
    }
    const std::string f = launcher_flavour(path);
    // An Open MPI mpirun starting an MPICH corescope (or the reverse) starts singletons.
    if (f != flavour && flavour != "MPI") {
      tried.push_back(c + " (" + (f.empty() ? "not an MPI launcher" : f) + ")");
      continue;
    }
    Launcher l;
    l.kind = f == "MPICH" ? "mpiexec" : "mpirun";
    l.program = path;
    l.flavour = flavour;
    return l;
  }
  throw UsageError("mpi cells need a launcher for " + flavour + " and none was found: tried " +
                   join(tried, ", ") +
                   (flavour == "MPICH" ? "; install mpich" : "; install openmpi-bin") +
                   " or pass --mpirun PATH");
}

// A host name as resolvers take it: letters, digits, '-', '.', '_' (and ':' is the slot count).
bool host_name(const std::string& name) {
  return !name.empty() && name.size() <= 253 && std::all_of(name.begin(), name.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '.' || ch == '_';
  });
}

// "4" -> 4; 0 when the text is not a count from 1 to 100000.
int slot_count(const std::string& text) {
  if (text.empty() || text.size() > 6 || !std::all_of(text.begin(), text.end(), ::isdigit))
    return 0;
  const int n = std::stoi(text);
  return n >= 1 && n <= 100000 ? n : 0;
}

// NAME or NAME:SLOTS -> its slots; 0 when malformed.
int host_entry(const std::string& entry) {
  const auto colon = entry.find(':');
  if (!host_name(entry.substr(0, colon))) return 0;
  return colon == std::string::npos ? 1 : slot_count(entry.substr(colon + 1));
}

}  // namespace

Hosts parse_hosts(const std::string& list, const std::string& file) {
  Hosts h;
  if (list.empty() && file.empty()) return h;
  if (!list.empty() && !file.empty()) throw UsageError("--hosts and --hostfile: give one of them");
  if (!list.empty()) {
    for (const auto& entry : split(list, ',')) {
      const int n = host_entry(entry);
      if (n == 0)
        throw UsageError("--hosts: '" + entry +
                         "' is not NAME or NAME:SLOTS (e.g. --hosts node1:2,node2:2)");
      h.slots += n;
    }
    h.list = list;
    return h;
  }
  std::ifstream in(file);
  if (!in) throw UsageError("--hostfile " + file + ": cannot be read");
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    line = line.substr(0, line.find('#'));
    std::istringstream words(line);
    std::string name, option;
    if (!(words >> name)) continue;
    int n = host_entry(name);
    if (n > 0 && (words >> option)) {  // Open MPI's `NAME slots=N`
      n = option.rfind("slots=", 0) == 0 && name.find(':') == std::string::npos
              ? slot_count(option.substr(6))
              : 0;
      if (words >> option) n = 0;
    }
    if (n == 0)
      throw UsageError("--hostfile " + file + ", line " + std::to_string(number) +
                       ": not a host line (NAME, NAME:SLOTS or NAME slots=SLOTS)");
    h.slots += n;
  }
  if (h.slots == 0) throw UsageError("--hostfile " + file + " names no host");
  h.file = std::filesystem::absolute(file)
               .lexically_normal()
               .string();  // the launcher may start elsewhere
  return h;
}

void set_hosts(Launcher& l, const Hosts& hosts, const std::vector<std::string>& extra) {
  if (l.kind == "srun" && !hosts.empty())
    throw UsageError(
        "--hosts/--hostfile are for mpirun/mpiexec; under srun the Slurm allocation places the "
        "ranks "
        "(use --launcher mpirun to place them yourself)");
  l.hosts = hosts;
  l.extra = extra;
}

Launcher find_launcher(const std::string& choice, const std::string& program) {
  const std::string flavour = mpi_flavour();
  if (flavour.empty())
    throw UsageError("this corescope was built without MPI, so it has no mpi cells to launch");
  const bool in_allocation = env("SLURM_JOB_ID") != nullptr;
  if (choice == "srun" ||
      (choice == "auto" && program.empty() && in_allocation && find_program("srun")))
    return find_srun(flavour);
  return find_mpirun(flavour, program);
}

std::string CellLaunch::text() const { return join(prefix, " "); }

CellLaunch cell_launch(const Cell& c, const Launcher* l, int cpus, int cores) {
  CellLaunch out;
  // OpenMP binding: only `cores` binds, and only in modes whose threads are OpenMP's: libgomp
  // binds the initial thread too, which would put every std::thread or forked worker of the
  // other modes on one core. `none` and `one` let threads float (over one CPU for `one`, where
  // `corescope run --pin one` has restricted the process itself).
  if (c.pin == "cores" && c.openmp) {
    out.env = {{"OMP_PROC_BIND", "close"}, {"OMP_PLACES", "cores"}};
  } else {
    out.env = {{"OMP_PROC_BIND", "false"}};
  }
  if (!c.launched || !l) return out;
  const int ranks = c.ranks, threads = c.threads;
  std::vector<std::string> launch;
  if (l->kind == "srun") {
    const int node_cpus =
        launch_env().slurm_cpus_on_node > 0 ? launch_env().slurm_cpus_on_node : cpus;
    // The ranks on one node: an allocation of N nodes spreads them (SLURM_JOB_NUM_NODES).
    const char* job_nodes = env("SLURM_JOB_NUM_NODES");
    const int nodes = std::clamp(job_nodes ? std::atoi(job_nodes) : 1, 1, std::max(1, ranks));
    const int node_ranks = (ranks + nodes - 1) / nodes;
    // -c larger than the node's CPUs is refused, not overcommitted: clamp it and let the
    // ranks' threads share (recorded as oversubscribed by the run itself).
    const int per_task = std::max(1, std::min(threads, node_cpus / node_ranks));
    launch = {"srun",
              "--mpi=" + l->srun_mpi,
              "--ntasks=" + std::to_string(ranks),
              "--cpus-per-task=" + std::to_string(per_task),
              "--kill-on-bad-exit=1",
              std::string("--cpu-bind=") + (c.pin == "cores" ? "cores" : "none")};
    if (node_ranks * threads > node_cpus || node_ranks > node_cpus)
      launch.push_back("--overcommit");
  } else if (l->flavour == "OpenMPI") {
    launch = {l->program, "-np", std::to_string(ranks)};
    if (!l->hosts.list.empty()) launch.insert(launch.end(), {"--host", l->hosts.list});
    if (!l->hosts.file.empty()) launch.insert(launch.end(), {"--hostfile", l->hosts.file});
    // Slots: the hosts' when the sweep names them, else this host's cores.
    const int slots = l->hosts.empty() ? std::max(1, std::min(cores, cpus)) : l->hosts.slots;
    if (ranks > slots) launch.push_back("--oversubscribe");
    if (c.pin == "cores" && threads == 1) {
      launch.insert(launch.end(), {"--bind-to", ranks > slots ? "core:overload-allowed" : "core"});
    } else if (c.pin == "cores" && ranks * threads <= slots) {
      launch.insert(launch.end(),
                    {"--map-by", "slot:PE=" + std::to_string(threads), "--bind-to", "core"});
    } else {
      // Open MPI binds each rank to one core by default: threads of a hybrid rank would all
      // share it, and `--pin one` needs every rank to see the whole mask.
      launch.insert(launch.end(), {"--bind-to", "none"});
    }
    if (::geteuid() == 0)  // environment, not flags: the same variables work for every mpirun
      out.env.insert(out.env.end(),
                     {{"OMPI_ALLOW_RUN_AS_ROOT", "1"}, {"OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1"}});
  } else {  // MPICH's Hydra (and others that take its flags): no binding unless asked
    launch = {l->program, "-n", std::to_string(ranks)};
    if (!l->hosts.list.empty()) launch.insert(launch.end(), {"-hosts", l->hosts.list});
    if (!l->hosts.file.empty()) launch.insert(launch.end(), {"-f", l->hosts.file});
    if (c.pin == "cores")
      launch.insert(launch.end(),
                    {"-bind-to", threads > 1 ? "core:" + std::to_string(threads) : "core"});
  }
  launch.insert(launch.begin() + 1, l->extra.begin(),
                l->extra.end());  // the user's words, after the program
  out.prefix = std::move(launch);
  return out;
}

}  // namespace corescope::sweep
