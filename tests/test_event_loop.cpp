// The trial's event loop (sim/trial/trial.hpp, event.hpp): the queue's order, follow-ups scheduled
// mid-trial, the loss hook, and a toy mechanism joining the standard ones - the example of
// docs/architecture.md, "Adding a mechanism": a fixed fee charged at a scheduled date.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "cli_support.hpp"
#include "support.hpp"

using namespace restake;
using namespace restake::test;

namespace {

Event at(double day, std::size_t entity) { return {day, EventKind::ContractFailure, entity, 0, 0.0}; }

// A fixed fee: `share` of every position's value (or of position `only`'s) taken at `day`, and
// half of it refunded `refund_after` days later (a follow-up the mechanism schedules for itself).
class FixedFee final : public Mechanism {
 public:
  FixedFee(double day, double share, double refund_after, std::vector<double>* log, std::size_t only)
      : day_(day), share_(share), refund_after_(refund_after), log_(log), only_(only) {}
  void begin(Trial& trial) override {
    Event e;
    e.day = day_;
    e.entity = 0;  // 0: the fee, 1: the refund
    trial.schedule(e, *this);
  }
  void handle(const Event& e, Trial& trial) override {
    log_->push_back(e.day);
    const double f = e.entity == 0 ? share_ : -share_ / 2 / (1 - share_);
    for (std::size_t i = 0; i < trial.world().positions.size(); ++i) {
      if (only_ != kNone && i != only_) continue;
      trial.touch(i);  // rewards accrue on the value before the change
      const double amount = trial.nav(i) * f;
      trial.contract_factor()[i] *= 1.0 - f;
      if (amount > 0.0) trial.book(i, LossCause::Contract, amount, kNone);
    }
    if (e.entity == 0) {
      Event refund = e;
      refund.day = e.day + refund_after_;
      refund.entity = 1;
      trial.schedule(refund, *this);
    }
  }

 private:
  double day_, share_, refund_after_;
  std::vector<double>* log_;  // days of the events it handled
  std::size_t only_;
};

class FixedFeeType final : public MechanismType {
 public:
  FixedFeeType(double day, double share, double refund_after, std::vector<double>* log, std::size_t only)
      : day_(day), share_(share), refund_after_(refund_after), log_(log), only_(only) {}
  std::string_view name() const override { return "fixed_fee"; }
  std::unique_ptr<Mechanism> instance() const override { return std::make_unique<FixedFee>(day_, share_, refund_after_, log_, only_); }

 private:
  double day_, share_, refund_after_;
  std::vector<double>* log_;
  std::size_t only_;
};

const std::string kOneHolder = R"(
[simulation]
name = "t"
horizon_days = 365
[ethereum]
total_active_stake_eth = 1_000_000
base_apr = 0.0365
[[operator]]
name = "op"
validators = 1
[[lst]]
name = "h"
positions = [{ operator = "op", stake_eth = 32 }]
)";

struct ToyRun {
  Outcome out;
  std::vector<double> handled;  // days of the fee mechanism's events
};

// One trial of `m` with no sampled events and the standard mechanisms plus a FixedFee.
ToyRun run_with_fee(const Model& m, double day, double share, double refund_after, double base_apr, std::size_t only = kNone) {
  ToyRun r;
  Plans plans = Plans::of(m);
  plans.mechanisms.push_back(std::make_unique<FixedFeeType>(day, share, refund_after, &r.handled, only));
  Trial trial(m, plans.world, plans.mechanisms);
  TrialDraws d;
  d.base_apr = base_apr;
  d.subsidy_days.assign(m.avs.size(), 0.0);
  TrialBlock b;
  b.reset(RecordShape::of(m), 0, 1);
  trial.run(d, b.row(0));
  r.out = {b.loss_fraction, b.net_return, b.covered_fraction, b.loss_by_cause, b.avs_stake_lost, b.pool_drawdown, {}};
  return r;
}

}  // namespace

TEST_CASE("the event queue gives sampled events in time order, same-day ones in the sampler's order") {
  EventQueue q;
  const std::vector<Event> sampled = {at(5, 0), at(1, 1), at(5, 2), at(0, 3), at(1, 4)};
  q.reset(sampled);
  std::vector<std::size_t> order;
  while (!q.empty()) order.push_back(q.pop().entity);
  CHECK(order == std::vector<std::size_t>{3, 1, 4, 0, 2});
}

TEST_CASE("the event queue orders a few events and many alike: stably by day") {
  for (const std::size_t n : {2, 20, 200}) {  // a few are insertion-sorted, many stable-sorted
    std::vector<Event> sampled;
    for (std::size_t k = 0; k < n; ++k) sampled.push_back(at(static_cast<double>((k * 7919) % 13), k));
    std::vector<Event> expected = sampled;
    std::stable_sort(expected.begin(), expected.end(), [](const Event& a, const Event& b) { return a.day < b.day; });
    EventQueue q;
    q.reset(sampled);
    CHECK(q.sampled_count(EventKind::ContractFailure) == n);
    CHECK(q.sampled_count(EventKind::OperatorFault) == 0);
    for (const Event& e : expected) CHECK(q.pop().entity == e.entity);
    CHECK(q.empty());
  }
}

TEST_CASE("follow-ups come after the sampled events of their day, in the order they were queued") {
  EventQueue q;
  const std::vector<Event> sampled = {at(1, 0), at(3, 1), at(3, 2)};
  q.reset(sampled);
  CHECK(q.pop().entity == 0);
  q.push(at(3, 10));  // same day as two sampled events: after them
  q.push(at(2, 11));  // earlier than the remaining sampled ones: first
  q.push(at(3, 12));
  std::vector<std::size_t> order;
  while (!q.empty()) order.push_back(q.pop().entity);
  CHECK(order == std::vector<std::size_t>{11, 1, 2, 10, 12});
}

TEST_CASE("nothing can be queued in the past") {
  EventQueue q;
  const std::vector<Event> sampled = {at(4, 0)};
  q.reset(sampled);
  q.pop();
  CHECK_THROWS_AS(q.push(at(3, 1)), std::logic_error);
  CHECK_NOTHROW(q.push(at(4, 2)));
}

TEST_CASE("a toy mechanism joins the loop: a fee at a scheduled date and a refund it schedules itself") {
  const Model m = model_from(kOneHolder);
  // 1% at day 100, half of it refunded 50 days later (into the position's value, not as a loss).
  const ToyRun r = run_with_fee(m, 100, 0.01, 50, 0.0);
  CHECK(r.handled == std::vector<double>{100, 150});
  CHECK(r.out.loss_fraction[0] == doctest::Approx(0.01).epsilon(1e-15));
  CHECK(r.out.cause(0, LossCause::Contract) == doctest::Approx(0.01).epsilon(1e-15));
}

TEST_CASE("rewards accrue on the value between a mechanism's changes, its follow-ups included") {
  const Model m = model_from(kOneHolder);
  // 3.65%/yr = 0.01% a day: 100 days on 32 ETH, 50 on 31.68, 215 on 31.84 after the refund.
  const ToyRun r = run_with_fee(m, 100, 0.01, 50, 0.0365);
  const double rewards = 32 * 1e-4 * 100 + 31.68 * 1e-4 * 50 + 31.84 * 1e-4 * 215;
  CHECK(r.out.net_return[0] == doctest::Approx((rewards - 0.32) / 32).epsilon(1e-12));
}

TEST_CASE("a follow-up past the horizon never happens") {
  const Model m = model_from(kOneHolder);
  const ToyRun r = run_with_fee(m, 300, 0.01, 100, 0.0365);
  CHECK(r.handled == std::vector<double>{300});
  const double rewards = 32 * 1e-4 * 300 + 31.68 * 1e-4 * 65;
  CHECK(r.out.net_return[0] == doctest::Approx((rewards - 0.32) / 32).epsilon(1e-12));
}

TEST_CASE("a loss booked by a new mechanism passes the loss hook: coverage pools pay it") {
  const Model m = model_from(kOneHolder + R"(
[[pool]]
name = "cover"
balance_eth = 0.1
covers = ["contract"]
holders = ["h"]
)");
  std::vector<double> handled;
  Plans plans = Plans::of(m);
  plans.mechanisms.push_back(std::make_unique<FixedFeeType>(10, 0.01, 1000, &handled, kNone));
  Trial trial(m, plans.world, plans.mechanisms);
  TrialDraws d;
  d.base_apr = 0.0;
  TrialBlock b;
  b.reset(RecordShape::of(m), 0, 1);
  trial.run(d, b.row(0));
  // 0.32 ETH charged, 0.1 paid by the pool (registered earlier): the holder bears 0.22.
  CHECK(b.covered_fraction[0] == doctest::Approx(0.1 / 32).epsilon(1e-12));
  CHECK(b.loss_fraction[0] == doctest::Approx(0.22 / 32).epsilon(1e-12));
  CHECK(b.pool_drawdown[0] == doctest::Approx(0.1).epsilon(1e-12));
}

TEST_CASE("a trial's outcome does not depend on the trials its runner ran before") {
  // A runner restores only what a trial changed, and most trials are quiet. Rates 4x the default
  // world's mix quiet trials with faults, group shocks, AVS slashings, contract failures and outages.
  Model m = model_from(slurp(RESTAKE_SOURCE_DIR "/scenarios/default.toml"));
  for (auto& o : m.operators) o.fault_rate_per_year *= 4;
  for (auto& g : m.groups) g.rate_per_year *= 4;
  for (auto& a : m.avs) {
    a.faulty_rate_per_year *= 4;
    for (auto& c : a.conditions) c.rate_per_year *= 4;
  }
  for (auto& c : m.contracts) c.failure_rate_per_year *= 4;
  for (auto& o : m.outages) o.rate_per_year *= 4;
  const Plans plans = Plans::of(m);
  const RecordShape shape = RecordShape::of(m);
  Trial reused(m, plans.world, plans.mechanisms);
  TrialDraws d;
  std::size_t quiet = 0;
  for (std::uint64_t t = 0; t < 400; ++t) {
    sample_trial(m, plans.sampler, 11, t, d);
    quiet += d.events.empty();
    TrialBlock a, b;
    a.reset(shape, t, 1);
    b.reset(shape, t, 1);
    reused.run(d, a.row(0));
    Trial fresh(m, plans.world, plans.mechanisms);
    fresh.run(d, b.row(0));
    // Bit for bit.
    CHECK(a.loss_fraction == b.loss_fraction);
    CHECK(a.net_return == b.net_return);
    CHECK(a.covered_fraction == b.covered_fraction);
    CHECK(a.loss_by_cause == b.loss_by_cause);
    CHECK(a.avs_stake_lost == b.avs_stake_lost);
    CHECK(a.pool_drawdown == b.pool_drawdown);
    CHECK(a.avs_shares == b.avs_shares);
  }
  CHECK(quiet > 60);  // both kinds of trial, mixed
  CHECK(quiet < 340);
}


TEST_CASE("a trial nothing happens in earns each position's rewards in closed form, summed per holder") {
  // The ecosystem: ETH and BTC holders, shared and unique slashing, drawn half-lives.
  Model m = model_from(slurp(RESTAKE_SOURCE_DIR "/scenarios/ecosystem.toml"));
  m.stress.random_events = false;  // no events: every position untouched all year
  const Plans plans = Plans::of(m);
  Trial trial(m, plans.world, plans.mechanisms);
  const double H = m.simulation.horizon_days;
  TrialDraws d;
  TrialBlock b;
  for (std::uint64_t t = 0; t < 20; ++t) {
    sample_trial(m, plans.sampler, 9, t, d);
    b.reset(RecordShape::of(m), t, 1);
    trial.run(d, b.row(0));
    std::vector<double> rewards(m.holders.size(), 0.0);
    for (std::size_t h = 0; h < m.holders.size(); ++h)
      for (const Position& p : m.holders[h].positions) {
        double rate_days = m.operators[p.validator_op].asset == Asset::Eth ? d.base_apr * H : 0.0;
        if (p.protocol != kNoProtocol)
          for (std::size_t a = 0; a < m.avs.size(); ++a) {
            if (m.avs[a].protocol != p.protocol) continue;
            for (const Allocation& al : m.avs[a].allocations) {
              if (al.op != p.op) continue;
              const double weight = m.protocols[p.protocol].mode == SlashingMode::Shared ? 1.0 : al.magnitude;
              const RewardSchedule& r = m.avs[a].rewards;
              rate_days += weight * (r.floor_apr * H + (r.initial_apr - r.floor_apr) * subsidy_days_paid(r, d.subsidy_days[a], H));
            }
          }
        rewards[h] += p.stake * rate_days / kDaysPerYear;
      }
    for (std::size_t h = 0; h < m.holders.size(); ++h) {
      CAPTURE(t);
      CAPTURE(m.holders[h].name);
      CHECK(b.loss_fraction[h] == 0.0);
      CHECK(b.net_return[h] == doctest::Approx((1.0 - m.holders[h].reward_fee) * rewards[h] / m.holders[h].value()).epsilon(1e-14));
    }
  }
}

TEST_CASE("a touched position's rewards replace its closed form, and the untouched ones beside it keep theirs") {
  // Two positions of one holder, 32 ETH each; a fee of 1% of the first on day 100, half of it
  // refunded 50 days later.
  std::string two = kOneHolder;
  two.replace(two.find("validators = 1"), 14, "validators = 2");
  two.replace(two.find("stake_eth = 32 }"), 16, "stake_eth = 32 }, { operator = \"op\", stake_eth = 32 }");
  const Model m = model_from(two);
  REQUIRE(m.holders[0].positions.size() == 2);
  const ToyRun r = run_with_fee(m, 100, 0.01, 50, 0.0365, 0);
  // The fee mechanism touches position 0 only: position 1 earns 64 x 1e-4 x 365 / 2 untouched.
  const double rewards = 32 * 1e-4 * 100 + 31.68 * 1e-4 * 50 + 31.84 * 1e-4 * 215 + 32 * 1e-4 * 365;
  CHECK(r.out.net_return[0] == doctest::Approx((rewards - 0.32) / 64).epsilon(1e-12));
}
