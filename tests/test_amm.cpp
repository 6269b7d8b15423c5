// AMM pool mathematics (sim/market/amm): the invariants of Uniswap v2, Balancer and Curve StableSwap
// pools, their agreement where they coincide, depth, liquidity withdrawal and ezETH's order of
// magnitude (domain.md section 6; docs/markets.md).
#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "market/amm.hpp"

using namespace restake::market;

namespace {
double relative(double a, double b) { return std::abs(a - b) / std::abs(b); }

// The whitepaper's invariant, both sides: A n^n sum(x) + D and A D n^n + D^(n+1) / (n^n prod(x)).
double stableswap_residual(const StableSwapPool& p, double d) {
  const double a = 4.0 * p.amplification;
  const double lhs = a * (p.token + p.eth) + d;
  const double rhs = a * d + d * d * d / (4.0 * p.token * p.eth);
  return relative(lhs, rhs);
}

}  // namespace

TEST_CASE("constant product: x y = k after a trade without fee") {
  const ConstantProductPool pool{1'000.0, 2'000.0, 0.0};
  const double k = pool.token * pool.eth;
  const auto s = sell(pool, 500.0);
  CHECK(relative(s.pool.token * s.pool.eth, k) < 1e-14);
  CHECK(s.out == doctest::Approx(2'000.0 * 500.0 / 1'500.0).epsilon(1e-15));
  const auto b = buy(pool, 700.0);
  CHECK(relative(b.pool.token * b.pool.eth, k) < 1e-14);
  CHECK(b.out == doctest::Approx(1'000.0 * 700.0 / 2'700.0).epsilon(1e-15));
}

TEST_CASE("constant product: the fee stays in the pool, so k grows by (x + in) / (x + (1 - fee) in)") {
  const ConstantProductPool pool{1'000.0, 2'000.0, 0.003};
  const double in = 250.0;
  const auto s = sell(pool, in);
  const double growth = (pool.token + in) / (pool.token + (1.0 - pool.fee) * in);
  CHECK(relative(s.pool.token * s.pool.eth, pool.token * pool.eth * growth) < 1e-14);
  CHECK(s.pool.token * s.pool.eth > pool.token * pool.eth);
}

TEST_CASE("a trade conserves tokens and ETH: what leaves the pool reaches the trader") {
  SUBCASE("constant product") {
    const ConstantProductPool pool{1'000.0, 2'000.0, 0.003};
    const auto s = sell(pool, 300.0);
    CHECK(s.pool.token - pool.token == doctest::Approx(300.0).epsilon(1e-15));
    CHECK(pool.eth - s.pool.eth == doctest::Approx(s.out).epsilon(1e-14));
    const auto b = buy(pool, 300.0);
    CHECK(b.pool.eth - pool.eth == doctest::Approx(300.0).epsilon(1e-15));
    CHECK(pool.token - b.pool.token == doctest::Approx(b.out).epsilon(1e-14));
  }
  SUBCASE("weighted") {
    const WeightedPool pool{1'000.0, 2'000.0, 0.8, 0.003};
    const auto s = sell(pool, 300.0);
    CHECK(s.pool.token - pool.token == doctest::Approx(300.0).epsilon(1e-15));
    CHECK(pool.eth - s.pool.eth == doctest::Approx(s.out).epsilon(1e-14));
  }
  SUBCASE("StableSwap") {
    const StableSwapPool pool{1'000.0, 1'500.0, 50.0, 0.0004};
    const auto s = sell(pool, 300.0);
    CHECK(s.pool.token - pool.token == doctest::Approx(300.0).epsilon(1e-15));
    CHECK(pool.eth - s.pool.eth == doctest::Approx(s.out).epsilon(1e-14));
    const auto b = buy(pool, 300.0);
    CHECK(pool.token - b.pool.token == doctest::Approx(b.out).epsilon(1e-14));
  }
}

TEST_CASE("constant product: spot price y / x, and the sale that takes it to a target") {
  const ConstantProductPool pool{1'000.0, 2'000.0, 0.0};
  CHECK(spot_price(pool) == 2.0);
  // Without a fee, s = sqrt(k / p) - x: to price 0.5, sqrt(2e6 / 0.5) - 1000 = 1000.
  CHECK(sell_to_price(pool, 0.5) == doctest::Approx(1'000.0).epsilon(1e-14));
  CHECK(sell_to_price(pool, 2.0) == 0.0);
  CHECK(sell_to_price(pool, 3.0) == 0.0);
  // With a fee the sale is larger, and selling it lands on the target.
  const ConstantProductPool fee_pool{1'000.0, 2'000.0, 0.003};
  const double s = sell_to_price(fee_pool, 0.5);
  CHECK(s > 1'000.0);
  CHECK(spot_price(sell(fee_pool, s).pool) == doctest::Approx(0.5).epsilon(1e-13));
}

TEST_CASE("a 50/50 weighted pool is the constant-product pool") {
  const ConstantProductPool cp{1'234.5, 987.6, 0.003};
  const WeightedPool w{1'234.5, 987.6, 0.5, 0.003};
  CHECK(relative(spot_price(w), spot_price(cp)) < 1e-15);
  for (const double in : {1e-6, 1.0, 100.0, 5'000.0, 1e6}) {
    CAPTURE(in);
    CHECK(relative(sell(w, in).out, sell(cp, in).out) < 1e-13);
    CHECK(relative(buy(w, in).out, buy(cp, in).out) < 1e-13);
  }
}

TEST_CASE("weighted pool: the invariant b_token^w b_eth^(1-w) holds without fee, and the spot price") {
  const WeightedPool pool{1'000.0, 4'000.0, 0.8, 0.0};
  // (4000 / 0.2) / (1000 / 0.8) = 16
  CHECK(spot_price(pool) == doctest::Approx(16.0).epsilon(1e-15));
  const auto invariant = [](const WeightedPool& p) {
    return std::pow(p.token, p.token_weight) * std::pow(p.eth, 1.0 - p.token_weight);
  };
  CHECK(relative(invariant(sell(pool, 400.0).pool), invariant(pool)) < 1e-14);
  CHECK(relative(invariant(buy(pool, 400.0).pool), invariant(pool)) < 1e-14);
}

TEST_CASE("StableSwap: D and a trade checked against a 60-digit solution") {
  // /usr/bin/python3 with decimal (precision 60): D by bisection on the whitepaper's cubic
  // D^3 / (4 x y) + (4A - 1) D - 4A (x + y) = 0, then y' as the positive root of the quadratic
  // y^2 + (x' + D / 4A - D) y - D^3 / (16 A x') = 0 for x' = 1100, and the spot price
  // (4A + D_P / x) / (4A + D_P / y), D_P = D^3 / (4 x y). (The script is in docs/markets.md.)
  const StableSwapPool pool{1'000.0, 1'500.0, 50.0, 0.0};
  const double d = stableswap_d(pool);
  CHECK(d == doctest::Approx(2499.4846406993797661865).epsilon(1e-15));
  const auto s = sell(pool, 100.0);
  CHECK(s.out == doctest::Approx(100.33496108163029493425).epsilon(1e-13));
  CHECK(s.pool.eth == doctest::Approx(1399.6650389183697050658).epsilon(1e-15));
  CHECK(spot_price(pool) == doctest::Approx(1.0043002883566456990357).epsilon(1e-14));
}

TEST_CASE("StableSwap: D is unchanged by a trade without fee, and grows with a fee") {
  for (const double amp : {1e-3, 1.0, 50.0, 2'000.0}) {
    for (const double in : {1e-3, 10.0, 900.0, 50'000.0}) {
      CAPTURE(amp);
      CAPTURE(in);
      const StableSwapPool pool{1'000.0, 1'500.0, amp, 0.0};
      const double d = stableswap_d(pool);
      CHECK(stableswap_residual(pool, d) < 1e-14);
      const auto s = sell(pool, in);
      CHECK(relative(stableswap_d(s.pool), d) < 1e-12);
      CHECK(stableswap_residual(s.pool, d) < 1e-12);
      const auto b = buy(pool, in);
      CHECK(relative(stableswap_d(b.pool), d) < 1e-12);
      StableSwapPool with_fee = pool;
      with_fee.fee = 0.0004;
      CHECK(stableswap_d(sell(with_fee, in).pool) > d);
    }
  }
}

TEST_CASE("StableSwap: Newton converges when a trade leaves one side nearly drained") {
  // Pools where get_y's last steps used to wander at the rounding level of the full side (found by
  // 200,000 random pools, A from 1e-9 to 1e7 and balances over 18 decades; none fails now).
  const StableSwapPool pools[] = {{2'312.64, 2'123.83, 163.419, 0.0}, {427'497.0, 109.94, 628'192.0, 0.0},
                                  {2.71667e13, 5.01563e10, 97'493.2, 0.0}};
  const double sales[] = {2'171.82, 1.87753, 3.78613e9};
  for (int i = 0; i < 3; ++i) {
    CAPTURE(i);
    const double d = stableswap_d(pools[i]);
    const auto s = sell(pools[i], sales[i]);
    CHECK(relative(stableswap_d(s.pool), d) < 1e-12);
    CHECK(s.out < pools[i].eth);
  }
}

TEST_CASE("StableSwap: get_y inverts the invariant from either side") {
  const StableSwapPool pool{1'000.0, 1'500.0, 50.0, 0.0};
  const double d = stableswap_d(pool);
  CHECK(stableswap_y(50.0, 1'000.0, d) == doctest::Approx(1'500.0).epsilon(1e-14));
  CHECK(stableswap_y(50.0, 1'500.0, d) == doctest::Approx(1'000.0).epsilon(1e-14));
}

TEST_CASE("StableSwap: price 1 at balance, near 1 for large A, constant product for tiny A") {
  for (const double amp : {1e-6, 1.0, 100.0, 1e5}) {
    CAPTURE(amp);
    CHECK(spot_price(StableSwapPool{5'000.0, 5'000.0, amp, 0.0}) == doctest::Approx(1.0).epsilon(1e-14));
  }
  // A balanced trade of 10% of a side: at A = 1e5 the average price stays within 1e-5 of 1, and
  // flatness grows with A.
  const double in = 500.0;
  const double flat = sell(StableSwapPool{5'000.0, 5'000.0, 1e5, 0.0}, in).out / in;
  const double medium = sell(StableSwapPool{5'000.0, 5'000.0, 10.0, 0.0}, in).out / in;
  CHECK(flat == doctest::Approx(1.0).epsilon(1e-5));
  CHECK(medium < flat);
  // A -> 0: the invariant tends to D^3 / (4 x y) = D, i.e. x y = D^2 / 4.
  const StableSwapPool tiny{1'000.0, 2'000.0, 1e-9, 0.0};
  const ConstantProductPool cp{1'000.0, 2'000.0, 0.0};
  CHECK(relative(spot_price(tiny), spot_price(cp)) < 1e-6);
  for (const double trade : {10.0, 1'000.0, 10'000.0}) {
    CAPTURE(trade);
    CHECK(relative(sell(tiny, trade).out, sell(cp, trade).out) < 1e-6);
    CHECK(relative(buy(tiny, trade).out, buy(cp, trade).out) < 1e-6);
  }
}

TEST_CASE("StableSwap: the implicit-derivative spot price is the limit of small trades") {
  const StableSwapPool pool{1'000.0, 3'000.0, 20.0, 0.0};
  const double h = 1e-4;
  const double finite = sell(pool, h).out / h;
  CHECK(relative(finite, spot_price(pool)) < 1e-6);
  CHECK(spot_price(pool) > 1.0);  // the token is the scarce side
}

TEST_CASE("an infinitely deep pool gives no depeg, and a deeper pool never a lower price") {
  const double sale = 1'000.0;
  double cp_before = 0.0, w_before = 0.0, ss_before = 0.0;
  for (int e = 3; e <= 15; ++e) {
    const double depth = std::pow(10.0, e);
    CAPTURE(depth);
    const double cp = spot_price(sell(ConstantProductPool{depth, depth, 0.003}, sale).pool);
    // The weighted pool's price at balance is (1 / 0.2) / (1 / 0.8) = 4: its ratio to that.
    const double w = spot_price(sell(WeightedPool{depth, depth, 0.8, 0.003}, sale).pool) / 4.0;
    const double ss = spot_price(sell(StableSwapPool{depth, depth, 50.0, 0.0004}, sale).pool);
    CHECK(cp >= cp_before);
    CHECK(w >= w_before);
    CHECK(ss >= ss_before);
    cp_before = cp;
    w_before = w;
    ss_before = ss;
  }
  CHECK(1.0 - cp_before < 1e-11);
  CHECK(1.0 - w_before < 1e-11);
  CHECK(1.0 - ss_before < 1e-11);
}

TEST_CASE("ezETH, 24 April 2024: 9,000 ETH against 9,000 ezETH falls to 0.22 after ~10,200 ezETH sold") {
  // domain.md section 6: about $27M of ETH in the pools; at 3,000 USD/ETH that is 9,000 ETH, paired
  // with the same value of ezETH at price 1. With k = x0 y0, the price after a sale is y / x = k / x^2,
  // so x = x0 / sqrt(p): 9,000 / sqrt(0.22) = 19,188.06, a sale of 10,188.06 ezETH without fee for
  // y0 - y0 sqrt(p) = 4,778.63 ETH; with Uniswap's 0.3% fee, 10,203.38 ezETH for 4,775.26 ETH
  // (60-digit decimal; docs/markets.md). Gearbox alone sold 10,650 ezETH that day.
  const ConstantProductPool no_fee{9'000.0, 9'000.0, 0.0};
  const double s0 = sell_to_price(no_fee, 0.22);
  CHECK(s0 == doctest::Approx(10'188.064472004939087).epsilon(1e-14));
  CHECK(sell(no_fee, s0).out == doctest::Approx(4'778.6258161589134009).epsilon(1e-13));
  const ConstantProductPool pool{9'000.0, 9'000.0, 0.003};
  const double s = sell_to_price(pool, 0.22);
  CHECK(s == doctest::Approx(10'203.375639386866069).epsilon(1e-14));
  const auto trade = sell(pool, s);
  CHECK(trade.out == doctest::Approx(4'775.2573593348894648).epsilon(1e-13));
  CHECK(spot_price(trade.pool) == doctest::Approx(0.22).epsilon(1e-14));
}

TEST_CASE("liquidity withdrawal keeps the price and shrinks the depth") {
  const ConstantProductPool cp{1'000.0, 2'000.0, 0.003};
  const WeightedPool w{1'000.0, 2'000.0, 0.8, 0.003};
  const StableSwapPool ss{1'000.0, 1'500.0, 50.0, 0.0004};
  const auto cp_left = withdraw_liquidity(cp, 0.875);  // ezETH's Balancer pool: ~4,000 -> ~500 WETH
  CHECK(cp_left.token == doctest::Approx(125.0));
  CHECK(cp_left.eth == doctest::Approx(250.0));
  CHECK(spot_price(cp_left) == doctest::Approx(spot_price(cp)).epsilon(1e-15));
  CHECK(spot_price(withdraw_liquidity(w, 0.5)) == doctest::Approx(spot_price(w)).epsilon(1e-15));
  const auto ss_left = withdraw_liquidity(ss, 0.5);
  CHECK(spot_price(ss_left) == doctest::Approx(spot_price(ss)).epsilon(1e-13));
  CHECK(stableswap_d(ss_left) == doctest::Approx(0.5 * stableswap_d(ss)).epsilon(1e-14));
  // The same sale goes deeper in the thinner pool.
  CHECK(spot_price(sell(cp_left, 100.0).pool) < spot_price(sell(cp, 100.0).pool));
  CHECK(spot_price(sell(ss_left, 100.0).pool) < spot_price(sell(ss, 100.0).pool));
  CHECK(withdraw_liquidity(cp, 0.0).eth == cp.eth);
}

TEST_CASE("the withdrawal curve is piecewise linear in the discount, flat beyond its ends") {
  const LiquidityWithdrawalCurve curve{{{0.02, 0.0}, {0.10, 0.5}, {0.50, 0.9}}};
  CHECK(withdrawn_share(curve, -0.05) == 0.0);
  CHECK(withdrawn_share(curve, 0.02) == 0.0);
  CHECK(withdrawn_share(curve, 0.06) == doctest::Approx(0.25));
  CHECK(withdrawn_share(curve, 0.10) == doctest::Approx(0.5));
  CHECK(withdrawn_share(curve, 0.30) == doctest::Approx(0.7));
  CHECK(withdrawn_share(curve, 0.78) == doctest::Approx(0.9));
  CHECK(withdrawn_share(curve, 1.0) == doctest::Approx(0.9));
  CHECK(withdrawn_share(LiquidityWithdrawalCurve{}, 0.5) == 0.0);
  for (double d = 0.0; d < 1.0; d += 0.01) CHECK(withdrawn_share(curve, d + 0.01) >= withdrawn_share(curve, d));
}

TEST_CASE("bad pools, amounts and curves are refused, naming the value") {
  CHECK_THROWS_WITH_AS((spot_price(ConstantProductPool{-1.0, 1.0, 0.0})), "constant-product pool: token reserve must be finite and > 0, got -1", std::invalid_argument);
  CHECK_THROWS_WITH_AS((spot_price(ConstantProductPool{1.0, 0.0, 0.0})), "constant-product pool: ETH reserve must be finite and > 0, got 0", std::invalid_argument);
  CHECK_THROWS_WITH_AS((sell(ConstantProductPool{1.0, 1.0, 0.0}, -2.0)), "constant-product pool: token sold must be finite and >= 0, got -2", std::invalid_argument);
  CHECK_THROWS_WITH_AS((buy(ConstantProductPool{1.0, 1.0, 0.0}, INFINITY)), "constant-product pool: ETH paid must be finite and >= 0, got inf", std::invalid_argument);
  CHECK_THROWS_WITH_AS((sell(ConstantProductPool{1.0, 1.0, 1.0}, 1.0)), "constant-product pool: fee must be in [0, 1), got 1", std::invalid_argument);
  CHECK_THROWS_WITH_AS((sell_to_price(ConstantProductPool{1.0, 1.0, 0.0}, 0.0)), "constant-product pool: target price must be finite and > 0, got 0", std::invalid_argument);
  CHECK_THROWS_WITH_AS((sell(ConstantProductPool{NAN, 1.0, 0.0}, 1.0)), "constant-product pool: token reserve must be finite and > 0, got nan", std::invalid_argument);
  CHECK_THROWS_WITH_AS((spot_price(WeightedPool{1.0, 1.0, 1.0, 0.0})), "weighted pool: token weight must be in (0, 1), got 1", std::invalid_argument);
  CHECK_THROWS_WITH_AS((spot_price(WeightedPool{1.0, 1.0, 0.0, 0.0})), "weighted pool: token weight must be in (0, 1), got 0", std::invalid_argument);
  CHECK_THROWS_WITH_AS((sell(WeightedPool{1.0, -3.0, 0.5, 0.0}, 1.0)), "weighted pool: ETH balance must be finite and > 0, got -3", std::invalid_argument);
  CHECK_THROWS_WITH_AS((stableswap_d(StableSwapPool{1.0, 1.0, 0.0, 0.0})), "StableSwap pool: amplification A must be finite and > 0, got 0", std::invalid_argument);
  CHECK_THROWS_WITH_AS((sell(StableSwapPool{1.0, 1.0, -5.0, 0.0}, 1.0)), "StableSwap pool: amplification A must be finite and > 0, got -5", std::invalid_argument);
  CHECK_THROWS_WITH_AS((sell(StableSwapPool{1.0, 1.0, 5.0, 0.0}, -1.0)), "StableSwap pool: token sold must be finite and >= 0, got -1", std::invalid_argument);
  CHECK_THROWS_WITH_AS((stableswap_y(5.0, 1.0, -1.0)), "StableSwap pool: invariant D must be finite and > 0, got -1", std::invalid_argument);
  CHECK_THROWS_WITH_AS((withdraw_liquidity(ConstantProductPool{1.0, 1.0, 0.0}, 1.0)), "constant-product pool: withdrawn share must be in [0, 1), got 1", std::invalid_argument);
  CHECK_THROWS_WITH_AS((withdraw_liquidity(StableSwapPool{1.0, 1.0, 5.0, 0.0}, -0.1)), "StableSwap pool: withdrawn share must be in [0, 1), got -0.1", std::invalid_argument);
  CHECK_THROWS_WITH_AS((withdrawn_share(LiquidityWithdrawalCurve{{{0.1, 0.2}, {0.1, 0.3}}}, 0.0)), "liquidity withdrawal curve: point 2's discount must be above the previous point's (0.1), got 0.1", std::invalid_argument);
  CHECK_THROWS_WITH_AS((withdrawn_share(LiquidityWithdrawalCurve{{{0.1, 0.5}, {0.2, 0.3}}}, 0.0)), "liquidity withdrawal curve: point 2's share must be at least the previous point's (0.5), got 0.3", std::invalid_argument);
  CHECK_THROWS_WITH_AS((withdrawn_share(LiquidityWithdrawalCurve{{{1.5, 0.5}}}, 0.0)), "liquidity withdrawal curve: point 1's discount must be in [0, 1], got 1.5", std::invalid_argument);
  CHECK_THROWS_WITH_AS((withdrawn_share(LiquidityWithdrawalCurve{{{0.5, 1.0}}}, 0.0)), "liquidity withdrawal curve: point 1's share must be in [0, 1), got 1", std::invalid_argument);
}
