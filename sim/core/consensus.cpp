#include "consensus.hpp"

#include <algorithm>

namespace restake {

Gwei integer_sqrt(std::uint64_t n) {
  // consensus-specs integer_squareroot (Newton's method on integers)
  if (n == UINT64_MAX) return 4294967295ULL;
  std::uint64_t x = n;
  std::uint64_t y = (x + 1) / 2;
  while (y < x) {
    x = y;
    y = (x + n / x) / 2;
  }
  return x;
}

SlashingPenalty slashing_penalty(const ConsensusParams& p, Gwei eb, Gwei slashed_in_window) {
  SlashingPenalty out;
  out.initial = eb / p.min_slashing_penalty_quotient;

  const Gwei total = p.total_active_balance_gwei;
  // Wider than 64 bits: 2048-ETH validators times S can exceed 2^64 before the division.
  __extension__ typedef unsigned __int128 u128;
  const Gwei adjusted = static_cast<Gwei>(
      std::min<u128>(static_cast<u128>(slashed_in_window) * p.proportional_slashing_multiplier, total));
  const std::uint64_t increments = eb / kGweiPerEth;
  if (p.rounding == CorrelationRounding::PerIncrement) {
    const Gwei per_increment = adjusted / (total / kGweiPerEth);
    out.correlation = per_increment * increments;
  } else {
    const u128 numerator = static_cast<u128>(increments) * adjusted;
    out.correlation = static_cast<Gwei>(numerator / total) * kGweiPerEth;
  }

  if (p.missed_duties) {
    // Altair+ flag weights: TIMELY_SOURCE 14, TIMELY_TARGET 26 of WEIGHT_DENOMINATOR 64, each
    // floored on its own as in get_flag_index_deltas.
    const Gwei per_increment_reward = kGweiPerEth * p.base_reward_factor / integer_sqrt(total);
    const Gwei base_reward = increments * per_increment_reward;
    const Gwei per_epoch = base_reward * 14 / 64 + base_reward * 26 / 64;
    out.missed_duties = per_epoch * p.epochs_per_slashings_vector;
  }
  // decrease_balance saturates at zero: a validator cannot lose more than it holds.
  out.correlation = std::min(out.correlation, eb - out.initial);
  out.missed_duties = std::min(out.missed_duties, eb - out.initial - out.correlation);
  return out;
}

}  // namespace restake
