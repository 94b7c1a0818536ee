// The table of Python kernels (python_kernels.hpp).
#include "backends/python/python_kernels.hpp"

#include <algorithm>

#include "core/errors.hpp"
#include "core/machine.hpp"
#include "core/text.hpp"

namespace corescope::python {

namespace {

struct PyKernel {
  std::string name;
  std::vector<Kind> kinds;
  std::vector<ParamSpec> extra;    // params only the Python kernel has
  std::vector<ParamSpec> changed;  // params whose default or allowed values differ
  std::size_t s = 0, m = 0,
              l = 0;  // size classes where pure Python needs smaller ones; 0 = the C++ kernel's
};

const std::vector<PyKernel>& table() {
  using K = Kind;
  static const std::vector<PyKernel> t = {
      {"ep",
       {K::threads, K::processes, K::pool},
       {{"impl",
         "python",
         {"python", "numpy"},
         "python: a pure-Python loop (holds the GIL); numpy: uint64 arrays (releases it)"}},
       {},
       20011,
       1u << 18,
       1u << 21},
      {"triad", {K::threads, K::processes, K::pool}, {}, {}},
      {"reduce", {K::threads, K::processes, K::pool}, {}, {}},
      {"iowait", {K::threads, K::processes, K::pool}, {}, {}},
      {"convoy", {K::threads, K::processes}, {}, {}},
      {"critical",
       {K::threads, K::processes, K::pool},
       {},
       {{"sync",
         "none",
         {"none", "mutex", "reduce"},
         "none = a race; mutex = threading.Lock / the multiprocessing.Value's lock; reduce = one "
         "update per worker"}},
       20011,
       1u << 17,
       1u << 19},
      {"farm",
       {K::threads, K::processes, K::pool},
       {},
       {{"base", "100", {}, "smallest task, in generator steps (~0.1 us each in Python)"}},
       211,
       1024,
       8192},
      {"pingpong",
       {K::threads, K::processes},
       {},
       {{"round_trips",
         "auto",
         {},
         "round trips per timed iteration; auto: about 64 MiB of traffic, 4 to 1000 (not "
         "calibrated by time as the C++ kernel is)"}}},
  };
  return t;
}

bool runs_in(const PyKernel& k, Kind kind) {
  return std::find(k.kinds.begin(), k.kinds.end(), kind) != k.kinds.end();
}
}  // namespace

std::string kind_name(Kind k) {
  return k == Kind::threads ? "threads" : k == Kind::processes ? "processes" : "pool";
}

std::vector<std::string> kernels_for(Kind kind) {
  std::vector<std::string> names;
  for (const auto& k : table())
    if (runs_in(k, kind)) names.push_back(k.name);
  return names;
}

KernelInfo adapt_kernel(const KernelInfo& kernel, Kind kind, const std::string& mode_name) {
  const auto& t = table();
  const auto it =
      std::find_if(t.begin(), t.end(), [&](const PyKernel& k) { return k.name == kernel.name; });
  if (it == t.end() || !runs_in(*it, kind))
    throw UsageError("mode " + mode_name + " does not run kernel " + kernel.name +
                     " (no Python version" + (it == t.end() ? "" : " for this mode") +
                     "); its kernels: " + join(kernels_for(kind), ", "));
  KernelInfo k = kernel;
  for (const auto& c : it->changed)
    for (auto& p : k.params)
      if (p.key == c.key) p = c;
  k.params.insert(k.params.end(), it->extra.begin(), it->extra.end());
  if (it->m > 0) {
    const std::size_t s = it->s, m = it->m, l = it->l;
    k.size_for_class = [s, m, l](SizeClass c, const MachineInfo&) {
      return c == SizeClass::S ? s : c == SizeClass::L ? l : m;
    };
  }
  return k;
}

}  // namespace corescope::python
