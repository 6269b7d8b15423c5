#pragma once
// Offline validators: the attestation penalties they pay every epoch and, when so much stake is
// offline that the chain stops finalising, the inactivity leak - in integer Gwei as the consensus
// specs compute them (altair+ process_inactivity_updates and get_inactivity_penalty_deltas; phase0
// get_inactivity_penalty_deltas), with the ejection at 16 ETH and the exit queue it waits in.
//
// An outage takes a share q of all active stake offline for a number of epochs. Finality needs 2/3
// of the active balance to attest: with q > 1/3 the chain stops finalising, and once the finality
// delay exceeds MIN_EPOCHS_TO_INACTIVITY_PENALTY it leaks the offline validators' balances until the
// online ones hold 2/3 again (or the outage ends).
//
// Epochs count the outage's missed epochs: k = 0 is the first epoch the validators miss. Missed
// epoch k is charged at the epoch transition at the end of epoch k + 1 (rewards and penalties look
// at the previous epoch), which is also where justification, ejection and the effective-balance
// update of "step k" happen. The course of the network (when the leak starts and
// stops, when its offline validators are ejected) does not depend on which validator one follows,
// so it is computed once per outage (`leak_course`) and then applied to each validator followed.
#include <cstdint>
#include <limits>

#include "chain/consensus.hpp"

namespace restake {

inline constexpr std::uint64_t kMinEpochsToInactivityPenalty = 4;
inline constexpr std::uint64_t kInactivityScoreBias = 4;
inline constexpr std::uint64_t kInactivityScoreRecoveryRate = 16;
inline constexpr Gwei kEjectionBalance = 16 * kGweiPerEth;
inline constexpr Gwei kMinActivationBalance = 32 * kGweiPerEth;
inline constexpr std::uint64_t kMaxSeedLookahead = 4;  // an exit takes effect 1 + 4 epochs after it starts
// Ejected at step k (the transition ending epoch k + 1), a validator's exit epoch is k + 1 + 1 + 4:
// it is still charged for missed epochs k + 1 .. k + 5.
inline constexpr std::uint64_t kExitAfterEjection = 2 + kMaxSeedLookahead;
inline constexpr std::uint64_t kNever = std::numeric_limits<std::uint64_t>::max();
// With (almost) everyone offline no block is made and the chain halts rather than leaks: an outage's
// network share is at most this (scenarios are held to it; leak_course clamps to it).
inline constexpr double kMaxOfflineShare = 0.99;

// MIN_VALIDATOR_WITHDRAWABILITY_DELAY: an exited validator's balance is withdrawable this many
// epochs after its exit epoch.
inline constexpr std::uint64_t kMinValidatorWithdrawabilityDelay = 256;

// Days for `eth` of effective balance to pass the exit queue at the fork's churn (Electra: 256 ETH
// per epoch, 57,600 ETH a day, with T of 34M ETH; before: validators per epoch, counted at 32 ETH).
double exit_queue_days(const ConsensusParams& p, double eth);

// The network through one outage of `epochs` missed epochs (0 .. epochs - 1).
struct LeakCourse {
  std::uint64_t epochs = 0;
  // First missed epoch charged after the chain is finalised again (kNever: none). Before it, missed
  // epoch k is charged with a finality delay of k + 2: the last epoch finalised is the one two
  // before the outage (the epoch before it can only be finalised by justifying the first missed one).
  std::uint64_t finalized_from = kNever;
  bool leak_enabled = false;  // ConsensusParams::inactivity_leak
  // The network's offline validators reach the ejection balance at step `ejected_at` (kNever: they
  // do not) and leave through the exit queue, evenly over [exit_from, exit_from + exit_epochs): a
  // validator leaving at x is charged for missed epochs k < x.
  std::uint64_t ejected_at = kNever;
  double exit_from = 0.0;
  double exit_epochs = 0.0;

  std::uint64_t finality_delay(std::uint64_t k) const { return k < finalized_from ? k + 2 : 0; }
  bool in_leak(std::uint64_t k) const { return leak_enabled && finality_delay(k) > kMinEpochsToInactivityPenalty; }
  // No epoch from k on is in the leak (finality is back, or the leak is not modelled).
  bool leak_over(std::uint64_t k) const { return !leak_enabled || k >= finalized_from; }
  // Epochs of the outage in the leak.
  std::uint64_t leak_epochs() const;
  // Share of the network's ejected validators that have left the validator set by epoch k.
  double exited_share(std::uint64_t k) const;
};

// `offline_share` (q, in [0, 1): with no one online no block is made and the chain halts) of the total
// active balance T = p.total_active_balance_gwei misses `epochs` epochs. The rest of the network's
// offline stake is taken to be 32 ETH validators that started at 32 ETH, and T, the online stake and
// the exit queue's backlog to be as they were.
LeakCourse leak_course(const ConsensusParams& p, double offline_share, std::uint64_t epochs);

// Gwei lost by one validator of effective balance (and balance) `effective_balance_gwei` that is
// offline through the whole outage. When it is ejected together with the network's offline
// validators, its place in the exit queue is unknown: the figures are then expected values over it
// (otherwise whole Gwei).
struct OfflinePenalty {
  double missed_duties = 0.0;  // attestation penalties (source, target; head before Altair)
  double inactivity = 0.0;     // inactivity penalties (phase0: also the leak's cancelling of rewards)
  std::uint64_t ejected_at = kNever;  // step at which its effective balance was found at 16 ETH
  double total() const { return missed_duties + inactivity; }
};
OfflinePenalty offline_penalty(const ConsensusParams& p, const LeakCourse& course, Gwei effective_balance_gwei);

}  // namespace restake
