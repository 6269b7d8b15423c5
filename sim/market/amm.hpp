#pragma once
// Automated market makers for a token (an LRT or LST) against ETH: the pool mathematics of the market
// layer (issue 11; docs/markets.md, "AMM pools"). Plain pools and pure functions: a trade returns the
// amount out and the pool after it, and changes nothing else.
//
// Amounts are in units of the token and of ETH; prices are ETH per token, marginal and without the
// fee (the mid price an oracle reading the pool would see). Arithmetic is double throughout: the
// contracts' integer rounding moves balances by wei, far below what a depeg's price path depends on.
// Invalid input (a reserve <= 0, a negative or non-finite amount, a fee outside [0, 1), a weight
// outside (0, 1), A <= 0) throws std::invalid_argument naming the value.
#include <type_traits>
#include <vector>

namespace restake::market {

// A trade's result: what the trader receives and the pool after the trade.
template <class Pool>
struct Swap {
  double out = 0.0;
  Pool pool;
};

// Uniswap v2: x y = k. The fee is a share of the input and stays in the pool, so k grows with it.
struct ConstantProductPool {
  double token = 0.0;  // x
  double eth = 0.0;    // y
  double fee = 0.003;  // Uniswap v2's 0.3%
};

void check_pool(const ConstantProductPool& p);
double spot_price(const ConstantProductPool& p);  // y / x
// Token in, ETH out: y a / (x + a), a = token_in (1 - fee).
Swap<ConstantProductPool> sell(const ConstantProductPool& p, double token_in);
// ETH in, token out: x a / (y + a), a = eth_in (1 - fee).
Swap<ConstantProductPool> buy(const ConstantProductPool& p, double eth_in);
// The token to sell (fee included) that leaves the spot price at `price`; 0 when the price is
// already at or below it (selling only lowers it).
double sell_to_price(const ConstantProductPool& p, double price);

// Balancer weighted pool of two tokens: b_token^w b_eth^(1-w) is invariant. The fee is a share of the
// input, kept by the pool. Weight 0.5 is the constant-product pool.
struct WeightedPool {
  double token = 0.0;
  double eth = 0.0;
  double token_weight = 0.5;  // the ETH side weighs 1 - token_weight, so the weights sum to 1
  double fee = 0.003;
};

void check_pool(const WeightedPool& p);
double spot_price(const WeightedPool& p);  // (b_eth / w_eth) / (b_token / w_token)
// out = b_out (1 - (b_in / (b_in + a))^(w_in / w_out)), a = in (1 - fee).
Swap<WeightedPool> sell(const WeightedPool& p, double token_in);
Swap<WeightedPool> buy(const WeightedPool& p, double eth_in);

// Curve StableSwap with two coins (n = 2), in the whitepaper's form:
//   A n^n (x + y) + D = A D n^n + D^(n+1) / (n^n x y).
// `amplification` is the whitepaper's A; a Curve contract's A() is A n^(n-1) = 2 A here (its code
// multiplies amp by n, not n^n). The fee is a share of the output, kept by the pool, as Curve charges
// it; the admin's part of the fee is not taken out.
struct StableSwapPool {
  double token = 0.0;
  double eth = 0.0;
  double amplification = 50.0;
  double fee = 0.0004;  // Curve's 4 bp
};

void check_pool(const StableSwapPool& p);
// D, by Newton's method from D = x + y, as Curve's get_D. Both iterations throw std::runtime_error
// if 255 steps do not converge (Curve reverts).
double stableswap_d(const StableSwapPool& p);
// The other balance, given one balance and D, by Newton's method from y = D, as Curve's get_y. The
// invariant is symmetric, so either side may be the known one.
double stableswap_y(double amplification, double known_balance, double d);
double spot_price(const StableSwapPool& p);  // -dy/dx at constant D (the implicit derivative)
Swap<StableSwapPool> sell(const StableSwapPool& p, double token_in);
Swap<StableSwapPool> buy(const StableSwapPool& p, double eth_in);
// The same trades given p's D (stableswap_d(p)): to the bit what sell and buy give.
Swap<StableSwapPool> sell(const StableSwapPool& p, double token_in, double d);
Swap<StableSwapPool> buy(const StableSwapPool& p, double eth_in, double d);

// A pool quoted at many trade sizes (a root finder's tries): StableSwap's D, which every trade from
// it starts from, is found once (Newton) rather than at each size. Its trades and prices are, to the
// bit, those of sell, buy and spot_price. The pool must outlive the quote.
template <class P>
class Quote {
 public:
  explicit Quote(const P& p) : p_(p) {
    if constexpr (std::is_same_v<P, StableSwapPool>) d_ = stableswap_d(p);
  }
  Swap<P> sell(double token_in) const {
    if constexpr (std::is_same_v<P, StableSwapPool>) return market::sell(p_, token_in, d_);
    else return market::sell(p_, token_in);
  }
  Swap<P> buy(double eth_in) const {
    if constexpr (std::is_same_v<P, StableSwapPool>) return market::buy(p_, eth_in, d_);
    else return market::buy(p_, eth_in);
  }

 private:
  const P& p_;
  double d_ = 0.0;
};

// Liquidity providers leave: a share of both balances goes, so the price stays and depth shrinks.
// share in [0, 1): a pool needs something on both sides.
ConstantProductPool withdraw_liquidity(const ConstantProductPool& p, double share);
WeightedPool withdraw_liquidity(const WeightedPool& p, double share);
StableSwapPool withdraw_liquidity(const StableSwapPool& p, double share);

// How much of the depth LPs have withdrawn as the depeg deepens: a piecewise-linear function of the
// discount (1 - price / NAV), flat beyond its first and last points, 0 without points. Discounts
// strictly increasing in [0, 1]; shares in [0, 1) and non-decreasing (a deeper depeg never brings
// liquidity back).
struct WithdrawalPoint {
  double discount = 0.0;
  double share = 0.0;
};
struct LiquidityWithdrawalCurve {
  std::vector<WithdrawalPoint> points;
};

void check_curve(const LiquidityWithdrawalCurve& c);
// The share of the original depth withdrawn at this discount (a discount <= 0, a premium, gives the
// first point's share).
double withdrawn_share(const LiquidityWithdrawalCurve& c, double discount);

}  // namespace restake::market
