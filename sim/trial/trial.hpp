#pragma once
// One trial as an event loop: the sampled events, in time order, go to the mechanism that owns
// their kind; mechanisms may queue follow-ups. Every loss passes through book(), whose hooks let
// later layers react as losses happen. The balances here are valued at net asset value (NAV);
// a market layer would add a market price per token beside nav() rather than change it.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "model/model.hpp"
#include "trial/event.hpp"
#include "trial/mechanism.hpp"
#include "trial/sampler.hpp"
#include "trial/world.hpp"

namespace restake {

// A loss an AVS's slashing caused a holder in a trial: the share of the holder's initial value it
// took (gross of coverage), one entry per loss booked. Sparse: a trial lists only the pairs its
// slashings reached, so its cost follows its events, not AVSs x holders.
struct AvsHolderShare {
  std::uint32_t avs = 0, holder = 0;
  double share = 0.0;
  bool operator==(const AvsHolderShare&) const = default;
};

// One step of a market episode as a trial saw it: the day from the trial's start, the token's pool
// price and its NAV per token, both in ETH per token (a token unit is worth 1 ETH at the start).
struct MarketPathPoint {
  double day = 0.0;
  double price_eth = 1.0;
  double nav_eth = 1.0;
  bool operator==(const MarketPathPoint&) const = default;
};

// One market episode of one token in a trial, a point per step of the episode's grid.
struct EpisodePath {
  std::size_t token = 0;
  std::size_t episode = 0;  // the token's episodes in the trial, in time order from 0
  std::vector<MarketPathPoint> points;
  bool operator==(const EpisodePath&) const = default;
};

// One loss as book() saw it: for a trial re-run to attribute its losses (stats/contributions.hpp).
// Shares of the holder's initial value: `gross` before coverage, `net` what coverage left of it.
struct BookedLoss {
  double day = 0.0;
  // op: the operator of the position that lost it, as the holder chose it (the one it delegated to
  // when restaked, else the one running its validators).
  std::uint32_t holder = 0, op = 0;
  LossCause cause = LossCause::BeaconSlashing;
  double gross = 0.0, net = 0.0;
  bool operator==(const BookedLoss&) const = default;
};

// One trial's outputs, written into rows owned by the caller.
struct TrialRecord {
  std::span<double> loss_fraction;     // [holder] net of coverage, share of initial value
  std::span<double> net_return;        // [holder] over the horizon, share of initial value
  std::span<double> covered_fraction;  // [holder] paid by coverage pools
  std::span<double> loss_by_cause;     // [holder * kLossCauseCount] gross, share of initial value
  std::span<double> avs_stake_lost;    // [avs] holders' stake slashed by each AVS, units of its asset
  std::span<double> pool_drawdown;     // [coverage pool] units of its asset
  // The market layer (empty without [[token]] / [[lending_market]]); written whole every trial.
  std::span<double> token_min_price;              // [token] lowest market price, ETH per token (1 at the start)
  std::span<double> token_max_discount;           // [token] largest 1 - price / NAV
  std::span<double> token_depeg_days;             // [token] days below the depeg threshold
  std::span<double> token_sold;                   // [token] sold into the pool by the sellers and the liquidators, tokens
  std::span<double> lending_liquidated;           // [lending market] collateral seized, tokens
  std::span<double> lending_bad_debt;             // [lending market] ETH, after the reserve
  std::span<double> lending_accounts_liquidated;  // [lending market] share of accounts, in [0, 1]
  std::span<double> loss_at_market;               // [holder] with tokens: share of initial value at market price
  // When the losses came: [holder] the day of the first loss net of coverage (NaN: none), and the
  // largest net loss within any kLossWindowDays window, share of initial value.
  std::span<double> first_loss_day;
  std::span<double> loss_7d_max;
  // This trial's AVS x holder losses, APPENDED to (the caller's list may hold earlier trials').
  std::vector<AvsHolderShare>* avs_shares = nullptr;
  // Asked for by the caller, not by the model: when set, each market episode's path is APPENDED to
  // it (a trial re-run for its price paths, trial/price_paths.hpp). nullptr: none kept, as in a run.
  std::vector<EpisodePath>* price_paths = nullptr;
  // Asked for by the caller, as price_paths: every loss booked, APPENDED in booking order.
  std::vector<BookedLoss>* losses = nullptr;
};

// The window of loss_7d_max: lending markets liquidate within days, so a loss spread over a year
// hurts less than the same loss in a week.
inline constexpr double kLossWindowDays = 7.0;

// Days during which a share of an operator's validators is offline (an outage): they earn nothing.
struct OfflineWindow {
  std::size_t op = 0;
  double from = 0.0, to = 0.0;  // days
  double share = 0.0;           // of the operator's validators
};

using MechanismTypes = std::vector<std::unique_ptr<const MechanismType>>;

// A thread's trial runner: the balances and every mechanism's working state, reused trial after
// trial. `m`, `world` and `types` must outlive it.
class Trial {
 public:
  Trial(const Model& m, const World& world, const MechanismTypes& types);
  void run(const TrialDraws& draws, const TrialRecord& out);

  const Model& model() const { return m_; }
  const World& world() const { return w_; }
  const TrialDraws& draws() const { return *draws_; }
  const TrialRecord& record() const { return *out_; }
  double now() const { return now_; }
  // The trial's sampled events in time order (Event::seq is the index), for mechanisms that price
  // an event from the others (a slashing's correlation penalty depends on later slashings too).
  const std::vector<Event>& sampled_events() const { return queue_.sampled(); }
  std::size_t sampled_count(EventKind k) const { return queue_.sampled_count(k); }  // of kind k
  // A follow-up for mechanism `by` (`this` of the caller), at a day not before now; handed back to
  // it as an event of kind Scheduled. Events past the horizon never happen.
  void schedule(Event e, const Mechanism& by);

  // Value of position i now, at net asset value (units of its holder's asset).
  double nav(std::size_t i) const {
    const auto& p = w_.positions[i];
    return p.stake * stake_left_[i] * (beacon_factor(p.op) + beacon_restored_[i]) * magnitude(i) * contract_factor_[i];
  }
  // The share of position i's value that earns rewards: all but the stake leaving in a withdrawal.
  double earning_share(std::size_t i) const { return leaving_[i] == 0.0 ? 1.0 : 1.0 - leaving_[i] / stake_left_[i]; }
  // nav(i) before the operator's magnitude, without dividing by it: what an allocation weighs per
  // unit of magnitude. Constant while only magnitudes and allocations change (AVS slashing).
  double value_per_magnitude(std::size_t i) const {
    const auto& p = w_.positions[i];
    return p.stake * stake_left_[i] * (beacon_factor(p.op) + beacon_restored_[i]) * contract_factor_[i];
  }
  // Restaking: the operator's remaining maxMagnitude (1 for a position that is not restaked).
  double magnitude(std::size_t i) const {
    const std::size_t slot = w_.positions[i].slot;
    return slot == kNone ? 1.0 : max_magnitude_[slot];
  }
  // The operator's validator balance as a share of its initial balance (1 for BTC operators).
  // Inline, as nav(): rewards value every position at every change.
  double beacon_factor(std::size_t op) const {
    const FullBalance& full = full_balance_[op];
    return full.eth ? static_cast<double>(op_balance_gwei_[op]) / full.gwei : 1.0;
  }

  // Balances mechanisms change. Call touch(i) before changing what position i is worth or earns.
  // The writable views mark the trial as changed, so that the next one starts from restored
  // balances; the const ones only read.
  void touch(std::size_t i) {
    for (Mechanism* mech : change_hooks_) mech->before_change(i, *this);
  }
  std::vector<double>& max_magnitude() { changed_ = true; return max_magnitude_; }  // [slot]
  // Sets member `member` of `slot` to `value` (of the operator's initial stake), after the
  // allocation hooks: rewards book the change of weight at this moment.
  void set_allocation(std::size_t slot, std::size_t member, double value);
  std::vector<double>& contract_factor() { changed_ = true; return contract_factor_; }  // [position]
  // Withdrawals, per position in units of its initial stake: what is still in it (leaving or not)
  // and what is leaving (requested, not yet out). Both bear every loss until it is out.
  std::vector<double>& stake_left() { changed_ = true; return stake_left_; }
  std::vector<double>& leaving() { changed_ = true; return leaving_; }
  const std::vector<double>& max_magnitude() const { return max_magnitude_; }
  const std::vector<double>& allocation() const { return allocation_; }  // [slot member], flat
  const std::vector<double>& contract_factor() const { return contract_factor_; }
  // Validators: how many of its operator's validators each sampled beacon-chain event (fault or
  // outage) reaches, in time order: at least one of those not slashed yet, never one twice.
  std::uint64_t validators_hit(const Event& sampled) const { return validators_hit_[sampled.seq]; }
  std::vector<OfflineWindow>& offline() { changed_ = true; return offline_; }
  const std::vector<OfflineWindow>& offline() const { return offline_; }
  // Beacon-chain penalties of `op`'s validators (slashings or an outage's inactivity penalties),
  // shared by the positions on them.
  void penalise_validators(std::size_t op, Gwei loss, LossCause cause);
  // Any stake lost to the beacon chain or AVSs so far: the shock of a cascade.
  void mark_shocked() { shocked_ = true; }
  bool shocked() const { return shocked_; }

  // Books a gross loss of position i, already taken from its value. The loss hooks (coverage
  // pools) run in order and may pay part of it back into the position: the holder's balance is
  // made whole and stays staked, so a covered loss has no knock-on effect on later ones.
  // `contract`: the contract whose failure it is (kNone for others).
  void book(std::size_t i, LossCause cause, double amount, std::size_t origin_op, std::size_t contract = kNone);
  // Holder h's losses net of coverage, as booked so far (a loss hook sees them before its own loss
  // is added: that is loss.uncovered, once the hooks are done).
  double uncovered(std::size_t h) const { return uncovered_[h]; }
  void add_covered(std::size_t holder, double paid) { changed_ = true; covered_[holder] += paid; }
  void add_rewards(std::size_t holder, double amount) { holder_rewards_[holder] += amount; }
  double rewards(std::size_t holder) const { return holder_rewards_[holder]; }  // added so far this trial

 private:
  void begin(const TrialDraws& draws, const TrialRecord& out);
  void reset_balances();
  void count_validators_hit();
  void write_record();

  const Model& m_;
  const World& w_;
  std::vector<std::unique_ptr<Mechanism>> mechanisms_;    // registration order
  std::vector<std::uint32_t> handler_of_kind_;            // [EventKind] -> mechanism
  std::vector<Mechanism*> change_hooks_, allocation_hooks_, loss_hooks_, end_hooks_;
  const TrialDraws* draws_ = nullptr;
  const TrialRecord* out_ = nullptr;
  EventQueue queue_;
  double now_ = 0.0;
  bool shocked_ = false;
  // Whether this trial may have changed a balance or a holder's losses (whatever writes one sets
  // it). Most trials are quiet: the next one then starts from them as they are.
  bool changed_ = true;

  std::vector<std::uint64_t> validators_hit_;  // [sampled event]
  std::vector<std::uint64_t> remaining_validators_;
  std::vector<Gwei> op_balance_gwei_;
  // [operator] validators x effective balance, as beacon_factor and penalties divide by it: read
  // at every change of every position, so kept apart from the (large) Operator records.
  struct FullBalance {
    double gwei = 0.0;
    bool eth = false;
  };
  std::vector<FullBalance> full_balance_;
  std::vector<double> max_magnitude_, allocation_;
  std::vector<double> contract_factor_;  // per position: contract losses and coverage payouts
  std::vector<double> stake_left_, leaving_;  // per position: withdrawals (stake_left(), leaving())
  std::vector<double> beacon_restored_;  // per position: coverage of beacon losses, in units of the beacon factor
  std::vector<double> position_loss_;    // per position of the penalty being applied
  std::vector<OfflineWindow> offline_;
  std::vector<double> gross_;            // [holder * cause]
  std::vector<double> covered_;          // [holder] paid by pools
  std::vector<double> uncovered_;        // [holder] borne by the holder
  std::vector<double> holder_rewards_;   // [holder]
  // This trial's losses net of coverage, in booking (time) order: when they came (write_record).
  struct TimedLoss {
    std::uint32_t holder;
    double day, net;
  };
  std::vector<TimedLoss> timed_;
};

}  // namespace restake
