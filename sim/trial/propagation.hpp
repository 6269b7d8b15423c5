#pragma once
// Turns one trial's draws into losses and yield on every balance: beacon-chain penalties on
// operators' validators, AVS slashing through shared or unique (allocated) stake, contract and
// bridge failures through the dependency DAG, coverage pools, and rewards accrued between events.
#include <cstddef>
#include <optional>
#include <span>
#include <vector>

#include "security/cascade.hpp"
#include "stats/fixed_sum.hpp"
#include "chain/inactivity.hpp"
#include "model/model.hpp"
#include "trial/sampler.hpp"

namespace restake {

inline constexpr std::size_t kNone = static_cast<std::size_t>(-1);

// Index structures derived once from the model; read-only during a run.
struct PropagationPlan {
  // A restaked (operator, protocol) pair: one maxMagnitude and one allocation per AVS member.
  struct Slot {
    std::size_t op = 0;
    std::size_t protocol = 0;
    SlashingMode mode = SlashingMode::Shared;
    std::vector<std::size_t> avs;         // AVSs this operator secures through the protocol
    std::vector<double> allocation;       // initial magnitude per AVS (unique mode)
    std::size_t first_alloc = 0;          // offset into the trial's flat allocation array
  };
  struct FlatPosition {
    std::size_t holder = 0;
    std::size_t op = 0;        // whose validators hold it (beacon-chain losses)
    std::size_t slot = kNone;  // restaked (delegated operator, protocol); kNone: staked, not restaked
    double stake = 0.0;  // units of the holder's asset
  };
  // A contract failure takes `share` x loss-given-failure of this position's value.
  struct Reach {
    std::size_t holder = 0;
    std::size_t position = 0;
    double share = 1.0;
  };

  std::vector<Slot> slots;
  std::size_t allocation_count = 0;
  std::vector<FlatPosition> positions;
  std::vector<std::vector<std::size_t>> positions_of_op;
  std::vector<std::vector<std::size_t>> positions_of_slot;
  std::vector<std::vector<std::size_t>> slot_of_avs_member;  // [avs][allocation index] -> slot
  std::vector<std::vector<std::size_t>> index_in_slot;       // [avs][allocation index] -> member in slot
  std::vector<std::vector<Reach>> reach_of_contract;
  std::vector<std::vector<std::size_t>> pools_of_holder;     // in paying order
  std::vector<std::vector<std::size_t>> slots_of_op;         // restaked slots of each operator
  // [cascade] in_trials: the restaking graph, and the attack it admits before any slashing.
  std::optional<RestakingGraph> cascade_graph;
  Coalition unshocked_attack;
  std::vector<double> holder_value;  // initial, units of its asset
};
PropagationPlan make_propagation_plan(const Model& m);

// Every contract that a failure of `c` reaches: itself and all that depend on it, directly or not.
std::vector<bool> reached_by_failure(const Model& m, std::size_t c);

// One trial's outputs, written into rows owned by the caller.
struct TrialRecord {
  std::span<double> loss_fraction;       // [holder] net of coverage, share of initial value
  std::span<double> net_return;          // [holder] over the horizon, share of initial value
  std::span<double> covered_fraction;    // [holder] paid by pools
  std::span<double> loss_by_cause;       // [holder * kLossCauseCount] gross, share of initial value
  std::span<double> avs_stake_lost;  // [avs] holders' stake slashed by each AVS, units of its asset
  std::span<double> pool_drawdown;   // [pool] units of its asset
  // [avs * holders] share of each holder's initial value lost to each AVS's slashings (gross),
  // ADDED to: an accumulator over many trials (one per thread), not a row of this trial.
  std::span<FixedSum> avs_holder_loss;
};

// The last outage priced: the members of one outage share its course, and fixed durations and
// shares (stress tests) repeat it in every trial. A pure function of its key, so reuse across
// trials cannot make results depend on the thread.
struct OutagePriceCache {
  double network_share = -1.0;
  std::uint64_t epochs = 0;
  LeakCourse course;
  Gwei effective_balance = 0;  // of the last validator priced on `course` (0: none)
  double per_validator_gwei = 0.0;
};

// Days during which a share of an operator's validators is offline (an outage): they earn nothing.
struct OfflineWindow {
  std::size_t op = 0;
  double from = 0.0, to = 0.0;  // days
  double share = 0.0;           // of the operator's validators
};

// Per-thread working memory, reused across trials.
struct TrialWorkspace {
  std::vector<Event> events;
  std::vector<std::uint64_t> slashed_validators;  // per event (beacon)
  std::vector<Gwei> beacon_loss_gwei;             // per event (beacon slashings and outages)
  OutagePriceCache outage_price;
  std::vector<OfflineWindow> offline;             // this trial's outages
  std::vector<std::uint64_t> remaining_validators;
  std::vector<Gwei> op_balance_gwei;
  std::vector<double> max_magnitude;   // per slot
  std::vector<double> allocation;      // flat, per slot member
  std::vector<double> contract_factor; // per position: contract losses and coverage payouts
  std::vector<double> position_loss;   // per position of the event being applied
  std::vector<double> beacon_restored; // per position: coverage of beacon losses, in units of the beacon factor
  RestakingGraph cascade_graph;        // the plan's graph with this trial's remaining stakes
  std::vector<double> rewards;     // per position
  std::vector<std::int64_t> beacon_epoch;   // per slashing event, in time order
  std::vector<Gwei> beacon_prefix_gwei;     // prefix sums of slashed effective balance
  std::vector<double> accrued_until;        // per position: day its rewards are accrued to
  std::vector<double> subsidy_to_horizon;   // per AVS
  std::vector<double> holder_rewards;  // [holder]
  std::vector<double> gross;           // [holder * cause]
  std::vector<double> covered;         // [holder] paid by pools
  std::vector<double> uncovered;       // [holder] borne by the holder
  std::vector<double> pool_left;
};

void propagate(const Model& m, const PropagationPlan& plan, const TrialDraws& draws, TrialWorkspace& scratch,
               const TrialRecord& out);

}  // namespace restake
