// Every kernel x every in-process mode x every kernel variant, at size S and at awkward sizes:
// each run must complete and verify. New kernels and modes are covered by registering them.
#include <gtest/gtest.h>

#include <cstdlib>

#include "kernels/registry.hpp"
#include "backends/registry.hpp"
#include "core/errors.hpp"
#include "core/kernel.hpp"
#include "core/machine.hpp"
#include "core/mode.hpp"
#include "core/run.hpp"

namespace corescope {
namespace {

struct Case {
  std::string kernel, mode, param;  // param: "" or KEY=VALUE for one variant
  int workers;
  std::string size;          // "S" or a count
  std::string channel = "";  // "" = the mode's default
};

// The case as a reader writes it: "ep/threads/w2/S", then "/KEY=VALUE" and "/over CHANNEL".
std::string describe(const Case& c) {
  return c.kernel + "/" + c.mode + "/w" + std::to_string(c.workers) + "/" + c.size +
         (c.param.empty() ? "" : "/" + c.param) + (c.channel.empty() ? "" : "/over " + c.channel);
}

// What gtest prints for GetParam() (it printed the struct's bytes without this).
void PrintTo(const Case& c, std::ostream* out) { *out << describe(c); }

// The test's name: describe() with every character a name cannot hold made '_'.
std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string n = describe(info.param);
  for (char& c : n)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return n;
}

// Modes that run inside this test process (MPI modes are covered by the mpirun integration test).
std::vector<std::string> in_process_modes() {
  std::vector<std::string> out;
  for (const auto& m : modes())
    if (m.built && !m.needs_launcher && !m.python)
      out.push_back(m.name);  // Python modes: tests/integration/python_modes.sh
  return out;
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (const auto& k : kernels()) {
    std::vector<std::string> variants{""};
    for (const auto& p : k.params)
      for (const auto& v : p.allowed)
        if (v != p.default_value) variants.push_back(p.key + "=" + v);
    for (const auto& mode : in_process_modes()) {
      const bool single = find_mode(mode).single_worker();
      const std::vector<int> team = single ? std::vector<int>{1} : std::vector<int>{1, 2, 3};
      for (const auto& variant : variants)
        for (int w : team) cases.push_back({k.name, mode, variant, w, "S"});
      // Fewer items than some workers get: size 2 over 3 workers (skipped by kernels that refuse).
      if (!single) cases.push_back({k.name, mode, "", 3, "2"});
      // Every other channel of the mode: each variant with 3 workers, the default one with 2 too.
      const auto& channels = find_mode(mode).channels;
      for (std::size_t c = 1; c < channels.size(); ++c) {
        cases.push_back({k.name, mode, "", 2, "S", channels[c]});
        for (const auto& variant : variants)
          cases.push_back({k.name, mode, variant, 3, "S", channels[c]});
      }
    }
  }
  return cases;
}

class EveryKernelEveryMode : public ::testing::TestWithParam<Case> {};

TEST_P(EveryKernelEveryMode, CompletesAndVerifies) {
  const Case& c = GetParam();
  const KernelInfo& kernel = find_kernel(c.kernel);
  const ModeInfo& mode_info = find_mode(c.mode);
  RunRequest request;
  request.workers = c.workers;
  request.channel = c.channel;
  request.size = c.size;
  request.reps = 3;
  request.warmup = 1;
  if (!c.param.empty()) request.params.push_back(c.param);
  auto mode = mode_info.make();
  RunSpec spec;
  try {
    spec = make_run_spec(mode_info, kernel, request, mode->start());
    if (kernel.validate) kernel.validate(spec);
  } catch (const UsageError& e) {
    GTEST_SKIP() << "kernel refuses this combination: " << e.what();
  }
  // The team's shape is the mode's: one process of threads, or one process per worker.
  EXPECT_EQ(spec.ranks * spec.threads_per_rank, spec.workers);
  mode->prepare(spec);
  const RunResult r = mode->run(spec, kernel);
  EXPECT_EQ(r.status, "ok") << r.error;
  EXPECT_TRUE(r.verified) << r.verify_detail << " " << r.error;
  // One sample per worker per repetition, each worker present.
  ASSERT_EQ(r.samples.size(), static_cast<std::size_t>(spec.workers * spec.params.reps));
  std::vector<int> per_worker(static_cast<std::size_t>(spec.workers));
  for (const auto& s : r.samples) {
    ASSERT_GE(s.worker, 0);
    ASSERT_LT(s.worker, spec.workers);
    ++per_worker[static_cast<std::size_t>(s.worker)];
    EXPECT_GT(s.wall_s, 0.0);
    EXPECT_GE(s.cpu_s, 0.0);
    EXPECT_GT(s.rss_bytes, 0);
    EXPECT_GE(s.peak_rss_bytes, s.rss_bytes);
  }
  for (int n : per_worker) EXPECT_EQ(n, spec.params.reps);
}

INSTANTIATE_TEST_SUITE_P(Registry, EveryKernelEveryMode, ::testing::ValuesIn(all_cases()),
                         case_name);

}  // namespace
}  // namespace corescope
