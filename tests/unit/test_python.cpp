// The Python modes' C++ side: the hello line (free-threaded detection as the interpreter reports
// it), the line protocol, and the watchdog that ends a hung Python team with nothing left behind.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "backends/python/python_driver.hpp"
#include "backends/registry.hpp"
#include "core/errors.hpp"
#include "kernels/registry.hpp"

namespace corescope {
namespace {

TEST(PythonHello, GilStates) {
  python::Hello h;
  ASSERT_TRUE(python::parse_hello(
      "hello\tpython=/opt/py313t/bin/python3\tversion=3.13.1\tgil=0\tstart_method=spawn", h));
  EXPECT_EQ(h.gil, 0);
  EXPECT_EQ(h.version, "3.13.1");
  EXPECT_EQ(h.start_method, "spawn");
  ASSERT_TRUE(python::parse_hello(
      "hello\tpython=/usr/bin/python3\tversion=3.11.2\tgil=1\tstart_method=", h));
  EXPECT_EQ(h.gil, 1);
  ASSERT_TRUE(python::parse_hello("hello\tversion=3.11.2", h));
  EXPECT_EQ(h.gil, -1);  // not said: not claimed either way
  EXPECT_FALSE(python::parse_hello("sample\tworker=0", h));
}

TEST(PythonProtocol, Lines) {
  python::DriverReport r;
  for (const char* line :
       {"hello\tpython=/p\tversion=3.11.2\tgil=1\tstart_method=fork",
        "sample\trep=1\tworker=1\trank=1\tthread=0\tcpu=3\twall_s=0.5\tcpu_s=0.25\trss_bytes=4096",
        "verify\tworker=1\tok=1\terror=0.0\tdetail=",
        "metric\tworker=0\tname=ep_hits\tvalue=42.0\tunits=\tlong_name=x",
        "outcome\tworker=1\tcompleted=1\terror=", "end"})
    python::parse_line(line, r);
  EXPECT_TRUE(r.ended);
  ASSERT_EQ(r.samples.size(), 1u);
  EXPECT_EQ(r.samples[0].worker, 1);
  EXPECT_EQ(r.samples[0].cpu, 3);
  EXPECT_DOUBLE_EQ(r.samples[0].wall_s, 0.5);
  EXPECT_EQ(r.samples[0].rss_bytes, 4096);
  EXPECT_EQ(r.samples[0].pss_bytes, -1);  // absent: unknown
  EXPECT_EQ(r.samples[0].cpu_start, -1);
  EXPECT_EQ(r.samples[0].runnable_start, -1);
  EXPECT_TRUE(std::isnan(r.samples[0].steal_s));
  ASSERT_EQ(r.outcomes.size(), 2u);
  // The disturbance records (docs/dev/noise.md); a Python sample never carries a probe.
  python::parse_line(
      "sample\trep=2\tworker=0\tcpu=1\tcpu_start=0\trunnable_start=7\tsteal_s=0.02\twall_s=0.1", r);
  python::parse_line(
      "sample\trep=3\tworker=0\tcpu=1\tcpu_start=1\trunnable_start=3\tsteal_s=nan\twall_s=0.1", r);
  ASSERT_EQ(r.samples.size(), 3u);
  EXPECT_EQ(r.samples[1].cpu_start, 0);
  EXPECT_EQ(r.samples[1].runnable_start, 7);
  EXPECT_DOUBLE_EQ(r.samples[1].steal_s, 0.02);
  EXPECT_TRUE(std::isnan(r.samples[1].probe_s));
  EXPECT_TRUE(std::isnan(r.samples[2].steal_s));
  EXPECT_THROW(python::parse_line("sample\tworker", r), RuntimeFailure);
  EXPECT_THROW(python::parse_line("sample\trep=x", r), RuntimeFailure);
}

TEST(PythonModes, RefuseKernelsWithoutAPythonVersion) {
  RunRequest request;
  request.workers = 2;
  request.size = "S";
  EXPECT_THROW(make_run_spec(find_mode("py-threads"), find_kernel("dgemm"), request), UsageError);
  EXPECT_THROW(make_run_spec(find_mode("py-pool"), find_kernel("convoy"), request), UsageError);
  const RunSpec spec = make_run_spec(find_mode("py-processes"), find_kernel("ep"), request);
  EXPECT_EQ(spec.start_method, "fork");
  EXPECT_EQ(spec.python, "/usr/bin/python3");
  EXPECT_EQ(spec.params.values.at("impl"), "python");
  EXPECT_EQ(spec.params.size, 20011u);  // the Python size class, not the C++ one
  const RunSpec cxx = make_run_spec(find_mode("processes"), find_kernel("ep"), request);
  EXPECT_EQ(cxx.python, "");
  EXPECT_EQ(cxx.start_method, "");
}

// The system interpreter with NumPy, which the Python modes' runs need.
bool have_numpy() { return system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0; }

// Two workers, 3 repetitions, no warm-up: the Python runs of these tests.
RunRequest pair_request(const std::string& size) {
  RunRequest request;
  request.workers = 2;
  request.size = size;
  request.reps = 3;
  request.warmup = 0;
  return request;
}

// A worker that never ends: the watchdog ends the run as failed, and the whole process group
// (driver and workers) is gone when run_driver returns.
TEST(PythonModes, WatchdogEndsAHungTeam) {
  if (!have_numpy()) GTEST_SKIP() << "no /usr/bin/python3 with numpy";
  const RunRequest request = pair_request("S");
  const std::string mark_value = "watchdog-" + std::to_string(getpid());
  const std::string mark = "CORESCOPE_TEST_MARK=" + mark_value;
  for (const char* mode : {"py-threads", "py-processes", "py-pool"}) {
    const RunSpec spec = make_run_spec(find_mode(mode), find_kernel("ep"), request);
    setenv("CORESCOPE_PY_FAULT", "hang:1", 1);
    setenv("CORESCOPE_TEST_MARK", mark_value.c_str(),
           1);  // in the environment of this team's processes only
    TeamControl control;
    control.watchdog_s = 3.0;
    std::string lost;
    control.on_worker_lost = [&](int, const std::string& how) { lost = how; };
    const RunResult r = find_mode(mode).make()->run(spec, find_kernel("ep"), control);
    unsetenv("CORESCOPE_PY_FAULT");
    unsetenv("CORESCOPE_TEST_MARK");
    EXPECT_EQ(r.status, "failed") << mode;
    EXPECT_NE(r.error.find("watchdog"), std::string::npos) << mode << ": " << r.error;
    EXPECT_NE(lost.find("hung"), std::string::npos) << mode;
    EXPECT_EQ(r.python_gil, 1) << mode;
    // Nothing of the team is left: no process carries this test's mark (other tests' Python
    // drivers may run beside it under ctest -j, so a match on the driver's name is not enough).
    const std::string count = "grep -l -a -F " + mark + " /proc/[0-9]*/environ 2>/dev/null | wc -l";
    FILE* p = popen(count.c_str(), "r");
    char buf[32] = {0};
    ASSERT_NE(fgets(buf, sizeof buf, p), nullptr);
    pclose(p);
    EXPECT_EQ(std::string(buf), "0\n") << mode;
  }
}

// A real run in each Python mode: every sample has the records of docs/dev/noise.md from the driver
// (the CPUs, runnable tasks, steal time), none has a probe.
TEST(PythonModes, SamplesCarryTheDisturbanceRecords) {
  if (!have_numpy()) GTEST_SKIP() << "no /usr/bin/python3 with numpy";
  const RunRequest request = pair_request("2000");
  const int cpus = static_cast<int>(sysconf(_SC_NPROCESSORS_CONF));
  for (const char* mode : {"py-threads", "py-processes", "py-pool"}) {
    const RunSpec spec = make_run_spec(find_mode(mode), find_kernel("ep"), request);
    const RunResult r = find_mode(mode).make()->run(spec, find_kernel("ep"), TeamControl{});
    ASSERT_EQ(r.status, "ok") << mode << ": " << r.error;
    if (std::string(mode) == "py-pool") {
      // A pool process that got no task in a repetition gives no sample for it.
      ASSERT_GE(r.samples.size(), 3u) << mode;
      ASSERT_LE(r.samples.size(), 6u) << mode;
    } else {
      ASSERT_EQ(r.samples.size(), 6u) << mode;
    }
    for (const Sample& s : r.samples) {
      EXPECT_GE(s.cpu_start, 0) << mode;
      EXPECT_LT(s.cpu_start, cpus) << mode;
      EXPECT_GE(s.cpu, 0) << mode;
      EXPECT_GE(s.runnable_start, 1) << mode;  // at least the reader
      EXPECT_TRUE(std::isfinite(s.steal_s) && s.steal_s >= 0) << mode << ": " << s.steal_s;
      EXPECT_TRUE(std::isnan(s.probe_s)) << mode;
      EXPECT_GE(s.invol_ctx_switches, 0) << mode;
    }
  }
}

}  // namespace
}  // namespace corescope
