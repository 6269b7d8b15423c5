#pragma once
// The HDF5 sweep file (layout in docs/sweeps.md): the points' parameter values and every summary
// of results.hpp with a leading point axis, optionally every point's per-trial records. Written
// under a temporary name and renamed only when every point is in, like the results file.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/model.hpp"
#include "stats/summary.hpp"
#include "sweep/sweep.hpp"
#include "trial/trial_block.hpp"

namespace restake {

inline constexpr const char* kSweepFileType = "restake-sim sweep";
// 2: a string or boolean parameter, whose /points/values are label indices (older readers would
// take them for values); files with numbers only stay 1.
inline constexpr std::int64_t kSweepFormatVersion = 1;
inline constexpr std::int64_t kSweepFormatVersionCategorical = 2;

struct SweepMeta {
  std::string program_version;
  std::string git_commit;
  std::string sweep_path;  // as given on the command line
  std::uint64_t seed = 0;     // the one seed of every point
  std::uint64_t trials = 0;   // per point
  // Importance sampling: the one tilt of every point (each point's rates times the same factors,
  // so the points keep common random numbers); inactive: plain Monte Carlo.
  TiltInfo tilt{};
};

// What the sweep file keeps of one point: its summary and the numbers of its model that a sweep
// may change. Built from a fresh run or read back from a shard or progress file (sweep_points.hpp).
struct PointResult {
  RunSummary summary;
  std::vector<double> holder_value;  // [H], initial value of each holder
  std::vector<double> pool_balance;  // [Q]
  std::vector<double> usd_price;     // [S], NaN where the scenario gives none
  double horizon_days = 0.0;
};
PointResult point_result(const Model& m, RunSummary summary);

struct SweepWriterOptions {
  bool records = false;  // per-trial records of every point, [P, N, ...]
  int deflate_level = 1;
  double quantile_relative_error = 1e-4;  // 0 when quantiles are exact (records kept in memory)
};

// Trials per chunk of every per-trial record of a sweep's files (the sweep file, its point files):
// the chunk rule of io/output_helpers.hpp for the widest record's row. One for all records, so
// that a block of whole chunks is whole chunks of every record.
std::uint64_t sweep_chunk_trials(const RecordShape& shape);
// Trials per block of a sweep (unless --block): block_trials_for's ~64 MiB of rows, rounded down
// to whole chunks (at least one), so that no chunk is written twice; a chunk written in parts is
// read back, inflated and compressed again.
std::size_t sweep_block_trials(const RecordShape& shape);

class SweepWriter {
 public:
  // `first` is the model of point 0: the entity lists (holders, AVSs, pools) are the same at every
  // point, since a sweep only changes numbers.
  SweepWriter(const std::string& path, const Sweep& sweep, const Model& first, const SweepMeta& meta,
              const SweepWriterOptions& options = {});
  ~SweepWriter();  // removes the temporary file unless finish() succeeded
  SweepWriter(const SweepWriter&) = delete;
  SweepWriter& operator=(const SweepWriter&) = delete;

  // Per-trial records of point `point` (only with options.records).
  void append(std::size_t point, const TrialBlock& block);
  // The summary and model of point `point`; every point must be added once before finish().
  void add_point(std::size_t point, const Model& m, const RunSummary& summary);
  void add_point(std::size_t point, PointResult result);
  // Writes /summary, marks the file complete and moves it into place.
  void finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace restake
