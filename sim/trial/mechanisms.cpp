#include "trial/mechanisms.hpp"

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
  };
  std::vector<std::unique_ptr<const MechanismType>> out;
  for (MechanismFactory make : kRegistered)
    if (auto type = make(m, w)) out.push_back(std::move(type));
  return out;
}

}  // namespace restake
