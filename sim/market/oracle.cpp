#include "market/oracle.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>

namespace restake::market {

namespace {

void require_non_negative(std::string_view what, double v) {
  if (!std::isfinite(v)) throw std::invalid_argument(fmt::format("{} {} is not finite", what, v));
  if (v < 0) throw std::invalid_argument(fmt::format("{} {} is negative", what, v));
}
void require_finite(std::string_view what, double v) {
  if (!std::isfinite(v)) throw std::invalid_argument(fmt::format("{} {} is not finite", what, v));
}

void check(std::span<const PricePoint> path) {
  if (path.empty()) throw std::invalid_argument("market price path is empty");
  for (std::size_t i = 0; i < path.size(); ++i) {
    require_finite("price point day", path[i].day);
    require_non_negative("market price (ETH per token)", path[i].price_eth);
    if (i > 0 && path[i].day < path[i - 1].day)
      throw std::invalid_argument(
          fmt::format("market price path goes back in time: day {} after day {}", path[i].day, path[i - 1].day));
  }
}

// The last point at or before `day` (a later point at the same day wins); the first when none is.
double price_at(std::span<const PricePoint> path, double day) {
  const auto after = std::upper_bound(path.begin(), path.end(), day,
                                      [](double d, const PricePoint& p) { return d < p.day; });
  return after == path.begin() ? path.front().price_eth : std::prev(after)->price_eth;
}

}  // namespace

double capo_max_ratio(const RatioCap& cap, double day) {
  require_non_negative("CAPO snapshot ratio", cap.snapshot_ratio);
  require_finite("CAPO snapshot day", cap.snapshot_day);
  require_non_negative("CAPO max yearly growth", cap.max_yearly_growth);
  require_finite("day", day);
  if (day < cap.snapshot_day)
    throw std::invalid_argument(fmt::format("day {} is before the CAPO snapshot day {}", day, cap.snapshot_day));
  return cap.snapshot_ratio * (1 + cap.max_yearly_growth * (day - cap.snapshot_day) / kDaysPerYear);
}

double capped_ratio(const RatioCap& cap, double ratio, double day) {
  require_non_negative("exchange ratio", ratio);
  return std::min(ratio, capo_max_ratio(cap, day));
}

double spot_price(std::span<const PricePoint> path, double day) {
  check(path);
  require_finite("day", day);
  return price_at(path, day);
}

double twap(std::span<const PricePoint> path, double day, double window_days) {
  check(path);
  require_finite("day", day);
  require_non_negative("TWAP window (days)", window_days);
  if (window_days == 0) return price_at(path, day);
  // The step path integrated over [start, day]: each price times how long it held.
  const double start = day - window_days;
  double price = price_at(path, start), from = start, integral = 0;
  for (const PricePoint& p : path) {
    if (p.day <= start) continue;
    if (p.day > day) break;
    integral += price * (p.day - from);
    from = p.day;
    price = p.price_eth;
  }
  integral += price * (day - from);
  return integral / window_days;
}

void record(PriceHistory& history, PricePoint p) {
  require_non_negative("price history window (days)", history.keep_days);
  require_finite("price point day", p.day);
  require_non_negative("market price (ETH per token)", p.price_eth);
  auto& pts = history.points;
  if (!pts.empty() && p.day < pts.back().day)
    throw std::invalid_argument(
        fmt::format("market price path goes back in time: day {} after day {}", p.day, pts.back().day));
  if (!pts.empty() && p.day == pts.back().day)
    pts.back() = p;
  else
    pts.push_back(p);
  // Windows read from now on start at or after p.day - keep_days: they need the last point at or
  // before that start and everything after it.
  const double start = p.day - history.keep_days;
  const auto after = std::upper_bound(pts.begin(), pts.end(), start,
                                      [](double d, const PricePoint& q) { return d < q.day; });
  if (after - pts.begin() > 1) pts.erase(pts.begin(), std::prev(after));
}

double oracle_price(const Oracle& oracle, double nav_per_token, std::span<const PricePoint> market, double day) {
  switch (oracle.kind) {
    case OracleKind::ExchangeRate: {
      require_non_negative("NAV per token", nav_per_token);
      require_non_negative("base price (ETH)", oracle.base_price_eth);
      const double ratio = oracle.capped ? capped_ratio(oracle.cap, nav_per_token, day) : nav_per_token;
      return ratio * oracle.base_price_eth;
    }
    case OracleKind::MarketSpot:
      return spot_price(market, day);
    case OracleKind::MarketTwap:
      return twap(market, day, oracle.twap_window_days);
  }
  throw std::invalid_argument("unknown oracle kind");
}

}  // namespace restake::market
