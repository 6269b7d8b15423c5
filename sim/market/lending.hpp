#pragma once
// Lending markets that take a token as collateral against ETH debt: Aave v3 and Morpho Blue
// liquidations, loopers and a reserve that covers deficits (docs/markets.md, "Lending markets and
// oracles"). Pure functions on plain values; the market episode of issue 11 calls them at each step
// with the oracle's price (oracle.hpp). Amounts are real numbers: no wei rounding, no dust rules.
#include <cstddef>

namespace restake::market {

enum class LendingRules {
  AaveV3,      // close factor 50%, 100% at HF <= 0.95; bonus on the repaid debt (LiquidationLogic.sol)
  MorphoBlue,  // full liquidation; incentive factor from the LLTV (Morpho.sol)
};

// One collateral token, debt in ETH. Built through aave_v3_market / morpho_blue_market, which check
// the parameters; on Morpho Blue the LLTV is both `ltv` and `liquidation_threshold` and the bonus is
// the incentive factor less one.
struct LendingMarket {
  LendingRules rules = LendingRules::AaveV3;
  double ltv = 0;                    // most that may be borrowed per unit of collateral value
  double liquidation_threshold = 0;  // LT (Aave) or LLTV (Morpho): HF = collateral value x LT / debt
  double liquidation_bonus = 0;      // collateral seized = repaid x (1 + bonus) at the oracle price
};

// Aave v3 (PoolConfigurator: LTV <= LT, LT x (1 + bonus) <= 1). Throws std::invalid_argument.
LendingMarket aave_v3_market(double ltv, double liquidation_threshold, double liquidation_bonus);
// Aave's LRT e-mode since April 2025 (rsETH, weETH, ezETH): LTV 93%, LT 95%, bonus 1%.
LendingMarket aave_lrt_emode();
// Morpho Blue with LLTV in (0, 1). Throws std::invalid_argument.
LendingMarket morpho_blue_market(double lltv);

// Morpho Blue's liquidation incentive factor min(1.15, 1 / (1 - 0.3 (1 - LLTV)))
// (Morpho.sol: MAX_LIQUIDATION_INCENTIVE_FACTOR, LIQUIDATION_CURSOR).
double morpho_incentive_factor(double lltv);

// A borrower's position in one market.
struct Borrower {
  double collateral_tokens = 0;
  double debt_eth = 0;
};

// Collateral value x LT / debt at the oracle's price (ETH per token); +infinity without debt.
double health_factor(const LendingMarket& market, const Borrower& b, double price_eth);
// HF < 1: Aave's HEALTH_FACTOR_LIQUIDATION_THRESHOLD; on Morpho debt > collateral x price x LLTV.
bool liquidatable(const LendingMarket& market, const Borrower& b, double price_eth);
// Share of the debt one liquidation may repay at this health factor.
double close_factor(const LendingMarket& market, double health_factor);
// Below this health factor a liquidation lowers it further (a spiral): LT x (1 + bonus).
// Repaying d and seizing d (1 + bonus) raises HF exactly when collateral value > debt x (1 + bonus).
double spiral_health_factor(const LendingMarket& market);
// Debt not covered by the collateral's value: max(0, debt - collateral x price) (unrealised).
double insolvent_debt(const Borrower& b, double price_eth);

// One liquidation call: what moved, and the position after it.
struct Liquidation {
  double repaid_eth = 0;     // debt the liquidator repaid, one for one off the debt
  double seized_tokens = 0;  // collateral the liquidator received (repaid x (1 + bonus) / price)
  double deficit_eth = 0;    // debt written off because no collateral is left: realised bad debt
  Borrower after;
};

// The liquidator offers to repay `offered_eth`; the rules cut it to the close factor, and to what
// the collateral can pay for (all of it seized, the repayment reduced to its value / (1 + bonus)).
// When the collateral is gone the rest of the debt becomes a deficit (Aave v3.3 `deficit`, Morpho's
// bad debt). A position that is not liquidatable is returned unchanged.
Liquidation liquidate(const LendingMarket& market, const Borrower& b, double price_eth, double offered_eth);
// As much as one call allows (what a liquidator maximising its bonus repays).
Liquidation liquidate_max(const LendingMarket& market, const Borrower& b, double price_eth);

// Liquidations repeated at one price until the position is healthy or closed (or `max_calls` made;
// below the spiral threshold the position closes in a few calls, above it heals in a few).
struct LiquidationRun {
  double repaid_eth = 0, seized_tokens = 0, deficit_eth = 0;
  std::size_t calls = 0;
  Borrower after;
};
LiquidationRun liquidate_until_healthy(const LendingMarket& market, const Borrower& b, double price_eth,
                                       std::size_t max_calls = 200);

// Loopers borrow ETH against the token and buy more token: collateral value = leverage x equity.
// At health factor h with threshold LT the leverage is 1 / (1 - LT / h) (h > LT).
double looper_leverage(double liquidation_threshold, double health_factor);
// The looped position of `equity_eth` at health factor h, the token priced at `price_eth`.
Borrower looped_position(double equity_eth, double liquidation_threshold, double health_factor, double price_eth);

// What covers deficits first (a treasury, Umbrella-like stakers): a balance in ETH.
struct Reserve {
  double balance_eth = 0;
};
struct DeficitCover {
  double covered_eth = 0;   // paid by the reserve
  double bad_debt_eth = 0;  // what it could not cover: the lenders' loss
  Reserve after;
};
DeficitCover cover_deficit(const Reserve& reserve, double deficit_eth);

}  // namespace restake::market
