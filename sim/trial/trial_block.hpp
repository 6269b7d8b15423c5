#pragma once
// Per-trial records of a block of consecutive trials, one contiguous array per quantity
// (row-major [trial, ...]) so a block is written to HDF5 as it is.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "trial/trial.hpp"

namespace restake {

struct RecordShape {
  std::size_t holders = 0;
  std::size_t avs = 0;
  std::size_t pools = 0;
  static RecordShape of(const Model& m) { return {m.holders.size(), m.avs.size(), m.coverage_pools.size()}; }
};

struct TrialBlock {
  RecordShape shape;
  std::uint64_t first_trial = 0;
  std::size_t count = 0;
  std::vector<double> loss_fraction, net_return, covered_fraction, loss_by_cause, avs_stake_lost, pool_drawdown;
  // [trial] each trial's weight, its likelihood ratio in an importance-sampled run; empty in plain
  // Monte Carlo, where every trial weighs 1.
  std::vector<double> weight;
  // The trials' AVS x holder losses, trial after trial (sparse: an [A, H] row per trial would cost
  // A x H doubles per trial); trial i's are avs_shares[avs_shares_end[i-1] .. avs_shares_end[i]).
  std::vector<AvsHolderShare> avs_shares;
  std::vector<std::uint64_t> avs_shares_end;  // [trial]

  std::span<const AvsHolderShare> avs_shares_of(std::size_t i) const {
    const std::size_t from = i == 0 ? 0 : avs_shares_end[i - 1];
    return {avs_shares.data() + from, avs_shares_end[i] - from};
  }

  void reset(const RecordShape& s, std::uint64_t first, std::size_t n) {
    shape = s;
    first_trial = first;
    count = n;
    // Every trial writes its whole row of these (Trial::write_record): kept, not zeroed, for a
    // block that is reused (zeroing them cost more than the tally of a quiet trial).
    loss_fraction.resize(n * s.holders);
    net_return.resize(n * s.holders);
    covered_fraction.resize(n * s.holders);
    loss_by_cause.resize(n * s.holders * kLossCauseCount);
    avs_stake_lost.assign(n * s.avs, 0.0);
    pool_drawdown.assign(n * s.pools, 0.0);
    weight.clear();
    avs_shares.clear();
    avs_shares_end.assign(n, 0);
  }

  // The record of the i-th trial of the block. Its AVS x holder losses go to `shares`: the engine
  // gives each thread a list of its own and gathers them in trial order (set_avs_shares).
  TrialRecord row(std::size_t i, std::vector<AvsHolderShare>& shares) {
    const std::size_t h = shape.holders;
    return {{loss_fraction.data() + i * h, h},
            {net_return.data() + i * h, h},
            {covered_fraction.data() + i * h, h},
            {loss_by_cause.data() + i * h * kLossCauseCount, h * kLossCauseCount},
            {avs_stake_lost.data() + i * shape.avs, shape.avs},
            {pool_drawdown.data() + i * shape.pools, shape.pools},
            &shares};
  }
  // Trials computed one at a time, in order: trial i's losses go straight into the block.
  TrialRecord row(std::size_t i) { return row(i, avs_shares); }
  void end_row(std::size_t i) { avs_shares_end[i] = avs_shares.size(); }
};

}  // namespace restake
