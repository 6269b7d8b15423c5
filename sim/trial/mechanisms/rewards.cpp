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

  UntouchedRewards(const Model& m, const World& w)
      : positions(m.holders.size(), 0),
        eth_stake(m.holders.size(), 0.0),
        terms(m.holders.size()),
        fixed_avs_rate_days(m.holders.size(), 0.0),
        avs_rate_days(m.avs.size(), 0.0),
        drawn_decay(m.avs.size(), false) {
    for (std::size_t a = 0; a < m.avs.size(); ++a) {
      drawn_decay[a] = !m.avs[a].rewards.decay_days.is_fixed();
      if (!drawn_decay[a]) avs_rate_days[a] = rate_days(m, a, m.avs[a].rewards.decay_days.a);
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
        if (m.operators[p.op].asset == Asset::Eth) eth_stake[h] += p.stake;
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

  // AVS a's reward rate integrated over the horizon (APR x days), its subsidy decaying over `decay_days`.
  static double rate_days(const Model& m, std::size_t a, double decay_days) {
    const RewardSchedule& r = m.avs[a].rewards;
    const double horizon = m.simulation.horizon_days;
    return r.floor_apr * horizon + (r.initial_apr - r.floor_apr) * subsidy_integral(r, decay_days, horizon);
  }
};

class Rewards final : public Mechanism {
 public:
  Rewards(const UntouchedRewards& untouched, std::size_t positions, std::size_t avs)
      : untouched_(untouched),
        rewards_(positions, 0.0),
        accrued_until_(positions, 0.0),
        touched_(positions, false),
        subsidy_to_horizon_(avs),
        memo_(avs),
        holder_rewards_(untouched.eth_stake.size(), 0.0),
        touched_of_holder_(untouched.eth_stake.size(), 0) {}
  void begin(Trial& trial) override {
    ++trial_stamp_;  // every AVS's memo of subsidies is stale
    forget_touched(trial.world());  // any touched after the last trial's end (a later end hook's change)
    const Model& m = trial.model();
    // Only the AVSs whose decay is drawn: the others' horizon integral never changes.
    for (std::size_t a = 0; a < m.avs.size(); ++a)
      if (untouched_.drawn_decay[a])
        subsidy_to_horizon_[a] = subsidy_integral(m.avs[a].rewards, trial.draws().subsidy_days[a], m.simulation.horizon_days);
  }
  void before_change(std::size_t i, Trial& trial) override {
    touch(i, trial.world());
    accrue(i, trial);
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
      for (const UntouchedRewards::Term& t : untouched_.terms[h]) rate_days += t.stake * drawn_rate_days(trial, t.avs);
      holder_rewards_[h] = rate_days / kDaysPerYear;
    }
    // A touched position: what it earned, accrued between its changes, in place of what the closed
    // form counted for it as if untouched.
    for (std::size_t i : touched_list_) {
      accrue(i, trial);
      const std::size_t h = w.positions[i].holder;
      holder_rewards_[h] += all_touched(h) ? rewards_[i] : rewards_[i] - untouched_rate_days(trial, i) / kDaysPerYear;
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
      rewards_[i] = 0.0;
      accrued_until_[i] = 0.0;
      touched_[i] = false;
      touched_of_holder_[w.positions[i].holder] = 0;
    }
    touched_list_.clear();
  }

  // AVS a's rate-days over the horizon in this trial.
  double drawn_rate_days(const Trial& trial, std::size_t a) const {
    const RewardSchedule& r = trial.model().avs[a].rewards;
    return r.floor_apr * trial.model().simulation.horizon_days + (r.initial_apr - r.floor_apr) * subsidy_to_horizon_[a];
  }

  // Stake x rate-days position i would have earned untouched: its share of the closed form.
  double untouched_rate_days(const Trial& trial, std::size_t i) const {
    const Model& m = trial.model();
    const World& w = trial.world();
    const auto& p = w.positions[i];
    double rate_days = m.operators[p.op].asset == Asset::Eth ? trial.draws().base_apr * m.simulation.horizon_days : 0.0;
    if (p.slot != kNone) {
      const World::Slot& slot = w.slots[p.slot];
      for (std::size_t j = 0; j < slot.avs.size(); ++j) {
        const double weight = slot.mode == SlashingMode::Shared ? 1.0 : slot.allocation[j];
        const std::size_t a = slot.avs[j];
        rate_days += weight * (untouched_.drawn_decay[a] ? drawn_rate_days(trial, a) : untouched_.avs_rate_days[a]);
      }
    }
    return p.stake * rate_days;
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

  // Rewards on position i's value since it last changed, up to now.
  void accrue(std::size_t i, const Trial& trial) {
    const double t0 = accrued_until_[i], t1 = trial.now();
    if (t1 <= t0) return;
    accrued_until_[i] = t1;
    const Model& m = trial.model();
    const World& w = trial.world();
    const auto& p = w.positions[i];
    // Base staking yield is Ethereum's; BTC time-locked on Bitcoin earns only what its services pay.
    // Validators offline in an outage earn nothing (neither attestations nor proposals).
    double rate_days =
        m.operators[p.op].asset == Asset::Eth ? trial.draws().base_apr * (t1 - t0 - offline_days(trial, p.op, t0, t1)) : 0.0;
    if (p.slot != kNone) {
      const auto& slot = w.slots[p.slot];
      const double max_mag = trial.max_magnitude()[p.slot];
      for (std::size_t j = 0; j < slot.avs.size(); ++j) {
        // Unique mode pays on the allocated share of the stake; shared mode on all of it.
        const double weight = slot.mode == SlashingMode::Shared
                                  ? 1.0
                                  : (max_mag > 0.0 ? trial.allocation()[slot.first_alloc + j] / max_mag : 0.0);
        if (weight == 0.0) continue;
        const std::size_t a = slot.avs[j];
        const RewardSchedule& r = m.avs[a].rewards;
        rate_days += weight * (r.floor_apr * (t1 - t0) + (r.initial_apr - r.floor_apr) * (subsidy(trial, a, t1) - subsidy(trial, a, t0)));
      }
    }
    rewards_[i] += trial.nav(i) * trial.earning_share(i) * rate_days / kDaysPerYear;
  }

  const UntouchedRewards& untouched_;
  std::vector<double> rewards_;             // [position] units of its holder's asset, touched positions
  std::vector<double> accrued_until_;       // [position] day its rewards are accrued to
  std::vector<bool> touched_;               // [position] changed (or offline) in this trial
  std::vector<std::size_t> touched_list_;   // the positions touched, in the order they were
  std::vector<double> subsidy_to_horizon_;  // [avs] drawn decays only
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
  RewardsType(const Model& m, const World& w) : untouched_(m, w), positions_(w.positions.size()), avs_(m.avs.size()) {}
  std::string_view name() const override { return "rewards"; }
  MechanismHooks hooks() const override { return {.before_change = true, .end = true}; }
  std::unique_ptr<Mechanism> instance() const override { return std::make_unique<Rewards>(untouched_, positions_, avs_); }

 private:
  UntouchedRewards untouched_;
  std::size_t positions_, avs_;
};

}  // namespace

std::unique_ptr<const MechanismType> make_rewards(const Model& m, const World& w) { return std::make_unique<RewardsType>(m, w); }

}  // namespace restake
