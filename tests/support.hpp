#pragma once
// Helpers shared by the tests: build models from TOML text and run trials in memory.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "trial/engine.hpp"
#include "io/scenario.hpp"

namespace restake::test {

inline Model model_from(const std::string& toml) { return parse_scenario(toml, "test.toml"); }

// Restakers with 60,000 ETH on op-a (which serves AVS a1) and 40,000 on op-b (a2), behind a vault
// contract. Every trial one of the two AVSs, drawn at random, slashes 20% on day 10 as a faulty
// slashing (a1: 12% of the book; a2: 8%); on `contract_day` the vault loses 10% of what is left
// (8.8% or 9.2%). A pool of `pool_balance` ETH, if any, covers contract losses.
inline std::string two_avs_world(std::uint64_t trials, std::uint64_t seed, double contract_day = 100, double pool_balance = 0) {
  return R"(
[simulation]
name = "two-avs"
trials = )" + std::to_string(trials) + R"(
seed = )" + std::to_string(seed) + R"(
horizon_days = 365
[ethereum]
total_active_stake_eth = 34_000_000
base_apr = 0.0
[[operator]]
name = "op-a"
stake_eth = 60_000
[[operator]]
name = "op-b"
stake_eth = 40_000
[[contract]]
name = "vault"
[[protocol]]
name = "restaking"
slashing_mode = "shared"
[[avs]]
name = "a1"
protocol = "restaking"
operators = [{ operator = "op-a" }]
[[avs]]
name = "a2"
protocol = "restaking"
operators = [{ operator = "op-b" }]
[[native]]
name = "restakers"
protocol = "restaking"
contracts = ["vault"]
positions = [{ operator = "op-a", stake_eth = 60_000 }, { operator = "op-b", stake_eth = 40_000 }]
)" + (pool_balance > 0 ? "[[pool]]\nname = \"cover\"\nbalance_eth = " + std::to_string(pool_balance) +
                             "\ncovers = [\"contract\"]\nholders = [\"restakers\"]\n"
                       : std::string()) +
         R"(
[stress]
random_events = false
  [[stress.avs_failures]]
  avs = ["a1", "a2"]
  count = 1
  day = 10
  fraction = 0.2
  [[stress.contract_failure]]
  contract = "vault"
  day = )" + std::to_string(contract_day) + R"(
  loss = 0.1
)";
}

// One operator, one AVS slashing condition, one native holder: N ~ Poisson(rate per year) slashes
// of `f` each leave (1 - f)^N of the stake, so the loss exceeds 1 - (1 - f)^(k-1) exactly when N >= k.
inline std::string shared_avs_world(double rate, double f) {
  return R"(
[simulation]
name = "iid"
horizon_days = 365
[ethereum]
total_active_stake_eth = 1_000_000
base_apr = 0.0
[[operator]]
name = "op"
validators = 100
[[protocol]]
name = "p"
slashing_mode = "shared"
[[avs]]
name = "avs"
protocol = "p"
operators = ["op"]
  [[avs.slashing]]
  name = "fault"
  rate_per_year = )" + std::to_string(rate) + R"(
  fraction = )" + std::to_string(f) + R"(
[[native]]
name = "staker"
protocol = "p"
positions = [{ operator = "op", stake_eth = 100 }]
)";
}


// All per-trial records of a run, concatenated in trial order.
struct Records {
  RecordShape shape;
  std::size_t trials = 0;
  std::vector<double> loss_fraction, net_return, covered_fraction, loss_by_cause, avs_stake_lost, pool_drawdown;

  double loss(std::size_t trial, std::size_t holder) const { return loss_fraction[trial * shape.holders + holder]; }
  std::vector<double> loss_column(std::size_t holder) const {
    std::vector<double> out(trials);
    for (std::size_t t = 0; t < trials; ++t) out[t] = loss(t, holder);
    return out;
  }
};

inline Records run_in_memory(const Model& m, std::uint64_t trials, int threads, std::size_t block = 4096,
                             std::uint64_t seed = 7) {
  Records r;
  r.shape = RecordShape::of(m);
  RunSpec o;
  o.trials = trials;
  o.seed = seed;
  o.threads = threads;
  o.block_trials = block;
  auto add = [](std::vector<double>& to, const std::vector<double>& from) { to.insert(to.end(), from.begin(), from.end()); };
  run_trials(m, o, [&](const TrialBlock& b) {
    r.trials += b.count;
    add(r.loss_fraction, b.loss_fraction);
    add(r.net_return, b.net_return);
    add(r.covered_fraction, b.covered_fraction);
    add(r.loss_by_cause, b.loss_by_cause);
    add(r.avs_stake_lost, b.avs_stake_lost);
    add(r.pool_drawdown, b.pool_drawdown);
  });
  return r;
}

// Each [[withdrawal]] entry's draws from its fixed distributions (share, day, exit queue): a
// hand-placed trial has no stream to draw from, so a random one is refused.
inline std::vector<TrialDraws::Withdrawal> fixed_withdrawals(const Model& m) {
  const auto value = [](const Distribution& d) {
    if (!d.is_fixed()) throw std::invalid_argument("propagate_events: give the draws of a [[withdrawal]] with random " + d.describe());
    return d.a;
  };
  std::vector<TrialDraws::Withdrawal> out;
  for (const Withdrawal& wd : m.withdrawals)
    out.push_back({value(wd.share), value(wd.day), wd.exit_queue_eth ? value(*wd.exit_queue_eth) : 0.0});
  return out;
}

// One trial with hand-placed events instead of random ones.
struct Outcome {
  std::vector<double> loss_fraction, net_return, covered_fraction, loss_by_cause, avs_stake_lost, pool_drawdown;
  std::vector<double> avs_holder_loss;  // [avs * holder] share of the holder's value lost to the AVS
  double cause(std::size_t holder, LossCause c) const { return loss_by_cause[holder * kLossCauseCount + static_cast<std::size_t>(c)]; }
};

// `withdrawals`: each [[withdrawal]] entry's draws; empty: fixed_withdrawals(m).
inline Outcome propagate_events(const Model& m, std::vector<Event> events, double base_apr = 0.0,
                                std::vector<double> subsidy_days = {}, std::vector<TrialDraws::Withdrawal> withdrawals = {}) {
  const Plans plans = Plans::of(m);
  Trial trial(m, plans.world, plans.mechanisms);
  TrialDraws d;
  d.base_apr = base_apr;
  d.subsidy_days = subsidy_days.empty() ? std::vector<double>(m.avs.size(), 0.0) : subsidy_days;
  d.withdrawals = withdrawals.empty() ? fixed_withdrawals(m) : std::move(withdrawals);
  d.events = std::move(events);
  for (const AllocationChange& c : m.allocation_changes) d.allocation_change_days.push_back(c.day.a);  // fixed days only
  TrialBlock b;
  b.reset(RecordShape::of(m), 0, 1);
  trial.run(d, b.row(0));
  b.end_row(0);
  std::vector<double> avs_holder(m.avs.size() * m.holders.size(), 0.0);
  for (const AvsHolderShare& s : b.avs_shares_of(0)) avs_holder[s.avs * m.holders.size() + s.holder] += s.share;
  return {b.loss_fraction, b.net_return, b.covered_fraction, b.loss_by_cause, b.avs_stake_lost, b.pool_drawdown, avs_holder};
}

// The share of an AVS's subsidy paid over [0, t] days, its decay `d` days (rewards.cpp's, written
// out again: the tests' own).
inline double subsidy_days_paid(const RewardSchedule& r, double d, double t) {
  switch (r.decay) {
    case SubsidyDecay::None: return t;
    case SubsidyDecay::Cliff: return std::min(t, d);
    case SubsidyDecay::HalfLife: return d / std::log(2.0) * (1.0 - std::exp2(-t / d));
  }
  return t;
}

}  // namespace restake::test
