#pragma once
// Published figures that the simulator reproduces (scenarios/published/reproductions.toml): each
// case names a scenario (or, for a closed form, its inputs), what it reads, the published value and
// how close ours must come.
#include <string>
#include <string_view>
#include <vector>

#include "model/model.hpp"

namespace restake {

// What a case compares:
// - a holder's mean loss or value left (Monte Carlo);
// - the worst-case cascade loss R_psi of the restaking graph;
// - a token's or a lending market's mean over the trials (the market layer, docs/markets.md);
// - a closed form the model uses: Morpho's incentive factor, a loop's leverage, the exit queue.
enum class ReproductionMetric {
  LossEth,
  ValueLeftEth,
  CascadeLossShare,
  TokenMinPrice,           // token: its lowest market price (ETH per token)
  LendingLiquidated,       // lending_market (a name, or several to add up): collateral seized (tokens)
  LendingBadDebtEth,       // lending_market: bad debt after the reserve
  LendingBadDebtUsd,       // the same at the scenario's ETH price
  MorphoIncentiveFactor,   // lltv
  LooperLeverage,          // liquidation_threshold, health_factor
  ExitQueueDays,           // queue_eth, at the scenario's fork and stake
};

struct ReproductionCase {
  std::string name;
  std::string scenario;  // path, relative to the manifest; empty for a closed form without one
  std::string source;
  ReproductionMetric metric = ReproductionMetric::LossEth;
  std::string holder;          // LossEth, ValueLeftEth
  std::string token;           // TokenMinPrice
  std::vector<std::string> lending_markets;  // Lending*: one, or several whose figures add up
  double published = 0.0;
  double tolerance = 0.0;  // relative
  // > 1: an order-of-magnitude case, ours within [published / factor, published x factor] (the
  // published figure depends on what no scenario states exactly; docs/reproductions.md says what).
  double factor = 0.0;
  // The published figure is a bound: ours must not exceed an upper one nor fall short of a lower one
  // (and be within the tolerance of it).
  bool upper_bound = false, lower_bound = false;
  double psi = 0.0;          // cascade_loss_share: the shock, as a share of all stake
  double lltv = 0.0;                   // morpho_incentive_factor
  double liquidation_threshold = 0.0;  // looper_leverage
  double health_factor = 0.0;          // looper_leverage
  double queue_eth = 0.0;              // exit_queue_days
};

// Throws ScenarioError (file, line, column, key) on a malformed manifest.
std::vector<ReproductionCase> parse_reproductions(std::string_view toml_text, const std::string& file_name);

// Our figure for a case that reads a scenario: the holder's, token's or lending market's mean over
// the scenario's trials (with its own seed), the worst-case Durvasula-Roughgarden cascade loss R_psi
// of its restaking graph, or the exit queue at its fork.
double measure_reproduction(const Model& m, const ReproductionCase& c);
// Our figure for a closed form without a scenario (c.scenario empty).
double evaluate_closed_form(const ReproductionCase& c);

// The unit printed after a figure ("ETH lost", "ETH per token", ...).
std::string reproduction_unit(const ReproductionCase& c);

// |ours - published| <= tolerance * |published| + 1 Gwei, or within the factor; for an upper bound
// also ours <= published, for a lower one ours >= published.
bool within_tolerance(const ReproductionCase& c, double ours);

}  // namespace restake
