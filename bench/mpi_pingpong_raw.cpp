// The reference for corescope's MPI ping-pong: the same measurement written as a bare
// MPI_Send/MPI_Recv loop, no corescope code at all. Same method as the pingpong kernel: per size,
// `warmup` untimed iterations, then `reps` timed iterations separated by MPI_Barrier, each
// iteration R round trips (R = 64 MiB / size, between 4 and 1000, unless --round-trips is given);
// latency = median iteration time / (2 R), bandwidth = size / latency.
//
//   mpirun -np 2 mpi_pingpong_raw [--sizes 8,1048576] [--reps 10] [--warmup 2] [--round-trips N]
//
// Prints one line per size: `size=<bytes> latency_s=<s> gbytes_per_s=<GB/s> round_trips=<R>
// ok=<0|1>`.
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

long long round_trips_for(long long size, long long forced) {
  if (forced > 0) return forced;
  const double fit = 64.0 * 1024 * 1024 / static_cast<double>(std::max(size, 1LL));
  return std::clamp(static_cast<long long>(fit), 4LL, 1000LL);
}

std::vector<long long> parse_sizes(const char* text) {
  std::vector<long long> out;
  std::string s(text);
  std::size_t pos = 0;
  while (pos <= s.size()) {
    const std::size_t comma = s.find(',', pos);
    out.push_back(std::atoll(s.substr(pos, comma - pos).c_str()));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  std::vector<long long> sizes{8, 1048576};
  int reps = 10, warmup = 2;
  long long forced = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--sizes"))
      sizes = parse_sizes(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--reps"))
      reps = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--warmup"))
      warmup = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--round-trips"))
      forced = std::atoll(argv[i + 1]);
  }
  if (size < 2 || reps < 1 || warmup < 0) {
    if (rank == 0)
      std::fprintf(stderr, "mpi_pingpong_raw: needs 2 ranks, --reps >= 1, --warmup >= 0\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }

  for (long long bytes : sizes) {
    const long long trips = round_trips_for(bytes, forced);
    std::vector<unsigned char> out(static_cast<std::size_t>(bytes)),
        in(static_cast<std::size_t>(bytes), 0);
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<unsigned char>(i * 131u + 7u);
    const int n = static_cast<int>(bytes);
    std::vector<double> times;
    for (int it = 0; it < warmup + reps; ++it) {
      MPI_Barrier(MPI_COMM_WORLD);
      const double t0 = MPI_Wtime();
      if (rank == 0) {
        for (long long r = 0; r < trips; ++r) {
          MPI_Send(out.data(), n, MPI_BYTE, 1, 17, MPI_COMM_WORLD);
          MPI_Recv(in.data(), n, MPI_BYTE, 1, 17, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        }
      } else if (rank == 1) {
        for (long long r = 0; r < trips; ++r) {
          MPI_Recv(in.data(), n, MPI_BYTE, 0, 17, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
          MPI_Send(in.data(), n, MPI_BYTE, 0, 17, MPI_COMM_WORLD);
        }
      }
      if (it >= warmup) times.push_back(MPI_Wtime() - t0);
    }
    const bool ok = rank > 1 || in == out;
    if (rank == 0) {
      std::sort(times.begin(), times.end());
      const double median = times.size() % 2
                                ? times[times.size() / 2]
                                : 0.5 * (times[times.size() / 2 - 1] + times[times.size() / 2]);
      const double latency = median / (2.0 * static_cast<double>(trips));
      std::printf("size=%lld latency_s=%.9g gbytes_per_s=%.6g round_trips=%lld ok=%d\n", bytes,
                  latency, static_cast<double>(bytes) / latency / 1e9, trips, ok ? 1 : 0);
      std::fflush(stdout);
    }
  }
  MPI_Finalize();
  return 0;
}
