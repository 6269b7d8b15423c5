// Rewards: base staking yield (Ethereum's, drawn per trial) and each AVS's rewards with their
// subsidy decay, accrued on every position's value in closed form between the moments it changes.
// Stake leaving in a withdrawal earns nothing (EigenLayer pays no rewards on queued withdrawals).
#include <algorithm>
#include <cmath>

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

class Rewards final : public Mechanism {
 public:
  Rewards(std::size_t positions, std::size_t avs) : rewards_(positions, 0.0), accrued_until_(positions, 0.0), subsidy_to_horizon_(avs) {}
  void begin(Trial& trial) override {
    const Model& m = trial.model();
    for (std::size_t a = 0; a < m.avs.size(); ++a)
      subsidy_to_horizon_[a] = subsidy_integral(m.avs[a].rewards, trial.draws().subsidy_days[a], m.simulation.horizon_days);
  }
  void before_change(std::size_t i, Trial& trial) override { accrue(i, trial); }
  void end(Trial& trial) override {
    const World& w = trial.world();
    for (std::size_t i = 0; i < w.positions.size(); ++i) {
      accrue(i, trial);
      trial.add_rewards(w.positions[i].holder, rewards_[i]);
      // Left at zero for the next trial: in this pass rather than one more in begin.
      rewards_[i] = 0.0;
      accrued_until_[i] = 0.0;
    }
  }

 private:
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
  double subsidy(const Trial& trial, std::size_t a, double t) const {
    if (t == 0.0) return 0.0;
    if (t == trial.model().simulation.horizon_days) return subsidy_to_horizon_[a];
    return subsidy_integral(trial.model().avs[a].rewards, trial.draws().subsidy_days[a], t);
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

  std::vector<double> rewards_;             // [position] units of its holder's asset
  std::vector<double> accrued_until_;       // [position] day its rewards are accrued to
  std::vector<double> subsidy_to_horizon_;  // [avs]
};

class RewardsType final : public MechanismType {
 public:
  RewardsType(const Model& m, const World& w) : positions_(w.positions.size()), avs_(m.avs.size()) {}
  std::string_view name() const override { return "rewards"; }
  MechanismHooks hooks() const override { return {.before_change = true, .end = true}; }
  std::unique_ptr<Mechanism> instance() const override { return std::make_unique<Rewards>(positions_, avs_); }

 private:
  std::size_t positions_, avs_;
};

}  // namespace

std::unique_ptr<const MechanismType> make_rewards(const Model& m, const World& w) { return std::make_unique<RewardsType>(m, w); }

}  // namespace restake
