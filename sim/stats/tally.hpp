#pragma once
// Running sums over the trials of a run, fed block by block in trial order (so the result does
// not depend on threads): moments, probabilities and means of every per-trial quantity. Quantiles
// need the whole sample and are computed from the stored records instead (summary.hpp).
#include <cstdint>
#include <vector>

#include "model/model.hpp"
#include "stats/quantile_sketch.hpp"
#include "stats/statistics.hpp"
#include "trial/trial_block.hpp"

namespace restake {

struct Tally {
  // `sketch_accuracy` > 0 also keeps quantile sketches of each holder's loss and net return, for
  // runs whose per-trial records are not stored.
  explicit Tally(const Model& m, double sketch_accuracy = 0.0);
  void add(const TrialBlock& b);

  std::uint64_t trials = 0;
  std::vector<RunningMoments> loss, net_return;  // [holder]
  std::vector<std::uint64_t> loss_positive, return_negative;  // [holder] trial counts
  std::vector<double> covered_sum;                            // [holder]
  std::vector<double> cause_sum;                              // [holder * cause]
  std::vector<double> avs_lost_sum;                           // [avs]
  std::vector<std::uint64_t> avs_slashed;                     // [avs] trials with a slash
  std::vector<FixedSum> avs_holder_loss;                      // [avs * holder] exact sum
  std::vector<double> pool_drawdown_sum;                      // [pool]
  std::vector<std::uint64_t> pool_exhausted;                  // [pool] trials that emptied it
  std::vector<double> pool_balance;                           // [pool]
  std::vector<QuantileSketch> loss_sketch, return_sketch;     // [holder], empty unless asked for
};

}  // namespace restake
