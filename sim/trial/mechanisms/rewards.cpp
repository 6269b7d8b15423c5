// Rewards: base staking yield (Ethereum's, drawn per trial) and each AVS's rewards with their
// subsidy decay, accrued on every position's value in closed form between the moments it changes,
// and for the positions nothing changes all trial, per holder at once (UntouchedRewards).
// Stake leaving in a withdrawal earns nothing (EigenLayer pays no rewards on queued withdrawals).
#include <algorithm>
#include <cmath>
#include <utility>

#include "trial/mechanisms.hpp"
#include "trial/trial.hpp"

namespace restake {

namespace {

// Integral over [0, t] days of the subsidised share of an AVS's reward rate (1 at t = 0).
double subsidy_integral(const RewardSchedule& r, double decay_days, double t) {
  switch (r.decay) {
    case SubsidyDecay::None: return t;
    case SubsidyDecay::Cliff: return std::min(t, decay_days);
    case SubsidyDecay::HalfLife: return decay_days / std::log(2.0) * (1.0 - std::exp2(-t / decay_days));
  }
  return t;
}

// An AVS's reward rate integrated over [0, t] days (APR x days), given its subsidy's integral there.
double rate_days(const RewardSchedule& r, double t, double subsidised) {
  return r.floor_apr * t + (r.initial_apr - r.floor_apr) * subsidised;
}

// What a holder earns over the whole horizon from its positions that nothing touches in a trial,
// in closed form: their value never changes, so their rewards are linear in the trial's draws.
// Per holder: rate-days = base_apr x horizon x (its stake on Ethereum operators) + sum over the
// AVSs it secures of (its stake weighted by each AVS's allocation) x the AVS's rate-days. A trial
// with no events then costs O(holders) (O(holder x AVS pairs) with random subsidy decays), not a
// pass over every position x AVS.
struct UntouchedRewards {
  struct Term {
    std::size_t avs = 0;
    double stake = 0.0;  // sum of stake x weight over the holder's positions securing it
  };
  std::vector<std::size_t> positions;       // [holder] how many it has
  std::vector<double> eth_stake;            // [holder] on Ethereum operators: earns the base APR
  std::vector<std::vector<Term>> terms;     // [holder] AVSs whose subsidy decay is drawn per trial
  std::vector<double> fixed_avs_rate_days;  // [holder] sum of stake x rate-days of AVSs with a fixed decay
  std::vector<double> avs_rate_days;        // [avs] rate-days over the horizon (fixed decays)
  std::vector<bool> drawn_decay;            // [avs]
  std::vector<char> on_ethereum;            // [position] earns the base APR (its operator's, apart from the Operator)

  UntouchedRewards(const Model& m, const World& w)
      : positions(m.holders.size(), 0),
        eth_stake(m.holders.size(), 0.0),
        terms(m.holders.size()),
        fixed_avs_rate_days(m.holders.size(), 0.0),
        avs_rate_days(m.avs.size(), 0.0),
        drawn_decay(m.avs.size(), false),
        on_ethereum(w.positions.size(), 0) {
    for (std::size_t a = 0; a < m.avs.size(); ++a) {
      drawn_decay[a] = !m.avs[a].rewards.decay_days.is_fixed();
      if (drawn_decay[a]) continue;
      const RewardSchedule& r = m.avs[a].rewards;
      avs_rate_days[a] = rate_days(r, m.simulation.horizon_days, subsidy_integral(r, r.decay_days.a, m.simulation.horizon_days));
    }
    std::vector<double> stake_of_avs(m.avs.size(), 0.0);  // the holder's, by AVS
    std::vector<std::size_t> secured;                    // the AVSs it secures, as first met
    std::vector<char> listed(m.avs.size(), 0);           // [avs] in `secured`
    // World::positions lists them holder by holder: one pass, a holder at a time.
    for (std::size_t i = 0; i < w.positions.size();) {
      const std::size_t h = w.positions[i].holder;
      for (; i < w.positions.size() && w.positions[i].holder == h; ++i) {
        const World::FlatPosition& p = w.positions[i];
        ++positions[h];
        on_ethereum[i] = m.operators[p.op].asset == Asset::Eth;
        if (on_ethereum[i]) eth_stake[h] += p.stake;
        if (p.slot == kNone) continue;
        const World::Slot& slot = w.slots[p.slot];
        for (std::size_t j = 0; j < slot.avs.size(); ++j) {
          // Unique mode pays on the allocated share of the stake; shared mode on all of it.
          const double weight = slot.mode == SlashingMode::Shared ? 1.0 : slot.allocation[j];
          if (weight == 0.0) continue;
          if (!listed[slot.avs[j]]) secured.push_back(slot.avs[j]);
          listed[slot.avs[j]] = 1;
          stake_of_avs[slot.avs[j]] += p.stake * weight;
        }
      }
      std::sort(secured.begin(), secured.end());
      for (const std::size_t a : secured) {
        if (drawn_decay[a])
          terms[h].push_back({a, stake_of_avs[a]});
        else
          fixed_avs_rate_days[h] += stake_of_avs[a] * avs_rate_days[a];
        stake_of_avs[a] = 0.0;
        listed[a] = 0;
      }
      secured.clear();
    }
  }
};

// A touched position's rewards come in two parts. The base yield is on its value and is accrued at
// each change (O(1)). An AVS's rewards are on what is allocated to it: weight(t) x allocation_j(t)
// x rate_j(t), where weight is the position's value per unit of magnitude (unique mode; its whole
// value in shared mode, with allocations of 1). Both factors are piecewise constant, so by parts,
//   integral over [0, T] = sum_j weight(T) alloc_j(T) R_j(T) - sum over changes of (jump) x R_j(then),
// R_j the rate-days since day 0. An allocation's change (an AVS slashing it) is one term; a change of
// weight (a beacon loss, a contract's, a withdrawal) is a term per AVS of the slot; the sum at T is
// taken once, at the end. A slashing then costs O(1) however many AVSs its operator secures.
class Rewards final : public Mechanism {
 public:
  Rewards(const UntouchedRewards& untouched, const World& w, std::size_t avs)
      : untouched_(untouched),
        base_(w.positions.size(), 0.0),
        accrued_until_(w.positions.size(), 0.0),
        weight_(w.positions.size(), 0.0),
        weighed_at_(w.positions.size(), 0.0),
        jumps_(w.positions.size(), 0.0),
        touched_(w.positions.size(), false),
        subsidy_to_horizon_(avs),
        horizon_rate_days_(untouched.avs_rate_days),
        memo_(avs),
        holder_rewards_(untouched.eth_stake.size(), 0.0),
        touched_of_holder_(untouched.eth_stake.size(), 0) {
    for (std::size_t i = 0; i < w.positions.size(); ++i) weight_[i] = w.positions[i].stake;
  }
  void begin(Trial& trial) override {
    ++trial_stamp_;  // every AVS's memo of subsidies is stale
    forget_touched(trial.world());  // any touched after the last trial's end (a later end hook's change)
    const Model& m = trial.model();
    // Only the AVSs whose decay is drawn: the others' horizon integral never changes.
    for (std::size_t a = 0; a < m.avs.size(); ++a)
      if (untouched_.drawn_decay[a]) {
        const RewardSchedule& r = m.avs[a].rewards;
        subsidy_to_horizon_[a] = subsidy_integral(r, trial.draws().subsidy_days[a], m.simulation.horizon_days);
        horizon_rate_days_[a] = rate_days(r, m.simulation.horizon_days, subsidy_to_horizon_[a]);
      }
  }
  void before_change(std::size_t i, Trial& trial) override { bring_up_to_now(i, trial); }
  void before_allocation_change(std::size_t s, std::size_t member, double to, Trial& trial) override {
    const World& w = trial.world();
    const World::Slot& slot = w.slots[s];
    if (slot.mode == SlashingMode::Shared) return;  // shared mode pays on the whole stake, whatever is allocated
    const double from = trial.allocation()[slot.first_alloc + member];
    if (to == from) return;
    const double rate_days = rate_days_to(trial, slot.avs[member], trial.now());
    for (std::size_t i : w.positions_of_slot[s]) {
      // Touched already at this moment (an AVS slashing touches first): nothing to bring up.
      if (!touched_[i] || weighed_at_[i] != trial.now()) bring_up_to_now(i, trial);
      jumps_[i] += weight_[i] * (to - from) * rate_days;
    }
  }
  void end(Trial& trial) override {
    const Model& m = trial.model();
    const World& w = trial.world();
    // Validators offline earn nothing: their positions take the exact path too, touched or not.
    for (const OfflineWindow& off : std::as_const(trial).offline())  // const: reading marks no change
      for (std::size_t i : w.positions_of_op[off.op]) touch(i, w);
    const double base_days = trial.draws().base_apr * m.simulation.horizon_days;
    // A holder every position of which was touched earns what they accrued, nothing else (no
    // closed form to take their shares from again: its rounding would not cancel exactly).
    const auto all_touched = [&](std::size_t h) { return touched_of_holder_[h] == untouched_.positions[h]; };
    for (std::size_t h = 0; h < m.holders.size(); ++h) {
      if (all_touched(h)) {
        holder_rewards_[h] = 0.0;
        continue;
      }
      double rate_days = base_days * untouched_.eth_stake[h] + untouched_.fixed_avs_rate_days[h];
      for (const UntouchedRewards::Term& t : untouched_.terms[h]) rate_days += t.stake * horizon_rate_days_[t.avs];
      holder_rewards_[h] = rate_days / kDaysPerYear;
    }
    // A touched position: what it earned in place of what the closed form counted for it as if
    // untouched (its stake at the initial allocations all trial).
    for (std::size_t i : touched_list_) {
      bring_up_to_now(i, trial);
      const auto& p = w.positions[i];
      const bool alone = all_touched(p.holder);
      double rate_days = base_[i] - (alone || !untouched_.on_ethereum[i] ? 0.0 : p.stake * base_days);
      if (p.slot != kNone) {
        const World::Slot& slot = w.slots[p.slot];
        const bool shared = slot.mode == SlashingMode::Shared;
        rate_days -= jumps_[i];
        for (std::size_t j = 0; j < slot.avs.size(); ++j) {
          const double now = shared ? 1.0 : trial.allocation()[slot.first_alloc + j];
          const double then = alone ? 0.0 : p.stake * (shared ? 1.0 : slot.allocation[j]);
          rate_days += (weight_[i] * now - then) * horizon_rate_days_[slot.avs[j]];
        }
      }
      holder_rewards_[p.holder] += rate_days / kDaysPerYear;
    }
    forget_touched(w);
    for (std::size_t h = 0; h < m.holders.size(); ++h) trial.add_rewards(h, holder_rewards_[h]);
  }

 private:
  void touch(std::size_t i, const World& w) {
    if (touched_[i]) return;
    touched_[i] = true;
    touched_list_.push_back(i);
    ++touched_of_holder_[w.positions[i].holder];
  }
  // Every touched position back to untouched, with nothing accrued: as the next trial starts.
  void forget_touched(const World& w) {
    for (std::size_t i : touched_list_) {
      base_[i] = 0.0;
      accrued_until_[i] = 0.0;
      weight_[i] = w.positions[i].stake;
      weighed_at_[i] = 0.0;
      jumps_[i] = 0.0;
      touched_[i] = false;
      touched_of_holder_[w.positions[i].holder] = 0;
    }
    touched_list_.clear();
  }

  // Position i's rewards up to now, before something about it changes. Things change only right
  // after this is called (Trial::touch), so a weight found changed here changed when it was last
  // called, with the allocations it has now.
  void bring_up_to_now(std::size_t i, const Trial& trial) {
    const World& w = trial.world();
    touch(i, w);
    const auto& p = w.positions[i];
    // What earns: the value (per unit of magnitude) less the stake leaving in a withdrawal.
    const double earning = trial.value_per_magnitude(i) * trial.earning_share(i);
    const double magnitude = trial.magnitude(i);
    accrue_base(i, trial, earning * magnitude);
    if (p.slot == kNone) return;
    // Per unit of an allocation: per unit of magnitude in unique mode (allocations are magnitudes;
    // nothing once the magnitude is gone), the whole value in shared mode (allocations of 1).
    const double weight = w.slots[p.slot].mode == SlashingMode::Shared ? earning * magnitude : magnitude > 0.0 ? earning : 0.0;
    if (weight != weight_[i]) {
      jumps_[i] += (weight - weight_[i]) * allocated_rate_days(trial, p.slot, weighed_at_[i]);
      weight_[i] = weight;
    }
    weighed_at_[i] = trial.now();
  }

  // Sum over slot s's AVSs of allocation now x rate-days to day t (allocations of 1 in shared mode).
  double allocated_rate_days(const Trial& trial, std::size_t s, double t) {
    if (t == 0.0) return 0.0;
    const World::Slot& slot = trial.world().slots[s];
    const bool shared = slot.mode == SlashingMode::Shared;
    double sum = 0.0;
    for (std::size_t j = 0; j < slot.avs.size(); ++j)
      sum += (shared ? 1.0 : trial.allocation()[slot.first_alloc + j]) * rate_days_to(trial, slot.avs[j], t);
    return sum;
  }

  // AVS a's reward rate integrated over [0, t] days (APR x days).
  double rate_days_to(const Trial& trial, std::size_t a, double t) {
    const RewardSchedule& r = trial.model().avs[a].rewards;
    return rate_days(r, t, subsidy(trial, a, t));
  }

  // Validator-days of `op` offline within [t0, t1], per validator: each outage's overlap times the
  // share of its validators it took offline (at most the whole interval when outages overlap).
  static double offline_days(const Trial& trial, std::size_t op, double t0, double t1) {
    double days = 0.0;
    for (const OfflineWindow& w : trial.offline())
      if (w.op == op) days += std::max(0.0, std::min(t1, w.to) - std::max(t0, w.from)) * w.share;
    return std::min(days, t1 - t0);
  }

  // Subsidised-share integral of AVS a over [0, t] days; the full horizon is the common case
  // (a position untouched all trial) and is computed once per trial.
  // Positions changed together (an AVS's slashing touches every position on its operators) ask
  // for the same days: the last two days asked of each AVS in this trial are kept.
  double subsidy(const Trial& trial, std::size_t a, double t) {
    if (t == 0.0) return 0.0;
    if (t == trial.model().simulation.horizon_days && untouched_.drawn_decay[a]) return subsidy_to_horizon_[a];
    SubsidyMemo& memo = memo_[a];
    if (memo.trial != trial_stamp_) memo = {trial_stamp_, {-1.0, -1.0}, {0.0, 0.0}};
    if (memo.day[0] == t) return memo.value[0];
    if (memo.day[1] == t) return memo.value[1];
    const double value = subsidy_integral(trial.model().avs[a].rewards, trial.draws().subsidy_days[a], t);
    memo.day[1] = memo.day[0];
    memo.value[1] = memo.value[0];
    memo.day[0] = t;
    memo.value[0] = value;
    return value;
  }

  // Base staking yield on position i's earning value since it last changed, up to now, as
  // value x rate-days. It is Ethereum's; BTC time-locked on Bitcoin earns only what its services
  // pay. Validators offline in an outage earn nothing (neither attestations nor proposals).
  void accrue_base(std::size_t i, const Trial& trial, double earning) {
    const double t0 = accrued_until_[i], t1 = trial.now();
    if (t1 <= t0) return;
    accrued_until_[i] = t1;
    if (!untouched_.on_ethereum[i]) return;
    base_[i] += earning * trial.draws().base_apr * (t1 - t0 - offline_days(trial, trial.world().positions[i].op, t0, t1));
  }

  const UntouchedRewards& untouched_;
  // [position], touched positions only
  std::vector<double> base_;                // base yield accrued: value x rate-days
  std::vector<double> accrued_until_;       // day base_ is accrued to
  std::vector<double> weight_;              // per unit of allocation, as last seen (its stake, untouched)
  std::vector<double> weighed_at_;          // day weight_ was last seen
  std::vector<double> jumps_;               // sum of jump x rate-days to its day (see the class comment)
  std::vector<bool> touched_;               // changed (or offline) in this trial
  std::vector<std::size_t> touched_list_;   // the positions touched, in the order they were
  std::vector<double> subsidy_to_horizon_;  // [avs] drawn decays only
  std::vector<double> horizon_rate_days_;   // [avs] rate-days over the horizon in this trial
  struct SubsidyMemo {
    std::uint64_t trial = 0;  // trial_stamp_ of the trial they were computed in
    double day[2], value[2];  // the last two days asked, newest first
  };
  std::vector<SubsidyMemo> memo_;  // [avs]
  std::uint64_t trial_stamp_ = 0;
  std::vector<double> holder_rewards_;      // [holder] this trial's, units of its asset
  std::vector<std::size_t> touched_of_holder_;  // [holder] its positions in touched_list_
};

class RewardsType final : public MechanismType {
 public:
  RewardsType(const Model& m, const World& w) : untouched_(m, w), world_(w), avs_(m.avs.size()) {}
  std::string_view name() const override { return "rewards"; }
  MechanismHooks hooks() const override { return {.before_change = true, .allocation_change = true, .end = true}; }
  std::unique_ptr<Mechanism> instance() const override { return std::make_unique<Rewards>(untouched_, world_, avs_); }

 private:
  UntouchedRewards untouched_;
  const World& world_;
  std::size_t avs_;
};

}  // namespace

std::unique_ptr<const MechanismType> make_rewards(const Model& m, const World& w) { return std::make_unique<RewardsType>(m, w); }

}  // namespace restake
