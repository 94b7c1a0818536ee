// Kernel parameters and lookups in the kernel registry.
#include "core/kernel.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "core/errors.hpp"
#include "core/machine.hpp"
#include "core/suggest.hpp"
#include "core/text.hpp"

namespace corescope {

Verification Kernel::verify_local(Worker&) {
  throw UsageError("this kernel cannot check one worker's part on its own (no verify_local)");
}

const std::string& Params::get(const std::string& key) const {
  auto it = values.find(key);
  CS_CHECK(it != values.end());
  return it->second;
}

long long Params::get_int(const std::string& key) const {
  const std::string& v = get(key);
  char* end = nullptr;
  errno = 0;
  long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0)
    throw UsageError("--param " + key + "=" + v + ": not an integer");
  return x;
}

double Params::get_double(const std::string& key) const {
  const std::string& v = get(key);
  char* end = nullptr;
  errno = 0;
  double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || errno != 0)
    throw UsageError("--param " + key + "=" + v + ": not a number");
  return x;
}

std::size_t resolve_size(const std::string& text, const KernelInfo& k) {
  if (text == "S") return k.size_for_class(SizeClass::S, machine());
  if (text == "M") return k.size_for_class(SizeClass::M, machine());
  if (text == "L") return k.size_for_class(SizeClass::L, machine());
  return parse_count(text, "--size");
}

Params make_params(const KernelInfo& info, std::size_t size, int reps, int warmup,
                   const std::vector<std::string>& key_values) {
  Params p;
  p.size = size;
  p.reps = reps;
  p.warmup = warmup;
  for (const auto& spec : info.params) p.values[spec.key] = spec.default_value;
  for (const auto& kv : key_values) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      throw UsageError("--param '" + kv + "': expected KEY=VALUE");
    const std::string key = kv.substr(0, eq), value = kv.substr(eq + 1);
    auto spec = std::find_if(info.params.begin(), info.params.end(),
                             [&](const ParamSpec& s) { return s.key == key; });
    if (spec == info.params.end()) {
      std::vector<std::string> keys;
      for (const auto& s : info.params) keys.push_back(s.key);
      if (keys.empty())
        throw UsageError("kernel " + info.name + " has no parameter '" + key + "'; it takes none");
      throw UsageError("kernel " + info.name + ": " + unknown_name("parameter", key, keys));
    }
    if (!spec->allowed.empty() &&
        std::find(spec->allowed.begin(), spec->allowed.end(), value) == spec->allowed.end()) {
      const std::string guess = did_you_mean(value, spec->allowed, key + "=", "");
      throw UsageError("kernel " + info.name + ": --param " + key + "=" + value + " is not valid;" +
                       (guess.empty() ? "" : " " + guess) +
                       " valid values: " + join(spec->allowed, ", "));
    }
    p.values[key] = value;
  }
  return p;
}

}  // namespace corescope
