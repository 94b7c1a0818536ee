// The speed probe: how fast this CPU runs a fixed piece of work right now. Each worker runs it
// before each timed repetition, outside the timed region; the analysis compares a sample's probe
// with the fastest probe seen on the same CPU (docs/noise.md).
#pragma once
#include <cstdint>

namespace corescope {

// The probe's work: a dependency chain of `steps` steps, each an integer multiply-add (a 64-bit
// LCG) feeding a floating-point multiply-add, so every step waits for the one before and the
// time is the core's latency, not its width: 1.85 ns per step (7.6 µs) on an AMD EPYC VM.
inline constexpr std::uint64_t kSpeedProbeSteps = 4096;
// Back-to-back timings of the chain; the probe is the fastest, so one interrupt or timer tick
// landing on a timing does not make the CPU look slow.
inline constexpr int kSpeedProbeTries = 3;

// Seconds (steady clock) of one run of `steps` steps, the fastest of `tries` runs. The same code
// and length in every mode; nothing else happens between the clock reads.
double speed_probe(std::uint64_t steps = kSpeedProbeSteps, int tries = kSpeedProbeTries);

}  // namespace corescope
