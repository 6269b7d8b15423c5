#pragma once
// The price a lending market sees for a token (ETH per token). Whether a depeg liquidates depends on
// it: an exchange-rate oracle follows NAV and ignores the market, a market oracle follows the pools
// (docs/markets.md, "Lending markets and oracles"). Times are in days.
#include <span>
#include <vector>

namespace restake::market {

// Aave's CAPO (bgd-labs/aave-capo, PriceCapAdapterBase): the ratio may grow at most
// `max_yearly_growth` a year (simple, not compounded) from a snapshot.
struct RatioCap {
  double snapshot_ratio = 1;
  double snapshot_day = 0;
  double max_yearly_growth = 0;  // e.g. 0.0968 for wstETH's 9.68%
};
inline constexpr double kDaysPerYear = 365;  // CAPO's SECONDS_PER_YEAR is 365 days

// snapshot x (1 + g x (t - snapshot) / year); throws before the snapshot (the contract underflows).
double capo_max_ratio(const RatioCap& cap, double day);
// The ratio the adapter reports: the current one, or the cap when above it. A falling ratio
// (a NAV write-down) always passes through.
double capped_ratio(const RatioCap& cap, double ratio, double day);

// A market price path, piecewise constant: each point's price holds until the next point.
struct PricePoint {
  double day = 0;
  double price_eth = 0;
};

// The price at `day`: the last point at or before it (the first point's before the path starts).
double spot_price(std::span<const PricePoint> path, double day);
// The exact time-weighted average of the step path over [day - window, day] (Uniswap-style TWAP
// from cumulative prices). A window of 0 is the spot price.
double twap(std::span<const PricePoint> path, double day, double window_days);

// A market path kept as it is recorded, with what lies wholly before the longest window dropped:
// the episode's oracles read it at each step.
struct PriceHistory {
  double keep_days = 0;  // the longest TWAP window read from it
  std::vector<PricePoint> points{};  // {}: a designated initializer may leave it out
};
// Appends a point (days must not decrease; a point at the same day replaces the last) and drops
// the points that no window ending at `day` can reach.
void record(PriceHistory& history, PricePoint p);

enum class OracleKind {
  ExchangeRate,  // NAV per token x base rate, upside capped (Aave: CAPO x ETH/USD)
  MarketSpot,    // the pools' current price
  MarketTwap,    // a time-weighted average of the pools' price over a window
};

struct Oracle {
  OracleKind kind = OracleKind::ExchangeRate;
  RatioCap cap{};               // ExchangeRate only ({}: a designated initializer may leave it out)
  bool capped = false;          // ExchangeRate: apply `cap`
  double base_price_eth = 1;    // ExchangeRate: ETH per unit of what NAV is counted in
  double twap_window_days = 0;  // MarketTwap only
};

// What the oracle reports at `day` for a token whose NAV per token is `nav_per_token` and whose
// market price path is `market`. Throws std::invalid_argument on invalid inputs.
double oracle_price(const Oracle& oracle, double nav_per_token, std::span<const PricePoint> market, double day);

}  // namespace restake::market
