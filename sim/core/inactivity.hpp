#pragma once
// Offline validators: the attestation penalties they pay every epoch and, when so much stake is
// offline that the chain stops finalising, the inactivity leak - in integer Gwei as the consensus
// specs compute them (altair+ process_inactivity_updates and get_inactivity_penalty_deltas; phase0
// get_inactivity_penalty_deltas), with the ejection at 16 ETH and the exit queue it waits in.
//
// An outage takes a share q of all active stake offline for a number of epochs. Finality needs 2/3
// of the active balance to attest: with q > 1/3 the chain stops finalising, and after
// MIN_EPOCHS_TO_INACTIVITY_PENALTY epochs it leaks the offline validators' balances until the online
// ones hold 2/3 again (or the outage ends). The course of the network (when the leak starts and
// stops, when its offline validators are ejected) does not depend on which validator one follows,
// so it is computed once per outage (`leak_course`) and then applied to each validator followed.
#include <cstdint>
#include <limits>

#include "consensus.hpp"

namespace restake {

inline constexpr std::uint64_t kMinEpochsToInactivityPenalty = 4;
inline constexpr std::uint64_t kInactivityScoreBias = 4;
inline constexpr std::uint64_t kInactivityScoreRecoveryRate = 16;
inline constexpr Gwei kEjectionBalance = 16 * kGweiPerEth;
inline constexpr Gwei kMinActivationBalance = 32 * kGweiPerEth;
inline constexpr std::uint64_t kMaxSeedLookahead = 4;  // an exit takes effect 1 + 4 epochs after it starts
inline constexpr std::uint64_t kNever = std::numeric_limits<std::uint64_t>::max();

// The network through one outage. Epochs count from the outage's first (0) to its last (epochs - 1).
struct LeakCourse {
  std::uint64_t epochs = 0;
  // First epoch at which the chain is finalised again (kNever: not during the outage). Before it,
  // the finality delay of epoch k is k: the epoch before the outage was the last finalised.
  std::uint64_t finalized_from = kNever;
  bool leak_enabled = false;  // ConsensusParams::inactivity_leak
  // The network's offline validators reach the ejection balance at epoch `ejected_at` (kNever: they
  // do not) and leave through the exit queue, evenly over epochs [exit_from, exit_from + exit_epochs).
  std::uint64_t ejected_at = kNever;
  double exit_from = 0.0;
  double exit_epochs = 0.0;

  std::uint64_t finality_delay(std::uint64_t k) const { return k < finalized_from ? k : 0; }
  bool in_leak(std::uint64_t k) const { return leak_enabled && finality_delay(k) > kMinEpochsToInactivityPenalty; }
  // Epochs of the outage in the leak.
  std::uint64_t leak_epochs() const;
  // Share of the network's ejected validators that have left the validator set by epoch k.
  double exited_share(std::uint64_t k) const;
};

// `offline_share` (q) of the total active balance T = p.total_active_balance_gwei goes offline for
// `epochs` epochs. The rest of the network's offline stake is taken to be 32 ETH validators that
// started at 32 ETH, and T, the online stake and the exit queue's backlog to be as they were.
LeakCourse leak_course(const ConsensusParams& p, double offline_share, std::uint64_t epochs);

// Gwei lost by one validator of effective balance (and balance) `effective_balance_gwei` that is
// offline through the whole outage. When it is ejected together with the network's offline
// validators, its place in the exit queue is unknown: the figures are then expected values over it
// (otherwise whole Gwei).
struct OfflinePenalty {
  double missed_duties = 0.0;  // attestation penalties (source, target; head before Altair)
  double inactivity = 0.0;     // inactivity penalties (phase0: also the leak's cancelling of rewards)
  std::uint64_t ejected_at = kNever;  // epoch its effective balance reached 16 ETH
  double total() const { return missed_duties + inactivity; }
};
OfflinePenalty offline_penalty(const ConsensusParams& p, const LeakCourse& course, Gwei effective_balance_gwei);

}  // namespace restake
