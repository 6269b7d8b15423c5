#include "chain/inactivity.hpp"

#include <algorithm>
#include <cmath>

namespace restake {

namespace {

__extension__ typedef unsigned __int128 u128;  // a 2048 ETH balance times a score can exceed 2^64

struct OfflineValidator {
  Gwei balance = 0;
  Gwei effective_balance = 0;
  std::uint64_t score = 0;  // inactivity score (Altair+)
  // The per-epoch attestation penalty and base reward of `priced_at` (an isqrt each: too dear per epoch).
  Gwei priced_at = 0, duties = 0, reward = 0;
  void price(const ConsensusParams& p) {
    if (priced_at == effective_balance) return;
    priced_at = effective_balance;
    duties = missed_attestation_penalty(p, effective_balance);
    reward = base_reward(p, effective_balance);
  }
};

struct EpochCharge {
  Gwei duties = 0;
  Gwei inactivity = 0;
};

Gwei charge(Gwei& balance, Gwei penalty) {  // decrease_balance: never below zero
  const Gwei taken = std::min(balance, penalty);
  balance -= taken;
  return taken;
}

// One epoch of a validator that does not attest, in the order of process_epoch: inactivity score
// update, then the attestation penalties, then the inactivity penalty. The caller checks the
// ejection and updates the effective balance after it.
EpochCharge offline_epoch(const ConsensusParams& p, const LeakCourse& c, std::uint64_t k, OfflineValidator& v) {
  EpochCharge out;
  const Gwei eb = v.effective_balance;
  const bool leak = c.in_leak(k);
  v.price(p);
  out.duties = charge(v.balance, v.duties);
  if (p.duties == DutyPenalties::Phase0) {
    // phase0: in a leak every validator loses BASE_REWARDS_PER_EPOCH base rewards less the proposer
    // reward (cancelling an attester's rewards), and a non-attester also EB * finality_delay // 2^26.
    if (leak) {
      const Gwei penalty = 4 * v.reward - v.reward / 8 +
                           static_cast<Gwei>(static_cast<u128>(eb) * c.finality_delay(k) / p.inactivity_penalty_quotient);
      out.inactivity = charge(v.balance, penalty);
    }
    return out;
  }
  v.score += kInactivityScoreBias;
  if (!leak) v.score -= std::min(kInactivityScoreRecoveryRate, v.score);
  const u128 denominator = static_cast<u128>(kInactivityScoreBias) * p.inactivity_penalty_quotient;
  out.inactivity = charge(v.balance, static_cast<Gwei>(static_cast<u128>(eb) * v.score / denominator));
  return out;
}

// Per epoch, what leaves the validator set: ETH of effective balance (Electra) or validators.
double exit_churn(const ConsensusParams& p) {
  const Gwei total = p.total_active_balance_gwei;
  if (p.exit_churn == ExitChurn::Balance) {
    // get_activation_exit_churn_limit: min(256 ETH, max(128 ETH, T // 65536) floored to whole ETH)
    Gwei churn = std::max<Gwei>(128 * kGweiPerEth, total / 65536);
    churn -= churn % kGweiPerEth;
    return static_cast<double>(std::min<Gwei>(256 * kGweiPerEth, churn));
  }
  // get_validator_churn_limit: max(4, active validators // 65536), validators counted at 32 ETH
  return static_cast<double>(std::max<std::uint64_t>(4, total / kMinActivationBalance / 65536));
}

}  // namespace

double exit_queue_days(const ConsensusParams& p, double eth) {
  const double per_epoch = p.exit_churn == ExitChurn::Balance ? exit_churn(p) / static_cast<double>(kGweiPerEth)
                                                              : exit_churn(p) * static_cast<double>(kMinActivationBalance / kGweiPerEth);
  return eth / per_epoch / static_cast<double>(kEpochsPerDay);
}

std::uint64_t LeakCourse::leak_epochs() const {
  if (!leak_enabled) return 0;
  const std::uint64_t first = kMinEpochsToInactivityPenalty - 1;  // finality delay first above 4
  const std::uint64_t end = std::min(epochs, finalized_from);
  return end > first ? end - first : 0;
}

double LeakCourse::exited_share(std::uint64_t k) const {
  if (ejected_at == kNever || static_cast<double>(k) < exit_from) return 0.0;
  return std::min(1.0, (static_cast<double>(k) - exit_from + 1.0) / std::max(exit_epochs, 1.0));
}

LeakCourse leak_course(const ConsensusParams& p, double q, std::uint64_t epochs) {
  q = std::clamp(q, 0.0, kMaxOfflineShare);
  LeakCourse c;
  c.epochs = epochs;
  c.leak_enabled = p.inactivity_leak;
  const double total = static_cast<double>(p.total_active_balance_gwei);
  const double online = (1.0 - q) * total;
  const double offline_validators = q * total / static_cast<double>(kMinActivationBalance);
  OfflineValidator v{kMinActivationBalance, kMinActivationBalance};
  for (std::uint64_t k = 0; k < epochs; ++k) {
    // process_justification_and_finalization: epochs are justified when attesters hold 2/3 of the
    // active balance (both epochs k and k + 1 at once, with the same balances), and the next
    // transition finalises k + 1: missed epoch k is still charged in the leak, k + 1 no longer.
    const double offline = offline_validators * static_cast<double>(v.effective_balance) * (1.0 - c.exited_share(k));
    if (c.finalized_from == kNever && 3.0 * online >= 2.0 * (online + offline)) c.finalized_from = k + 1;
    offline_epoch(p, c, k, v);
    // process_registry_updates: ejected at 16 ETH, leaving once the queue ahead has gone.
    if (c.ejected_at == kNever && v.effective_balance <= kEjectionBalance) {
      c.ejected_at = k;
      c.exit_from = static_cast<double>(k + kExitAfterEjection);
      const double per_validator = p.exit_churn == ExitChurn::Balance ? static_cast<double>(v.effective_balance) : 1.0;
      c.exit_epochs = offline_validators * per_validator / exit_churn(p);
    }
    update_effective_balance(v.balance, v.effective_balance);
    // Nothing left to happen: finalising again, no score left to leak with, and ejected already
    // or too far above 16 ETH for the attestation penalties of the epochs left to get there.
    if (c.leak_over(k) && v.score == 0) {
      v.price(p);
      const double left = static_cast<double>(epochs - k - 1) * static_cast<double>(v.duties);
      if (c.ejected_at != kNever || static_cast<double>(v.balance) - left >= static_cast<double>(kEjectionBalance + kGweiPerEth)) break;
    }
  }
  return c;
}

OfflinePenalty offline_penalty(const ConsensusParams& p, const LeakCourse& c, Gwei eb) {
  OfflinePenalty out;
  OfflineValidator v{eb, eb};
  bool with_network = false;      // ejected with the network's offline validators: shares their queue
  double exit_at = HUGE_VAL;      // otherwise: the epoch it leaves (penalties stop)
  for (std::uint64_t k = 0; k < c.epochs; ++k) {
    // Quiet from here on (no leak ahead, no score, not ejected nor about to be): the same
    // attestation penalty every epoch until the effective balance drops, charged at once.
    if (c.leak_over(k) && v.score == 0 && exit_at == HUGE_VAL && !with_network &&
        v.effective_balance > kEjectionBalance) {
      v.price(p);
      Gwei taken = 0;
      k += charge_epochs(v.balance, v.effective_balance, v.duties, c.epochs - k, taken) - 1;
      out.missed_duties += static_cast<double>(taken);
      update_effective_balance(v.balance, v.effective_balance);
      continue;
    }
    const double active = with_network ? 1.0 - c.exited_share(k) : (static_cast<double>(k) < exit_at ? 1.0 : 0.0);
    if (active == 0.0 || v.balance == 0) break;
    const EpochCharge e = offline_epoch(p, c, k, v);
    out.missed_duties += active * static_cast<double>(e.duties);
    out.inactivity += active * static_cast<double>(e.inactivity);
    if (out.ejected_at == kNever && v.effective_balance <= kEjectionBalance) {
      out.ejected_at = k;
      const double own = static_cast<double>(k + kExitAfterEjection);
      if (k == c.ejected_at) with_network = true;
      else if (c.ejected_at == kNever || k < c.ejected_at) exit_at = own;  // the queue is empty
      else exit_at = std::max(own, c.exit_from + c.exit_epochs);          // behind the network's
    }
    update_effective_balance(v.balance, v.effective_balance);
  }
  return out;
}

}  // namespace restake
