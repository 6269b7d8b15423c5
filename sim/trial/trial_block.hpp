#pragma once
// Per-trial records of a block of consecutive trials, one contiguous array per quantity
// (row-major [trial, ...]) so a block is written to HDF5 as it is.
#include <cstddef>
#include <cstdint>
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
  // [avs * holders] summed over the block's trials (fixed_sum.hpp), not per trial: an [A, H] row
  // per trial would cost A x H doubles per trial.
  std::vector<FixedSum> avs_holder_loss;

  void reset(const RecordShape& s, std::uint64_t first, std::size_t n) {
    shape = s;
    first_trial = first;
    count = n;
    loss_fraction.assign(n * s.holders, 0.0);
    net_return.assign(n * s.holders, 0.0);
    covered_fraction.assign(n * s.holders, 0.0);
    loss_by_cause.assign(n * s.holders * kLossCauseCount, 0.0);
    avs_stake_lost.assign(n * s.avs, 0.0);
    pool_drawdown.assign(n * s.pools, 0.0);
    avs_holder_loss.assign(s.avs * s.holders, 0);
  }

  // The record of the i-th trial of the block. Its AVS x holder losses go straight into the block's
  // sum: fine on one thread; the engine gives each thread its own accumulator instead.
  TrialRecord row(std::size_t i) {
    const std::size_t h = shape.holders;
    return {{loss_fraction.data() + i * h, h},
            {net_return.data() + i * h, h},
            {covered_fraction.data() + i * h, h},
            {loss_by_cause.data() + i * h * kLossCauseCount, h * kLossCauseCount},
            {avs_stake_lost.data() + i * shape.avs, shape.avs},
            {pool_drawdown.data() + i * shape.pools, shape.pools},
            {avs_holder_loss.data(), avs_holder_loss.size()}};
  }
};

}  // namespace restake
