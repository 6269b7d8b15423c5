#pragma once
// The restaking world as plain data, built once from a scenario and read-only during a run
// (shared by every thread). Indices refer into the Model's vectors.
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "chain/consensus.hpp"
#include "model/distribution.hpp"

namespace restake {

inline constexpr double kDaysPerYear = 365.0;

enum class LossCause : std::size_t {
  BeaconSlashing, AvsSlashing, AvsFaultySlashing, Contract, Bridge, CascadeAttack, Inactivity,
  KeyCompromise,  // a thief with an AVS's or an operator's keys drains stake through redistribution (ELIP-006)
};
inline constexpr std::size_t kLossCauseCount = 8;
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

// Stolen keys (ELIP-006 redistributable slashing): whoever holds the keys of a redistributable
// operator set's slasher and recipient can slash its allocated stake to themselves. ELIP-016's
// resolution delay holds slashed funds before they are redistributed, so a pause can stop a drain:
// pausers act with probability `pause_probability`, `pause_delay_days` after the theft (drawn); a
// drain is stopped when they act before its funds are released (Protocol::cancels). ELIP-006
// redistributes token (ERC-20) stake only: native beacon-chain ETH cannot be drained.
struct KeyCompromise {
  double rate_per_year = 0.0;
  Distribution drain = Distribution::fixed(1.0);  // share of the stake it can reach that is drained
  double pause_probability = 0.0;
  Distribution pause_delay_days = Distribution::fixed(0.0);
  bool possible() const { return rate_per_year > 0.0; }
};

struct Operator {
  std::string name;
  Asset asset = Asset::Eth;
  double btc_stake = 0.0;               // BTC operators (finality providers): BTC delegated to them
  std::uint64_t validators = 0;         // ETH operators
  Gwei effective_balance_gwei = 32 * kGweiPerEth;
  double fault_rate_per_year = 0.0;     // operator-level slashable incidents (Poisson rate)
  Distribution fault_fraction;          // share of its (still unslashed) validators an incident hits
  // ELIP-002 ALLOCATION_DELAY: an allocation it makes takes effect after this many days (may be 0).
  // A thief with its key allocates its stake to an operator set of its own, then drains it.
  double allocation_delay_days = 0.0;
  KeyCompromise key_compromise;
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

// A restaking protocol's rules in time (docs/scenario-format.md, [[protocol]]; domain.md 6b).
// All zero: a slash lands the moment its fault happens, on the stake there, and leaving stake
// leaves at once.
struct Protocol {
  std::string name;
  SlashingMode mode = SlashingMode::Shared;
  std::vector<std::size_t> contracts;  // core contracts every position through it sits on
  // Leaving stake (a withdrawal, or an operator's deallocation) stays slashable until it completes:
  // `escrow_days` after its request (EigenLayer: 100,800 blocks, 14 days; Babylon unbonding: ~1,008
  // Bitcoin blocks, 7 days; Karak: 9 days), or, when `epoch_days` > 0, at the end of the epoch after
  // the request's (Symbiotic: withdrawals of the current and next epoch stay slashable).
  double escrow_days = 0.0;
  double epoch_days = 0.0;
  // A slash request executes this long after it is made; resolvers may veto a faulty one meanwhile
  // (Symbiotic's veto slasher: 1 day by default; Karak: 2 days).
  double veto_window_days = 0.0;
  // ELIP-016: slashed funds are held this long before they are burnt or redistributed; a pause
  // within it stops a faulty slashing or a drain (funds held are assumed returned to the stakers).
  double resolution_days = 0.0;
  // A faulty slashing is cancelled when resolvers (or pausers) act, with this probability, after a
  // drawn reaction time, before its funds are released: by its execution plus resolution_days. A
  // genuine slash never is.
  double veto_probability = 0.0;
  Distribution veto_delay_days = Distribution::fixed(0.0);
  // A fault older than this when its slash is requested can no longer be slashed (Karak: 7 days);
  // infinity: no limit.
  double slashing_window_days = std::numeric_limits<double>::infinity();
  // ELIP-006: operator sets may send slashed funds to a recipient (what key compromise drains).
  bool redistribution = false;
  // ELIP-002: a change of an operator's ALLOCATION_DELAY takes effect after 126,000 blocks (17.5
  // days): a thief with an operator's key reaches its stake after min(its delay, this).
  double allocation_configuration_days = 0.0;
  // The day stake leaving on `day` is out of reach.
  double escrow_end(double day) const;
  // Whether a faulty slashing or a drain is stopped, whose resolvers act `reaction` days after its
  // request (infinity: they never act), when it executes `to_execution` days after the request.
  bool cancels(double reaction, double to_execution) const { return reaction <= to_execution + resolution_days; }
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
  // From a fault to its slash request (a condition's slashings; a faulty slashing is its own request).
  Distribution slash_delay_days = Distribution::fixed(0.0);
  double faulty_rate_per_year = 0.0;  // a faulty or rogue slashing of all its operators at once
  Distribution faulty_fraction = Distribution::fixed(0.0);
  RewardSchedule rewards;
  // Durvasula-Roughgarden cryptoeconomic security (domain.md section 4): what corrupting the
  // service is worth to an attacker, and the share of the stake securing it that corruption needs.
  double corruption_profit = 0.0;
  double attack_threshold = 0.5;
  // ELIP-006: a redistributable operator set (its protocol must allow redistribution). Its slasher's
  // and recipient's keys, stolen, drain the stake allocated to it at once.
  bool redistributable = false;
  KeyCompromise key_compromise;
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

// [[withdrawal]]: a holder redeems part of its balance. The stake leaving earns nothing from the
// request and stays slashable until the withdrawal completes: after its protocol's escrow (a
// restaked position) and, for ETH given `exit_queue_eth`, once its validators have left through
// the beacon chain's exit queue, whichever is later. Withdrawn value is out of every later loss.
struct Withdrawal {
  std::size_t holder = 0;
  Distribution share = Distribution::fixed(1.0);  // of the balance still staked (not leaving) at the request
  bool after_fault = false;  // false: at `day`; true: `day` days after the first fault that reaches the holder
  Distribution day = Distribution::fixed(0.0);
  // ETH ahead in the beacon chain's exit queue (churn: chain/inactivity.hpp); unset: no exit to wait for.
  std::optional<Distribution> exit_queue_eth;
};

// [[allocation_change]]: an operator changes what it allocates to an AVS (ELIP-002, unique mode).
// A decrease (deallocation) stays slashable at the old allocation until the protocol's escrow ends;
// an increase takes effect after the operator's allocation delay. Slashes in between scale the
// pending change with the allocation (the pending amount is slashable too).
struct AllocationChange {
  std::size_t avs = 0, member = 0;  // the operator: avs's allocations[member]
  double allocation = 0.0;          // the new allocated share of the operator's stake at the request
  bool after_fault = false;         // false: at `day`; true: `day` days after the first fault reaching the operator's slot
  Distribution day = Distribution::fixed(0.0);
};

// The market layer (issue 11; docs/markets.md): a holder's balance traded as a token, the pools,
// redemption, sellers and lending markets that turn a loss at NAV into a loss at market. The trial's
// market mechanism builds the episode's values (market/episode.hpp) from these.

// [token.pool]: all the token's liquidity against ETH as one pool, balanced at NAV when an episode
// starts (price 1): the ETH side is `eth`, the token side holds the same value (weighted pools:
// eth x w / (1 - w) tokens).
enum class PoolKind { ConstantProduct, Weighted, StableSwap };
struct PoolSpec {
  PoolKind kind = PoolKind::ConstantProduct;
  double eth = 0.0;
  double fee = 0.003;
  double token_weight = 0.5;    // weighted pools
  double amplification = 50.0;  // StableSwap: the whitepaper's A (a Curve pool's A() is 2 A)
  std::vector<std::pair<double, double>> lp_withdrawal;  // (discount, share of depth withdrawn)
};

// [token.redemption]: how the token redeems at NAV, and arbitrageurs who buy below NAV to redeem.
struct RedemptionSpec {
  bool open = true;                 // false: no withdrawals during an episode
  double opens_after_days = 0.0;    // closed until this long after an episode starts
  double buffer_eth = 0.0;
  double protocol_delay_days = 0.0;
  double escrow_days = 0.0;
  double exit_queue_eth = 0.0;
  double arbitrage_capital_eth = 0.0;
  double required_return = 0.10;   // a year
};

// A part of a token's supply on one chain. The first chain holds the pool; a later one holds the
// part of the holder's balance bridged there (its `bridges`, from the holder's `bridged`), so its
// share of the supply is the sum of those bridged shares.
struct TokenChain {
  std::string name;
  double share = 1.0;
  std::vector<std::size_t> bridges;  // contracts (kind bridge)
};

// Who bears a loss that reached the token through a bridge (a forged release, a mint failure): the
// whole supply (NAV falls alike on every chain), or the supply on the chain that bridge serves
// (written down there alone; Kelp rsETH, April 2026). Other losses are spread over all supply.
enum class LossAllocation { AllSupply, AffectedChain };

// [[token]]: holder `holder`'s balance as a token. One token unit is worth 1 of the holder's asset
// at the start, so the supply is the holder's initial value and NAV per token its value now (net
// of coverage) over its initial value.
struct Token {
  std::string name;
  std::size_t holder = 0;
  PoolSpec pool;
  RedemptionSpec redemption;
  Distribution sell_share = Distribution::fixed(0.0);    // of the supply, drawn per trial
  Distribution sell_trigger = Distribution::fixed(0.0);  // fall (market or NAV) at which they start
  double sell_hours = 24.0;
  // They redeem rather than sell below NAV / (1 + r W / 365) at this yearly return; +infinity: they
  // sell at any price.
  double sell_required_return = std::numeric_limits<double>::infinity();
  std::vector<TokenChain> chains{{"home", 1.0, {}}};  // at least one; shares sum to 1
  LossAllocation loss_allocation = LossAllocation::AllSupply;
};

enum class LendingRulesKind { AaveV3, MorphoBlue };
enum class OracleSpecKind { ExchangeRate, MarketSpot, MarketTwap };

// [[lending_market]]: a market lending ETH against a token, with its oracle and its borrowers: a
// distribution of health factors (or of leverage, HF = L LT / (L - 1)) at the start of an episode,
// in `buckets` equal slices of the debt at its mid-quantiles.
struct LendingMarketSpec {
  std::string name;
  std::size_t token = 0;
  std::size_t chain = 0;  // of the token's chains; away from the first (the pool's) it reads the exchange rate
  LendingRulesKind rules = LendingRulesKind::AaveV3;
  double ltv = 0.0, liquidation_threshold = 0.0, liquidation_bonus = 0.0;  // Morpho: ltv = LT = LLTV
  OracleSpecKind oracle = OracleSpecKind::ExchangeRate;
  double twap_window_days = 0.0;
  double debt_eth = 0.0;
  double reserve_eth = 0.0;
  std::vector<double> health_factors;  // [bucket], each holding debt_eth / buckets
};

// [market]: the episode's time grid.
struct MarketGrid {
  double episode_days = 7.0;
  double step_hours = 1.0;
  double depeg_threshold = 0.01;  // a step is depegged when price < (1 - threshold) x NAV
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
// A market episode for a token with no loss at NAV: holders run on it (ezETH, 24 April 2024). Its
// sellers, triggered by a fall of 0, sell from the day on.
struct ForcedMarketShock {
  std::size_t token = 0;
  double day = 0.0;
};
struct Stress {
  bool random_events = true;  // false: only the forced events happen
  std::vector<ForcedOperatorFault> operator_faults;
  std::vector<ForcedAvsFailures> avs_failures;
  std::vector<ForcedContractFailure> contract_failures;
  std::vector<ForcedOutage> outages;
  std::vector<ForcedMarketShock> market_shocks;
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
  std::vector<Withdrawal> withdrawals;
  std::vector<AllocationChange> allocation_changes;
  std::vector<Token> tokens;
  std::vector<LendingMarketSpec> lending_markets;
  MarketGrid market;
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
