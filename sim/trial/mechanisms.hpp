#pragma once
// The registry of a trial's mechanisms (mechanism.hpp), one file each in mechanisms/.
#include <cstddef>
#include <memory>
#include <vector>

#include "market/episode.hpp"
#include "model/model.hpp"
#include "trial/mechanism.hpp"
#include "trial/world.hpp"

namespace restake {

// Every mechanism the model uses, in registration order: the order their begin, loss and end
// hooks run (rewards accrue before the horizon's cascade attack, for instance).
std::vector<std::unique_ptr<const MechanismType>> make_mechanisms(const Model& m, const World& w);

// Each mechanism's factory (nullptr: not used by this model).
using MechanismFactory = std::unique_ptr<const MechanismType> (*)(const Model&, const World&);
std::unique_ptr<const MechanismType> make_beacon_slashing(const Model&, const World&);
std::unique_ptr<const MechanismType> make_outages(const Model&, const World&);
std::unique_ptr<const MechanismType> make_avs_slashing(const Model&, const World&);
std::unique_ptr<const MechanismType> make_contract_failures(const Model&, const World&);
std::unique_ptr<const MechanismType> make_withdrawals(const Model&, const World&);
std::unique_ptr<const MechanismType> make_coverage_pools(const Model&, const World&);
std::unique_ptr<const MechanismType> make_rewards(const Model&, const World&);
std::unique_ptr<const MechanismType> make_cascade_attacks(const Model&, const World&);
std::unique_ptr<const MechanismType> make_markets(const Model&, const World&);

// The market layer's values as an episode starts (each token unit worth 1 at NAV): token k's pool,
// redemption, arbitrageurs, sellers' hours (not their drawn share and trigger) and its lending
// markets, in the model's order; and the episode's grid.
market::TokenMarket token_market(const Model& m, std::size_t token);  // with its books on the pool's chain
market::LendingBook lending_book(const LendingMarketSpec& l);
market::EpisodeGrid episode_grid(const MarketGrid& g);

class Trial;

// What a holder's or an operator's departure after a fault reacts to: sampled events that can
// take from stake on these validators or restaked through these slots.
struct FaultReach {
  std::vector<bool> validators_of;  // [operator]
  std::vector<bool> slots;          // [slot]
};

// The day of the trial's first sampled event that reaches: a beacon-chain fault, an AVS slashing's
// fault, a faulty slashing or a key theft. Infinity: none.
double first_fault(const Trial& trial, const FaultReach& reach);

// The day a departure ([[withdrawal]], [[allocation_change]]) is requested: its drawn day, or,
// after_fault, that many days after the first fault reaching it (infinity, never, without one).
double departure_day(const Trial& trial, double drawn, bool after_fault, const FaultReach& reach);

// When stake whose escrow ends at `end` (requested `now`) is out of reach: just after `end`, so
// that a slash landing exactly then - sampled for that day or delayed there by a window - still
// reaches it; at once without an escrow.
double out_of_reach(double end, double now);

// Every contract that a failure of `c` reaches: itself and all that depend on it, directly or not.
std::vector<bool> reached_by_failure(const Model& m, std::size_t c);

}  // namespace restake
