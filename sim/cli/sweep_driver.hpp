#pragma once
// The one point loop of `restake-sim sweep`, with or without MPI: the runs differ only in where a
// point's blocks are computed (a BlockSource: here, or on the MPI worker ranks).
#include <cstddef>
#include <optional>
#include <string>

#include "sweep/point_runner.hpp"
#include "sweep/sweep.hpp"
#include "sweep/sweep_points.hpp"
#include "sweep_command.hpp"

namespace restake {

// The sweep file `path` and the scenario it names, parsed and checked.
Sweep read_sweep(const std::string& path);
// The run of every point: the command line over [sweep] over the scenario.
RunSpec sweep_run_spec(const SweepArgs& args, const Sweep& sweep);
// The output file (default: results/<sweep stem>.h5, or a shard's own name there), its folder made.
std::string sweep_output(const SweepArgs& args, const std::optional<ShardSpec>& shard);

struct SweepTotals {
  std::size_t points = 0;     // this run's (a shard's share, or all)
  std::size_t simulated = 0;  // now, not taken over from an interrupted run
  double seconds = 0.0;
};

// The points of `shard` (all without one), ascending, into `out` (a shard file is assembled at the
// end). A point an interrupted run finished is taken from its progress file (--resume); any other
// is simulated with blocks from `source` and kept in the progress folder once finished. Ctrl-C,
// SIGTERM and --stop-after stop it with Interrupted, keeping the finished points.
SweepTotals run_sweep_points(const SweepArgs& args, const Sweep& sweep, const RunSpec& run, const std::string& out,
                             const std::optional<ShardSpec>& shard, BlockSource& source);

}  // namespace restake
