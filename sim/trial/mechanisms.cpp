#include "trial/mechanisms.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "trial/trial.hpp"

namespace restake {

std::vector<std::unique_ptr<const MechanismType>> make_mechanisms(const Model& m, const World& w) {
  // The registration: one line per mechanism.
  constexpr MechanismFactory kRegistered[] = {
      make_beacon_slashing,    // OperatorFault: slashing penalties (chain/consensus)
      make_outages,            // Outage: offline and inactivity-leak penalties (chain/inactivity)
      make_avs_slashing,       // AvsSlashing, AvsFaultySlashing, KeyCompromise: ELIP-002 magnitudes, in time
      make_contract_failures,  // ContractFailure: the contract DAG and bridges
      make_withdrawals,        // its own follow-ups: leaving stake in escrow, then out
      make_coverage_pools,     // loss hook: pools and operator bonds pay
      make_rewards,            // change and end hooks: base and AVS rewards with subsidy decay
      make_cascade_attacks,    // end hook: Durvasula-Roughgarden attacks ([cascade] in_trials)
      make_markets,            // loss and end hooks: market episodes after losses ([[token]]), after coverage and attacks
  };
  std::vector<std::unique_ptr<const MechanismType>> out;
  for (MechanismFactory make : kRegistered)
    if (auto type = make(m, w)) out.push_back(std::move(type));
  return out;
}

double first_fault(const Trial& trial, const FaultReach& reach) {
  // Plain references, not a structured binding: clang 14 (the fuzz build) cannot capture one.
  const std::vector<bool>& validators_of = reach.validators_of;
  const std::vector<bool>& slots = reach.slots;
  const Model& m = trial.model();
  const World& w = trial.world();
  const auto any_member = [&](std::size_t avs) {
    for (std::size_t k = 0; k < m.avs[avs].allocations.size(); ++k)
      if (slots[w.slot_of_avs_member[avs][k]]) return true;
    return false;
  };
  for (const Event& e : trial.sampled_events()) {
    switch (e.kind) {
      case EventKind::OperatorFault:
        if (validators_of[e.entity]) return e.day;
        break;
      case EventKind::AvsSlashing:
        if (slots[w.slot_of_avs_member[e.entity][e.member]]) return e.day;
        break;
      case EventKind::AvsFaultySlashing:
        if (any_member(e.entity)) return e.day;
        break;
      case EventKind::KeyCompromise:
        if (e.member == 0 ? any_member(e.entity)
                          : std::any_of(w.slots_of_op[e.entity].begin(), w.slots_of_op[e.entity].end(),
                                        [&](std::size_t s) { return static_cast<bool>(slots[s]); }))
          return e.day;
        break;
      default: break;
    }
  }
  return std::numeric_limits<double>::infinity();
}

double departure_day(const Trial& trial, double drawn, bool after_fault, const FaultReach& reach) {
  return after_fault ? drawn + first_fault(trial, reach) : drawn;
}

double out_of_reach(double end, double now) {
  return end > now ? std::nextafter(end, std::numeric_limits<double>::infinity()) : end;
}

}  // namespace restake
