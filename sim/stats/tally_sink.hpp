#pragma once
// A streamed run's sink (trial/engine.hpp's stream_trials) for the run command: each chunk's
// ordered sums (Tally::open) and its worst trials, tallied on the thread that ran it. The chunks'
// worst trials go into one list (merged in any order); what becomes of a chunk's sums once its
// trials are done is the caller's: a single process closes them into its tally, an MPI rank hands
// them to rank 0 (cli/mpi_run.cpp).
#include <cstdint>
#include <functional>
#include <memory>

#include "stats/tally.hpp"
#include "stats/worst_trials.hpp"
#include "trial/trial_block.hpp"

namespace restake {

class TallySink final : public ChunkSink {
 public:
  // Called with each chunk's sums as stream_trials closes it: in trial order, one at a time.
  using CloseSums = std::function<void(std::unique_ptr<TallyChunk>)>;
  TallySink(Tally& tally, WorstTrials& worst, CloseSums close_sums);
  std::unique_ptr<Chunk> open(std::uint64_t first, std::uint64_t end) override;
  void add(Chunk& chunk, const TrialBlock& rows) override;
  void close(std::unique_ptr<Chunk> chunk) override;

 private:
  Tally& tally_;
  WorstTrials& worst_;
  CloseSums close_sums_;
};

}  // namespace restake
