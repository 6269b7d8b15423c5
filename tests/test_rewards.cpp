// Rewards (sim/trial/mechanisms/rewards.cpp) against a reference written the plain way: every
// position accrues its base yield and each of its AVSs' rewards on its value and weights at every
// change, and all of them to the horizon at the end - no closed form, no integration by parts.
// Every shipped scenario, with its random events, must give each holder the same rewards.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_support.hpp"
#include "support.hpp"
#include "trial/engine.hpp"

using namespace restake;
using namespace restake::test;

namespace {

// Each position's rewards accrued at each change over all its AVSs, summed per holder at the end
// into `out` (units of the holder's asset).
class PlainRewards final : public Mechanism {
 public:
  explicit PlainRewards(std::vector<double>* out) : out_(out) {}
  void begin(Trial& trial) override {
    rewards_.assign(trial.world().positions.size(), 0.0);
    until_.assign(trial.world().positions.size(), 0.0);
  }
  void before_change(std::size_t i, Trial& trial) override { accrue(i, trial); }
  void end(Trial& trial) override {
    out_->assign(trial.model().holders.size(), 0.0);
    for (std::size_t i = 0; i < rewards_.size(); ++i) {
      accrue(i, trial);
      (*out_)[trial.world().positions[i].holder] += rewards_[i];
    }
  }

 private:
  void accrue(std::size_t i, const Trial& trial) {
    const double t0 = until_[i], t1 = trial.now();
    if (t1 <= t0) return;
    until_[i] = t1;
    const Model& m = trial.model();
    const World& w = trial.world();
    const World::FlatPosition& p = w.positions[i];
    double offline = 0.0;
    for (const OfflineWindow& o : trial.offline())
      if (o.op == p.op) offline += std::max(0.0, std::min(t1, o.to) - std::max(t0, o.from)) * o.share;
    double rate_days = m.operators[p.op].asset == Asset::Eth ? trial.draws().base_apr * (t1 - t0 - std::min(offline, t1 - t0)) : 0.0;
    if (p.slot != kNone) {
      const World::Slot& slot = w.slots[p.slot];
      const double mag = trial.max_magnitude()[p.slot];
      for (std::size_t j = 0; j < slot.avs.size(); ++j) {
        const double weight = slot.mode == SlashingMode::Shared ? 1.0 : (mag > 0.0 ? trial.allocation()[slot.first_alloc + j] / mag : 0.0);
        const std::size_t a = slot.avs[j];
        const RewardSchedule& r = m.avs[a].rewards;
        const double d = trial.draws().subsidy_days[a];
        rate_days += weight * (r.floor_apr * (t1 - t0) + (r.initial_apr - r.floor_apr) * (subsidy_days_paid(r, d, t1) - subsidy_days_paid(r, d, t0)));
      }
    }
    rewards_[i] += trial.nav(i) * trial.earning_share(i) * rate_days / kDaysPerYear;
  }

  std::vector<double>* out_;
  std::vector<double> rewards_, until_;  // [position]
};

class PlainRewardsType final : public MechanismType {
 public:
  explicit PlainRewardsType(std::vector<double>* out) : out_(out) {}
  std::string_view name() const override { return "plain_rewards"; }
  MechanismHooks hooks() const override { return {.before_change = true, .end = true}; }
  std::unique_ptr<Mechanism> instance() const override { return std::make_unique<PlainRewards>(out_); }

 private:
  std::vector<double>* out_;
};

struct Compared {
  std::size_t trials_changed = 0;  // trials in which some holder lost something
  double worst = 0.0;              // largest |engine - plain| / holder value
};

// `trials` trials of `m`: the engine's rewards (Trial::rewards, before the horizon's cascade
// attacks, which come after both) against PlainRewards', each holder's.
Compared compare(const Model& m, std::uint64_t trials) {
  Plans plans = Plans::of(m);
  std::vector<double> plain;
  // Right after the engine's rewards, as they run: before the horizon's cascade attacks, which
  // take what is left of positions without accruing anything.
  const auto rewards = std::find_if(plans.mechanisms.begin(), plans.mechanisms.end(), [](const auto& t) { return t->name() == "rewards"; });
  REQUIRE(rewards != plans.mechanisms.end());
  plans.mechanisms.insert(std::next(rewards), std::make_unique<PlainRewardsType>(&plain));
  Trial trial(m, plans.world, plans.mechanisms);
  TrialDraws d;
  TrialBlock b;
  Compared c;
  for (std::uint64_t t = 0; t < trials; ++t) {
    sample_trial(m, plans.sampler, m.simulation.seed, t, d);
    b.reset(RecordShape::of(m), t, 1);
    trial.run(d, b.row(0));
    bool changed = false;
    for (std::size_t h = 0; h < m.holders.size(); ++h) {
      changed = changed || b.loss_fraction[h] != 0.0;
      c.worst = std::max(c.worst, std::abs(trial.rewards(h) - plain[h]) / m.holders[h].value());
    }
    c.trials_changed += changed;
  }
  return c;
}

}  // namespace

TEST_CASE("every shipped scenario: each holder's rewards equal a plain accrual over every position and AVS at each change") {
  for (const auto& entry : std::filesystem::directory_iterator(RESTAKE_SOURCE_DIR "/scenarios")) {
    if (entry.path().extension() != ".toml") continue;
    const Model m = model_from(slurp(entry.path().string()));
    CAPTURE(entry.path().filename().string());
    const Compared c = compare(m, 1500);
    CHECK(c.worst <= 1e-15);
    MESSAGE(entry.path().filename().string() << ": " << c.trials_changed << " trials with a loss, worst difference " << c.worst);
  }
}

TEST_CASE("rewards with allocations that change and slashes that come often equal the plain accrual") {
  // The ecosystem (unique and shared mode, drawn half-lives, BTC) made eventful: every fault and
  // slashing ten times as likely, and every unique-mode allocation changed once, on a uniform day,
  // to half or to double (what is free allows) its size.
  Model m = model_from(slurp(RESTAKE_SOURCE_DIR "/scenarios/ecosystem.toml"));
  for (Operator& o : m.operators) o.fault_rate_per_year *= 10;
  std::size_t changes = 0;
  for (std::size_t a = 0; a < m.avs.size(); ++a) {
    Avs& avs = m.avs[a];
    avs.faulty_rate_per_year *= 10;
    for (SlashingCondition& c : avs.conditions) c.rate_per_year *= 10;
    if (m.protocols[avs.protocol].mode != SlashingMode::Unique) continue;
    for (std::size_t k = 0; k < avs.allocations.size(); ++k) {
      AllocationChange c;
      c.avs = a;
      c.member = k;
      c.allocation = avs.allocations[k].magnitude * (k % 2 == 0 ? 0.5 : 2.0);
      c.day = {DistributionKind::Uniform, 0.0, 365.0};
      m.allocation_changes.push_back(c);
      ++changes;
    }
  }
  REQUIRE(changes > 0);
  const Compared c = compare(m, 1500);
  CHECK(c.trials_changed > 500);  // the comparison is about changes: most trials must have some
  CHECK(c.worst <= 1e-15);
  MESSAGE("eventful ecosystem: worst difference " << c.worst);
}
