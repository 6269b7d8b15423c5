// Redemption at NAV and the arbitrage that pulls a depeg back (sim/market/redemption): queue times
// against the beacon chain's churn, the arbitrage floor, and purchases that bring pools to it.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "chain/consensus.hpp"
#include "market/redemption.hpp"

using namespace restake;
using namespace restake::market;

namespace {
const ConsensusParams kElectra = consensus_params(Fork::Electra, 34'000'000 * kGweiPerEth);
constexpr double kWithdrawable = 256.0 / 225.0;  // MIN_VALIDATOR_WITHDRAWABILITY_DELAY, days
}  // namespace

TEST_CASE("a redemption waits for the longest of the token's delay, the escrow and the beacon exit") {
  Redemption r;
  r.buffer_eth = 1'000;
  r.protocol_delay_days = 7;
  r.escrow_days = 14;
  CHECK(redemption_wait_days(r, kElectra, 1'000) == 0.0);  // within the buffer: paid at once
  // Beyond it: the escrow (14 days) outlasts the token's delay and a short exit (9,000 ETH at
  // 57,600 ETH a day and 256 epochs: 1.29 days).
  CHECK(redemption_wait_days(r, kElectra, 10'000) == 14.0);
  // Behind the September 2025 queue (2.5M ETH, 46 days reported): the exit is the longest, 43.40
  // days of churn for the queue and the 9,000 ETH, then 256 epochs.
  r.exit_queue_eth = 2'500'000;
  CHECK(redemption_wait_days(r, kElectra, 10'000) == doctest::Approx(2'509'000.0 / 57'600.0 + kWithdrawable).epsilon(1e-12));
  r.open = false;  // ezETH, 24 April 2024: no withdrawals at all
  CHECK(std::isinf(redemption_wait_days(r, kElectra, 1.0)));
  CHECK_THROWS_WITH_AS((redemption_wait_days(r, kElectra, -1.0)), "redemption: amount must be finite and >= 0, got -1 ETH", std::invalid_argument);
  r.escrow_days = std::nan("");
  CHECK_THROWS_WITH_AS((redemption_wait_days(r, kElectra, 1.0)), "redemption: escrow must be finite and >= 0, got nan days", std::invalid_argument);
}

TEST_CASE("the arbitrage floor is NAV discounted by the required return over the wait") {
  // 14 days at 10% a year: 1 / (1 + 0.1 x 14 / 365).
  CHECK(arbitrage_floor(1.0, 14.0, 0.10) == doctest::Approx(1.0 / (1.0 + 0.1 * 14.0 / 365.0)).epsilon(1e-15));
  CHECK(arbitrage_floor(1.0, 14.0, 0.10) == doctest::Approx(0.996179).epsilon(1e-6));
  CHECK(arbitrage_floor(2.0, 0.0, 0.5) == 2.0);  // an instant redemption: no discount survives
  // A longer wait or a dearer capital only lowers the floor.
  CHECK(arbitrage_floor(1.0, 43.0, 0.10) < arbitrage_floor(1.0, 14.0, 0.10));
  CHECK(arbitrage_floor(1.0, 14.0, 0.20) < arbitrage_floor(1.0, 14.0, 0.10));
  // Closed withdrawals: nothing pulls the price back.
  CHECK(arbitrage_floor(1.0, std::numeric_limits<double>::infinity(), 0.10) == 0.0);
  CHECK_THROWS_WITH_AS((arbitrage_floor(0.0, 1.0, 0.1)), "arbitrage floor: NAV must be finite and > 0, got 0", std::invalid_argument);
  CHECK_THROWS_WITH_AS((arbitrage_floor(1.0, -1.0, 0.1)), "arbitrage floor: wait must be >= 0 days (infinite: closed), got -1", std::invalid_argument);
  CHECK_THROWS_WITH_AS((arbitrage_floor(1.0, 1.0, -0.1)), "arbitrage floor: required return must be finite and >= 0, got -0.1", std::invalid_argument);
}

TEST_CASE("buying a constant-product pool up to a price: the closed form, and the bisection agrees") {
  for (const double fee : {0.0, 0.003, 0.01}) {
    const ConstantProductPool p{20'000, 4'000, fee};  // a depeg to 0.2 ETH per token
    const double a = buy_to_price(p, 0.9);
    CHECK(spot_price(buy(p, a).pool) == doctest::Approx(0.9).epsilon(1e-13));
    const auto arb = arbitrage(p, 0.9, 1e9);
    CHECK(arb.eth_spent == doctest::Approx(a).epsilon(1e-12));
    CHECK(spot_price(arb.pool) == doctest::Approx(0.9).epsilon(1e-12));
    // What the arbitrageurs receive is what leaves the pool; their ETH stays in it.
    CHECK(arb.tokens_bought == doctest::Approx(p.token - arb.pool.token).epsilon(1e-12));
    CHECK(arb.pool.eth == doctest::Approx(p.eth + arb.eth_spent).epsilon(1e-15));
  }
  // Without a fee: (y + a)^2 = price x y, so a = sqrt(price x y) - y.
  const ConstantProductPool p{20'000, 4'000, 0.0};
  CHECK(buy_to_price(p, 0.9) == doctest::Approx(std::sqrt(0.9 * 20'000.0 * 4'000.0) - 4'000.0).epsilon(1e-14));
  CHECK(buy_to_price(p, 0.1) == 0.0);  // already above
  CHECK_THROWS_WITH_AS((buy_to_price(p, 0.0)), "buy to price: price must be finite and > 0, got 0", std::invalid_argument);
}

TEST_CASE("arbitrageurs stop at the floor or when their capital is spent") {
  const ConstantProductPool p{20'000, 4'000, 0.003};
  // Enough capital: the price ends at the floor.
  const double floor = arbitrage_floor(1.0, 14.0, 0.10);
  CHECK(spot_price(arbitrage(p, floor, 1e9).pool) == doctest::Approx(floor).epsilon(1e-12));
  // 1,000 ETH is not enough to lift 0.2 to 0.996: all of it is spent, and the price stays below.
  const auto short_of = arbitrage(p, floor, 1'000);
  CHECK(short_of.eth_spent == 1'000);
  CHECK(spot_price(short_of.pool) < floor);
  CHECK(spot_price(short_of.pool) == doctest::Approx(spot_price(buy(p, 1'000).pool)).epsilon(1e-15));
  // More capital never leaves a lower price.
  CHECK(spot_price(arbitrage(p, floor, 2'000).pool) > spot_price(short_of.pool));
  // No discount to take: nothing happens.
  const auto none = arbitrage(p, 0.1, 1e9);
  CHECK(none.eth_spent == 0.0);
  CHECK(none.pool.token == p.token);
  // Closed withdrawals (floor 0): arbitrageurs never buy, whatever the depeg.
  CHECK(arbitrage(p, arbitrage_floor(1.0, std::numeric_limits<double>::infinity(), 0.1), 1e9).eth_spent == 0.0);
  CHECK_THROWS_WITH_AS((arbitrage(p, -1.0, 1.0)), "arbitrage: floor price must be finite and >= 0, got -1", std::invalid_argument);
  CHECK_THROWS_WITH_AS((arbitrage(p, 1.0, -1.0)), "arbitrage: capital must be finite and >= 0, got -1 ETH", std::invalid_argument);
}

TEST_CASE("arbitrage brings a StableSwap pool back to the floor too") {
  // A StableSwap pool after a large sale: 9,000 ETH drained to 1,000 against 17,000 tokens.
  const StableSwapPool p{17'000, 1'000, 50.0, 0.0004};
  REQUIRE(spot_price(p) < 0.9);
  const auto arb = arbitrage(p, 0.99, 1e9);
  CHECK(spot_price(arb.pool) == doctest::Approx(0.99).epsilon(1e-10));
  CHECK(arb.pool.eth == doctest::Approx(p.eth + arb.eth_spent).epsilon(1e-12));
}
