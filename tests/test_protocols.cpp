// The protocol scenarios (issue 3): mechanism checks on the shipped scenario files, using common
// random numbers - two files of the same world draw the same events in every trial.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <iterator>

#include "support.hpp"

using namespace restake;
using namespace restake::test;

namespace {

Model scenario_file(const std::string& name) {
  const std::string path = RESTAKE_SOURCE_DIR "/scenarios/" + name;
  std::ifstream in(path);
  REQUIRE(in.good());
  return parse_scenario(std::string(std::istreambuf_iterator<char>(in), {}), path);
}

std::size_t holder_index(const Model& m, const std::string& name) {
  for (std::size_t h = 0; h < m.holders.size(); ++h)
    if (m.holders[h].name == name) return h;
  FAIL("no holder " << name);
  return 0;
}

}  // namespace

TEST_CASE("unique stake never loses more than shared security on the same events") {
  const Model unique = scenario_file("eigenlayer-unique.toml"), shared = scenario_file("eigenlayer-shared.toml");
  const Records u = run_in_memory(unique, 50'000, 2), s = run_in_memory(shared, 50'000, 2);
  std::size_t strictly_less = 0;
  for (std::size_t h = 0; h < unique.holders.size(); ++h) {
    REQUIRE(unique.holders[h].name == shared.holders[h].name);
    for (std::size_t t = 0; t < u.trials; ++t) {
      CHECK(u.loss(t, h) <= s.loss(t, h) + 1e-15);
      strictly_less += u.loss(t, h) < s.loss(t, h);
    }
  }
  CHECK(strictly_less > 1000);  // and often strictly less: the comparison has teeth
}

TEST_CASE("Secure-Signer's lower double-sign rate lowers pufETH's loss in every trial (stochastic dominance on a fixed seed)") {
  const Model with = scenario_file("puffer.toml"), without = scenario_file("puffer-no-secure-signer.toml");
  const Records a = run_in_memory(with, 50'000, 2), b = run_in_memory(without, 50'000, 2);
  const std::size_t h = holder_index(with, "pufETH");
  double beacon_with = 0, beacon_without = 0;
  for (std::size_t t = 0; t < a.trials; ++t) {
    CHECK(a.loss(t, h) <= b.loss(t, h) + 1e-15);
    // The gross beacon loss is lower on average, not in every trial: an extra fault can come before
    // another loss and change the base it is taken from.
    const std::size_t beacon = (t * with.holders.size() + h) * kLossCauseCount;
    beacon_with += a.loss_by_cause[beacon];
    beacon_without += b.loss_by_cause[beacon];
  }
  CHECK(beacon_with < 0.5 * beacon_without);
}

TEST_CASE("a coverage pool's exhaustion probability matches the hand-computed Poisson probability") {
  // One contract-free world: a single AVS slashes 50% of a 100 ETH position at rate lambda; a pool
  // of 30 ETH pays. One slash costs 50 ETH: the pool is exhausted iff at least one slash happens.
  const double lambda = 0.4;
  const Model m = model_from(R"(
[simulation]
name = "pool"
[ethereum]
total_active_stake_eth = 1_000_000
base_apr = 0.0
[[operator]]
name = "op"
validators = 4
[[protocol]]
name = "p"
slashing_mode = "shared"
[[avs]]
name = "avs"
protocol = "p"
operators = ["op"]
  [[avs.slashing]]
  name = "fault"
  rate_per_year = 0.4
  fraction = 0.5
[[lrt]]
name = "lrt"
protocol = "p"
positions = [{ operator = "op", stake_eth = 100 }]
[[pool]]
name = "cover"
balance_eth = 30
covers = ["avs_slashing"]
)");
  const Records r = run_in_memory(m, 100'000, 2);
  double exhausted = 0, paid_max = 0;
  for (std::size_t t = 0; t < r.trials; ++t) {
    exhausted += r.pool_drawdown[t] >= 30.0;
    paid_max = std::max(paid_max, r.pool_drawdown[t]);
    // never more than its balance; holders bear exactly the rest
    if (r.pool_drawdown[t] > 0) CHECK(r.loss(t, 0) * 100 == doctest::Approx(r.loss_by_cause[t * kLossCauseCount + 1] * 100 - 30));
  }
  CHECK(paid_max == 30.0);
  const double p = 1 - std::exp(-lambda);
  CHECK(std::abs(exhausted / r.trials - p) < 4 * std::sqrt(p * (1 - p) / r.trials));
}

TEST_CASE("ether.fi: a bridge failure hits only the bridged share of weETH") {
  Model m = scenario_file("etherfi.toml");
  m.stress.random_events = false;
  ForcedContractFailure arb;
  for (std::size_t c = 0; c < m.contracts.size(); ++c)
    if (m.contracts[c].name == "arbitrum-bridge") arb.contract = c;
  arb.day = Distribution::fixed(100);
  arb.loss = Distribution::fixed(1.0);
  m.stress.contract_failures.push_back(arb);
  const Records r = run_in_memory(m, 100, 1);
  for (std::size_t t = 0; t < r.trials; ++t) {
    CHECK(r.loss(t, 0) == doctest::Approx(0.04));  // the Arbitrum share, all of it
    CHECK(r.loss_by_cause[t * kLossCauseCount + static_cast<std::size_t>(LossCause::Bridge)] == doctest::Approx(0.04));
  }
}

TEST_CASE("Babylon: BTC losses stay in BTC units, with no beacon-chain penalties and no base staking yield") {
  Model m = scenario_file("babylon.toml");
  const std::size_t native = holder_index(m, "btc-stakers");
  CHECK(m.holders[native].asset == Asset::Btc);
  CHECK(m.holders[native].value() == 30'000.0);
  for (const auto& a : m.avs) CHECK(a.asset == Asset::Btc);
  const Records r = run_in_memory(m, 50'000, 2);
  const std::size_t H = m.holders.size(), A = m.avs.size();
  std::size_t slashed = 0;
  for (std::size_t t = 0; t < r.trials; ++t) {
    // every BTC the AVSs slashed is a BTC some holder lost to AVS slashing: one unit throughout
    double lost_by_holders = 0.0, slashed_by_avs = 0.0;
    for (std::size_t h = 0; h < H; ++h) {
      lost_by_holders += r.loss_by_cause[(t * H + h) * kLossCauseCount + static_cast<std::size_t>(LossCause::AvsSlashing)] *
                         m.holders[h].value();
      CHECK(r.loss_by_cause[(t * H + h) * kLossCauseCount + static_cast<std::size_t>(LossCause::BeaconSlashing)] == 0.0);
    }
    for (std::size_t a = 0; a < A; ++a) slashed_by_avs += r.avs_stake_lost[t * A + a];
    CHECK(lost_by_holders == doctest::Approx(slashed_by_avs).epsilon(1e-9));
    slashed += slashed_by_avs > 0;
  }
  CHECK(slashed > 1000);
  // With no events, a BTC holder earns only its services' rewards: the base APR is Ethereum's.
  m.ethereum.base_apr = Distribution::fixed(0.5);
  m.stress.random_events = false;
  const Records quiet = run_in_memory(m, 10, 1);
  CHECK(quiet.net_return[native] < 0.05);
}

TEST_CASE("BTC operators cannot be forced to fault on a beacon chain, and a bond pays in its operators' asset") {
  const std::string world = R"(
[simulation]
name = "btc"
[ethereum]
total_active_stake_eth = 1_000_000
[[operator]]
name = "fp"
asset = "BTC"
stake_btc = 100
[[protocol]]
name = "babylon"
slashing_mode = "shared"
[[native]]
name = "stakers"
protocol = "babylon"
positions = [{ operator = "fp", stake_btc = 100 }]
)";
  auto error_of = [](const std::string& text) {
    try {
      model_from(text);
    } catch (const ScenarioError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(error_of(world + "[[stress.operator_fault]]\noperator = \"fp\"\nday = 1\n").find("no beacon-chain validators to fault") !=
        std::string::npos);
  CHECK(error_of(world + "[[pool]]\nname = \"bond\"\nbalance_eth = 10\ncovers = [\"avs_slashing\"]\noperators = [\"fp\"]\n")
            .find("operator \"fp\" stakes BTC, the pool pays in ETH") != std::string::npos);
  CHECK(error_of(world + "[[pool]]\nname = \"bond\"\nbalance_btc = 10\ncovers = [\"avs_slashing\"]\noperators = [\"fp\"]\n") ==
        "no error");
}
