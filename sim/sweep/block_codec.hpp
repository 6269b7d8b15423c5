#pragma once
// A block of trials as bytes, for the messages of the MPI sweep and of `run` with records under
// MPI (cli/mpi_sweep.cpp, cli/mpi_run.cpp): a header, the declared per-trial records
// (io/schema.hpp) vector by vector, then the AVS x holder losses. A weighted block (importance
// sampling) says so by a flag in its header and carries its weights after the records; a plain
// block's bytes are what they were before weights existed.
#include <cstdint>
#include <string_view>
#include <vector>

#include "trial/trial_block.hpp"

namespace restake {

// The top bit of the header's trial count: the block carries weights.
inline constexpr std::uint64_t kWeightedBlockFlag = std::uint64_t{1} << 63;

std::vector<char> encode_block(std::uint64_t point, std::uint64_t index, const TrialBlock& b);

struct DecodedBlock {
  std::uint64_t point = 0, index = 0;
  TrialBlock block;
};
// Block `index` of a run of `block_trials` per block, its records shaped by `shape`; a message of
// the wrong size or with losses that do not add up is a std::runtime_error whose message starts
// with `context` (the command, and the message's sender where known).
DecodedBlock decode_block(const std::vector<char>& bytes, const RecordShape& shape, std::uint64_t block_trials,
                          std::string_view context = "MPI sweep");

}  // namespace restake
