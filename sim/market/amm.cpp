#include "market/amm.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>

namespace restake::market {
namespace {

[[noreturn]] void refuse(std::string_view pool, std::string_view what, std::string_view rule, double value) {
  throw std::invalid_argument(fmt::format("{}: {} must be {}, got {}", pool, what, rule, value));
}

void check_reserve(std::string_view pool, std::string_view what, double v) {
  if (!std::isfinite(v) || v <= 0.0) refuse(pool, what, "finite and > 0", v);
}
void check_amount(std::string_view pool, std::string_view what, double v) {
  if (!std::isfinite(v) || v < 0.0) refuse(pool, what, "finite and >= 0", v);
}
void check_fee(std::string_view pool, double fee) {
  if (!std::isfinite(fee) || fee < 0.0 || fee >= 1.0) refuse(pool, "fee", "in [0, 1)", fee);
}
void check_share(std::string_view pool, double share) {
  if (!std::isfinite(share) || share < 0.0 || share >= 1.0) refuse(pool, "withdrawn share", "in [0, 1)", share);
}

constexpr std::string_view kCp = "constant-product pool";
constexpr std::string_view kWeighted = "weighted pool";
constexpr std::string_view kStable = "StableSwap pool";

// Uniswap v2 (whitepaper 2020, getAmountOut): out = r_out a / (r_in + a), a = in (1 - fee); the
// whole input stays in the pool. The balance left, r_out r_in / (r_in + a), is computed as such
// rather than as r_out - out, which would cancel when a sale drains the pool (the price is read
// from it); the two add up to r_out within an ulp of it.
struct Leg {
  double out;
  double left;  // the output side's balance after the trade
};
Leg constant_product_leg(double r_in, double r_out, double in, double fee) {
  const double a = in * (1.0 - fee);
  return {r_out * a / (r_in + a), r_out * r_in / (r_in + a)};
}

// Balancer (whitepaper 2019, out-given-in): b_out (1 - (b_in / (b_in + a))^(w_in / w_out)), written
// as -expm1(-r log1p(a / b_in)) so that a small trade keeps its digits; the balance left likewise.
Leg weighted_leg(double b_in, double b_out, double w_in, double w_out, double in, double fee) {
  const double a = in * (1.0 - fee);
  const double log_ratio = -(w_in / w_out) * std::log1p(a / b_in);
  return {-b_out * std::expm1(log_ratio), b_out * std::exp(log_ratio)};
}

// Newton's iterations stop when a step moves the value by less than this share of it (Curve stops
// at 1 wei), or when a step is no smaller than the one before: exact Newton on these convex functions
// shrinks every step after the first, so that is rounding noise (a drained side's balance carries the
// rounding of the full one). 255 steps is Curve's bound too.
constexpr double kNewtonTolerance = 1e-15;
constexpr int kNewtonSteps = 255;
bool converged(double step, double previous_step, double value, int i) {
  return step <= kNewtonTolerance * value || (i >= 2 && step >= previous_step);
}

// Curve's c = D^(n+1) / (n^n x) / (A n^n) for n = 2, with the whitepaper's A (Ann = 4 A).
double ann(double amplification) { return 4.0 * amplification; }

}  // namespace

// --- constant product ---

void check_pool(const ConstantProductPool& p) {
  check_reserve(kCp, "token reserve", p.token);
  check_reserve(kCp, "ETH reserve", p.eth);
  check_fee(kCp, p.fee);
}

double spot_price(const ConstantProductPool& p) {
  check_pool(p);
  return p.eth / p.token;
}

Swap<ConstantProductPool> sell(const ConstantProductPool& p, double token_in) {
  check_pool(p);
  check_amount(kCp, "token sold", token_in);
  const Leg leg = constant_product_leg(p.token, p.eth, token_in, p.fee);
  return {leg.out, {p.token + token_in, leg.left, p.fee}};
}

Swap<ConstantProductPool> buy(const ConstantProductPool& p, double eth_in) {
  check_pool(p);
  check_amount(kCp, "ETH paid", eth_in);
  const Leg leg = constant_product_leg(p.eth, p.token, eth_in, p.fee);
  return {leg.out, {leg.left, p.eth + eth_in, p.fee}};
}

// After selling s, x' = x + s and y' = y x / (x + (1 - f) s); y' / x' = price is the quadratic
// (1 - f) s^2 + (2 - f) x s - x (y / price - x) = 0, whose positive root is taken in the form that
// does not cancel. Without a fee it is s = sqrt(k / price) - x.
double sell_to_price(const ConstantProductPool& p, double price) {
  check_pool(p);
  if (!std::isfinite(price) || price <= 0.0) refuse(kCp, "target price", "finite and > 0", price);
  const double c = p.token * (p.eth / price - p.token);
  if (c <= 0.0) return 0.0;
  const double a = 1.0 - p.fee;
  const double b = (2.0 - p.fee) * p.token;
  return 2.0 * c / (b + std::sqrt(b * b + 4.0 * a * c));
}

// --- weighted ---

void check_pool(const WeightedPool& p) {
  check_reserve(kWeighted, "token balance", p.token);
  check_reserve(kWeighted, "ETH balance", p.eth);
  if (!std::isfinite(p.token_weight) || p.token_weight <= 0.0 || p.token_weight >= 1.0)
    refuse(kWeighted, "token weight", "in (0, 1)", p.token_weight);
  check_fee(kWeighted, p.fee);
}

double spot_price(const WeightedPool& p) {
  check_pool(p);
  return (p.eth / (1.0 - p.token_weight)) / (p.token / p.token_weight);
}

Swap<WeightedPool> sell(const WeightedPool& p, double token_in) {
  check_pool(p);
  check_amount(kWeighted, "token sold", token_in);
  const Leg leg = weighted_leg(p.token, p.eth, p.token_weight, 1.0 - p.token_weight, token_in, p.fee);
  return {leg.out, {p.token + token_in, leg.left, p.token_weight, p.fee}};
}

Swap<WeightedPool> buy(const WeightedPool& p, double eth_in) {
  check_pool(p);
  check_amount(kWeighted, "ETH paid", eth_in);
  const Leg leg = weighted_leg(p.eth, p.token, 1.0 - p.token_weight, p.token_weight, eth_in, p.fee);
  return {leg.out, {leg.left, p.eth + eth_in, p.token_weight, p.fee}};
}

// --- StableSwap ---
// Double rather than Curve's integer arithmetic: the market layer needs prices and price paths, not
// wei-exact balances, and double keeps the same Newton iterations (same starting points, same
// updates) with ~1e-15 relative error instead of 1 wei.

void check_pool(const StableSwapPool& p) {
  check_reserve(kStable, "token balance", p.token);
  check_reserve(kStable, "ETH balance", p.eth);
  if (!std::isfinite(p.amplification) || p.amplification <= 0.0)
    refuse(kStable, "amplification A", "finite and > 0", p.amplification);
  check_fee(kStable, p.fee);
}

// Newton on f(D) = D^3 / (4 x y) + (Ann - 1) D - Ann S, which is convex with f(S) >= 0 (S^2 >= 4 x y),
// so the steps from D = S descend to the root (Curve's get_D: the same update).
double stableswap_d(const StableSwapPool& p) {
  check_pool(p);
  const double s = p.token + p.eth;
  const double a = ann(p.amplification);
  double d = s;
  double previous_step = 0.0;
  for (int i = 0; i < kNewtonSteps; ++i) {
    const double d_p = d * d / (2.0 * p.token) * d / (2.0 * p.eth);  // D^3 / (n^n x y)
    const double previous = d;
    d = (a * s + 2.0 * d_p) * d / ((a - 1.0) * d + 3.0 * d_p);
    const double step = std::abs(d - previous);
    if (converged(step, previous_step, d, i)) return d;
    previous_step = step;
  }
  throw std::runtime_error(fmt::format("{}: D did not converge (balances {} and {}, A {})", kStable, p.token,
                                       p.eth, p.amplification));
}

// With x and D fixed the invariant is y^2 + (b - D) y = c, b = x + D / Ann, c = D^3 / (4 x Ann): Newton
// from y = D (Curve's get_y: y <- (y^2 + c) / (2 y + b - D)).
double stableswap_y(double amplification, double known_balance, double d) {
  if (!std::isfinite(amplification) || amplification <= 0.0)
    refuse(kStable, "amplification A", "finite and > 0", amplification);
  check_reserve(kStable, "known balance", known_balance);
  check_reserve(kStable, "invariant D", d);
  const double a = ann(amplification);
  const double c = d * d / (2.0 * known_balance) * d / (2.0 * a);
  const double b_minus_d = (known_balance - d) + d / a;  // x - D is exact when x is near D
  double y = d;
  double previous_step = 0.0;
  for (int i = 0; i < kNewtonSteps; ++i) {
    const double previous = y;
    y = (y * y + c) / (2.0 * y + b_minus_d);
    const double step = std::abs(y - previous);
    if (converged(step, previous_step, y, i)) return y;
    previous_step = step;
  }
  throw std::runtime_error(fmt::format("{}: y did not converge (balance {}, D {}, A {})", kStable, known_balance,
                                       d, amplification));
}

// F(x, y) = Ann (x + y) + D - Ann D - D^3 / (4 x y) = 0 at constant D; the price of the token is
// -dy/dx = F_x / F_y = (Ann + D_P / x) / (Ann + D_P / y), D_P = D^3 / (4 x y). Ann -> 0 gives y / x
// (constant product), Ann -> infinity gives 1, balance gives 1.
double spot_price(const StableSwapPool& p) {
  const double d = stableswap_d(p);
  const double a = ann(p.amplification);
  const double d_p = d * d / (2.0 * p.token) * d / (2.0 * p.eth);
  return (a + d_p / p.token) / (a + d_p / p.eth);
}

namespace {
// Curve's exchange: the input raises one balance, get_y gives the other at the same D; the fee is a
// share of the output and stays in the pool (D grows with it). The balance left is get_y's plus the
// fee, not out_balance - out, which would cancel when a sale drains the pool.
Leg stableswap_leg(double amplification, double d, double in_balance_after, double out_balance, double fee) {
  const double y = stableswap_y(amplification, in_balance_after, d);
  const double dy = std::max(out_balance - y, 0.0);  // a tiny trade can round to a hair below zero
  return {dy * (1.0 - fee), std::min(y + dy * fee, out_balance)};
}
}  // namespace

Swap<StableSwapPool> sell(const StableSwapPool& p, double token_in, double d) {
  check_amount(kStable, "token sold", token_in);
  if (token_in == 0.0) return {0.0, p};
  const Leg leg = stableswap_leg(p.amplification, d, p.token + token_in, p.eth, p.fee);
  return {leg.out, {p.token + token_in, leg.left, p.amplification, p.fee}};
}

Swap<StableSwapPool> buy(const StableSwapPool& p, double eth_in, double d) {
  check_amount(kStable, "ETH paid", eth_in);
  if (eth_in == 0.0) return {0.0, p};
  const Leg leg = stableswap_leg(p.amplification, d, p.eth + eth_in, p.token, p.fee);
  return {leg.out, {leg.left, p.eth + eth_in, p.amplification, p.fee}};
}

Swap<StableSwapPool> sell(const StableSwapPool& p, double token_in) {
  check_amount(kStable, "token sold", token_in);
  if (token_in == 0.0) return {0.0, p};
  return sell(p, token_in, stableswap_d(p));
}

Swap<StableSwapPool> buy(const StableSwapPool& p, double eth_in) {
  check_amount(kStable, "ETH paid", eth_in);
  if (eth_in == 0.0) return {0.0, p};
  return buy(p, eth_in, stableswap_d(p));
}

// --- liquidity ---
// Every pool here is homogeneous of degree one in its balances (k^(1/2), the weighted invariant, D),
// so scaling both balances keeps the price and scales the depth.

ConstantProductPool withdraw_liquidity(const ConstantProductPool& p, double share) {
  check_pool(p);
  check_share(kCp, share);
  return {p.token * (1.0 - share), p.eth * (1.0 - share), p.fee};
}

WeightedPool withdraw_liquidity(const WeightedPool& p, double share) {
  check_pool(p);
  check_share(kWeighted, share);
  return {p.token * (1.0 - share), p.eth * (1.0 - share), p.token_weight, p.fee};
}

StableSwapPool withdraw_liquidity(const StableSwapPool& p, double share) {
  check_pool(p);
  check_share(kStable, share);
  return {p.token * (1.0 - share), p.eth * (1.0 - share), p.amplification, p.fee};
}

void check_curve(const LiquidityWithdrawalCurve& c) {
  constexpr std::string_view kCurve = "liquidity withdrawal curve";
  for (std::size_t i = 0; i < c.points.size(); ++i) {
    const WithdrawalPoint& pt = c.points[i];
    if (!std::isfinite(pt.discount) || pt.discount < 0.0 || pt.discount > 1.0)
      refuse(kCurve, fmt::format("point {}'s discount", i + 1), "in [0, 1]", pt.discount);
    if (!std::isfinite(pt.share) || pt.share < 0.0 || pt.share >= 1.0)
      refuse(kCurve, fmt::format("point {}'s share", i + 1), "in [0, 1)", pt.share);
    if (i == 0) continue;
    if (pt.discount <= c.points[i - 1].discount)
      refuse(kCurve, fmt::format("point {}'s discount", i + 1),
             fmt::format("above the previous point's ({})", c.points[i - 1].discount), pt.discount);
    if (pt.share < c.points[i - 1].share)
      refuse(kCurve, fmt::format("point {}'s share", i + 1),
             fmt::format("at least the previous point's ({})", c.points[i - 1].share), pt.share);
  }
}

double withdrawn_share(const LiquidityWithdrawalCurve& c, double discount) {
  check_curve(c);
  if (std::isnan(discount)) throw std::invalid_argument("liquidity withdrawal curve: discount is NaN");
  if (c.points.empty()) return 0.0;
  if (discount <= c.points.front().discount) return c.points.front().share;
  if (discount >= c.points.back().discount) return c.points.back().share;
  std::size_t i = 1;
  while (c.points[i].discount < discount) ++i;
  const WithdrawalPoint& lo = c.points[i - 1];
  const WithdrawalPoint& hi = c.points[i];
  const double t = (discount - lo.discount) / (hi.discount - lo.discount);
  return lo.share + t * (hi.share - lo.share);
}

}  // namespace restake::market
