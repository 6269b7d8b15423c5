#include "market/redemption.hpp"

#include <algorithm>
#include <limits>

#include "chain/inactivity.hpp"

namespace restake::market {

namespace {

void check_amount(const char* what, double v, const char* unit) {
  if (!std::isfinite(v) || v < 0.0) throw std::invalid_argument(fmt::format("redemption: {} must be finite and >= 0, got {}{}", what, v, unit));
}

}  // namespace

double redemption_wait_days(const Redemption& r, const ConsensusParams& cp, double amount_eth) {
  check_amount("amount", amount_eth, " ETH");
  check_amount("buffer", r.buffer_eth, " ETH");
  check_amount("protocol delay", r.protocol_delay_days, " days");
  check_amount("escrow", r.escrow_days, " days");
  check_amount("exit queue", r.exit_queue_eth, " ETH");
  if (!r.open) return std::numeric_limits<double>::infinity();
  const double beyond = amount_eth - r.buffer_eth;
  if (beyond <= 0.0) return 0.0;
  // The last of what must exit leaves when the queue ahead and everything before it has.
  const double exit = exit_queue_days(cp, r.exit_queue_eth + beyond) +
                      static_cast<double>(kMinValidatorWithdrawabilityDelay) / static_cast<double>(kEpochsPerDay);
  return std::max({r.protocol_delay_days, r.escrow_days, exit});
}

double arbitrage_floor(double nav, double wait_days, double required_return) {
  if (!std::isfinite(nav) || nav <= 0.0) throw std::invalid_argument(fmt::format("arbitrage floor: NAV must be finite and > 0, got {}", nav));
  if (std::isnan(wait_days) || wait_days < 0.0)
    throw std::invalid_argument(fmt::format("arbitrage floor: wait must be >= 0 days (infinite: closed), got {}", wait_days));
  if (!std::isfinite(required_return) || required_return < 0.0)
    throw std::invalid_argument(fmt::format("arbitrage floor: required return must be finite and >= 0, got {}", required_return));
  if (std::isinf(wait_days)) return 0.0;
  return nav / (1.0 + required_return * wait_days / 365.0);
}

double buy_to_price(const ConstantProductPool& p, double price) {
  check_pool(p);
  if (!std::isfinite(price) || price <= 0.0) throw std::invalid_argument(fmt::format("buy to price: price must be finite and > 0, got {}", price));
  const double x = p.token, y = p.eth, f = p.fee;
  if (y / x >= price) return 0.0;
  // After ETH a (a' = a (1 - f) of it traded) the pool holds y + a ETH and x y / (y + a') tokens:
  // its price (y + a)(y + a') / (x y) = price is a quadratic in a with one positive root. Written
  // with the product of the roots (c / A) to avoid cancelling when the move is small.
  const double A = 1.0 - f, B = (2.0 - f) * y, C = y * y - price * x * y;  // C < 0
  return -2.0 * C / (B + std::sqrt(B * B - 4.0 * A * C));
}

}  // namespace restake::market
