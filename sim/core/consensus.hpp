#pragma once
// Beacon-chain slashing penalties, in integer Gwei exactly as the consensus specs compute them
// (consensus-specs: phase0 .. electra beacon-chain.md: slash_validator, process_slashings,
// get_flag_index_deltas).
#include <cstdint>

namespace restake {

using Gwei = std::uint64_t;
inline constexpr Gwei kGweiPerEth = 1'000'000'000;
inline constexpr std::uint64_t kEpochsPerDay = 225;  // 86400 s / (32 slots * 12 s)

enum class CorrelationRounding {
  PerIncrement,  // Electra: adj // (T // 1 ETH) per ETH of effective balance
  WholeEth,      // phase0 .. Deneb: (EB/1ETH * adj // T) whole ETH, floored
};

// Electra defaults (consensus-specs electra/beacon-chain.md).
struct ConsensusParams {
  Gwei total_active_balance_gwei = 34'000'000 * kGweiPerEth;
  std::uint64_t min_slashing_penalty_quotient = 4096;
  std::uint64_t proportional_slashing_multiplier = 3;
  std::uint64_t epochs_per_slashings_vector = 8192;
  std::uint64_t base_reward_factor = 64;
  CorrelationRounding rounding = CorrelationRounding::PerIncrement;
  bool missed_duties = true;  // source+target penalties until withdrawable
};

// Penalties for one slashed validator, in Gwei.
struct SlashingPenalty {
  Gwei initial = 0;       // at slash_validator: EB // MIN_SLASHING_PENALTY_QUOTIENT
  Gwei correlation = 0;   // at process_slashings, half-way through the window
  Gwei missed_duties = 0; // source and target penalties while waiting to be withdrawable
  Gwei total() const { return initial + correlation + missed_duties; }
};

Gwei integer_sqrt(std::uint64_t n);  // spec integer_squareroot

// `slashed_in_window_gwei` is S: the effective balance slashed within the slashings vector around
// this validator's slashing (itself included).
SlashingPenalty slashing_penalty(const ConsensusParams& p, Gwei effective_balance_gwei,
                                 Gwei slashed_in_window_gwei);

}  // namespace restake
