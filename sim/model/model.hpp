#pragma once
// The restaking world as plain data, built once from a scenario and read-only during a run
// (shared by every thread). Indices refer into the Model's vectors.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "chain/consensus.hpp"
#include "model/distribution.hpp"

namespace restake {

inline constexpr double kDaysPerYear = 365.0;

enum class LossCause : std::size_t { BeaconSlashing, AvsSlashing, AvsFaultySlashing, Contract, Bridge, CascadeAttack, Inactivity };
inline constexpr std::size_t kLossCauseCount = 7;
const char* to_string(LossCause c);  // "beacon_slashing", "avs_slashing", ...

// The asset a balance is held in. ETH stake sits in beacon-chain validators; BTC stake (Babylon)
// is time-locked on Bitcoin, with no beacon chain: its only slashing comes from the services it secures.
enum class Asset { Eth, Btc };
inline constexpr std::size_t kAssetCount = 2;
const char* to_string(Asset a);  // "ETH", "BTC"

enum class SlashingMode { Shared, Unique };
enum class HolderKind { Lrt, Lst, Native };
enum class ContractKind { Contract, Bridge };
enum class SubsidyDecay { None, HalfLife, Cliff };
const char* to_string(HolderKind k);

struct Simulation {
  std::string name;
  std::string description;
  std::uint64_t trials = 100'000;
  std::uint64_t seed = 1;
  double horizon_days = 365.0;
};

struct Ethereum {
  ConsensusParams consensus;
  Distribution base_apr = Distribution::fixed(0.03);  // per year, drawn once per trial
};

struct Operator {
  std::string name;
  Asset asset = Asset::Eth;
  double btc_stake = 0.0;               // BTC operators (finality providers): BTC delegated to them
  std::uint64_t validators = 0;         // ETH operators
  Gwei effective_balance_gwei = 32 * kGweiPerEth;
  double fault_rate_per_year = 0.0;     // operator-level slashable incidents (Poisson rate)
  Distribution fault_fraction;          // share of its (still unslashed) validators an incident hits
  // In units of its asset.
  double stake() const {
    return asset == Asset::Btc ? btc_stake
                               : static_cast<double>(validators) * static_cast<double>(effective_balance_gwei) / 1e9;
  }
};

// A common-mode shock (client bug, cloud or remote-signer provider): when it fires, every
// member operator has an incident at the same moment.
struct CorrelationGroup {
  std::string name;
  double rate_per_year = 0.0;
  Distribution fraction;  // drawn for each member separately
  std::vector<std::size_t> members;
};

// A liveness failure (client bug, cloud or network outage): for its duration the member operators'
// validators do not attest, with a share of the whole network offline beside them. Penalised by
// inactivity.hpp: attestation penalties, and the inactivity leak when finality stops.
struct Outage {
  std::string name;
  double rate_per_year = 0.0;
  Distribution duration_days = Distribution::fixed(1.0);  // drawn per outage
  Distribution network_share = Distribution::fixed(0.0);  // share of all active stake offline, the members' included
  Distribution fraction = Distribution::fixed(1.0);       // share of each member's validators offline, drawn per member
  std::vector<std::size_t> operators;                     // the members
};

struct Protocol {
  std::string name;
  SlashingMode mode = SlashingMode::Shared;
  std::vector<std::size_t> contracts;  // core contracts every position through it sits on
};

struct Allocation {
  std::size_t op = 0;
  double magnitude = 1.0;  // unique mode: share of the operator's stake allocated to this AVS
};

struct SlashingCondition {
  std::string name;
  double rate_per_year = 0.0;  // per operator securing the AVS
  Distribution fraction;       // wadsToSlash: share of the slashable stake removed
};

struct RewardSchedule {
  double initial_apr = 0.0;  // on the stake securing the AVS
  double floor_apr = 0.0;    // organic rate left once subsidies are gone
  SubsidyDecay decay = SubsidyDecay::None;
  Distribution decay_days = Distribution::fixed(0.0);  // half-life or cliff date, drawn per trial
};

struct Avs {
  std::string name;
  std::size_t protocol = 0;
  Asset asset = Asset::Eth;  // of the stake securing it
  std::vector<Allocation> allocations;
  std::vector<SlashingCondition> conditions;
  double faulty_rate_per_year = 0.0;  // a faulty or rogue slashing of all its operators at once
  Distribution faulty_fraction = Distribution::fixed(0.0);
  RewardSchedule rewards;
  // Durvasula-Roughgarden cryptoeconomic security (domain.md section 4): what corrupting the
  // service is worth to an attacker, and the share of the stake securing it that corruption needs.
  double corruption_profit = 0.0;
  double attack_threshold = 0.5;
};

inline constexpr std::size_t kNoProtocol = static_cast<std::size_t>(-1);

struct Position {
  std::size_t op = 0;                  // the operator it is delegated to (restaking: whose AVSs can slash it)
  std::size_t validator_op = 0;        // whose validators hold the ETH (beacon-chain losses); usually op,
                                       // another operator for LST restakers (stETH staked by Lido's operators)
  double stake = 0.0;                  // in units of the operators' asset
  std::size_t protocol = kNoProtocol;  // kNoProtocol: staked, not restaked
};

struct BridgeExposure {
  std::size_t contract = 0;
  double share = 0.0;  // share of the holder's value bridged through it
};

struct Holder {
  std::string name;
  HolderKind kind = HolderKind::Lrt;
  Asset asset = Asset::Eth;  // of all its positions
  std::vector<Position> positions;
  double reward_fee = 0.0;                // share of all rewards kept by the protocol/operators
  std::vector<std::size_t> contracts;     // held through these (whole balance)
  std::vector<BridgeExposure> bridged;    // part of the balance held through bridges
  double value() const;  // initial, in units of its asset
};

struct Contract {
  std::string name;
  ContractKind kind = ContractKind::Contract;
  double failure_rate_per_year = 0.0;
  Distribution loss_given_failure = Distribution::fixed(1.0);
  std::vector<std::size_t> depends_on;
};

struct CoveragePool {
  std::string name;
  Asset asset = Asset::Eth;
  double balance = 0.0;  // in units of its asset
  std::array<bool, kLossCauseCount> covers{};
  std::vector<std::size_t> holders;    // covered holders
  std::vector<std::size_t> operators;  // if not empty: only losses from these operators' faults and slashes (a bond)
};

// Deterministic what-ifs forced on top of (or instead of) the random events.
struct ForcedOperatorFault {
  std::size_t op = 0;
  Distribution day = Distribution::fixed(0.0);
  Distribution fraction = Distribution::fixed(1.0);  // share of its validators
};
struct ForcedAvsFailures {
  std::vector<std::size_t> avs;  // the set
  std::size_t count = 1;         // exactly this many of the set fail, drawn uniformly per trial
  Distribution day = Distribution::fixed(0.0);
  Distribution fraction = Distribution::fixed(1.0);  // share each slashes of every operator's slashable stake
};
struct ForcedContractFailure {
  std::size_t contract = 0;
  Distribution day = Distribution::fixed(0.0);
  Distribution loss = Distribution::fixed(1.0);  // loss given failure
};
struct ForcedOutage {
  std::size_t outage = 0;  // its duration, shares and members as the [[outage]] defines them
  Distribution day = Distribution::fixed(0.0);
};
struct Stress {
  bool random_events = true;  // false: only the forced events happen
  std::vector<ForcedOperatorFault> operator_faults;
  std::vector<ForcedAvsFailures> avs_failures;
  std::vector<ForcedContractFailure> contract_failures;
  std::vector<ForcedOutage> outages;
};

// [tail]: importance sampling towards one holder's rare losses. The tilt is found by cross-entropy
// pilot rounds (trial/cross_entropy.hpp); the run then weighs each trial by its likelihood ratio.
struct TailTarget {
  std::size_t holder = 0;
  // One of the two is set: the event "loss >= `loss`" (a share of the holder's initial value, net
  // of coverage, in (0, 1]), or the loss quantile at level `quantile` (in [0.5, 1)), whose value
  // the pilot rounds estimate as they go.
  double loss = 0.0;
  double quantile = 0.0;
  bool is_quantile() const { return quantile > 0.0; }
};

struct TailSearch {
  TailTarget target;
  std::uint64_t pilot_trials = 10'000;  // per round
  int max_rounds = 8;
  double elite_share = 0.1;  // rho: each round's level is the pilot's (1 - rho) quantile, at most the target
  double smoothing = 0.7;    // factor = smoothing x update + (1 - smoothing) x previous factor
  double defensive = 0.1;    // share of the run's trials drawn at the model's rates: every weight <= 1 / defensive
};

// At most this many events are expected in one trial (the sum over the random sources of rate x
// horizon x events per firing), tilted rates included: a trial holds its events in memory, about
// 250 bytes each (docs/scenario-format.md, "Events per trial"). Ours expect a few.
inline constexpr double kMaxExpectedEventsPerTrial = 100'000;

struct Model {
  Simulation simulation;
  Ethereum ethereum;
  std::vector<Operator> operators;
  std::vector<CorrelationGroup> groups;
  std::vector<Outage> outages;
  std::vector<Protocol> protocols;
  std::vector<Avs> avs;
  std::vector<Holder> holders;
  std::vector<Contract> contracts;
  std::vector<CoveragePool> coverage_pools;  // pay in this order
  Stress stress;
  std::array<double, kAssetCount> usd_price{};  // per unit; 0 where the scenario gives none
  // Durvasula-Roughgarden attacks inside trials ([cascade] in_trials): after a trial's slashings,
  // a coalition of operators that can now corrupt services for more than its remaining stake does.
  bool cascade_in_trials = false;
  std::optional<TailSearch> tail;  // [tail]; unset: plain Monte Carlo
};

// Annual probability of at least one event -> Poisson rate per year.
double rate_from_annual_probability(double p);

}  // namespace restake
