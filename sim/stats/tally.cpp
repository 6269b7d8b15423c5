#include "stats/tally.hpp"

namespace restake {

Tally::Tally(const Model& m, double sketch_accuracy)
    : loss(m.holders.size()),
      net_return(m.holders.size()),
      loss_positive(m.holders.size(), 0),
      return_negative(m.holders.size(), 0),
      covered_sum(m.holders.size(), 0.0),
      cause_sum(m.holders.size() * kLossCauseCount, 0.0),
      avs_lost_sum(m.avs.size(), 0.0),
      avs_slashed(m.avs.size(), 0),
      avs_holder_loss(m.avs.size() * m.holders.size(), 0),
      pool_drawdown_sum(m.coverage_pools.size(), 0.0),
      pool_exhausted(m.coverage_pools.size(), 0) {
  for (const auto& p : m.coverage_pools) pool_balance.push_back(p.balance);
  if (sketch_accuracy > 0.0) {
    loss_sketch.assign(m.holders.size(), QuantileSketch(sketch_accuracy));
    return_sketch.assign(m.holders.size(), QuantileSketch(sketch_accuracy));
  }
}

void Tally::add(const TrialBlock& b) {
  const std::size_t H = b.shape.holders, A = b.shape.avs, P = b.shape.pools, C = kLossCauseCount;
  for (std::size_t t = 0; t < b.count; ++t) {
    for (std::size_t h = 0; h < H; ++h) {
      const double l = b.loss_fraction[t * H + h], r = b.net_return[t * H + h];
      loss[h].add(l);
      net_return[h].add(r);
      loss_positive[h] += l > 0.0;
      return_negative[h] += r < 0.0;
      if (!loss_sketch.empty()) {
        loss_sketch[h].add(l);
        return_sketch[h].add(r);
      }
      covered_sum[h] += b.covered_fraction[t * H + h];
      for (std::size_t c = 0; c < C; ++c) cause_sum[h * C + c] += b.loss_by_cause[(t * H + h) * C + c];
    }
    for (std::size_t a = 0; a < A; ++a) {
      avs_lost_sum[a] += b.avs_stake_lost[t * A + a];
      avs_slashed[a] += b.avs_stake_lost[t * A + a] > 0.0;
    }
    for (std::size_t p = 0; p < P; ++p) {
      const double d = b.pool_drawdown[t * P + p];
      pool_drawdown_sum[p] += d;
      // Exhausted: paid its whole balance (to the rounding of the running subtraction).
      pool_exhausted[p] += pool_balance[p] > 0.0 && d >= pool_balance[p] * (1.0 - 1e-12);
    }
  }
  for (std::size_t k = 0; k < avs_holder_loss.size(); ++k) avs_holder_loss[k] += b.avs_holder_loss[k];
  trials += b.count;
}

}  // namespace restake
