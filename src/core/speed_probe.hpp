// The speed probe: how fast this CPU runs a fixed piece of work right now. Each worker runs it
// before each timed repetition, outside the timed region; the analysis compares a sample's probe
// with the fastest probe seen on the same CPU (docs/dev/noise.md).
#pragma once
#include <cstdint>

namespace corescope {

// The probe's work: `steps` Monte Carlo samples of the kind ep draws (two counter-based hashes,
// two doubles, one compare), independent of each other, so the time is the core's throughput for
// integer multiplies and conversions. That is what a host slows when it runs another guest on the
// same physical core: on the development VM ep and this probe both ran 1.6x slower in those
// periods, while a dependency chain (the first probe, latency-bound) did not move
// (docs/dev/noise.md). 2000 samples take 6-10 us there.
inline constexpr std::uint64_t kSpeedProbeSteps = 2000;
// Back-to-back timings; the probe is the fastest, so one interrupt or timer tick landing on a
// timing does not make the CPU look slow.
inline constexpr int kSpeedProbeTries = 3;
// Names the probe in /runs (probe_kind): probes of different kinds are never compared.
inline constexpr const char* kSpeedProbeKind = "hash2000x3";

// Seconds (steady clock) of one run of `steps` samples, the fastest of `tries` runs. The same code
// and length in every mode; nothing else happens between the clock reads.
double speed_probe(std::uint64_t steps = kSpeedProbeSteps, int tries = kSpeedProbeTries);

}  // namespace corescope
