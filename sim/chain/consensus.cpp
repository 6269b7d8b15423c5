#include "chain/consensus.hpp"

#include <algorithm>

namespace restake {

std::optional<Fork> fork_from_string(std::string_view name) {
  for (Fork f : {Fork::Phase0, Fork::Altair, Fork::Bellatrix, Fork::Capella, Fork::Deneb, Fork::Electra})
    if (name == to_string(f)) return f;
  return std::nullopt;
}

const char* to_string(Fork f) {
  switch (f) {
    case Fork::Phase0: return "phase0";
    case Fork::Altair: return "altair";
    case Fork::Bellatrix: return "bellatrix";
    case Fork::Capella: return "capella";
    case Fork::Deneb: return "deneb";
    case Fork::Electra: return "electra";
  }
  return "?";
}

ConsensusParams consensus_params(Fork f, Gwei total) {
  ConsensusParams p;
  p.total_active_balance_gwei = total;
  switch (f) {
    case Fork::Phase0:
      p.min_slashing_penalty_quotient = 128;
      p.proportional_slashing_multiplier = 1;
      p.rounding = CorrelationRounding::WholeEth;
      p.duties = DutyPenalties::Phase0;
      p.inactivity_penalty_quotient = std::uint64_t{1} << 26;
      p.exit_churn = ExitChurn::Validators;
      break;
    case Fork::Altair:
      p.min_slashing_penalty_quotient = 64;
      p.proportional_slashing_multiplier = 2;
      p.rounding = CorrelationRounding::WholeEth;
      p.inactivity_penalty_quotient = 3 * (std::uint64_t{1} << 24);
      p.exit_churn = ExitChurn::Validators;
      break;
    case Fork::Bellatrix:
    case Fork::Capella:
    case Fork::Deneb:
      p.min_slashing_penalty_quotient = 32;
      p.proportional_slashing_multiplier = 3;
      p.rounding = CorrelationRounding::WholeEth;
      p.exit_churn = ExitChurn::Validators;  // Deneb's EIP-7514 caps activations only
      break;
    case Fork::Electra:
      break;  // the defaults
  }
  return p;
}

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

namespace {

__extension__ typedef unsigned __int128 u128;  // 2048-ETH validators times S can exceed 2^64

// process_slashings: the correlation penalty of a validator of effective balance eb.
Gwei correlation_penalty(const ConsensusParams& p, Gwei eb, Gwei slashed_in_window) {
  const Gwei total = p.total_active_balance_gwei;
  const Gwei adjusted = static_cast<Gwei>(
      std::min<u128>(static_cast<u128>(slashed_in_window) * p.proportional_slashing_multiplier, total));
  const std::uint64_t increments = eb / kGweiPerEth;
  if (p.rounding == CorrelationRounding::PerIncrement) return adjusted / (total / kGweiPerEth) * increments;
  return static_cast<Gwei>(static_cast<u128>(increments) * adjusted / total) * kGweiPerEth;
}

}  // namespace

Gwei base_reward(const ConsensusParams& p, Gwei eb) {
  const Gwei sqrt_total = integer_sqrt(p.total_active_balance_gwei);
  // phase0 get_base_reward, BASE_REWARDS_PER_EPOCH = 4
  if (p.duties == DutyPenalties::Phase0) return eb * p.base_reward_factor / sqrt_total / 4;
  return eb / kGweiPerEth * (kGweiPerEth * p.base_reward_factor / sqrt_total);  // Altair+
}

Gwei missed_attestation_penalty(const ConsensusParams& p, Gwei eb) {
  const Gwei reward = base_reward(p, eb);
  if (p.duties == DutyPenalties::Phase0) return 3 * reward;  // one base reward per missed component
  // Altair+: TIMELY_SOURCE_WEIGHT 14, TIMELY_TARGET_WEIGHT 26, WEIGHT_DENOMINATOR 64, each floored
  return reward * 14 / 64 + reward * 26 / 64;
}

void update_effective_balance(Gwei balance, Gwei& eb) {
  constexpr Gwei kDownward = kGweiPerEth / 4;
  if (balance + kDownward < eb) eb = balance - balance % kGweiPerEth;
}

namespace {

// One epoch's penalties for a slashed (hence never participating) validator.
Gwei duty_penalty(const ConsensusParams& p, Gwei eb) { return p.missed_duties ? missed_attestation_penalty(p, eb) : 0; }

}  // namespace

std::uint64_t charge_epochs(Gwei& balance, Gwei eb, Gwei per_epoch, std::uint64_t length, Gwei& taken) {
  // Epochs after which the effective balance would drop, if before the end. Already below the
  // hysteresis threshold (after an initial penalty, say): the update after the very next epoch
  // lowers it, whether or not that epoch charges anything.
  constexpr std::int64_t kDownward = kGweiPerEth / 4;
  const std::int64_t headroom = static_cast<std::int64_t>(balance) + kDownward - static_cast<std::int64_t>(eb);
  std::uint64_t drop_after = length + 1;
  if (headroom < 0) drop_after = 1;
  else if (per_epoch > 0) drop_after = static_cast<std::uint64_t>(headroom) / per_epoch + 1;
  const std::uint64_t epochs = std::min(drop_after, length);
  taken = static_cast<Gwei>(std::min<u128>(static_cast<u128>(per_epoch) * epochs, balance));
  balance -= taken;
  return epochs;
}

SlashingPenalty slashing_penalty(const ConsensusParams& p, Gwei eb, Gwei slashed_in_window) {
  SlashingPenalty out;
  Gwei balance = eb;
  out.initial = std::min(balance, eb / p.min_slashing_penalty_quotient);
  balance -= out.initial;

  // Epoch ends s, s+1, .. s+N-1 (k = 0 .. N-1) charge the duty penalty; k = N/2 also applies the
  // correlation penalty; the effective balance is updated after each. Stretches with a constant
  // effective balance are charged at once, so this costs a few steps, not N.
  const std::uint64_t n = p.epochs_per_slashings_vector, correlation_epoch = n / 2;
  for (std::uint64_t k = 0; k < n;) {
    const Gwei per_epoch = duty_penalty(p, eb);
    const std::uint64_t stop = k <= correlation_epoch ? correlation_epoch : n - 1;  // last epoch of the stretch
    const std::uint64_t length = stop - k + 1;
    Gwei charged = 0;
    const std::uint64_t epochs = charge_epochs(balance, eb, per_epoch, length, charged);
    out.missed_duties += charged;
    k += epochs;
    if (epochs == length && stop == correlation_epoch) {
      const Gwei c = std::min(balance, correlation_penalty(p, eb, slashed_in_window));
      out.correlation += c;
      balance -= c;
    }
    update_effective_balance(balance, eb);
    if (balance == 0) break;
  }
  return out;
}

}  // namespace restake
