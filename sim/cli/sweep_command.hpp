#pragma once
// `restake-sim sweep SWEEP.toml [-o OUT.h5]`: every point of a parameter sweep (docs/sweeps.md),
// simulated with the same seed, into one HDF5 file.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace restake {

struct SweepArgs {
  std::string sweep;
  std::string output;  // default: results/<sweep file stem>.h5
  std::optional<std::uint64_t> trials, seed;  // override [sweep] (and then the scenario)
  int threads = 0;
  std::size_t block = 1 << 15;
  bool records = false;
  int deflate = 1;
};

// Adds the subcommand and its options, bound to `args`.
CLI::App* add_sweep_command(CLI::App& app, SweepArgs& args);

// Runs the sweep; returns the exit code. Sweep and scenario errors propagate as ScenarioError
// (SweepError is one), before any output file exists.
int run_sweep_command(const SweepArgs& args);

}  // namespace restake
