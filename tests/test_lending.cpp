// Lending markets and oracles (sim/market/): published figures exactly, and the properties a
// liquidation cascade rests on (docs/markets.md, "Lending markets and oracles").
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "market/lending.hpp"
#include "market/oracle.hpp"

using namespace restake::market;

namespace {
double round_to(double x, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::round(x * scale) / scale;
}
// A position at health factor `hf` with one token worth `price_eth`, debt 100 ETH.
Borrower at_health_factor(const LendingMarket& m, double hf, double price_eth = 1) {
  return {hf * 100 / (m.liquidation_threshold * price_eth), 100};
}
}  // namespace

// --- published figures --------------------------------------------------------------------------

TEST_CASE("Morpho's incentive factor is 1.0438 at LLTV 86% and 1.0741 at 77%, capped at 1.15") {
  CHECK(morpho_incentive_factor(0.86) == doctest::Approx(1 / (1 - 0.042)).epsilon(1e-15));
  CHECK(morpho_incentive_factor(0.77) == doctest::Approx(1 / (1 - 0.069)).epsilon(1e-15));
  CHECK(round_to(morpho_incentive_factor(0.86), 4) == 1.0438);
  CHECK(round_to(morpho_incentive_factor(0.77), 4) == 1.0741);
  CHECK(morpho_incentive_factor(0.5) == 1.15);   // 1 / (1 - 0.15) = 1.176 would exceed the cap
  CHECK(morpho_incentive_factor(0.2) == 1.15);
  CHECK(morpho_blue_market(0.86).liquidation_bonus == doctest::Approx(0.042 / 0.958).epsilon(1e-12));
}

TEST_CASE("ezETH on Morpho: 5,035 WETH repaid for 6,236.72 ezETH seized means an oracle price of 0.843") {
  const double lif = morpho_incentive_factor(0.86);
  const double price = 5035 * lif / 6236.72;
  CHECK(round_to(price, 3) == 0.843);
  // The same liquidation through the market's rules: repaying 5,035 at that price seizes 6,236.72.
  const LendingMarket m = morpho_blue_market(0.86);
  const Borrower b{10'000, 7'300};  // 10,000 x 0.843 x 0.86 = 7,250 < 7,300: liquidatable
  REQUIRE(liquidatable(m, b, price));
  const Liquidation l = liquidate(m, b, price, 5035);
  CHECK(l.repaid_eth == doctest::Approx(5035).epsilon(1e-12));
  CHECK(l.seized_tokens == doctest::Approx(6236.72).epsilon(1e-12));
}

TEST_CASE("Aave e-mode loops at health factor 1.01 are levered 16.83x at LT 95% and 22.44x at LT 96.5%") {
  CHECK(round_to(looper_leverage(0.95, 1.01), 2) == 16.83);
  CHECK(round_to(looper_leverage(0.965, 1.01), 2) == 22.44);
  CHECK(looper_leverage(0.95, 1.01) == doctest::Approx(1.01 / 0.06).epsilon(1e-14));
  // The looped position: collateral value = leverage x equity, and it sits at the asked health factor.
  const LendingMarket m = aave_lrt_emode();
  const Borrower b = looped_position(10, 0.95, 1.01, 0.98);
  CHECK(b.collateral_tokens * 0.98 == doctest::Approx(10 * 1.01 / 0.06).epsilon(1e-14));
  CHECK(b.collateral_tokens * 0.98 - b.debt_eth == doctest::Approx(10).epsilon(1e-13));
  CHECK(health_factor(m, b, 0.98) == doctest::Approx(1.01).epsilon(1e-14));
}

// --- liquidations ---------------------------------------------------------------------------------

TEST_CASE("the health factor is collateral value x LT / debt, and a position is liquidatable below 1") {
  const LendingMarket m = aave_lrt_emode();
  CHECK(health_factor(m, {100, 90}, 1) == doctest::Approx(95.0 / 90).epsilon(1e-15));
  CHECK(health_factor(m, {100, 0}, 1) == INFINITY);
  CHECK_FALSE(liquidatable(m, {100, 95}, 1));  // HF exactly 1 is not below 1
  CHECK(liquidatable(m, {100, 95}, 0.999));
  // Morpho: debt > collateral x price x LLTV.
  const LendingMarket mb = morpho_blue_market(0.86);
  CHECK_FALSE(liquidatable(mb, {100, 86}, 1));
  CHECK(liquidatable(mb, {100, 86.001}, 1));
  CHECK(insolvent_debt({100, 90}, 0.95) == 0);
  CHECK(insolvent_debt({100, 90}, 0.8) == doctest::Approx(10).epsilon(1e-13));
}

TEST_CASE("Aave's close factor: at HF 0.97 at most 50% of the debt is repaid, at HF 0.94 all of it") {
  const LendingMarket m = aave_v3_market(0.75, 0.8, 0.05);
  const Borrower at097 = at_health_factor(m, 0.97);
  CHECK(close_factor(m, 0.97) == 0.5);
  const Liquidation half = liquidate(m, at097, 1, 1e6);  // offers far more than allowed
  CHECK(half.repaid_eth == 50);
  CHECK(half.seized_tokens == doctest::Approx(50 * 1.05).epsilon(1e-15));
  CHECK(liquidate(m, at097, 1, 20).repaid_eth == 20);  // less than allowed: as offered

  const Borrower at094 = at_health_factor(m, 0.94);  // collateral 117.5 covers 100 x 1.05
  CHECK(close_factor(m, 0.94) == 1);
  const Liquidation all = liquidate_max(m, at094, 1);
  CHECK(all.repaid_eth == 100);
  CHECK(all.after.debt_eth == 0);
  CHECK(all.deficit_eth == 0);
  CHECK(all.after.collateral_tokens == doctest::Approx(117.5 - 105).epsilon(1e-13));
  CHECK(close_factor(m, 0.95) == 1);  // CLOSE_FACTOR_HF_THRESHOLD is inclusive
  CHECK(close_factor(morpho_blue_market(0.86), 0.99) == 1);  // Morpho: full liquidation
}

TEST_CASE("a healthy position is not liquidated") {
  const LendingMarket m = aave_lrt_emode();
  const Borrower b = at_health_factor(m, 1.05);
  const Liquidation l = liquidate_max(m, b, 1);
  CHECK(l.repaid_eth == 0);
  CHECK(l.seized_tokens == 0);
  CHECK(l.after.collateral_tokens == b.collateral_tokens);
  CHECK(l.after.debt_eth == b.debt_eth);
}

TEST_CASE("conservation: the repayment comes off the debt one for one and the seized collateral leaves the position") {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> hf(0.3, 1.0), offer(0, 150), price(0.2, 1.5);
  for (const LendingMarket& m : {aave_lrt_emode(), aave_v3_market(0.775, 0.8, 0.07), morpho_blue_market(0.86),
                                 morpho_blue_market(0.5)}) {
    for (int i = 0; i < 500; ++i) {
      const double p = price(rng);
      const Borrower b = at_health_factor(m, hf(rng), p);
      const Liquidation l = liquidate(m, b, p, offer(rng));
      CHECK(b.debt_eth - l.after.debt_eth == doctest::Approx(l.repaid_eth + l.deficit_eth).epsilon(1e-12));
      CHECK(b.collateral_tokens - l.after.collateral_tokens == doctest::Approx(l.seized_tokens).epsilon(1e-12));
      // The liquidator gets exactly the bonus on what it repaid, at the oracle's price.
      CHECK(l.seized_tokens * p == doctest::Approx(l.repaid_eth * (1 + m.liquidation_bonus)).epsilon(1e-12));
      CHECK(l.after.collateral_tokens >= 0);
      CHECK(l.after.debt_eth >= 0);
    }
  }
}

TEST_CASE("no bad debt while the collateral covers the debt and the liquidator's bonus, whatever the liquidations") {
  std::mt19937_64 rng(12);
  for (const LendingMarket& m : {aave_lrt_emode(), aave_v3_market(0.775, 0.8, 0.07), morpho_blue_market(0.86),
                                 morpho_blue_market(0.77)}) {
    const double premium = 1 + m.liquidation_bonus;
    // Liquidatable (HF < 1) yet collateral value >= debt x (1 + bonus).
    std::uniform_real_distribution<double> cover(premium, 1 / m.liquidation_threshold), offer(0, 120);
    for (int i = 0; i < 200; ++i) {
      Borrower b{cover(rng) * 100, 100};
      for (int call = 0; call < 20; ++call) {
        const Liquidation l = liquidate(m, b, 1, offer(rng));
        CHECK(l.deficit_eth == 0);
        CHECK(insolvent_debt(l.after, 1) == 0);
        b = l.after;
      }
    }
  }
}

TEST_CASE("collateral worth the debt but not the bonus: a full liquidation takes it all and leaves a deficit") {
  // The liquidator's incentive is paid first: 102 ETH of collateral against 100 ETH of debt on
  // Morpho's 86% market (LIF 1.0438) repays 102 / 1.0438 and realises the rest as bad debt.
  const LendingMarket m = morpho_blue_market(0.86);
  const double lif = morpho_incentive_factor(0.86);
  const Liquidation l = liquidate_max(m, {102, 100}, 1);
  CHECK(l.seized_tokens == 102);
  CHECK(l.repaid_eth == doctest::Approx(102 / lif).epsilon(1e-15));
  CHECK(l.deficit_eth == doctest::Approx(100 - 102 / lif).epsilon(1e-13));
  CHECK(l.after.collateral_tokens == 0);
  CHECK(l.after.debt_eth == 0);
}

TEST_CASE("a liquidation never leaves a position healthier than the spiral threshold LT (1 + bonus) worse off") {
  std::mt19937_64 rng(13);
  std::uniform_real_distribution<double> offer(0, 120);
  for (const LendingMarket& m : {aave_lrt_emode(), aave_v3_market(0.775, 0.8, 0.07), morpho_blue_market(0.86),
                                 morpho_blue_market(0.5)}) {
    const double spiral = spiral_health_factor(m);
    CHECK(spiral == doctest::Approx(m.liquidation_threshold * (1 + m.liquidation_bonus)).epsilon(1e-15));
    std::uniform_real_distribution<double> hf(spiral * (1 + 1e-9), 1);
    for (int i = 0; i < 500; ++i) {
      const Borrower b = at_health_factor(m, hf(rng));
      const double before = health_factor(m, b, 1);
      const Liquidation l = liquidate(m, b, 1, offer(rng));
      CHECK(health_factor(m, l.after, 1) >= before * (1 - 1e-12));
      CHECK(l.deficit_eth == 0);
    }
  }
  // Aave e-mode: LT 95% x 1.01 = 0.9595; between it and 1 each liquidation heals.
  CHECK(spiral_health_factor(aave_lrt_emode()) == doctest::Approx(0.9595).epsilon(1e-15));
}

TEST_CASE("below the spiral threshold each liquidation lowers the health factor until bad debt") {
  for (const LendingMarket& m : {aave_lrt_emode(), aave_v3_market(0.775, 0.8, 0.07), morpho_blue_market(0.86)}) {
    const double spiral = spiral_health_factor(m);
    const Borrower b = at_health_factor(m, spiral * 0.995);
    const Liquidation partial = liquidate(m, b, 1, 10);
    CHECK(health_factor(m, partial.after, 1) < health_factor(m, b, 1));
    const LiquidationRun run = liquidate_until_healthy(m, b, 1);
    CHECK(run.deficit_eth > 0);
    CHECK(run.after.collateral_tokens == 0);
    CHECK(run.after.debt_eth == 0);
    CHECK(run.repaid_eth + run.deficit_eth == doctest::Approx(100).epsilon(1e-12));
    CHECK(run.seized_tokens == doctest::Approx(b.collateral_tokens).epsilon(1e-12));
  }
  // Anywhere below the threshold, liquidating until nothing is left to liquidate ends in bad debt.
  std::mt19937_64 rng(14);
  for (const LendingMarket& m : {aave_lrt_emode(), aave_v3_market(0.775, 0.8, 0.07), morpho_blue_market(0.86),
                                 morpho_blue_market(0.5)}) {
    std::uniform_real_distribution<double> hf(0.01, spiral_health_factor(m) * (1 - 1e-6));
    for (int i = 0; i < 200; ++i) {
      const LiquidationRun run = liquidate_until_healthy(m, at_health_factor(m, hf(rng)), 1);
      CHECK(run.deficit_eth > 0);
      CHECK(run.after.collateral_tokens == 0);
    }
  }
  // Aave e-mode at HF 0.955 (> 0.95: 50% per call): 0.955 -> 0.9505 -> 0.9415 (100% allowed) -> closed.
  const LiquidationRun run = liquidate_until_healthy(aave_lrt_emode(), at_health_factor(aave_lrt_emode(), 0.955), 1);
  CHECK(run.calls == 3);
}

TEST_CASE("the reserve covers deficits first, and what it cannot cover stays bad debt") {
  const DeficitCover some = cover_deficit({10}, 10.96);
  CHECK(some.covered_eth == 10);
  CHECK(some.bad_debt_eth == doctest::Approx(0.96).epsilon(1e-13));
  CHECK(some.after.balance_eth == 0);
  const DeficitCover all = cover_deficit({25.77}, 3);
  CHECK(all.covered_eth == 3);
  CHECK(all.bad_debt_eth == 0);
  CHECK(all.after.balance_eth == doctest::Approx(22.77).epsilon(1e-14));
}

// --- oracles -------------------------------------------------------------------------------------

TEST_CASE("CAPO caps a ratio above snapshot x (1 + g x dt / year) and lets a falling ratio through") {
  const RatioCap cap{.snapshot_ratio = 1.0, .snapshot_day = 0, .max_yearly_growth = 0.0968};
  CHECK(capo_max_ratio(cap, 73) == doctest::Approx(1 + 0.0968 * 0.2).epsilon(1e-15));
  CHECK(capped_ratio(cap, 1.05, 73) == doctest::Approx(1.01936).epsilon(1e-15));  // capped
  CHECK(capped_ratio(cap, 1.01, 73) == 1.01);                                       // below the cap
  CHECK(capped_ratio(cap, 0.85, 73) == 0.85);                                       // a write-down passes
  const Oracle capo{.kind = OracleKind::ExchangeRate, .cap = cap, .capped = true, .base_price_eth = 1};
  CHECK(oracle_price(capo, 1.05, {}, 73) == doctest::Approx(1.01936).epsilon(1e-15));
  CHECK(oracle_price(capo, 0.85, {}, 73) == 0.85);
}

TEST_CASE("the TWAP of a step price path is its hand-computed average") {
  const std::vector<PricePoint> path{{0, 1.0}, {1, 0.5}, {1.5, 0.8}, {3, 1.0}};
  // [0.5, 2.5]: 1.0 for 0.5 day, 0.5 for 0.5 day, 0.8 for 1 day -> 1.55 / 2.
  CHECK(twap(path, 2.5, 2) == doctest::Approx(0.775).epsilon(1e-15));
  // [2, 4]: 0.8 for 1 day, 1.0 for 1 day.
  CHECK(twap(path, 4, 2) == doctest::Approx(0.9).epsilon(1e-15));
  CHECK(twap(path, 1, 2) == 1.0);  // before the path: its first price
  CHECK(twap(path, 1.25, 0) == 0.5);
  CHECK(spot_price(path, 1.5) == 0.8);  // a point holds from its own day
  CHECK(spot_price(path, 1.4999) == 0.5);

  // Recorded hour by hour, the pruned history gives the same averages as the whole path.
  std::vector<PricePoint> hourly;
  PriceHistory history{.keep_days = 0.5};
  for (int h = 0; h <= 96; ++h) {
    const PricePoint p{h / 24.0, 1 - 0.3 * std::sin(h / 7.0) * std::sin(h / 7.0)};
    hourly.push_back(p);
    record(history, p);
    CHECK(twap(history.points, p.day, 0.5) == doctest::Approx(twap(hourly, p.day, 0.5)).epsilon(1e-14));
  }
  CHECK(history.points.size() <= 14);  // half a day of hours and the one before the window
}

TEST_CASE("an exchange-rate oracle liquidates nobody on a market depeg and everybody below threshold on a write-down") {
  const LendingMarket m = aave_lrt_emode();
  const std::vector<double> hfs{1.01, 1.03, 1.05, 1.1, 1.2, 1.5, 2.0};
  std::vector<Borrower> book;
  for (double hf : hfs) book.push_back(at_health_factor(m, hf));
  const Oracle exchange_rate{.kind = OracleKind::ExchangeRate};
  const Oracle spot{.kind = OracleKind::MarketSpot};
  // ezETH-like: the pools fall to 0.22 ETH for an hour; NAV per token stays 1.
  const std::vector<PricePoint> depeg{{0, 1.0}, {1, 0.22}, {1 + 1 / 24.0, 1.0}};
  const double at_bottom = 1 + 0.5 / 24;
  for (const Borrower& b : book) {
    CHECK_FALSE(liquidatable(m, b, oracle_price(exchange_rate, 1.0, depeg, at_bottom)));
    CHECK(liquidatable(m, b, oracle_price(spot, 1.0, depeg, at_bottom)));  // 2.0 x 0.22 < 1
  }
  // A 7% NAV write-down: the exchange-rate oracle falls one for one, so exactly the positions with
  // HF x 0.93 < 1 (HF < 1.0753) become liquidatable, whatever the market does.
  const double written_down = oracle_price(exchange_rate, 0.93, depeg, 0.5);
  CHECK(written_down == 0.93);
  for (std::size_t i = 0; i < book.size(); ++i)
    CHECK(liquidatable(m, book[i], written_down) == (hfs[i] * 0.93 < 1));
  // A day's TWAP smooths the hour at 0.22 to 23/24 + 0.22/24 = 0.9675: only HF 1.01 and 1.03 fall.
  const Oracle day_twap{.kind = OracleKind::MarketTwap, .twap_window_days = 1};
  const double smoothed = oracle_price(day_twap, 1.0, depeg, 1 + 1 / 24.0);
  CHECK(smoothed == doctest::Approx(23 / 24.0 + 0.22 / 24).epsilon(1e-15));
  for (std::size_t i = 0; i < book.size(); ++i)
    CHECK(liquidatable(m, book[i], smoothed) == (i < 2));
}

// --- invalid inputs ------------------------------------------------------------------------------

TEST_CASE("invalid lending inputs are refused with the value named") {
  using doctest::Contains;
  CHECK_THROWS_WITH_AS(aave_v3_market(0.5, 1.2, 0.01), Contains("liquidation threshold 1.2 is not in (0, 1)"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(aave_v3_market(0.5, 0, 0.01), Contains("liquidation threshold 0 is not in (0, 1)"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(aave_v3_market(0.96, 0.95, 0.01), Contains("LTV 0.96 is above the liquidation threshold 0.95"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(aave_v3_market(0.9, 0.95, -0.01), Contains("liquidation bonus -0.01 is negative"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(aave_v3_market(0.9, 0.95, 0.1), Contains("liquidation threshold 0.95 x (1 + bonus 0.1) is above 1"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(morpho_blue_market(1), Contains("LLTV 1 is not in (0, 1)"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(morpho_incentive_factor(NAN), Contains("LLTV nan is not finite"), std::invalid_argument);
  const LendingMarket m = aave_lrt_emode();
  CHECK_THROWS_WITH_AS(health_factor(m, {-1, 10}, 1), Contains("collateral (tokens) -1 is negative"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(health_factor(m, {1, INFINITY}, 1), Contains("debt (ETH) inf is not finite"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(liquidatable(m, {1, 1}, NAN), Contains("price (ETH per token) nan is not finite"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(liquidate(m, {1, 1}, 0.5, -3), Contains("offered repayment (ETH) -3 is negative"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(looper_leverage(0.95, 0.95), Contains("health factor 0.95 is not above the liquidation threshold 0.95"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(looped_position(10, 0.95, 1.01, 0), Contains("price (ETH per token) 0 is not positive"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(cover_deficit({-5}, 1), Contains("reserve balance (ETH) -5 is negative"), std::invalid_argument);
}

TEST_CASE("invalid oracle inputs are refused with the value named") {
  using doctest::Contains;
  const RatioCap cap{.snapshot_ratio = 1, .snapshot_day = 10, .max_yearly_growth = 0.05};
  CHECK_THROWS_WITH_AS(capo_max_ratio(cap, 9), Contains("day 9 is before the CAPO snapshot day 10"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(capped_ratio(cap, -0.5, 11), Contains("exchange ratio -0.5 is negative"), std::invalid_argument);
  const std::vector<PricePoint> backwards{{1, 1.0}, {0.5, 0.9}};
  CHECK_THROWS_WITH_AS(spot_price(backwards, 1), Contains("market price path goes back in time: day 0.5 after day 1"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(twap({}, 1, 1), Contains("market price path is empty"), std::invalid_argument);
  const std::vector<PricePoint> path{{0, 1.0}};
  CHECK_THROWS_WITH_AS(twap(path, 1, -1), Contains("TWAP window (days) -1 is negative"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(oracle_price({.kind = OracleKind::ExchangeRate}, NAN, path, 0),
                       Contains("NAV per token nan is not finite"), std::invalid_argument);
  PriceHistory h{.keep_days = 1};
  record(h, {2, 1.0});
  CHECK_THROWS_WITH_AS(record(h, {1, 1.0}), Contains("market price path goes back in time: day 1 after day 2"),
                       std::invalid_argument);
}
