// Outages in a Monte Carlo run: validators offline, priced by inactivity.hpp, booked as cause
// `inactivity`, covered by pools like any cause, drawn as a Poisson source or forced by [stress].
#include <doctest/doctest.h>

#include <cmath>

#include "chain/inactivity.hpp"
#include "stats/statistics.hpp"
#include "support.hpp"

using namespace restake;
using namespace restake::test;

namespace {

std::string outage_world(const std::string& outage, const std::string& more = "", bool leak = true) {
  return R"(
[simulation]
name = "outages"
horizon_days = 365
[ethereum]
total_active_stake_eth = 34_000_000
base_apr = 0.0
inactivity_leak = )" + std::string(leak ? "true" : "false") + R"(
[[operator]]
name = "op"
validators = 100
[[operator]]
name = "big"
validators = 100
effective_balance_eth = 2048
[[operator]]
name = "untouched"
validators = 10
[[outage]]
name = "client-bug"
)" + outage + R"(
[[lst]]
name = "on-op"
positions = [{ operator = "op", stake_eth = 3200 }]
[[lst]]
name = "on-big"
positions = [{ operator = "big", stake_eth = 204800 }]
[[lst]]
name = "on-untouched"
positions = [{ operator = "untouched", stake_eth = 320 }]
)" + more;
}

constexpr const char* kForcedHalf = R"(
rate_per_year = 0
duration_days = 20
network_offline_share = 0.5
operators = ["op", "big"]
fraction = FRACTION
[stress]
random_events = false
outage = [{ outage = "client-bug", day = 40 }]
)";

std::string forced(const char* fraction) {
  std::string s = kForcedHalf;
  s.replace(s.find("FRACTION"), 8, fraction);
  return s;
}

double per_validator_share(const Model& m, double q, std::uint64_t epochs, Gwei eb) {
  const ConsensusParams& p = m.ethereum.consensus;
  return offline_penalty(p, leak_course(p, q, epochs), eb).total() / static_cast<double>(eb);
}

}  // namespace

TEST_CASE("a forced outage costs every offline validator what the spec charges it, booked as inactivity") {
  const Model m = model_from(outage_world(forced("0.5")));
  const Records r = run_in_memory(m, 50, 2);
  // 20 days = 4,500 epochs; half of each member's validators offline
  const double op = 0.5 * per_validator_share(m, 0.5, 4500, 32 * kGweiPerEth);
  const double big = 0.5 * per_validator_share(m, 0.5, 4500, 2048 * kGweiPerEth);
  CHECK(op > 0.15);  // a leak of ~4,500 epochs: roughly 40% of an offline validator
  for (std::size_t t = 0; t < r.trials; ++t) {
    CHECK(r.loss(t, 0) == doctest::Approx(op).epsilon(1e-9));
    CHECK(r.loss(t, 1) == doctest::Approx(big).epsilon(1e-9));
    CHECK(r.loss(t, 2) == 0.0);
    const double* causes = &r.loss_by_cause[t * 3 * kLossCauseCount];
    CHECK(causes[static_cast<std::size_t>(LossCause::Inactivity)] == doctest::Approx(op).epsilon(1e-9));
    CHECK(causes[static_cast<std::size_t>(LossCause::BeaconSlashing)] == 0.0);
  }
}

TEST_CASE("without the leak switch the same outage costs only the missed attestations") {
  const Model m = model_from(outage_world(forced("1"), "", false));
  const Records r = run_in_memory(m, 10, 1);
  // base reward at T = 34M ETH: 32 * (64e9 // isqrt(34e15)) = 32 * 347 = 11,104 Gwei; source + target per epoch
  const double duties = 4500.0 * (11'104 * 14 / 64 + 11'104 * 26 / 64) / 32e9;
  CHECK(r.loss(0, 0) == doctest::Approx(duties).epsilon(1e-12));
}

TEST_CASE("the network share counts the members: their own stake alone can stop finality") {
  // On a 400,000 ETH chain the 100 validators of 2048 ETH are 51% of all stake: an outage that
  // says 0% of the network is offline still stops finality, and leaks.
  std::string world = outage_world(R"(
rate_per_year = 0
duration_days = 20
network_offline_share = 0
operators = ["big"]
[stress]
random_events = false
outage = [{ outage = "client-bug", day = 40 }]
)");
  world.replace(world.find("total_active_stake_eth = 34_000_000"), 35, "total_active_stake_eth = 400_000");
  const Model m = model_from(world);
  const Records r = run_in_memory(m, 5, 1);
  const double share = 204'800.0 / 400'000.0;
  CHECK(r.loss(0, 1) == doctest::Approx(per_validator_share(m, share, 4500, 2048 * kGweiPerEth)).epsilon(1e-12));
  CHECK(r.loss(0, 1) > 0.2);  // the leak, not only the attestations (which would be ~0.3%)
}

TEST_CASE("a pool that covers inactivity pays an outage's losses, one that covers slashing does not") {
  const std::string pools = R"(
[[pool]]
name = "slashing-cover"
balance_eth = 1_000_000
covers = ["beacon_slashing"]
[[pool]]
name = "downtime-cover"
balance_eth = 100
covers = ["inactivity"]
holders = ["on-op"]
)";
  const Model m = model_from(outage_world(forced("1"), pools));
  const Records r = run_in_memory(m, 5, 1);
  const double gross = per_validator_share(m, 0.5, 4500, 32 * kGweiPerEth);
  CHECK(r.covered_fraction[0] == doctest::Approx(100.0 / 3200.0).epsilon(1e-12));
  CHECK(r.loss(0, 0) == doctest::Approx(gross - 100.0 / 3200.0).epsilon(1e-9));
  CHECK(r.pool_drawdown[0] == 0.0);
  CHECK(r.pool_drawdown[1] == doctest::Approx(100.0));
}

TEST_CASE("random outages: P(loss > 0) and the mean loss match the Poisson closed form within 4 standard errors") {
  const std::string random = R"(
rate_per_year = 0.4
duration_days = 2
network_offline_share = 0.5
operators = ["op"]
)";
  const Model m = model_from(outage_world(random));
  const std::uint64_t n = 100'000;
  const Records r = run_in_memory(m, n, 2);
  const std::vector<double> x = r.loss_column(0);
  // Each outage costs every validator of "op" the same share; outages add up (N ~ Poisson(0.4)).
  const double each = per_validator_share(m, 0.5, 450, 32 * kGweiPerEth);
  const Moments mo = moments(x);
  CHECK(std::abs(mo.mean - 0.4 * each) < 4 * mo.stderr_mean);
  const double p = 1 - std::exp(-0.4);
  CHECK(std::abs(summarize_loss(x).p_loss - p) < 4 * std::sqrt(p * (1 - p) / static_cast<double>(n)));
  // the same trials on 1 thread
  const Records one = run_in_memory(m, 2000, 1);
  const Records two = run_in_memory(m, 2000, 2, 64);
  CHECK(one.loss_fraction == two.loss_fraction);
}

TEST_CASE("adding an outage source leaves the other sources' draws alone (common random numbers)") {
  const std::string faults = R"(
rate_per_year = 0
duration_days = 2
network_offline_share = 0.5
operators = ["op"]
)";
  std::string with = outage_world(faults);
  with.replace(with.find("validators = 10\n"), 16, "validators = 10\nfault_rate_per_year = 0.5\nfault_fraction = 0.5\n");
  std::string more = with;
  more.replace(more.find("rate_per_year = 0\nduration"), 17, "rate_per_year = 3");
  const Records a = run_in_memory(model_from(with), 3000, 2);
  const Records b = run_in_memory(model_from(more), 3000, 2);
  CHECK(a.loss_column(2) == b.loss_column(2));  // "untouched" is faulted by its own source only
  CHECK(a.loss_column(0) != b.loss_column(0));
}

TEST_CASE("offline validators earn no base rewards while they are offline") {
  std::string world = outage_world(forced("0.5"), "", false);
  world.replace(world.find("base_apr = 0.0"), 14, "base_apr = 0.05");
  const Model m = model_from(world);
  const Records r = run_in_memory(m, 3, 1);
  // 3,200 ETH on "op"; half its validators offline for days 40 .. 60; the penalties L come off at day 40.
  const double S = 3200.0, L = r.loss(0, 0) * S, apr = 0.05;
  REQUIRE(L > 0.0);
  const double rewards = apr / 365.0 * (S * 40 + (S - L) * (365 - 40) - (S - L) * 20 * 0.5);
  CHECK(r.net_return[0] == doctest::Approx((rewards - L) / S).epsilon(1e-12));
  // the holder on an operator that stayed online earns the full year
  CHECK(r.net_return[2] == doctest::Approx(apr).epsilon(1e-12));
}
