// Flattens a WorkerOutcome into bytes and back, so that modes whose workers live in other
// processes (mpi, hybrid, processes) can ship results to the writing process.
#pragma once
#include <cstddef>
#include <vector>

#include "core/run.hpp"

namespace corescope {

std::vector<std::byte> encode_outcome(const WorkerOutcome& o);
// Decodes one outcome starting at data[pos]; advances pos. Throws RuntimeFailure on bad data.
WorkerOutcome decode_outcome(const std::vector<std::byte>& data, std::size_t& pos);

}  // namespace corescope
