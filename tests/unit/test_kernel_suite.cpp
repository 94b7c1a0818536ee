// Properties of the stencil, dgemm, critical and farm kernels beyond "it verifies" (which the
// parametrized test checks everywhere): exact lost-update accounting, refusals of bad sizes and
// variants, the farm's queue traffic, blocked and naive dgemm across block edges.
#include <gtest/gtest.h>

#include "kernels/registry.hpp"
#include "backends/registry.hpp"
#include "core/errors.hpp"
#include "core/kernel.hpp"
#include "core/mode.hpp"
#include "core/run.hpp"

namespace corescope {
namespace {

RunSpec spec_for(const std::string& kernel, const std::string& mode, int workers, std::size_t size,
                 std::vector<std::string> kv, int reps = 3, int warmup = 1) {
  RunRequest request;
  request.workers = workers;
  request.size = std::to_string(size);
  request.reps = reps;
  request.warmup = warmup;
  request.params = std::move(kv);
  return make_run_spec(find_mode(mode), find_kernel(kernel), request);
}

RunResult run(const RunSpec& spec) {
  const KernelInfo& k = find_kernel(spec.kernel);
  if (k.validate) k.validate(spec);
  auto mode = find_mode(spec.mode).make();
  mode->prepare(spec);
  return mode->run(spec, k);
}

double metric(const RunResult& r, const std::string& name) {
  for (const Metric& m : r.metrics)
    if (m.name == name) return m.value;
  ADD_FAILURE() << "no metric " << name;
  return -1;
}

TEST(Critical, ProtectedVariantsLoseNoUpdate) {
  for (const std::string mode : {"threads", "openmp"})
    for (const std::string sync : {"mutex", "atomic", "reduce", "critical"}) {
      if (sync == "critical" && !find_mode(mode).team_critical) continue;
      const RunResult r = run(spec_for("critical", mode, 3, 5000, {"sync=" + sync}));
      SCOPED_TRACE(mode + " sync=" + sync);
      EXPECT_TRUE(r.verified) << r.verify_detail;
      EXPECT_EQ(metric(r, "lost_updates"), 0.0);
      EXPECT_EQ(metric(r, "updates_issued"), 5000.0 * 3 * 4);  // M x workers x (reps + warmup)
      // Workers 0 and 2 add +1, worker 1 adds -2: (2 - 2) x M x 4 iterations.
      EXPECT_EQ(metric(r, "counter_value"), 0.0);
      EXPECT_GT(metric(r, "ns_per_update"), 0.0);
    }
}

TEST(Critical, RaceLosesBetweenNothingAndEverything) {
  const RunResult r = run(spec_for("critical", "threads", 2, 20000, {"sync=none"}));
  EXPECT_TRUE(r.verified) << r.verify_detail;  // lost updates are the demonstration, not a failure
  const double lost = metric(r, "lost_updates"), issued = metric(r, "updates_issued");
  EXPECT_GE(lost, 0.0);
  EXPECT_LE(lost, issued);
  EXPECT_DOUBLE_EQ(metric(r, "lost_fraction"), lost / issued);
}

TEST(Critical, RefusesBadInput) {
  const KernelInfo& k = find_kernel("critical");
  EXPECT_THROW(k.validate(spec_for("critical", "threads", 2, 100, {"sync=critical"})), UsageError);
  EXPECT_THROW(k.validate(spec_for("critical", "serial", 1, 100, {"sync=critical"})), UsageError);
  EXPECT_NO_THROW(k.validate(spec_for("critical", "openmp", 2, 100, {"sync=critical"})));
  EXPECT_THROW(k.validate(spec_for("critical", "threads", 2, 0, {})), UsageError);
  RunSpec weak = spec_for("critical", "threads", 2, 100, {});
  weak.scaling = "weak";
  EXPECT_THROW(k.validate(weak), UsageError);
  EXPECT_THROW(k.validate(spec_for("critical", "threads", 4, 1u << 28, {})),
               UsageError);  // tally overflow
  EXPECT_THROW(make_params(k, 100, 1, 1, {"sync=sometimes"}), UsageError);
}

TEST(Stencil, RefusesFewerRowsThanWorkers) {
  const KernelInfo& k = find_kernel("stencil");
  EXPECT_THROW(k.validate(spec_for("stencil", "threads", 3, 2, {})), UsageError);
  EXPECT_THROW(k.validate(spec_for("stencil", "serial", 1, 1, {})), UsageError);
  EXPECT_THROW(k.validate(spec_for("stencil", "threads", 2, 5, {}, 100000)),
               UsageError);  // decays out of range
  // One row per worker: every row's halos come from both neighbours.
  for (const std::string mode : {"threads", "openmp"}) {
    const RunResult r = run(spec_for("stencil", mode, 3, 3, {}));
    EXPECT_TRUE(r.verified) << mode << ": " << r.verify_detail;
  }
}

TEST(Stencil, ManySweepsStayWithinRounding) {
  const RunResult r = run(spec_for("stencil", "threads", 2, 37, {}, 2000, 0));
  EXPECT_TRUE(r.verified) << r.verify_detail;
  EXPECT_EQ(metric(r, "sweeps"), 2000.0);
}

TEST(Farm, DynamicQueueHandsOutEveryTaskOnce) {
  // Each task costs one successful request; each worker makes one more that finds the queue empty.
  for (const std::string mode : {"threads", "openmp"}) {
    const RunResult r = run(spec_for("farm", mode, 3, 200, {"schedule=dynamic"}));
    EXPECT_TRUE(r.verified) << mode << ": " << r.verify_detail;
    EXPECT_EQ(metric(r, "queue_requests"), 200.0 + 3.0);
    EXPECT_GE(metric(r, "load_imbalance"), 1.0);
  }
  const RunResult grain = run(spec_for("farm", "threads", 2, 100, {"schedule=dynamic", "grain=7"}));
  EXPECT_TRUE(grain.verified) << grain.verify_detail;
  EXPECT_EQ(metric(grain, "queue_requests"), 15.0 + 2.0);  // ceil(100 / 7) + one empty ask each
}

TEST(Farm, MoreWorkersThanTasks) {
  for (const std::string schedule : {"static", "dynamic"}) {
    const RunResult r = run(spec_for("farm", "threads", 3, 2, {"schedule=" + schedule}));
    EXPECT_TRUE(r.verified) << schedule << ": " << r.verify_detail;
  }
  const KernelInfo& k = find_kernel("farm");
  EXPECT_THROW(k.validate(spec_for("farm", "threads", 2, 10, {"alpha=1"})), UsageError);
  EXPECT_THROW(k.validate(spec_for("farm", "threads", 2, 10, {"grain=0"})), UsageError);
}

TEST(Dgemm, BlockedAndNaiveAcrossBlockEdges) {
  // 257 crosses the 256-column and 128-deep block edges; 3 workers leave row quads incomplete.
  for (const std::string algo : {"blocked", "naive"}) {
    const RunResult r = run(spec_for("dgemm", "threads", 3, 257, {"algo=" + algo}, 1, 0));
    EXPECT_TRUE(r.verified) << algo << ": " << r.verify_detail;
  }
  const Cost c = find_kernel("dgemm").cost(make_params(find_kernel("dgemm"), 100, 1, 0, {}), 2);
  EXPECT_DOUBLE_EQ(c.flops, 2e6);
}

}  // namespace
}  // namespace corescope
