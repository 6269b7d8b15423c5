#pragma once
// Redemption at net asset value (NAV) through a queue, and the arbitrage that pulls a depeg back
// to NAV (issue 11; docs/markets.md, "Redemption and arbitrage"). Whether withdrawals are open and
// how long the queue is decide how deep a depeg can go: arbitrageurs buy below NAV only when the
// discount pays for the wait. Pure functions on plain values; invalid input (negative or
// non-finite amounts, a NAV <= 0) throws std::invalid_argument naming the value.
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "chain/consensus.hpp"
#include "market/amm.hpp"
#include "market/solve.hpp"

namespace restake::market {

// How a token redeems for ETH at NAV.
struct Redemption {
  bool open = true;                  // withdrawals enabled (ezETH had none on 24 April 2024)
  double buffer_eth = 0.0;           // paid at once from the protocol's liquid buffer
  double protocol_delay_days = 0.0;  // the token's own queue (finalisation by its operator)
  double escrow_days = 0.0;          // the restaking protocol's withdrawal escrow (EigenLayer: 14 days)
  // ETH ahead in the beacon chain's exit queue; what the buffer does not cover exits behind it.
  double exit_queue_eth = 0.0;
};

// Days until `amount_eth` redeemed now is paid: 0 within the buffer; beyond it the longest of the
// token's own delay, the escrow, and the beacon exit of the queue ahead plus the part beyond the
// buffer (at the fork's churn) followed by MIN_VALIDATOR_WITHDRAWABILITY_DELAY. Infinity when
// withdrawals are closed.
double redemption_wait_days(const Redemption& r, const ConsensusParams& cp, double amount_eth);

// The price below which buying the token and redeeming it at NAV after `wait_days` earns more than
// `required_return` a year (simple interest): NAV / (1 + required_return x wait / 365). 0 when the
// wait is infinite: no price is low enough to buy what cannot be redeemed.
double arbitrage_floor(double nav, double wait_days, double required_return);

// Arbitrageurs buying the token from a pool until its price is back at `floor` or `capital_eth`
// is spent: the ETH they spend, the tokens they receive (to redeem), and the pool after.
template <class Pool>
struct Arbitrage {
  double eth_spent = 0.0, tokens_bought = 0.0;
  Pool pool;
};

// ETH in that brings a constant-product pool's spot price up to `price` (fee included): the root
// of (1 - f) a^2 + (2 - f) y a + y^2 - price x y = 0; 0 when the price is already there.
double buy_to_price(const ConstantProductPool& p, double price);

// Any pool: the spot price after a purchase rises with its size, so the size that reaches `floor`
// is found as a root within [0, capital] (market/solve.hpp; the constant-product pool has it in
// closed form, buy_to_price, and the tests check the two agree).
template <class Pool>
Arbitrage<Pool> arbitrage(const Pool& p, double floor, double capital_eth) {
  if (!std::isfinite(floor) || floor < 0.0) throw std::invalid_argument(fmt::format("arbitrage: floor price must be finite and >= 0, got {}", floor));
  if (!std::isfinite(capital_eth) || capital_eth < 0.0)
    throw std::invalid_argument(fmt::format("arbitrage: capital must be finite and >= 0, got {} ETH", capital_eth));
  if (spot_price(p) >= floor || capital_eth == 0.0) return {0.0, 0.0, p};
  const Quote<Pool> quote(p);
  double spend = capital_eth;
  if (spot_price(quote.buy(capital_eth).pool) > floor)
    spend = sign_change([&](double eth) { return spot_price(quote.buy(eth).pool) - floor; }, 0.0, capital_eth).second;
  const auto s = quote.buy(spend);
  return {spend, s.out, s.pool};
}

}  // namespace restake::market
