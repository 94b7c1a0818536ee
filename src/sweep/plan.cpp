// Sweep settings from options and plan files, and their expansion into cells.
#include "sweep/plan.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <cctype>
#include <cstdio>
#include <map>
#include <set>

#include "kernels/registry.hpp"
#include "backends/registry.hpp"
#include "core/errors.hpp"
#include "core/kernel.hpp"
#include "core/mode.hpp"
#include "core/text.hpp"

namespace corescope::sweep {

namespace {

constexpr int kMaxTeam = 4096;  // the same bound `corescope run` puts on --workers

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

// "a, b ,c" -> {"a","b","c"}; empty items are errors.
std::vector<std::string> items(const std::string& value, const std::string& where) {
  std::vector<std::string> out;
  for (const auto& part : split(value, ',')) {
    const std::string item = trim(part);
    if (item.empty()) throw UsageError(where + ": empty item in '" + value + "'");
    out.push_back(item);
  }
  if (out.empty()) throw UsageError(where + ": no value");
  return out;
}

template <class T>
void drop_duplicates(std::vector<T>& v) {
  std::vector<T> seen;
  for (const auto& x : v)
    if (std::find(seen.begin(), seen.end(), x) == seen.end()) seen.push_back(x);
  v = std::move(seen);
}

// The whole of `text` as an integer, or false.
bool to_integer(const std::string& text, long long& v) {
  std::size_t used = 0;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
    return false;
  }
  return used == text.size();
}

int positive(const std::string& text, const std::string& where, const std::string& what) {
  long long v = 0;
  if (!to_integer(text, v)) throw UsageError(where + ": '" + text + "' is not a " + what);
  if (v < 1) throw UsageError(where + ": " + text + " is not a positive " + what);
  if (v > kMaxTeam) throw UsageError(where + ": " + text + " is more than " + std::to_string(kMaxTeam));
  return static_cast<int>(v);
}

std::vector<int> powers_of_two_to(int cpus) {
  std::vector<int> out;
  for (int w = 1; w < cpus; w *= 2) out.push_back(w);
  out.push_back(std::max(1, cpus));
  return out;
}

std::vector<int> counts(const std::string& value, const std::string& where, int cpus, bool allow_pow2) {
  std::vector<int> out;
  for (const auto& item : items(value, where)) {
    if (item == "max") {
      out.push_back(std::max(1, cpus));
    } else if (item == "pow2" && allow_pow2) {
      for (int w : powers_of_two_to(cpus)) out.push_back(w);
    } else {
      out.push_back(positive(item, where, "count"));
    }
  }
  drop_duplicates(out);
  return out;
}

HybridSplit parse_split(const std::string& item, const std::string& where) {
  std::string lower = item;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  const auto x = lower.find_first_of("x*");
  if (x == std::string::npos)
    throw UsageError(where + ": '" + item + "' is not RANKSxTHREADS (e.g. 2x1)");
  HybridSplit h;
  h.ranks = positive(trim(lower.substr(0, x)), where + " '" + item + "'", "rank count");
  h.threads = positive(trim(lower.substr(x + 1)), where + " '" + item + "'", "thread count");
  if (h.ranks * static_cast<long long>(h.threads) > kMaxTeam)
    throw UsageError(where + ": '" + item + "' is more than " + std::to_string(kMaxTeam) + " workers");
  return h;
}

std::vector<std::string> one_of(const std::string& value, const std::string& where,
                                const std::vector<std::string>& allowed) {
  auto out = items(value, where);
  for (const auto& v : out)
    if (std::find(allowed.begin(), allowed.end(), v) == allowed.end())
      throw UsageError(where + ": '" + v + "' is not one of " + join(allowed, ", "));
  drop_duplicates(out);
  return out;
}

int integer_in(const std::string& value, const std::string& where, int lo, int hi) {
  long long v = 0;
  if (!to_integer(value, v) || v < lo || v > hi)
    throw UsageError(where + ": '" + value + "' must be an integer from " + std::to_string(lo) + " to " +
                     std::to_string(hi));
  return static_cast<int>(v);
}

std::string split_text(int ranks, int threads) { return std::to_string(ranks) + "x" + std::to_string(threads); }

// 64-bit FNV-1a: stable across builds and machines, which std::hash is not.
std::uint64_t fnv1a(const std::string& text) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

const std::vector<std::string>& plan_keys() {
  static const std::vector<std::string> keys = {"kernels", "modes",  "workers", "hybrid",          "cores",
                                                "scaling", "size",   "reps",    "warmup",          "pin",
                                                "timeout-per-run",   "launcher"};
  return keys;
}

void apply(Settings& s, const std::string& key_in, const std::string& value_in, const std::string& where, int cpus) {
  std::string key = key_in;
  std::replace(key.begin(), key.end(), '_', '-');
  const std::string value = trim(value_in);
  if (value.empty()) throw UsageError(where + ": no value");
  if (key == "kernels") {
    s.kernels = items(value, where);
    drop_duplicates(s.kernels);
  } else if (key == "modes") {
    s.modes = items(value, where);
    drop_duplicates(s.modes);
  } else if (key == "workers") {
    s.workers = counts(value, where, cpus, true);
  } else if (key == "hybrid") {
    s.hybrid.clear();
    for (const auto& item : items(value, where)) s.hybrid.push_back(parse_split(item, where));
    drop_duplicates(s.hybrid);
  } else if (key == "cores") {
    s.cores = counts(value, where, cpus, false);
  } else if (key == "scaling") {
    s.scaling = one_of(value, where, {"strong", "weak"});
  } else if (key == "size") {
    s.sizes = items(value, where);
    for (const auto& size : s.sizes)
      if (size != "S" && size != "M" && size != "L") {
        try {
          if (parse_count(size, "size") == 0) throw UsageError("zero");
        } catch (const UsageError&) {
          throw UsageError(where + ": '" + size + "' is not a size (S, M, L or a count such as 4M)");
        }
      }
    drop_duplicates(s.sizes);
  } else if (key == "reps") {
    s.reps = integer_in(value, where, 1, 1000000);
  } else if (key == "warmup") {
    s.warmup = integer_in(value, where, 0, 1000000);
  } else if (key == "pin") {
    s.pins = one_of(value, where, {"none", "cores", "one"});
  } else if (key == "timeout-per-run") {
    std::size_t used = 0;
    double v = -1;
    try {
      v = std::stod(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != value.size() || !(v >= 0) || v > 1e7)
      throw UsageError(where + ": '" + value + "' is not a number of seconds (0 = no limit)");
    s.timeout_per_run_s = v;
  } else if (key == "launcher") {
    std::string v = value == "mpiexec" ? "mpirun" : value;
    s.launcher = one_of(v, where, {"auto", "srun", "mpirun"}).front();
  } else {
    throw UsageError(where + ": unknown key '" + key_in + "'; valid keys: " + join(plan_keys(), ", "));
  }
}

void read_plan(Settings& s, std::istream& input, const std::string& name, int cpus) {
  // Bounded: a plan is a few lines, and `--plan /dev/zero` or an endless pipe must not eat memory.
  std::string text;
  char buf[4096];
  while (input.read(buf, sizeof buf) || input.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(input.gcount()));
    if (text.size() > kMaxPlanBytes)
      throw UsageError(name + " is not a plan: longer than " + std::to_string(kMaxPlanBytes / 1024) + " KiB");
  }
  std::istringstream in(text);
  std::map<std::string, int> seen;  // key -> line
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const auto hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    line = trim(line);
    if (line.empty()) continue;
    const std::string at = name + ":" + std::to_string(number);
    const auto eq = line.find('=');
    if (eq == std::string::npos) throw UsageError(at + ": expected 'key = value', got '" + line + "'");
    std::string key = trim(line.substr(0, eq));
    std::replace(key.begin(), key.end(), '_', '-');
    if (key.empty()) throw UsageError(at + ": no key before '='");
    if (std::find(plan_keys().begin(), plan_keys().end(), key) == plan_keys().end())
      throw UsageError(at + ": unknown key '" + key + "'; valid keys: " + join(plan_keys(), ", "));
    if (auto it = seen.find(key); it != seen.end())
      throw UsageError(at + ": '" + key + "' is already set on line " + std::to_string(it->second));
    seen[key] = number;
    apply(s, key, line.substr(eq + 1), at + ": " + key, cpus);
  }
  if (in.bad()) throw UsageError("cannot read plan " + name);
}

std::vector<Cell> expand(const Settings& s, int cpus) {
  if (s.kernels.empty()) throw UsageError("a sweep needs --kernels (or `kernels =` in its plan)");

  std::vector<std::string> kernel_names;
  for (const auto& k : s.kernels) {
    if (k == "all") {
      for (const auto& info : kernels()) kernel_names.push_back(info.name);
    } else {
      kernel_names.push_back(find_kernel(k).name);
    }
  }
  drop_duplicates(kernel_names);

  std::vector<const ModeInfo*> mode_list;
  const bool all_modes = s.modes.empty() || std::find(s.modes.begin(), s.modes.end(), "all") != s.modes.end();
  for (const auto& m : s.modes)
    if (m != "all") mode_list.push_back(&find_mode(m));  // unknown / not built: UsageError
  if (all_modes)
    for (const auto& m : modes())
      if (m.built && !m.python) mode_list.push_back(&m);  // Python modes: named explicitly (docs/python.md)
  // --hybrid / --cores ask for ranks x threads cells even when the mode list leaves them out.
  if (!s.hybrid.empty() || !s.cores.empty()) {
    bool have_split = std::any_of(mode_list.begin(), mode_list.end(), [](const ModeInfo* m) { return m->takes_threads; });
    if (!have_split) {
      const ModeInfo* unbuilt = nullptr;
      for (const auto& m : modes()) {
        if (!m.takes_threads) continue;
        if (m.built) {
          mode_list.push_back(&m);
          have_split = true;
        } else if (!unbuilt) {
          unbuilt = &m;
        }
      }
      if (!have_split)
        throw UsageError(std::string("--hybrid/--cores need a ranks x threads mode") +
                         (unbuilt ? ", and mode '" + unbuilt->name + "' was not built: " + unbuilt->how_to_build
                                  : ", and this corescope has none"));
    }
  }
  drop_duplicates(mode_list);

  const std::vector<int> workers = s.workers.empty() ? powers_of_two_to(cpus) : s.workers;
  std::vector<HybridSplit> splits = s.hybrid;
  for (int c : s.cores)
    for (int r = c; r >= 1; --r)
      if (c % r == 0) splits.push_back({r, c / r});
  if (splits.empty())  // a split mode asked for by name alone: every split of each worker count
    for (int w : workers)
      for (int r = w; r >= 1; --r)
        if (w % r == 0) splits.push_back({r, w / r});
  drop_duplicates(splits);

  std::vector<Cell> cells;
  std::set<std::string> keys;
  auto add = [&](Cell c) {
    if (keys.insert(c.key).second) cells.push_back(std::move(c));
  };
  for (const auto& size : s.sizes)
    for (const auto& scaling : s.scaling)
      for (const auto& pin : s.pins)
        for (const auto& kernel : kernel_names)
          for (const ModeInfo* mode : mode_list) {
            Cell base;
            base.kernel = kernel;
            base.mode = mode->name;
            base.launched = mode->needs_launcher;
            base.split = mode->takes_threads;
            base.openmp = mode->openmp_threads;
            base.scaling = scaling;
            base.size = size;
            base.pin = pin;
            auto key = [&](const std::string& team) {
              return kernel + "/" + mode->name + "/" + team + "/" + scaling + "/" + size + "/" + pin;
            };
            // The team's shape is the mode's (ModeInfo::shape), as in the cell's own run.
            auto cell = [&](int w, int threads, const std::string& team) {
              const TeamShape shape = mode->shape(TeamAsk{.workers = w, .threads = threads, .cpus = cpus});
              Cell c = base;
              c.workers = shape.workers;
              c.ranks = shape.ranks;
              c.threads = shape.threads_per_rank;
              c.key = key(team);
              add(std::move(c));
            };
            if (mode->takes_threads) {
              for (const auto& h : splits) cell(h.ranks * h.threads, h.threads, split_text(h.ranks, h.threads));
            } else if (mode->single_worker()) {  // one worker by definition: the reference cell
              cell(1, 0, "1");
            } else {
              for (int w : workers) cell(w, 0, std::to_string(w));
            }
          }
  return cells;
}

RunRequest cell_request(const Cell& c, const Settings& s) {
  RunRequest r;
  r.kernel = c.kernel;
  r.workers = c.workers;
  r.threads = c.split ? c.threads : 0;
  r.size = c.size;
  r.scaling = c.scaling;
  r.reps = s.reps;
  r.warmup = s.warmup;
  r.cell = c.key;
  r.pin = c.pin;
  return r;
}

std::string plan_hash(const Settings& s, const std::vector<Cell>& cells) {
  std::string text = "corescope-sweep-plan-1\nreps=" + std::to_string(s.reps) + "\nwarmup=" + std::to_string(s.warmup);
  for (const auto& c : cells) text += "\n" + c.key;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fnv1a(text)));
  return buf;
}

Shard parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  Shard s;
  if (slash != std::string::npos) {
    s.index = integer_in(trim(text.substr(0, slash)), "--shard", 0, 1000000);
    s.count = integer_in(trim(text.substr(slash + 1)), "--shard", 1, 1000000);
  }
  if (slash == std::string::npos || s.index >= s.count)
    throw UsageError("--shard: '" + text + "' must be I/N with 0 <= I < N (e.g. $SLURM_ARRAY_TASK_ID/4)");
  return s;
}

void read_plan_file(Settings& s, const std::string& path, int cpus) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw UsageError("cannot read plan " + path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw UsageError("plan " + path + " is not a regular file");
  if (static_cast<std::uintmax_t>(st.st_size) > kMaxPlanBytes)
    throw UsageError(path + " is not a plan: longer than " + std::to_string(kMaxPlanBytes / 1024) + " KiB");
  std::ifstream in(path);
  if (!in) throw UsageError("cannot read plan " + path);
  read_plan(s, in, path, cpus);
}

}  // namespace corescope::sweep
