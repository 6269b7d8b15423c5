#pragma once
// Beacon-chain slashing penalties, in integer Gwei exactly as the consensus specs compute them
// (consensus-specs phase0 .. electra beacon-chain.md: slash_validator, process_slashings,
// get_attestation_deltas / get_flag_index_deltas, process_effective_balance_updates).
#include <cstdint>
#include <optional>
#include <string_view>

namespace restake {

using Gwei = std::uint64_t;
inline constexpr Gwei kGweiPerEth = 1'000'000'000;
inline constexpr std::uint64_t kEpochsPerDay = 225;  // 86400 s / (32 slots * 12 s)

enum class Fork { Phase0, Altair, Bellatrix, Capella, Deneb, Electra };
std::optional<Fork> fork_from_string(std::string_view name);
const char* to_string(Fork f);

enum class CorrelationRounding {
  PerIncrement,  // Electra: adj // (T // 1 ETH) per ETH of effective balance
  WholeEth,      // phase0 .. Deneb: (EB/1ETH * adj // T) whole ETH, floored
};

enum class DutyPenalties {
  Phase0,  // source, target and head each cost base_reward = EB * 64 // isqrt(T) // 4
  Altair,  // source and target cost base_reward * 14/64 and * 26/64 (flag weights); head nothing
};

// How many leave the validator set per epoch (the exit queue that an ejection waits in).
enum class ExitChurn {
  Validators,  // phase0 .. Deneb: max(4, active validators // 65536) validators per epoch
  Balance,     // Electra: min(256 ETH, max(128 ETH, T // 65536)) of effective balance per epoch
};

struct ConsensusParams {
  Gwei total_active_balance_gwei = 34'000'000 * kGweiPerEth;
  std::uint64_t min_slashing_penalty_quotient = 4096;
  std::uint64_t proportional_slashing_multiplier = 3;
  std::uint64_t epochs_per_slashings_vector = 8192;
  std::uint64_t base_reward_factor = 64;
  CorrelationRounding rounding = CorrelationRounding::PerIncrement;
  DutyPenalties duties = DutyPenalties::Altair;
  bool missed_duties = true;  // penalties for missed duties until withdrawable
  // Offline validators (inactivity.hpp). The duty penalties' formula (phase0 or Altair) also
  // selects the inactivity penalty's.
  bool inactivity_leak = false;  // model the leak when an outage stops finality
  std::uint64_t inactivity_penalty_quotient = std::uint64_t{1} << 24;
  ExitChurn exit_churn = ExitChurn::Balance;
};

// The constants and formulas of a fork (domain.md section 2); Electra by default.
ConsensusParams consensus_params(Fork f, Gwei total_active_balance_gwei);

// Penalties for one slashed validator, in Gwei.
struct SlashingPenalty {
  Gwei initial = 0;       // at slash_validator: EB // MIN_SLASHING_PENALTY_QUOTIENT
  Gwei correlation = 0;   // at process_slashings, half-way through the window
  Gwei missed_duties = 0; // attestation penalties at each epoch until withdrawable
  Gwei total() const { return initial + correlation + missed_duties; }
};

Gwei integer_sqrt(std::uint64_t n);  // spec integer_squareroot

// get_base_reward of the fork's duty-penalty formula (phase0 or Altair+).
Gwei base_reward(const ConsensusParams& p, Gwei effective_balance_gwei);

// One epoch's attestation penalties of a validator that does not participate (source and target,
// and head before Altair), on effective balance `effective_balance_gwei`.
Gwei missed_attestation_penalty(const ConsensusParams& p, Gwei effective_balance_gwei);

// process_effective_balance_updates for a validator whose balance only falls: the effective
// balance drops to the balance floored to whole ETH once the balance is more than 0.25 ETH below
// it (HYSTERESIS_QUOTIENT 4, DOWNWARD_MULTIPLIER 1).
void update_effective_balance(Gwei balance, Gwei& effective_balance);

// Charges a constant `per_epoch` penalty for at most `epochs` epochs at effective balance
// `effective_balance`, stopping after the first epoch whose effective-balance update would lower
// it (so that stretches of unchanged effective balance cost one step, not one per epoch). Returns
// the epochs charged; `taken` is what was taken from `balance`, which never goes below zero.
std::uint64_t charge_epochs(Gwei& balance, Gwei effective_balance, Gwei per_epoch, std::uint64_t epochs, Gwei& taken);

// One validator of effective balance `effective_balance_gwei` (and the same balance) slashed; S =
// `slashed_in_window_gwei`, the effective balance slashed in the slashings vector around it (itself
// included). Follows the validator epoch by epoch to withdrawability: each epoch's duty penalty,
// the correlation penalty at epoch + 4096, and the effective-balance update with hysteresis after
// each epoch (so a 1 ETH initial penalty lowers the base of every later penalty, as on chain).
SlashingPenalty slashing_penalty(const ConsensusParams& p, Gwei effective_balance_gwei, Gwei slashed_in_window_gwei);

}  // namespace restake
