// serial mode: the reference every other mode is compared against.
#pragma once
#include <span>

#include "core/mode.hpp"
#include "core/worker.hpp"

namespace corescope {
ModeInfo serial_mode();

// The worker of a team of one: team operations are identities. Also what a benchmark uses to
// call a kernel directly, with no mode around it.
class SerialWorker : public Worker {
 public:
  SerialWorker() : Worker(0, 1, 0, 0) {}

 protected:
  void do_barrier() override {}
  void do_allreduce(std::span<double>, Op) override {}
};
}  // namespace corescope
