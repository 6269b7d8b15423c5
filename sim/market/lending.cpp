#include "market/lending.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>

namespace restake::market {

namespace {

// Morpho.sol constants (WAD-scaled there).
constexpr double kMaxIncentiveFactor = 1.15;  // MAX_LIQUIDATION_INCENTIVE_FACTOR
constexpr double kLiquidationCursor = 0.3;    // LIQUIDATION_CURSOR
// Aave v3 LiquidationLogic.sol.
constexpr double kDefaultCloseFactor = 0.5;          // DEFAULT_LIQUIDATION_CLOSE_FACTOR
constexpr double kCloseFactorHfThreshold = 0.95;     // CLOSE_FACTOR_HF_THRESHOLD (inclusive)

void require_finite(std::string_view what, double v) {
  if (!std::isfinite(v)) throw std::invalid_argument(fmt::format("{} {} is not finite", what, v));
}
void require_non_negative(std::string_view what, double v) {
  require_finite(what, v);
  if (v < 0) throw std::invalid_argument(fmt::format("{} {} is negative", what, v));
}
void require_open_unit(std::string_view what, double v) {
  require_finite(what, v);
  if (!(v > 0 && v < 1)) throw std::invalid_argument(fmt::format("{} {} is not in (0, 1)", what, v));
}
void check(const Borrower& b) {
  require_non_negative("collateral (tokens)", b.collateral_tokens);
  require_non_negative("debt (ETH)", b.debt_eth);
}

}  // namespace

LendingMarket aave_v3_market(double ltv, double liquidation_threshold, double liquidation_bonus) {
  require_open_unit("liquidation threshold", liquidation_threshold);
  require_non_negative("LTV", ltv);
  if (ltv > liquidation_threshold)
    throw std::invalid_argument(
        fmt::format("LTV {} is above the liquidation threshold {}", ltv, liquidation_threshold));
  require_non_negative("liquidation bonus", liquidation_bonus);
  // PoolConfigurator refuses LT x (1 + bonus) > 100%: a liquidation must not promise more
  // collateral than a position at HF 1 holds. A hair of slack for decimal inputs.
  if (liquidation_threshold * (1 + liquidation_bonus) > 1 + 1e-12)
    throw std::invalid_argument(fmt::format("liquidation threshold {} x (1 + bonus {}) is above 1",
                                            liquidation_threshold, liquidation_bonus));
  return {LendingRules::AaveV3, ltv, liquidation_threshold, liquidation_bonus};
}

LendingMarket aave_lrt_emode() { return aave_v3_market(0.93, 0.95, 0.01); }

double morpho_incentive_factor(double lltv) {
  require_open_unit("LLTV", lltv);
  return std::min(kMaxIncentiveFactor, 1 / (1 - kLiquidationCursor * (1 - lltv)));
}

LendingMarket morpho_blue_market(double lltv) {
  return {LendingRules::MorphoBlue, lltv, lltv, morpho_incentive_factor(lltv) - 1};
}

double health_factor(const LendingMarket& market, const Borrower& b, double price_eth) {
  check(b);
  require_non_negative("price (ETH per token)", price_eth);
  if (b.debt_eth == 0) return std::numeric_limits<double>::infinity();
  return b.collateral_tokens * price_eth * market.liquidation_threshold / b.debt_eth;
}

bool liquidatable(const LendingMarket& market, const Borrower& b, double price_eth) {
  return health_factor(market, b, price_eth) < 1;
}

double close_factor(const LendingMarket& market, double health_factor) {
  if (market.rules == LendingRules::MorphoBlue) return 1;
  return health_factor > kCloseFactorHfThreshold ? kDefaultCloseFactor : 1;
}

double spiral_health_factor(const LendingMarket& market) {
  return market.liquidation_threshold * (1 + market.liquidation_bonus);
}

double insolvent_debt(const Borrower& b, double price_eth) {
  check(b);
  require_non_negative("price (ETH per token)", price_eth);
  return std::max(0.0, b.debt_eth - b.collateral_tokens * price_eth);
}

Liquidation liquidate(const LendingMarket& market, const Borrower& b, double price_eth, double offered_eth) {
  require_non_negative("offered repayment (ETH)", offered_eth);
  const double hf = health_factor(market, b, price_eth);  // checks b and the price
  Liquidation l{.after = b};
  if (!(hf < 1)) return l;
  const double premium = 1 + market.liquidation_bonus;
  l.repaid_eth = std::min(offered_eth, close_factor(market, hf) * b.debt_eth);
  // At a price of 0 any repayment asks for infinitely many tokens: all are seized, nothing repaid.
  const double wanted = price_eth > 0 ? l.repaid_eth * premium / price_eth : std::numeric_limits<double>::infinity();
  if (wanted >= b.collateral_tokens) {
    // Aave's _calculateAvailableCollateralToLiquidate (Morpho reverts; a liquidator then asks for
    // exactly the collateral): everything is seized and the repayment is what it is worth.
    l.seized_tokens = b.collateral_tokens;
    l.repaid_eth = std::min(l.repaid_eth, b.collateral_tokens * price_eth / premium);
  } else {
    l.seized_tokens = wanted;
  }
  l.after.collateral_tokens = l.seized_tokens == b.collateral_tokens ? 0 : b.collateral_tokens - l.seized_tokens;
  l.after.debt_eth = b.debt_eth - l.repaid_eth;
  if (l.after.collateral_tokens == 0 && l.after.debt_eth > 0) {
    // Nothing left to seize: Aave v3.3 burns the rest into the reserve's deficit, Morpho Blue
    // realises it as bad debt against the lenders.
    l.deficit_eth = l.after.debt_eth;
    l.after.debt_eth = 0;
  }
  return l;
}

Liquidation liquidate_max(const LendingMarket& market, const Borrower& b, double price_eth) {
  require_non_negative("debt (ETH)", b.debt_eth);
  return liquidate(market, b, price_eth, b.debt_eth);
}

LiquidationRun liquidate_until_healthy(const LendingMarket& market, const Borrower& b, double price_eth,
                                       std::size_t max_calls) {
  LiquidationRun run{.after = b};
  while (run.calls < max_calls && liquidatable(market, run.after, price_eth)) {
    const Liquidation l = liquidate_max(market, run.after, price_eth);
    run.repaid_eth += l.repaid_eth;
    run.seized_tokens += l.seized_tokens;
    run.deficit_eth += l.deficit_eth;
    run.after = l.after;
    ++run.calls;
  }
  return run;
}

double looper_leverage(double liquidation_threshold, double health_factor) {
  require_open_unit("liquidation threshold", liquidation_threshold);
  require_finite("health factor", health_factor);
  // HF = L x LT / (L - 1) for collateral value L x equity and debt (L - 1) x equity.
  if (!(health_factor > liquidation_threshold))
    throw std::invalid_argument(fmt::format("health factor {} is not above the liquidation threshold {}",
                                            health_factor, liquidation_threshold));
  return 1 / (1 - liquidation_threshold / health_factor);
}

Borrower looped_position(double equity_eth, double liquidation_threshold, double health_factor, double price_eth) {
  require_non_negative("equity (ETH)", equity_eth);
  require_finite("price (ETH per token)", price_eth);
  if (!(price_eth > 0)) throw std::invalid_argument(fmt::format("price (ETH per token) {} is not positive", price_eth));
  const double leverage = looper_leverage(liquidation_threshold, health_factor);
  return {leverage * equity_eth / price_eth, (leverage - 1) * equity_eth};
}

DeficitCover cover_deficit(const Reserve& reserve, double deficit_eth) {
  require_non_negative("reserve balance (ETH)", reserve.balance_eth);
  require_non_negative("deficit (ETH)", deficit_eth);
  DeficitCover c;
  c.covered_eth = std::min(reserve.balance_eth, deficit_eth);
  c.bad_debt_eth = deficit_eth - c.covered_eth;
  c.after.balance_eth = reserve.balance_eth - c.covered_eth;
  return c;
}

}  // namespace restake::market
