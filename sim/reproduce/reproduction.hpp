#pragma once
// Published figures that the simulator reproduces (scenarios/published/reproductions.toml): each
// case names a scenario, a holder, a metric, the published value and a tolerance.
#include <string>
#include <string_view>
#include <vector>

#include "model/model.hpp"

namespace restake {

// What a case compares: a holder's mean loss or value left (Monte Carlo), or the worst-case
// cascade loss R_psi of the restaking graph.
enum class ReproductionMetric { LossEth, ValueLeftEth, CascadeLossShare };

struct ReproductionCase {
  std::string name;
  std::string scenario;  // path, relative to the manifest
  std::string source;
  std::string holder;  // none for CascadeLossShare
  ReproductionMetric metric = ReproductionMetric::LossEth;  // "loss_eth", "value_left_eth" or "cascade_loss_share"
  double published = 0.0;
  double tolerance = 0.0;  // relative
  double psi = 0.0;        // cascade_loss_share: the shock, as a share of all stake
  bool upper_bound = false;  // the published figure is a bound: ours must not exceed it (and be within tolerance below)
};

// Throws ScenarioError (file, line, column, key) on a malformed manifest.
std::vector<ReproductionCase> parse_reproductions(std::string_view toml_text, const std::string& file_name);

// Our figure for a case: the holder's mean over the scenario's trials (with its own seed), or the
// worst-case Durvasula-Roughgarden cascade loss R_psi of the scenario's restaking graph.
double measure_reproduction(const Model& m, const ReproductionCase& c);

// |ours - published| <= tolerance * |published| + 1 Gwei; for an upper bound also ours <= published.
bool within_tolerance(const ReproductionCase& c, double ours);

}  // namespace restake
