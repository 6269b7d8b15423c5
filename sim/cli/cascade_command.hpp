#pragma once
// `restake-sim cascade`: the Durvasula-Roughgarden analysis (docs/cascade.md) of a scenario's
// restaking graph: security, slack, the per-validator sufficient condition, worst-case loss R_psi.
#include <cstddef>
#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace restake {

struct CascadeArgs {
  std::string scenario;
  double psi = 0.001;
  std::optional<double> gamma;  // also check security and the sufficient condition at this slack
  std::size_t max_exact = 20;   // validators the exact searches accept
  bool json = false;
};

// Adds the subcommand and its options, bound to `args`.
CLI::App* add_cascade_command(CLI::App& app, CascadeArgs& args);

// Prints the analysis on stdout; returns the exit code. Scenario errors propagate as ScenarioError.
int run_cascade_command(const CascadeArgs& args);

}  // namespace restake
