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
#include "core/suggest.hpp"
#include "core/text.hpp"
#include "sweep/terms.hpp"

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
  if (v > kMaxTeam)
    throw UsageError(where + ": " + text + " is more than " + std::to_string(kMaxTeam));
  return static_cast<int>(v);
}

std::vector<int> powers_of_two_to(int cpus) {
  std::vector<int> out;
  for (int w = 1; w < cpus; w *= 2) out.push_back(w);
  out.push_back(std::max(1, cpus));
  return out;
}

std::vector<int> counts(const std::string& value, const std::string& where, int cpus,
                        bool allow_pow2) {
  std::vector<int> out;
  for (const auto& item : items(value, where)) {
    if (item == "pow2" && allow_pow2) {
      for (int w : powers_of_two_to(cpus)) out.push_back(w);
    } else {
      out.push_back(worker_count(item, where, cpus));
    }
  }
  drop_duplicates(out);
  return out;
}

HybridSplit parse_split(const std::string& item, const std::string& where) {
  std::string lower = item;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  const auto x = lower.find_first_of("x*");
  if (x == std::string::npos)
    throw UsageError(where + ": '" + item + "' is not RANKSxTHREADS (e.g. 2x1)");
  HybridSplit h;
  h.ranks = positive(trim(lower.substr(0, x)), where + " '" + item + "'", "rank count");
  h.threads = positive(trim(lower.substr(x + 1)), where + " '" + item + "'", "thread count");
  if (h.ranks * static_cast<long long>(h.threads) > kMaxTeam)
    throw UsageError(where + ": '" + item + "' is more than " + std::to_string(kMaxTeam) +
                     " workers");
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
    throw UsageError(where + ": '" + value + "' must be an integer from " + std::to_string(lo) +
                     " to " + std::to_string(hi));
  return static_cast<int>(v);
}

std::string split_text(int ranks, int threads) {
  return std::to_string(ranks) + "x" + std::to_string(threads);
}

// 64-bit FNV-1a: stable across builds and machines, which std::hash is not.
std::uint64_t fnv1a(const std::string& text) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// A number of seconds >= lo (the whole text), or UsageError naming `where`.
double seconds_in(const std::string& value, const std::string& where, double lo,
                  const std::string& note) {
  std::size_t used = 0;
  double v = -1;
  try {
    v = std::stod(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != value.size() || !(v >= lo) || v > 1e7)
    throw UsageError(where + ": '" + value + "' is not a number of seconds" +
                     (note.empty() ? "" : " " + note));
  return v;
}

// "sync=none,mutex; schedule=static" -> two axes. Values of one axis are separated by commas,
// axes by semicolons.
std::vector<ParamAxis> param_axes(const std::string& value, const std::string& where) {
  std::vector<ParamAxis> out;
  for (const auto& part : split(value, ';')) {
    const std::string axis = trim(part);
    const auto eq = axis.find('=');
    if (eq == std::string::npos || trim(axis.substr(0, eq)).empty())
      throw UsageError(where + ": '" + axis +
                       "' is not NAME=VALUE[,VALUE...] (e.g. sync=none,mutex)");
    ParamAxis a{trim(axis.substr(0, eq)),
                items(axis.substr(eq + 1), where + " " + trim(axis.substr(0, eq)))};
    drop_duplicates(a.values);
    for (const auto& other : out)
      if (other.name == a.name)
        throw UsageError(where + ": parameter '" + a.name + "' is given twice");
    out.push_back(std::move(a));
  }
  return out;
}

std::string size_text(std::uint64_t v) {
  return v != 0 && v % (1u << 20) == 0 ? std::to_string(v >> 20) + "M"
         : v != 0 && v % 1024 == 0     ? std::to_string(v >> 10) + "K"
                                       : std::to_string(v);
}

// "1.5" rather than "1.500000": for command lines and hashes.
std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", s);
  return buf;
}

// Every combination of the param axes, as KEY=VALUE lists ({{}} without axes), checked against
// each kernel's declared parameters (unknown keys and values: the kernel's own error).
std::vector<std::vector<std::string>> param_combinations(const Settings& s,
                                                         const std::vector<std::string>& kernels) {
  std::vector<std::vector<std::string>> sets{{}};
  for (const auto& axis : s.params) {
    std::vector<std::vector<std::string>> next;
    for (const auto& set : sets)
      for (const auto& v : axis.values) {
        next.push_back(set);
        next.back().push_back(axis.name + "=" + v);
      }
    sets = std::move(next);
  }
  for (const auto& k : kernels)
    for (const auto& axis : s.params)
      for (const auto& v : axis.values) make_params(find_kernel(k), 1, 1, 0, {axis.name + "=" + v});
  return sets;
}

// The channels a mode's cells use: "" (its default, not in the key) without a channels axis.
std::vector<std::string> channels_of(const Settings& s, const ModeInfo& m) {
  if (s.channels.empty()) return {""};
  std::vector<std::string> out;
  for (const auto& c : s.channels) {
    if (c == "all") {
      out.insert(out.end(), m.channels.begin(), m.channels.end());
    } else if (std::find(m.channels.begin(), m.channels.end(), c) != m.channels.end()) {
      out.push_back(c);
    }
  }
  drop_duplicates(out);
  return out;  // empty: the mode has none of them, so no cells
}

// A named channel must belong to some mode of the plan.
void check_channels(const Settings& s, const std::vector<const ModeInfo*>& modes) {
  for (const auto& c : s.channels) {
    if (c == "all") continue;
    const bool somewhere = std::any_of(modes.begin(), modes.end(), [&](const ModeInfo* m) {
      return std::find(m->channels.begin(), m->channels.end(), c) != m->channels.end();
    });
    if (modes.size() == 1) check_channel(*modes.front(), c);
    if (!somewhere) {
      std::vector<std::string> known, names;
      for (const ModeInfo* m : modes)
        for (const auto& k : m->channels) {
          known.push_back(m->name + ":" + k);
          names.push_back(k);
        }
      const std::string guess = did_you_mean(c, names);
      const std::string listed = known.empty() ? "" : "channels: " + join(known, ", ");
      throw UsageError("channels: no mode of this plan has channel '" + c + "'" +
                       (guess.empty() ? "" : "; " + guess) +
                       (listed.empty() ? "" : (guess.empty() ? "; " : " ") + listed));
    }
  }
}

// Fault trials: a kernel that checks a worker's part alone, modes that isolate runs.
void check_isolate(const Settings& s, const std::vector<std::string>& kernels,
                   const std::vector<const ModeInfo*>& modes) {
  for (const auto& k : kernels)
    if (!find_kernel(k).make()->verifies_locally())
      throw UsageError("fault: kernel " + k +
                       " cannot check one worker's part on its own; use triad or dgemm");
  for (const auto& m : s.modes)
    if (m != "all" && !find_mode(m).isolate)
      throw UsageError("fault: isolate does not run " + m + " teams");
}

}  // namespace

int worker_count(const std::string& text, const std::string& where, int cpus) {
  return text == "max" ? std::max(1, cpus) : positive(text, where, "count");
}

void check_channel(const ModeInfo& mode, const std::string& channel) {
  if (mode.channels.empty()) throw UsageError("mode " + mode.name + " has no channels");
  if (std::find(mode.channels.begin(), mode.channels.end(), channel) != mode.channels.end()) return;
  const std::string guess = did_you_mean(channel, mode.channels);
  throw UsageError("mode " + mode.name + " has no channel '" + channel + "';" +
                   (guess.empty() ? "" : " " + guess) +
                   " its channels: " + join(mode.channels, ", "));
}

std::vector<std::string> size_list(const std::string& text, const std::string& where) {
  std::vector<std::string> sizes;
  for (const auto& item : items(text, where)) {
    if (item == "S" || item == "M" || item == "L") {
      sizes.push_back(item);
      continue;
    }
    const auto colon = item.find(':');
    auto count = [&](const std::string& t) {
      try {
        return parse_count(trim(t), "size");
      } catch (const UsageError&) {
        throw UsageError(where + ": '" + item +
                         "' is not a size (S, M, L, a count such as 4M, or a range FROM:TO)");
      }
    };
    if (colon == std::string::npos) {
      count(item);
      sizes.push_back(item);
      continue;
    }
    const std::uint64_t lo = count(item.substr(0, colon)), hi = count(item.substr(colon + 1));
    if (lo > hi) throw UsageError(where + " " + item + ": a range is FROM:TO with FROM <= TO");
    if (lo == 0) sizes.push_back("0");  // 0, then 1, 2, 4, ... (osu_latency's sizes)
    for (std::uint64_t v = std::max<std::uint64_t>(lo, 1); v <= hi && v != 0; v *= 2)
      sizes.push_back(size_text(v));
  }
  return sizes;
}

const std::vector<std::string>& plan_keys() {
  static const std::vector<std::string> keys = {
      "kernels",         "modes",           "workers", "hybrid",
      "cores",           "scaling",         "size",    "reps",
      "warmup",          "runs-per-round",  "pin",     "param",
      "channels",        "switch-interval", "fault",   "run-seconds",
      "timeout-per-run", "launcher"};
  return keys;
}

void apply(Settings& s, const std::string& key_in, const std::string& value_in,
           const std::string& where, int cpus) {
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
    // 0 is a size here: a kernel that has no use for it refuses it
    s.sizes = size_list(value, where);
    drop_duplicates(s.sizes);
  } else if (key == "reps") {
    s.reps = integer_in(value, where, 1, 1000000);
  } else if (key == "warmup") {
    s.warmup = integer_in(value, where, 0, 1000000);
  } else if (key == "runs-per-round") {
    s.runs_per_round = integer_in(value, where, 1, 1000);
  } else if (key == "pin") {
    s.pins = one_of(value, where, {"none", "cores", "one"});
  } else if (key == "timeout-per-run") {
    s.timeout_per_run_s = seconds_in(value, where, 0, "(0 = no limit)");
  } else if (key == "param") {
    s.params = param_axes(value, where);
  } else if (key == "channels") {
    s.channels = items(value, where);
    drop_duplicates(s.channels);
  } else if (key == "switch-interval") {
    s.switch_intervals = items(value, where);
    for (const auto& v : s.switch_intervals) {
      const double x = seconds_in(v, where, 0, "");
      if (!(x > 0 && x <= 10))
        throw UsageError(where + ": '" + v + "' must be a GIL switch interval 0 < s <= 10");
    }
    drop_duplicates(s.switch_intervals);
  } else if (key == "fault") {
    s.faults = one_of(value, where, {"crash", "abort", "exit", "leak", "stray-write", "hang"});
  } else if (key == "run-seconds") {
    s.run_seconds = seconds_in(value, where, 0, "");
    if (!(s.run_seconds > 0 && s.run_seconds <= 600))
      throw UsageError(where + ": '" + value + "' must be > 0 and <= 600");
  } else if (key == "launcher") {
    std::string v = value == "mpiexec" ? "mpirun" : value;
    s.launcher = one_of(v, where, {"auto", "srun", "mpirun"}).front();
  } else {
    throw UsageError(where + ": " + unknown_name("key", key_in, plan_keys()));
  }
}

namespace {

// The text of a plan, bounded: a plan is a few lines, and `--plan /dev/zero` or an endless pipe
// must not eat memory.
std::string bounded_text(std::istream& input, const std::string& name) {
  std::string text;
  char buf[4096];
  while (input.read(buf, sizeof buf) || input.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(input.gcount()));
    if (text.size() > kMaxPlanBytes)
      throw UsageError(name + " is not a plan: longer than " +
                       std::to_string(kMaxPlanBytes / 1024) + " KiB");
  }
  if (input.bad()) throw UsageError("cannot read plan " + name);
  return text;
}

bool group_name_ok(const std::string& g) {
  return !g.empty() && std::all_of(g.begin(), g.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.';
  });
}

}  // namespace

namespace {
// `base`: the settings every group starts from, before the plan's defaults.
Plan read_groups(std::istream& input, const std::string& name, int cpus, Settings defaults) {
  std::istringstream in(bounded_text(input, name));
  Settings* current = &defaults;  // keys before the first group are every group's defaults
  Plan plan;
  std::map<std::string, int> seen;    // key -> line, in the current scope
  std::map<std::string, int> groups;  // group name -> line
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const auto hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    line = trim(line);
    if (line.empty()) continue;
    const std::string at = name + ":" + std::to_string(number);
    if (line.front() == '[') {
      const std::string group = line.back() == ']' ? trim(line.substr(1, line.size() - 2)) : "";
      if (!group_name_ok(group))
        throw UsageError(at + ": '" + line +
                         "' is not a group line [NAME] (letters, digits, - _ .)");
      if (auto it = groups.find(group); it != groups.end())
        throw UsageError(at + ": group '" + group + "' is already defined on line " +
                         std::to_string(it->second));
      groups[group] = number;
      plan.groups.push_back(defaults);
      plan.groups.back().group = group;
      current = &plan.groups.back();
      seen.clear();
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string::npos)
      throw UsageError(at + ": expected 'key = value', got '" + line + "'");
    std::string key = trim(line.substr(0, eq));
    std::replace(key.begin(), key.end(), '_', '-');
    if (key.empty()) throw UsageError(at + ": no key before '='");
    if (const auto term = term_of(key)) key = names(*term).plan_key;  // "kernel" or "kernels" alike
    if (std::find(plan_keys().begin(), plan_keys().end(), key) == plan_keys().end())
      throw UsageError(at + ": " + unknown_name("key", key, plan_keys()));
    if (auto it = seen.find(key); it != seen.end())
      throw UsageError(at + ": '" + key + "' is already set on line " + std::to_string(it->second));
    seen[key] = number;
    apply(*current, key, line.substr(eq + 1), at + ": " + key, cpus);
  }
  if (plan.groups.empty()) plan.groups.push_back(defaults);
  return plan;
}
}  // namespace

Plan read_plan_groups(std::istream& input, const std::string& name, int cpus) {
  return read_groups(input, name, cpus, Settings{});
}

void read_plan(Settings& s, std::istream& input, const std::string& name, int cpus) {
  Plan p = read_groups(input, name, cpus, s);
  if (p.groups.size() != 1 || !p.groups.front().group.empty())
    throw UsageError(name + " has groups ([NAME] lines); this command takes a plan of one matrix");
  s = std::move(p.groups.front());
}

namespace {
// The kernels a plan names ("all": every kernel), each once.
std::vector<std::string> kernels_of(const Settings& s) {
  std::vector<std::string> kernel_names;
  for (const auto& k : s.kernels) {
    if (k == "all") {
      for (const auto& info : kernels()) kernel_names.push_back(info.name);
    } else {
      kernel_names.push_back(find_kernel(k).name);
    }
  }
  drop_duplicates(kernel_names);
  return kernel_names;
}

// The modes a plan names (none or "all": every built mode but the Python ones, which are named
// explicitly, docs/user/python.md), plus a ranks x threads mode when --hybrid or --cores asks
// for its cells and the list has none.
std::vector<const ModeInfo*> modes_of(const Settings& s) {
  std::vector<const ModeInfo*> mode_list;
  const bool all_modes =
      s.modes.empty() || std::find(s.modes.begin(), s.modes.end(), "all") != s.modes.end();
  for (const auto& m : s.modes)
    if (m != "all") mode_list.push_back(&find_mode(m));  // unknown / not built: UsageError
  if (all_modes)
    for (const auto& m : modes())
      if (m.built && !m.python) mode_list.push_back(&m);
  if (!s.hybrid.empty() || !s.cores.empty()) {
    bool have_split = std::any_of(mode_list.begin(), mode_list.end(),
                                  [](const ModeInfo* m) { return m->takes_threads; });
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
        throw UsageError(
            std::string("--hybrid/--cores need a ranks x threads mode") +
            (unbuilt ? ", and mode '" + unbuilt->name + "' was not built: " + unbuilt->how_to_build
                     : ", and this corescope has none"));
    }
  }
  drop_duplicates(mode_list);
  return mode_list;
}

// The ranks x threads teams: --hybrid's, every split of each --cores count, or, for a split
// mode asked for by name alone, every split of each worker count.
std::vector<HybridSplit> splits_of(const Settings& s, const std::vector<int>& workers) {
  std::vector<HybridSplit> splits = s.hybrid;
  for (int c : s.cores)
    for (int r = c; r >= 1; --r)
      if (c % r == 0) splits.push_back({r, c / r});
  if (splits.empty())
    for (int w : workers)
      for (int r = w; r >= 1; --r)
        if (w % r == 0) splits.push_back({r, w / r});
  drop_duplicates(splits);
  return splits;
}

Cell base_cell(const Settings& s, const std::string& kernel, const ModeInfo& mode,
               const std::string& scaling, const std::string& size, const std::string& pin) {
  Cell base;
  base.kernel = kernel;
  base.mode = mode.name;
  base.launched = mode.needs_launcher;
  base.split = mode.takes_threads;
  base.openmp = mode.openmp_threads;
  base.scaling = scaling;
  base.size = size;
  base.pin = pin;
  base.reps = s.reps;
  base.warmup = s.warmup;
  base.runs_per_round = s.runs_per_round;
  base.timeout_s = s.timeout_per_run_s;
  base.run_seconds = s.run_seconds;
  base.group = s.group;
  return base;
}

// The cells of an expansion, each key once, in the order they are found.
struct Expansion {
  const Settings& s;
  int cpus;
  std::vector<std::vector<std::string>> param_sets;
  std::vector<Cell> cells;
  std::set<std::string> keys;

  void add(Cell c) {
    if (keys.insert(c.key).second) cells.push_back(std::move(c));
  }

  // A team of `w` workers (`threads` per rank) of the base cell: its shape is the mode's
  // (ModeInfo::shape), as in the cell's own run; then one cell per value of each extra axis.
  void team(const Cell& base, const ModeInfo& mode, int w, int threads,
            const std::string& team_text) {
    if (!s.faults.empty() && w < 2) return;  // a fault needs another worker to spare
    const TeamShape shape = mode.shape(TeamAsk{.workers = w, .threads = threads, .cpus = cpus});
    Cell c = base;
    c.workers = shape.workers;
    c.ranks = shape.ranks;
    c.threads = shape.threads_per_rank;
    c.key = base.kernel + "/" + base.mode + "/" + team_text + "/" + base.scaling + "/" + base.size +
            "/" + base.pin;
    // gil's switch interval, and py-threads' (sys.setswitchinterval): one axis for both
    const std::vector<std::string> intervals =
        (mode.gil || mode.switch_interval) && !s.switch_intervals.empty()
            ? s.switch_intervals
            : std::vector<std::string>{""};
    const std::vector<std::string> faults =
        s.faults.empty() ? std::vector<std::string>{""} : s.faults;
    for (const auto& params : param_sets)
      for (const auto& channel : channels_of(s, mode))
        for (const auto& interval : intervals)
          for (const auto& fault : faults) {
            Cell x = c;
            x.params = params;
            for (const auto& p : params) x.key += "/" + p;
            x.channel = channel;
            if (!channel.empty()) x.key += "/channel=" + channel;
            x.switch_interval = interval;
            if (!interval.empty()) x.key += "/switch=" + interval;
            x.fault = fault;
            if (!fault.empty()) x.key += "/fault=" + fault;
            add(std::move(x));
          }
  }
};
}  // namespace

std::vector<Cell> expand(const Settings& s, int cpus) {
  if (s.kernels.empty()) throw UsageError("a sweep needs --kernels (or `kernels =` in its plan)");
  const std::vector<std::string> kernel_names = kernels_of(s);
  const std::vector<const ModeInfo*> mode_list = modes_of(s);
  const std::vector<int> workers = s.workers.empty() ? powers_of_two_to(cpus) : s.workers;
  const std::vector<HybridSplit> splits = splits_of(s, workers);

  Expansion e{s, cpus, param_combinations(s, kernel_names), {}, {}};
  if (!s.faults.empty()) check_isolate(s, kernel_names, mode_list);
  check_channels(s, mode_list);
  for (const auto& size : s.sizes)
    for (const auto& scaling : s.scaling)
      for (const auto& pin : s.pins)
        for (const auto& kernel : kernel_names)
          for (const ModeInfo* mode : mode_list) {
            if (!s.faults.empty() && !mode->isolate)
              continue;  // `modes = all` with faults: the isolate modes
            const Cell base = base_cell(s, kernel, *mode, scaling, size, pin);
            if (mode->takes_threads) {
              for (const auto& h : splits)
                e.team(base, *mode, h.ranks * h.threads, h.threads, split_text(h.ranks, h.threads));
            } else if (mode->single_worker()) {  // one worker by definition: the reference cell
              e.team(base, *mode, 1, 0, "1");
            } else {
              for (int w : workers) e.team(base, *mode, w, 0, std::to_string(w));
            }
          }
  if (!s.faults.empty() && e.cells.empty())
    throw UsageError("fault trials need teams of at least 2 workers in a mode that isolate runs" +
                     std::string(s.group.empty() ? "" : " (group " + s.group + ")"));
  return std::move(e.cells);
}

std::vector<Cell> expand(const Plan& p, int cpus) {
  if (p.groups.empty()) throw UsageError("the plan has no groups");
  std::vector<Cell> cells;
  std::set<std::string> keys;
  for (const auto& g : p.groups) {
    std::vector<Cell> part;
    try {
      part = expand(g, cpus);
    } catch (const UsageError& e) {
      if (g.group.empty()) throw;
      throw UsageError("group " + g.group + ": " + e.what());
    }
    for (auto& c : part)
      if (keys.insert(c.key).second) cells.push_back(std::move(c));
  }
  return cells;
}

RunRequest cell_request(const Cell& c) {
  RunRequest r;
  r.kernel = c.kernel;
  r.workers = c.workers;
  r.threads = c.split ? c.threads : 0;
  r.size = c.size;
  r.scaling = c.scaling;
  r.reps = c.reps;
  r.warmup = c.warmup;
  r.cell = c.key;
  r.pin = c.pin;
  r.params = c.params;
  r.channel = c.channel;
  if (!c.switch_interval.empty()) r.switch_interval_s = std::stod(c.switch_interval);
  return r;
}

RunRequest cell_request(const Cell& c, const Settings&) { return cell_request(c); }

std::string plan_hash(const Settings& s, const std::vector<Cell>& cells) {
  std::string text = "corescope-sweep-plan-1\nreps=" + std::to_string(s.reps) +
                     "\nwarmup=" + std::to_string(s.warmup);
  for (const auto& c : cells) {
    text += "\n" + c.key;
    // Only what the key does not say and differs from the reference: a one-group plan hashes as
    // it always did.
    if (c.reps != s.reps || c.warmup != s.warmup)
      text += " reps=" + std::to_string(c.reps) + " warmup=" + std::to_string(c.warmup);
    if (c.runs_per_round != 1) text += " runs_per_round=" + std::to_string(c.runs_per_round);
    if (c.isolate()) text += " run=" + seconds_text(c.run_seconds);
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fnv1a(text)));
  return buf;
}

std::string plan_hash(const Plan& p, const std::vector<Cell>& cells) {
  if (p.groups.empty()) throw UsageError("the plan has no groups");
  return plan_hash(p.groups.front(), cells);
}

Shard parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  Shard s;
  if (slash != std::string::npos) {
    s.index = integer_in(trim(text.substr(0, slash)), "--shard", 0, 1000000);
    s.count = integer_in(trim(text.substr(slash + 1)), "--shard", 1, 1000000);
  }
  if (slash == std::string::npos || s.index >= s.count)
    throw UsageError("--shard: '" + text +
                     "' must be I/N with 0 <= I < N (e.g. $SLURM_ARRAY_TASK_ID/4)");
  return s;
}

namespace {
// A plan file, opened: it must be a regular file of at most kMaxPlanBytes.
std::ifstream open_plan(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw UsageError("cannot read plan " + path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw UsageError("plan " + path + " is not a regular file");
  if (static_cast<std::uintmax_t>(st.st_size) > kMaxPlanBytes)
    throw UsageError(path + " is not a plan: longer than " + std::to_string(kMaxPlanBytes / 1024) +
                     " KiB");
  std::ifstream in(path);
  if (!in) throw UsageError("cannot read plan " + path);
  return in;
}
}  // namespace

void read_plan_file(Settings& s, const std::string& path, int cpus) {
  std::ifstream in = open_plan(path);
  read_plan(s, in, path, cpus);
}

Plan read_plan_groups_file(const std::string& path, int cpus) {
  std::ifstream in = open_plan(path);
  return read_plan_groups(in, path, cpus);
}

}  // namespace corescope::sweep
