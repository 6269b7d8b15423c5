// The market layer in trials ([[token]], [[lending_market]]): a loss at NAV starts an episode whose
// outcome reaches the trial's records. Hand-worked against forced contract failures, and checked
// against the episode run directly (market/episode.hpp, tested on its own in test_episode.cpp).
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "support.hpp"
#include "trial/mechanisms.hpp"

using namespace restake;
using namespace restake::test;

namespace {

// One LST holder of 100,000 ETH behind a contract that fails on day 10 taking `loss` of its value
// (no other event); its token trades in a pool of `pool` and backs `lending` markets.
std::string world(double loss, const std::string& pool, const std::string& lending, const std::string& token_keys = "",
                  const std::string& contract_keys = "", bool random_events = false) {
  return R"(
[simulation]
name = "markets"
trials = 4
seed = 3
horizon_days = 365
[ethereum]
total_active_stake_eth = 34_000_000
base_apr = 0.0
[[contract]]
name = "vault"
)" + contract_keys + R"(
[[operator]]
name = "op"
stake_eth = 101_024
[[lst]]
name = "holder"
contracts = ["vault"]
positions = [{ operator = "op", stake_eth = 100_000 }]
[[lst]]
name = "bystander"
positions = [{ operator = "op", stake_eth = 1_000 }]
[[token]]
name = "tok"
holder = "holder"
pool = )" + pool + "\n" + token_keys + "\n" + lending + R"(
[stress]
random_events = )" + (random_events ? "true" : "false") + R"(
  [[stress.contract_failure]]
  contract = "vault"
  day = 10
  loss = )" + std::to_string(loss) + "\n";
}

// Aave e-mode, NAV-priced, 20 buckets of health factors uniform in [1, 1.2]: 1.005, 1.015, ..., 1.195.
const std::string kAaveExchangeRate = R"(
[[lending_market]]
name = "aave"
token = "tok"
rules = "aave_v3"
ltv = 0.93
liquidation_threshold = 0.95
liquidation_bonus = 0.01
oracle = "exchange_rate"
debt_eth = 20_000
health_factor = { dist = "uniform", min = 1.0, max = 1.2 }
)";

struct MarketRecords {
  std::vector<double> loss, loss_at_market, min_price, max_discount, depeg_days, sold, liquidated, bad_debt, accounts;
};

MarketRecords run(const Model& m, std::uint64_t trials = 1, int threads = 1, std::size_t block = 4096, std::uint64_t seed = 7) {
  MarketRecords r;
  RunSpec o;
  o.trials = trials;
  o.seed = seed;
  o.threads = threads;
  o.block_trials = block;
  auto add = [](std::vector<double>& to, const std::vector<double>& from) { to.insert(to.end(), from.begin(), from.end()); };
  run_trials(m, o, [&](const TrialBlock& b) {
    add(r.loss, b.loss_fraction);
    add(r.loss_at_market, b.loss_at_market);
    add(r.min_price, b.token_min_price);
    add(r.max_discount, b.token_max_discount);
    add(r.depeg_days, b.token_depeg_days);
    add(r.sold, b.token_sold);
    add(r.liquidated, b.lending_liquidated);
    add(r.bad_debt, b.lending_bad_debt);
    add(r.accounts, b.lending_accounts_liquidated);
  });
  return r;
}

const std::string kDeepPool = R"({ kind = "constant_product", eth = 1e9, fee = 0 })";

}  // namespace

TEST_CASE("a NAV write-down liquidates, under an exchange-rate oracle, exactly the borrowers below 1 / (1 - loss)") {
  // 7%: HF x 0.93 < 1 for HF < 1.0753: the 8 buckets 1.005 ... 1.075 of 20.
  const Model m = model_from(world(0.07, kDeepPool, kAaveExchangeRate));
  const MarketRecords r = run(m);
  CHECK(r.loss[0] == doctest::Approx(0.07).epsilon(1e-12));
  CHECK(r.accounts[0] == doctest::Approx(8.0 / 20.0).epsilon(1e-12));
  CHECK(r.liquidated[0] > 0.0);
  // Below the spiral threshold LT (1 + bonus) = 0.9595, at 0.93 HF < 0.9595 (HF < 1.0317: 1.005,
  // 1.015, 1.025), liquidations take all the collateral and leave debt - value / (1 + bonus) of
  // each 1,000 ETH bucket: 1,000 (1 - 0.93 HF / (0.95 x 1.01)) = 25.90 + 16.21 + 6.51.
  double bad_debt = 0.0;
  for (const double hf : {1.005, 1.015, 1.025}) bad_debt += 1000.0 * (1.0 - 0.93 * hf / (0.95 * 1.01));
  CHECK(r.bad_debt[0] == doctest::Approx(bad_debt).epsilon(1e-9));
  // The pool follows NAV down (holders sell while it pays more) and, with a billion ETH of depth,
  // the liquidators' sales move it by about 2 x 8,000 / 1e9: no discount to speak of.
  CHECK(r.min_price[0] == doctest::Approx(0.93).epsilon(1e-4));
  CHECK(r.max_discount[0] < 1e-4);
  CHECK(r.depeg_days[0] == 0.0);
  // At market the holder loses what it lost at NAV; the bystander has no token.
  CHECK(r.loss_at_market[0] == doctest::Approx(0.07).epsilon(1e-4));
  CHECK(r.loss_at_market[1] == r.loss[1]);
}

TEST_CASE("a trial without a loss runs no episode: neutral market records") {
  const Model m = model_from(world(0.0, kDeepPool, kAaveExchangeRate));
  const MarketRecords r = run(m);
  CHECK(r.loss[0] == 0.0);
  CHECK(r.min_price[0] == 1.0);
  CHECK(r.max_discount[0] == 0.0);
  CHECK(r.sold[0] == 0.0);
  CHECK(r.accounts[0] == 0.0);
  CHECK(r.loss_at_market[0] == 0.0);
}

TEST_CASE("the trial's episode is the episode run directly on the token's market and NAV path") {
  const std::string sellers = "sellers = { share = 0.05, trigger = 0.0, hours = 6 }";
  const std::string pool = R"({ kind = "constant_product", eth = 3000, lp_withdrawal = [[0.05, 0.3], [0.3, 0.9]] })";
  const std::string spot = R"(
[[lending_market]]
name = "morpho"
token = "tok"
rules = "morpho_blue"
lltv = 0.86
oracle = "market_spot"
debt_eth = 30_000
reserve_eth = 50
health_factor = { dist = "uniform", min = 1.0, max = 1.6 }
)";
  const Model m = model_from(world(0.02, pool, kAaveExchangeRate + spot, sellers));
  const MarketRecords r = run(m);
  market::TokenMarket tm = token_market(m, 0);
  tm.sellers.share = 0.05;
  tm.sellers.trigger = 0.0;
  const std::vector<market::NavPoint> nav{{0.0, 0.98}};
  const market::EpisodeResult e = market::run_episode(tm, nav, m.ethereum.consensus, episode_grid(m.market));
  CHECK(r.min_price[0] == e.min_price);
  CHECK(r.max_discount[0] == 1.0 - e.min_price_to_nav);
  CHECK(r.depeg_days[0] == e.depeg_days);
  CHECK(r.sold[0] == e.sold_by_sellers + e.sold_by_liquidators);
  REQUIRE(e.lending.size() == 2);
  for (std::size_t b = 0; b < 2; ++b) {
    CHECK(r.liquidated[b] == e.lending[b].liquidated_tokens);
    CHECK(r.bad_debt[b] == e.lending[b].bad_debt_eth);
    CHECK(r.accounts[b] == e.lending[b].accounts_liquidated);
  }
  // The depeg is real here (5% of 100k tokens into 3,000 ETH of depth), and only the market-priced
  // book sees it: the NAV-priced book sees only the 2% (HF x 0.98 < 1: the buckets at 1.005, 1.015).
  CHECK(r.max_discount[0] > 0.5);
  CHECK(r.accounts[0] == doctest::Approx(2.0 / 20.0).epsilon(1e-12));
  CHECK(r.accounts[1] > 0.5);
  CHECK(r.loss_at_market[0] == doctest::Approx(1.0 - r.min_price[0]).epsilon(1e-15));
}

TEST_CASE("a loss after an episode has ended starts another, from the NAV it left") {
  // Two failures, day 10 (7%) and day 30 (another 7% of what is left, by the failure's loss given
  // failure on the position): two episodes of 7 days; the second starts from NAV 0.93.
  const std::string second = R"(
  [[stress.contract_failure]]
  contract = "vault"
  day = 30
  loss = 0.07
)";
  const Model m = model_from(world(0.07, kDeepPool, kAaveExchangeRate) + second);
  const MarketRecords r = run(m);
  const double nav = 0.93 * 0.93;
  CHECK(r.loss[0] == doctest::Approx(1.0 - nav).epsilon(1e-12));
  CHECK(r.min_price[0] == doctest::Approx(nav).epsilon(1e-4));
  // Each episode starts from the scenario's borrowers: 8 of 20 buckets both times; the share is
  // the larger of the two, not their sum.
  CHECK(r.accounts[0] == doctest::Approx(8.0 / 20.0).epsilon(1e-12));
}

TEST_CASE("market records are the same for any thread count and block size, and common random numbers hold across depths") {
  // Random contract failures with random losses, sellers with random shares and triggers.
  auto scenario = [](double eth) {
    std::string s = world(0.0, "{ kind = \"stableswap\", eth = " + std::to_string(eth) + ", amplification = 20 }",
                          kAaveExchangeRate + R"(
[[lending_market]]
name = "spot"
token = "tok"
rules = "morpho_blue"
lltv = 0.915
oracle = "market_twap"
twap_window_days = 0.25
debt_eth = 40_000
leverage = { dist = "uniform", min = 2, max = 11 }
)",
                          "sellers = { share = { dist = \"uniform\", min = 0.0, max = 0.1 }, trigger = { dist = \"uniform\", min = 0.0, max = 0.05 } }",
                          "failure_rate_per_year = 3\nloss_given_failure = { dist = \"beta\", alpha = 1, beta = 20 }", true);
    return s;
  };
  const Model shallow = model_from(scenario(2000)), deep = model_from(scenario(20000));
  const MarketRecords a = run(shallow, 300, 1, 4096), b = run(shallow, 300, 2, 37), d = run(deep, 300, 2, 64);
  CHECK(a.min_price == b.min_price);
  CHECK(a.max_discount == b.max_discount);
  CHECK(a.depeg_days == b.depeg_days);
  CHECK(a.sold == b.sold);
  CHECK(a.liquidated == b.liquidated);
  CHECK(a.bad_debt == b.bad_debt);
  CHECK(a.accounts == b.accounts);
  CHECK(a.loss_at_market == b.loss_at_market);
  // The same draws at both depths: the same losses at NAV, and a NAV-priced book sees the same NAV,
  // so it liquidates the same and leaves the same bad debt; the deeper pool's low is never lower.
  // (Bad debt of a market-priced book is not monotone in depth in general: a deeper pool can delay
  // a liquidation to a trade that overshoots; tests/test_episode.cpp shows one.)
  std::size_t with_bad_debt = 0, depegged = 0;
  for (std::size_t t = 0; t < 300; ++t) {
    CAPTURE(t);
    CHECK(d.loss[t] == a.loss[t]);
    CHECK(d.min_price[t] >= a.min_price[t] - 1e-12);
    CHECK(d.bad_debt[2 * t] == a.bad_debt[2 * t]);
    CHECK(d.accounts[2 * t] == a.accounts[2 * t]);
    with_bad_debt += a.bad_debt[2 * t] > 0.0;
    depegged += d.min_price[t] > a.min_price[t] + 1e-6;
  }
  CHECK(with_bad_debt > 0);  // the comparisons are not empty
  CHECK(depegged > 0);
}

TEST_CASE("a forced market shock, NAV unchanged: an exchange-rate oracle liquidates nobody, a market oracle does") {
  // Sellers with a trigger they would never reach on their own (a 90% fall) run anyway.
  const std::string spot = R"(
[[lending_market]]
name = "morpho"
token = "tok"
rules = "morpho_blue"
lltv = 0.86
oracle = "market_spot"
debt_eth = 20_000
health_factor = { dist = "uniform", min = 1.0, max = 1.6 }
)";
  const std::string shock = "\n  [[stress.market_shock]]\n  token = \"tok\"\n  day = 5\n";
  const Model m = model_from(world(0.0, R"({ kind = "constant_product", eth = 9000 })", kAaveExchangeRate + spot,
                                   "sellers = { share = 0.05, trigger = 0.9, hours = 2 }") + shock);
  const MarketRecords r = run(m);
  CHECK(r.loss[0] == 0.0);
  CHECK(r.sold[0] >= 5000.0 * (1 - 1e-12));  // 5% of 100,000, and what liquidators sold
  CHECK(r.max_discount[0] > 0.3);
  CHECK(r.accounts[0] == 0.0);
  CHECK(r.bad_debt[0] == 0.0);
  CHECK(r.accounts[1] > 0.0);
  CHECK(r.loss_at_market[0] == doctest::Approx(1.0 - r.min_price[0]).epsilon(1e-15));
  // Without the shock nothing happens at all.
  const MarketRecords quiet = run(model_from(world(0.0, R"({ kind = "constant_product", eth = 9000 })", kAaveExchangeRate + spot,
                                                   "sellers = { share = 0.05, trigger = 0.9, hours = 2 }")));
  CHECK(quiet.min_price[0] == 1.0);
  CHECK(quiet.accounts[1] == 0.0);
}

TEST_CASE("a loss in an episode's last hour is read by it, and one after its last step starts the next") {
  // 2% on day 10, then 50% of what is left inside the episode's last hour (its last step starts
  // at day 10 + 167 / 24): NAV ends at 0.98 x 0.5 = 0.49 and some episode must see it.
  const std::string second = "\n  [[stress.contract_failure]]\n  contract = \"vault\"\n  day = DAY\n  loss = 0.5\n";
  for (const double day : {10.0 + 166.5 / 24.0, 10.0 + 167.5 / 24.0, 10.0 + 168.5 / 24.0}) {
    CAPTURE(day);
    std::string s = world(0.02, kDeepPool, kAaveExchangeRate) + second;
    s.replace(s.find("DAY"), 3, std::to_string(day));
    const MarketRecords r = run(model_from(s));
    CHECK(r.loss[0] == doctest::Approx(0.51).epsilon(1e-12));
    CHECK(r.min_price[0] == doctest::Approx(0.49).epsilon(1e-4));
    CHECK(r.accounts[0] == 1.0);  // HF x 0.49 / 0.98 < 1 for every bucket
  }
}

TEST_CASE("a forced market shock inside an episode started by a loss still sets its sellers running") {
  const std::string shock = "\n  [[stress.market_shock]]\n  token = \"tok\"\n  day = 12\n";
  const auto sold = [&](double loss) {
    return run(model_from(world(loss, R"({ kind = "constant_product", eth = 9000 })", kAaveExchangeRate,
                                "sellers = { share = 0.05, trigger = 0.9, hours = 2 }") + shock)).sold[0];
  };
  const double alone = sold(0.0);  // no loss: the shock's own episode
  CHECK(alone >= 5'000 * (1 - 1e-12));
  // A 0.1% loss on day 10 starts an episode that the shock on day 12 falls inside.
  CHECK(sold(0.001) >= 5'000 * (1 - 1e-12));
}

TEST_CASE("a later episode counts tokens as they are and its ETH at the NAV it starts from") {
  // Two losses far apart: 50% on day 10, then 2% of what is left on day 100. The second episode
  // runs the scenario's market at NAV 0.5: its token counts are the episode's own, its bad debt
  // (in the episode's ETH, worth 0.5 ETH each) is halved.
  const std::string second = "\n  [[stress.contract_failure]]\n  contract = \"vault\"\n  day = 100\n  loss = 0.02\n";
  const std::string sellers = "sellers = { share = 0.01, trigger = 0.0, hours = 2 }";
  const std::string pool = R"({ kind = "constant_product", eth = 3000 })";
  const std::string spot = R"(
[[lending_market]]
name = "morpho"
token = "tok"
rules = "morpho_blue"
lltv = 0.86
oracle = "market_spot"
debt_eth = 30_000
health_factor = { dist = "uniform", min = 1.0, max = 1.6 }
)";
  const Model m = model_from(world(0.5, pool, spot, sellers) + second);
  const MarketRecords r = run(m);
  market::TokenMarket tm = token_market(m, 0);
  tm.sellers.share = 0.01;
  const market::EpisodeGrid grid = episode_grid(m.market);
  const std::vector<market::NavPoint> first{{0.0, 0.5}}, later{{0.0, 0.98}};
  const market::EpisodeResult a = market::run_episode(tm, first, m.ethereum.consensus, grid);
  const market::EpisodeResult b = market::run_episode(tm, later, m.ethereum.consensus, grid);
  REQUIRE(b.lending[0].bad_debt_eth > 0.0);
  CHECK(r.sold[0] == doctest::Approx(a.sold_by_sellers + a.sold_by_liquidators + b.sold_by_sellers + b.sold_by_liquidators).epsilon(1e-12));
  CHECK(r.liquidated[0] == doctest::Approx(a.lending[0].liquidated_tokens + b.lending[0].liquidated_tokens).epsilon(1e-12));
  CHECK(r.bad_debt[0] == doctest::Approx(a.lending[0].bad_debt_eth + 0.5 * b.lending[0].bad_debt_eth).epsilon(1e-12));
  CHECK(r.min_price[0] == doctest::Approx(std::min(a.min_price, 0.5 * b.min_price)).epsilon(1e-15));
}

// --- A token on two chains: who bears a bridge's loss --------------------------------------------

namespace {

// An LRT of 100,000 ETH, a fifth of it bridged to an L2; `failing` ("bridge" or "vault", the
// holder's own contract) fails on day 10 taking `loss`. One exchange-rate e-mode market on each
// chain, 20 buckets of health factors 1.005 ... 1.195, 1,000 ETH each.
std::string two_chains(const std::string& allocation, const std::string& failing, double loss, const std::string& extra = "") {
  std::string market;
  for (const char* chain : {"ethereum", "l2"})
    market += std::string(R"(
[[lending_market]]
name = ")") + chain + R"("
token = "tok"
chain = ")" + chain + R"("
rules = "aave_v3"
ltv = 0.93
liquidation_threshold = 0.95
liquidation_bonus = 0.01
oracle = "exchange_rate"
debt_eth = 20_000
health_factor = { dist = "uniform", min = 1.0, max = 1.2 }
)";
  return R"(
[simulation]
name = "chains"
trials = 1
seed = 3
horizon_days = 365
[ethereum]
total_active_stake_eth = 34_000_000
base_apr = 0.0
[[contract]]
name = "vault"
[[contract]]
name = "bridge"
kind = "bridge"
[[operator]]
name = "op"
stake_eth = 100_000
[[protocol]]
name = "eigenlayer"
slashing_mode = "unique"
[[lrt]]
name = "holder"
protocol = "eigenlayer"
contracts = ["vault"]
bridged = [{ bridge = "bridge", share = 0.2 }]
positions = [{ operator = "op", stake_eth = 100_000 }]
[[token]]
name = "tok"
holder = "holder"
pool = { kind = "constant_product", eth = 1e9, fee = 0 }
chains = [{ name = "ethereum" }, { name = "l2", bridges = ["bridge"] }]
loss_allocation = ")" + allocation + "\"\n" + extra + market + R"(
[stress]
random_events = false
  [[stress.contract_failure]]
  contract = ")" + failing + R"("
  day = 10
  loss = )" + std::to_string(loss) + "\n";
}

// Bad debt of the 1,000 ETH buckets at HF 1.005 ... 1.195 below the spiral at NAV `nav` (all their
// collateral goes: debt - value / 1.01), and how many buckets are liquidated at all (HF nav < 1).
std::pair<double, int> hand_book(double nav) {
  double bad = 0.0;
  int liquidated = 0;
  for (int i = 0; i < 20; ++i) {
    const double hf = 1.005 + 0.01 * i;
    if (hf * nav < 1.0) ++liquidated;
    if (hf * nav < 0.95 * 1.01) bad += 1000.0 * (1.0 - nav * hf / (0.95 * 1.01));
  }
  return {bad, liquidated};
}

}  // namespace

TEST_CASE("a bridge's loss spread over all supply falls alike on every chain's market") {
  // Half the bridged fifth: 10% of the holder, NAV 0.9 on both chains.
  const MarketRecords r = run(model_from(two_chains("all_supply", "bridge", 0.5)));
  CHECK(r.loss[0] == doctest::Approx(0.1).epsilon(1e-12));
  const auto [bad, liquidated] = hand_book(0.9);
  REQUIRE(liquidated == 11);  // HF < 1.111: 1.005 ... 1.105
  CHECK(r.accounts[0] == doctest::Approx(11.0 / 20.0).epsilon(1e-12));
  CHECK(r.accounts[1] == r.accounts[0]);
  CHECK(r.bad_debt[0] == doctest::Approx(bad).epsilon(1e-9));
  CHECK(r.bad_debt[1] == doctest::Approx(bad).epsilon(1e-9));
  CHECK(r.min_price[0] == doctest::Approx(0.9).epsilon(1e-4));  // the liquidators sell ~11,600 tokens into 1e9 of depth
}

TEST_CASE("a bridge's loss written down on its chain: the L2's NAV falls by loss / its share, the pool's chain not at all") {
  const MarketRecords r = run(model_from(two_chains("affected_chain", "bridge", 0.5)));
  CHECK(r.loss[0] == doctest::Approx(0.1).epsilon(1e-12));  // the holder loses as much
  // Ethereum keeps NAV 1: nobody liquidated, no episode price move. The L2's fifth bears the
  // 10% alone: NAV 1 - 0.1 / 0.2 = 0.5, every bucket below the spiral.
  CHECK(r.accounts[0] == 0.0);
  CHECK(r.bad_debt[0] == 0.0);
  CHECK(r.min_price[0] == 1.0);
  const auto [bad, liquidated] = hand_book(0.5);
  REQUIRE(liquidated == 20);
  CHECK(r.accounts[1] == 1.0);
  CHECK(r.bad_debt[1] == doctest::Approx(bad).epsilon(1e-9));
  CHECK(r.liquidated[1] == doctest::Approx(20'000.0 * 1.1 / 0.95).epsilon(1e-12));  // all collateral: sum HF x 1,000 / LT
}

TEST_CASE("with affected_chain, a failure that reaches the whole balance is still spread over all supply") {
  const MarketRecords spread = run(model_from(two_chains("affected_chain", "vault", 0.1)));
  const MarketRecords all = run(model_from(two_chains("all_supply", "vault", 0.1)));
  CHECK(spread.loss[0] == doctest::Approx(0.1).epsilon(1e-12));
  const auto [bad, liquidated] = hand_book(0.9);
  CHECK(spread.bad_debt[0] == doctest::Approx(bad).epsilon(1e-9));
  CHECK(spread.bad_debt[1] == doctest::Approx(bad).epsilon(1e-9));
  for (std::size_t j = 0; j < 2; ++j) {  // the same NAV, by another route to its last bits
    CHECK(spread.bad_debt[j] == doctest::Approx(all.bad_debt[j]).epsilon(1e-12));
    CHECK(spread.accounts[j] == all.accounts[j]);
  }
}

TEST_CASE("a vault loss then a bridge loss: the L2 bears its own part on top of the spread part") {
  // Day 10 the vault takes 5% of everything (spread: NAV 0.95 on both); day 20 the bridge takes half
  // of the bridged fifth of what is left: 0.95 x 0.2 x 0.5 = 9.5% of the start, borne by the L2's
  // fifth alone: NAV 1 - 0.05 - 0.095 / 0.2 = 0.475 there, 0.95 on Ethereum. The L2's market reads
  // 0.95 then 0.475 / 0.95 = 0.5 of that in a second episode (its book anew, its ETH scaled by 0.95).
  const std::string second = R"(
  [[stress.contract_failure]]
  contract = "bridge"
  day = 20
  loss = 0.5
)";
  const MarketRecords r = run(model_from(two_chains("affected_chain", "vault", 0.05) + second));
  CHECK(r.loss[0] == doctest::Approx(0.05 + 0.095).epsilon(1e-12));
  const auto [bad_first, liquidated_first] = hand_book(0.95);
  const auto [bad_second, liquidated_second] = hand_book(0.5);
  CHECK(r.bad_debt[0] == doctest::Approx(bad_first).epsilon(1e-9));
  CHECK(r.bad_debt[1] == doctest::Approx(bad_first + 0.95 * bad_second).epsilon(1e-9));
  CHECK(r.accounts[1] == 1.0);
}

TEST_CASE("chains and loss allocation are validated, naming the key") {
  const auto error = [](const std::string& text) {
    try {
      model_from(text);
    } catch (const ScenarioError& e) {
      return std::string(e.what());
    }
    FAIL("the scenario parsed, but an error was expected");
    return std::string();
  };
  const std::string ok = two_chains("affected_chain", "bridge", 0.5);
  const auto edit = [&](const std::string& from, const std::string& to) {
    std::string s = ok;
    const auto at = s.find(from);
    REQUIRE(at != std::string::npos);
    return s.replace(at, from.size(), to);
  };
  CHECK(error(edit(R"({ name = "ethereum" })", R"({ name = "ethereum", bridges = ["bridge"] })"))
            .find("the first chain holds the pool and the unbridged supply: it lists no bridges") != std::string::npos);
  CHECK(error(edit(R"(bridges = ["bridge"] })", R"(bridges = ["vault"] })"))
            .find("holder \"holder\" holds nothing through \"vault\"") != std::string::npos);
  CHECK(error(edit(R"({ name = "l2", bridges = ["bridge"] })", R"({ name = "l2" })"))
            .find("expected 'bridges' (at least one)") != std::string::npos);
  CHECK(error(edit(R"({ name = "l2", bridges = ["bridge"] }])", R"({ name = "l2", bridges = ["bridge"] }, { name = "l3", bridges = ["bridge"] }])"))
            .find("bridge \"bridge\" already serves chain \"l2\"") != std::string::npos);
  CHECK(error(edit(R"(bridges = ["bridge"] })", R"(bridges = ["bridge", "bridge"] })")).find("bridge \"bridge\" is listed twice on this chain") !=
        std::string::npos);
  CHECK(error(edit("share = 0.2", "share = 0.0")).find("the holder's bridged shares of these bridges sum to 0: chain \"l2\" would hold no supply") !=
        std::string::npos);
  CHECK(error(edit(R"(bridged = [{ bridge = "bridge", share = 0.2 }])", R"(bridged = [{ bridge = "bridge", share = 0.2 }, { bridge = "bridge", share = 0.1 }])"))
            .find("bridge \"bridge\" is listed twice in this holder's 'bridged'") != std::string::npos);
  CHECK(error(edit(R"(loss_allocation = "affected_chain")", R"(loss_allocation = "l2")"))
            .find("expected \"all_supply\" (NAV falls alike on every chain) or \"affected_chain\"") != std::string::npos);
  CHECK(error(edit(R"(chains = [{ name = "ethereum" }, { name = "l2", bridges = ["bridge"] }])", ""))
            .find("\"affected_chain\" needs a chain besides the first") != std::string::npos);
  CHECK(error(edit("chain = \"l2\"", "chain = \"l3\"")).find("token \"tok\" has no chain \"l3\" (its chains: ethereum, l2)") !=
        std::string::npos);
  const std::string on_l2 = "chain = \"l2\"\nrules = \"aave_v3\"\nltv = 0.93\nliquidation_threshold = 0.95\nliquidation_bonus = 0.01\noracle = \"exchange_rate\"";
  CHECK(error(edit(on_l2, "chain = \"l2\"\nrules = \"aave_v3\"\nltv = 0.93\nliquidation_threshold = 0.95\nliquidation_bonus = 0.01\noracle = \"market_spot\""))
            .find("a market on chain \"l2\" has no pool to read (the pool is on \"ethereum\"): expected \"exchange_rate\"") !=
        std::string::npos);
  CHECK(error(edit("share = 0.2", "share = 1.0")).find("the bridged shares put the whole supply away from chain \"ethereum\"") !=
        std::string::npos);
}

TEST_CASE("written down on its chain, a loss comes off that chain's backing: the same losses in either order give the same NAVs") {
  // A vault loss of 20% (spread) and a bridge loss of 90% of the bridged fifth, in both orders. Each
  // chain's backing: the bridge's loss comes off the L2's fifth, at most all of it; the vault's off
  // every chain pro rata. Bridge first: the L2 bears 0.2 x 0.9 = 0.18 alone (0.02 left), then the
  // vault takes 20% of everything: Ethereum 0.8 -> 0.64, NAV 0.8; the L2 0.02 -> 0.016. Vault
  // first: 20% off both (0.64 and 0.16), then the bridge takes 0.8 x 0.2 x 0.9 = 0.144 off the L2's
  // 0.16: NAV 0.8 on Ethereum again, and 0.016 / 0.2 = 0.08 on the L2 either way.
  const auto both = [](double bridge_day, double vault_day) {
    std::string s = two_chains("affected_chain", "bridge", 0.9);
    s.replace(s.find("day = 10"), 8, "day = " + std::to_string(bridge_day));
    return run(model_from(s + "  [[stress.contract_failure]]\n  contract = \"vault\"\n  day = " + std::to_string(vault_day) + "\n  loss = 0.2\n"));
  };
  const MarketRecords bridge_first = both(10, 200), vault_first = both(200, 10);
  CHECK(bridge_first.loss[0] == doctest::Approx(0.18 + 0.2 * 0.82).epsilon(1e-12));  // the vault: 20% of what is left
  CHECK(vault_first.loss[0] == doctest::Approx(0.2 + 0.144).epsilon(1e-12));
  // Ethereum's book: NAV 0.8 in the end either way, reached in one step (vault first: 0.8 at once)
  // or as 1 then 0.8 (bridge first: untouched, then the vault's 20% in a later episode).
  const auto [bad_eth, n_eth] = hand_book(0.8);
  CHECK(vault_first.bad_debt[0] == doctest::Approx(bad_eth).epsilon(1e-9));
  CHECK(bridge_first.bad_debt[0] == doctest::Approx(bad_eth).epsilon(1e-9));
  CHECK(bridge_first.min_price[0] == doctest::Approx(vault_first.min_price[0]).epsilon(1e-4));
  // The L2: bridge first, 0.1 then 0.08 / 0.1 = 0.8 of that in the next episode (ETH scaled by 0.1);
  // vault first, 0.8 then 0.08 / 0.8 = 0.1 of that.
  CHECK(bridge_first.bad_debt[1] == doctest::Approx(hand_book(0.1).first + 0.1 * hand_book(0.8).first).epsilon(1e-9));
  CHECK(vault_first.bad_debt[1] == doctest::Approx(hand_book(0.8).first + 0.8 * hand_book(0.1).first).epsilon(1e-9));
}

TEST_CASE("a bridge failing twice cannot take more than its chain's backing: the excess is spread") {
  // First 90% of the bridged fifth (0.18 of the holder, off the L2's 0.2); then the bridge fails
  // again taking 90% of the fifth of what is left: 0.82 x 0.2 x 0.9 = 0.1476, of which the L2 has
  // 0.02 left to bear; the other 0.1276 comes off Ethereum's 0.8 (the L2 has nothing left): NAV
  // there 0.6724 / 0.8 = 0.8405, the L2 wiped out.
  std::string s = two_chains("affected_chain", "bridge", 0.9);
  const MarketRecords r = run(model_from(s + "  [[stress.contract_failure]]\n  contract = \"bridge\"\n  day = 200\n  loss = 0.9\n"));
  CHECK(r.loss[0] == doctest::Approx(0.18 + 0.1476).epsilon(1e-12));
  CHECK(r.bad_debt[0] == doctest::Approx(hand_book(0.6724 / 0.8).first).epsilon(1e-9));
  CHECK(r.min_price[0] == doctest::Approx(0.6724 / 0.8).epsilon(1e-4));
}

TEST_CASE("a market away from the pool reads NAV at the episode's step starts, as the pool's chain's market does") {
  // Three losses within one hour: the episode reads NAV at hour 0 (after the first) and at hour 1
  // (after the third); both chains' books (all supply: the same NAV) must liquidate alike.
  std::string s = two_chains("all_supply", "bridge", 0.2);
  for (const char* day : {"10.01", "10.02"})
    s += std::string("  [[stress.contract_failure]]\n  contract = \"bridge\"\n  day = ") + day + "\n  loss = 0.2\n";
  const MarketRecords r = run(model_from(s));
  REQUIRE(r.bad_debt[0] > 0.0);
  CHECK(r.bad_debt[1] == doctest::Approx(r.bad_debt[0]).epsilon(1e-12));
  CHECK(r.liquidated[1] == doctest::Approx(r.liquidated[0]).epsilon(1e-12));
  CHECK(r.accounts[1] == r.accounts[0]);
}

TEST_CASE("the markets mechanism is the last loss hook: the NAV it reads is every other hook's uncovered loss") {
  // Markets::on_loss adds the loss's uncovered part to the trial's sum before the trial does: that
  // holds only if no loss hook after it changes the part (docs/markets.md, "NAV per token").
  const Model m = model_from(two_chains("affected_chain", "bridge", 0.5));
  const World w = make_world(m);
  const auto types = make_mechanisms(m, w);
  std::string last_loss_hook;
  for (const auto& type : types)
    if (type->hooks().on_loss) last_loss_hook = std::string(type->name());
  CHECK(last_loss_hook == "markets");
}
