#pragma once
// `restake-sim sweep SWEEP.toml [-o OUT.h5]`: every point of a parameter sweep (docs/sweeps.md),
// simulated with the same seed, into one HDF5 file; with --shard i/N only some points, into a
// shard file for `restake-sim merge`.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "trial/run_spec.hpp"

namespace CLI {
class App;
}

namespace restake {

struct SweepArgs {
  std::string sweep;
  std::string output;  // default: results/<sweep file stem>.h5
  RunOverrides run;  // over [sweep] (and then the scenario)
  bool records = false;
  int deflate = 1;
  std::string shard;               // "i/N": only the points p % N == i, into a shard file
  bool resume = false;             // reuse the finished points of an interrupted run
  std::size_t stop_after = 0;      // stop (as if interrupted) after simulating this many points
};

struct MergeArgs {
  std::vector<std::string> shards;
  std::string output;
};

// Adds the subcommand and its options, bound to `args`.
CLI::App* add_sweep_command(CLI::App& app, SweepArgs& args);

// Runs the sweep; returns the exit code. Sweep and scenario errors propagate as ScenarioError
// (SweepError is one), before any output file exists.
int run_sweep_command(const SweepArgs& args);

// `restake-sim merge PART.h5... -o OUT.h5`: the shards of `sweep --shard` into the file a single
// run writes.
CLI::App* add_merge_command(CLI::App& app, MergeArgs& args);
int run_merge_command(const MergeArgs& args);

}  // namespace restake
