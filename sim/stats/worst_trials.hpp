#pragma once
// The worst trials of a run by each token's lowest market price (`token_min_price`): a small tally
// kept beside the others, so that the trials whose price paths the report shows can be re-run
// afterwards (trial/price_paths.hpp). It works from the blocks, with or without stored records.
//
// Ranking is a strict total order - the lower price first, ties by the lower trial index, NaN after
// every number - so the K worst of a set of trials do not depend on how the set was split: blocks,
// threads and MPI ranks tallied apart and merged in any order give the same list.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "trial/trial_block.hpp"

namespace restake {

struct RankedTrial {
  double min_price = 1.0;  // ETH per token: the trial's token_min_price
  std::uint64_t trial = 0;
  bool operator==(const RankedTrial&) const = default;
};

// Whether a ranks before (is worse than) b.
bool ranks_before(const RankedTrial& a, const RankedTrial& b);

class WorstTrials {
 public:
  WorstTrials() = default;
  // Up to `k` trials per token (k = 0: none kept).
  WorstTrials(std::size_t tokens, std::size_t k);

  void add(std::size_t token, RankedTrial t);
  // Every trial of the block (its token_min_price rows).
  void add(const TrialBlock& b);
  // Another tally's trials (a disjoint set of trials: another block, thread or rank).
  void merge(const WorstTrials& other);

  std::size_t k() const { return k_; }
  std::size_t tokens() const { return worst_.size(); }
  // Token `token`'s worst trials, worst first: min(k, trials tallied) of them.
  std::span<const RankedTrial> of(std::size_t token) const { return worst_.at(token); }

 private:
  std::size_t k_ = 0;
  std::vector<std::vector<RankedTrial>> worst_;  // [token] sorted by ranks_before, at most k_
};

}  // namespace restake
