// The Python modes: real CPython threads (py-threads), multiprocessing workers (py-processes) and
// a process pool fed by a queen (py-pool). One folder holds the three, as they share one driver:
// each ModeInfo names its kind, and the one PythonMode runs the interpreter with the driver
// package python/corescope_py (docs/user/python.md).
#pragma once
#include "core/mode.hpp"

namespace corescope {

ModeInfo py_threads_mode();
ModeInfo py_processes_mode();
ModeInfo py_pool_mode();

}  // namespace corescope
