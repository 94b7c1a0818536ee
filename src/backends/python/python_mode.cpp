// The three Python modes (python_mode.hpp): one Mode class, told its kind.
#include "backends/python/python_mode.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>

#include "backends/python/python_driver.hpp"
#include "backends/python/python_kernels.hpp"
#include "core/errors.hpp"

namespace corescope {

namespace {
class PythonMode : public Mode {
 public:
  explicit PythonMode(python::Kind kind) : kind_(kind) {}
  void prepare(const RunSpec& spec) override {
    if (access(spec.python.c_str(), X_OK) != 0)
      throw UsageError("--python " + spec.python + ": not an executable interpreter");
    python::driver_path();  // UsageError if the driver is missing
    // py-threads: sys.setswitchinterval takes a positive number of seconds (gil mode's range)
    const double s = spec.switch_interval_s;
    if (std::isfinite(s) && !(s > 0.0 && s <= 10.0)) {
      char text[32];
      std::snprintf(text, sizeof text, "%g", s);
      throw UsageError(std::string("--switch-interval ") + text +
                       ": must be > 0 and <= 10 seconds");
    }
  }
  RunResult do_run(const RunSpec& spec, const KernelInfo&, const TeamControl& control) override {
    return python::run_driver(spec, python::kind_name(kind_), control);
  }

 private:
  python::Kind kind_;
};

ModeInfo python_mode(python::Kind kind, std::string name, std::string description) {
  ModeInfo m;
  m.name = std::move(name);
  m.description = std::move(description);
  m.shape = kind == python::Kind::threads ? shapes::one_process : shapes::process_per_worker;
  m.memory = kind == python::Kind::threads ? Memory::shared : Memory::private_;
  m.python = true;
  m.switch_interval = kind == python::Kind::threads;  // sys.setswitchinterval
  if (kind != python::Kind::threads) m.start_methods = {"fork", "spawn", "forkserver"};
  if (kind != python::Kind::pool) m.channels = {"pipe", "queue", "shm"};
  m.pooled_samples = kind == python::Kind::pool;
  m.adapt_kernel = [kind, n = m.name](const KernelInfo& k) {
    return python::adapt_kernel(k, kind, n);
  };
  m.make = [kind] { return std::unique_ptr<Mode>(new PythonMode(kind)); };
  return m;
}
}  // namespace

ModeInfo py_threads_mode() {
  return python_mode(python::Kind::threads, "py-threads",
                     "CPython threads (threading) in one interpreter, under its real GIL");
}
ModeInfo py_processes_mode() {
  return python_mode(python::Kind::processes, "py-processes",
                     "CPython multiprocessing workers (--start-method fork | spawn | forkserver)");
}
ModeInfo py_pool_mode() {
  return python_mode(
      python::Kind::pool, "py-pool",
      "a CPython process pool (concurrent.futures): the queen hands each repetition's tasks to it");
}

}  // namespace corescope
