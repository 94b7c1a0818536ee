// Host names of all ranks, gathered on rank 0 (fixed-width records: host names are short).
// Compiled only with an MPI, like mpi_support.cpp.
#include "backends/mpi/mpi_hosts.hpp"

#include <mpi.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "backends/mpi/mpi_support.hpp"
#include "core/platform.hpp"

namespace corescope::mpi {

std::vector<std::string> gather_hosts() {
  constexpr int kWidth = 256;  // longer than any host name (HOST_NAME_MAX is 64 on Linux)
  std::array<char, kWidth> mine{};
  const std::string host = platform::hostname();
  std::memcpy(mine.data(), host.data(), std::min<std::size_t>(host.size(), kWidth - 1));
  const int rank = world_rank(), size = world_size();
  std::vector<char> all(rank == 0 ? static_cast<std::size_t>(size) * kWidth : 0);
  MPI_Gather(mine.data(), kWidth, MPI_CHAR, all.data(), kWidth, MPI_CHAR, 0, MPI_COMM_WORLD);
  std::vector<std::string> hosts;
  if (rank == 0)
    for (int r = 0; r < size; ++r)
      hosts.emplace_back(all.data() + static_cast<std::size_t>(r) * kWidth);
  return hosts;
}

}  // namespace corescope::mpi
