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

struct ConsensusParams {
  Gwei total_active_balance_gwei = 34'000'000 * kGweiPerEth;
  std::uint64_t min_slashing_penalty_quotient = 4096;
  std::uint64_t proportional_slashing_multiplier = 3;
  std::uint64_t epochs_per_slashings_vector = 8192;
  std::uint64_t base_reward_factor = 64;
  CorrelationRounding rounding = CorrelationRounding::PerIncrement;
  DutyPenalties duties = DutyPenalties::Altair;
  bool missed_duties = true;  // penalties for missed duties until withdrawable
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

// One validator of effective balance `effective_balance_gwei` (and the same balance) slashed; S =
// `slashed_in_window_gwei`, the effective balance slashed in the slashings vector around it (itself
// included). Follows the validator epoch by epoch to withdrawability: each epoch's duty penalty,
// the correlation penalty at epoch + 4096, and the effective-balance update with hysteresis after
// each epoch (so a 1 ETH initial penalty lowers the base of every later penalty, as on chain).
SlashingPenalty slashing_penalty(const ConsensusParams& p, Gwei effective_balance_gwei, Gwei slashed_in_window_gwei);

}  // namespace restake
