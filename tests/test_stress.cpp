// Stress events: deterministic what-ifs forced on top of, or instead of, the random events.
#include <doctest/doctest.h>

#include <cmath>

#include "support.hpp"

using namespace restake;
using namespace restake::test;

namespace {

std::string stress_world(const std::string& stress) {
  return R"(
[simulation]
name = "stress"
horizon_days = 365
[ethereum]
total_active_stake_eth = 32_000_000
base_apr = 0.0
[[operator]]
name = "op"
validators = 100
annual_fault_probability = 0.2
fault_fraction = 0.1
[[operator]]
name = "other"
validators = 100
[[contract]]
name = "bridge"
kind = "bridge"
[[protocol]]
name = "eigen"
slashing_mode = "unique"
[[avs]]
name = "a"
protocol = "eigen"
operators = [{ operator = "other", allocation = 0.2 }]
[[avs]]
name = "b"
protocol = "eigen"
operators = [{ operator = "other", allocation = 0.2 }]
[[avs]]
name = "c"
protocol = "eigen"
operators = [{ operator = "other", allocation = 0.2 }]
[[avs]]
name = "d"
protocol = "eigen"
operators = [{ operator = "other", allocation = 0.2 }]
[[lst]]
name = "on-op"
positions = [{ operator = "op", stake_eth = 3200 }]
[[native]]
name = "restaker"
protocol = "eigen"
bridged = [{ bridge = "bridge", share = 0.5 }]
positions = [{ operator = "other", stake_eth = 3200 }]
)" + stress;
}

}  // namespace

TEST_CASE("a forced operator fault on day d hits its share of validators in every trial, priced by the spec") {
  const Model m = model_from(stress_world(R"(
[stress]
random_events = false
[[stress.operator_fault]]
operator = "op"
day = 30
fraction = 0.5
)"));
  const Records r = run_in_memory(m, 200, 2);
  const Gwei eb = 32 * kGweiPerEth;
  const double expected = 50.0 * static_cast<double>(slashing_penalty(m.ethereum.consensus, eb, 50 * eb).total()) /
                          (100.0 * static_cast<double>(eb));
  for (std::size_t t = 0; t < r.trials; ++t) {
    CHECK(r.loss(t, 0) == doctest::Approx(expected).epsilon(1e-12));
    CHECK(r.loss_by_cause[t * 2 * kLossCauseCount + static_cast<std::size_t>(LossCause::BeaconSlashing)] ==
          doctest::Approx(expected).epsilon(1e-12));
    CHECK(r.loss(t, 1) == 0.0);
  }
}

TEST_CASE("exactly k AVSs of a named set fail in every trial, each chosen uniformly") {
  const Model m = model_from(stress_world(R"(
[stress]
random_events = false
[[stress.avs_failures]]
avs = ["a", "b", "c", "d"]
count = 2
day = 5
fraction = 0.5
)"));
  const std::size_t n = 20'000;
  const Records r = run_in_memory(m, n, 2);
  std::array<double, 4> failed{};
  for (std::size_t t = 0; t < n; ++t) {
    std::size_t k = 0;
    for (std::size_t a = 0; a < 4; ++a) {
      const bool hit = r.avs_stake_lost[t * 4 + a] > 0;
      k += hit;
      failed[a] += hit;
    }
    CHECK(k == 2);
    // two slashes of half of a 0.2 allocation each: 0.1 + 0.1 of the stake
    CHECK(r.loss(t, 1) == doctest::Approx(0.2));
  }
  for (double f : failed) CHECK(std::abs(f / n - 0.5) < 4 * std::sqrt(0.25 / n));
}

TEST_CASE("a forced bridge failure hits the bridged share with the given loss, booked as a bridge loss") {
  const Model m = model_from(stress_world(R"(
[stress]
random_events = false
[[stress.contract_failure]]
contract = "bridge"
day = 100
loss = 0.6
)"));
  const Records r = run_in_memory(m, 50, 1);
  for (std::size_t t = 0; t < r.trials; ++t) {
    CHECK(r.loss(t, 1) == doctest::Approx(0.3));
    CHECK(r.loss_by_cause[(t * 2 + 1) * kLossCauseCount + static_cast<std::size_t>(LossCause::Bridge)] == doctest::Approx(0.3));
  }
}

TEST_CASE("forced events come on top of the random ones, which keep their draws") {
  const Model random_only = model_from(stress_world(""));
  const Model both = model_from(stress_world(R"(
[[stress.contract_failure]]
contract = "bridge"
day = 100
loss = 0.6
)"));
  const Records a = run_in_memory(random_only, 20'000, 2), b = run_in_memory(both, 20'000, 2);
  std::size_t random_losses = 0;
  for (std::size_t t = 0; t < a.trials; ++t) {
    CHECK(b.loss(t, 0) == a.loss(t, 0));  // the operator's random faults are unchanged
    random_losses += a.loss(t, 0) > 0;
    CHECK(b.loss(t, 1) == doctest::Approx(0.3));
  }
  CHECK(random_losses > 1000);
}

TEST_CASE("stress entries are validated like the rest of the scenario") {
  auto error = [](const std::string& stress) {
    try {
      model_from(stress_world(stress));
    } catch (const ScenarioError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(error("[[stress.avs_failures]]\navs = [\"a\", \"b\"]\ncount = 3\nday = 1\n").find("stress.avs_failures[0].count: expected at most 2") !=
        std::string::npos);
  CHECK(error("[[stress.operator_fault]]\noperator = \"op\"\nday = 400\n").find("a day within the horizon [0, 365]") != std::string::npos);
  CHECK(error("[[stress.operator_fault]]\noperator = \"nobody\"\nday = 1\n").find("unknown operator \"nobody\"") != std::string::npos);
  CHECK(error("[[stress.contract_failure]]\ncontract = \"bridge\"\n").find("missing required key 'day'") != std::string::npos);
  CHECK(error("[stress]\nrandom = false\n").find("stress.random: unknown key") != std::string::npos);
  CHECK(error("[[stress.avs_failures]]\navs = [\"a\", \"a\"]\nday = 1\n").find("listed twice") != std::string::npos);
}
