#pragma once
// One sweep point simulated: its blocks, in trial order, go to the caller (the writers) and then
// to the point's tallies; the result is the point's summary, as `restake-sim run` computes it.
// Where the blocks are computed is behind BlockSource: here, or on other MPI ranks. A point that
// needs no rows is streamed instead where the source can (each trial tallied where it ran, as
// `run --no-records`).
#include <cstddef>
#include <functional>
#include <utility>
#include <vector>

#include "model/model.hpp"
#include "stats/summary.hpp"
#include "trial/run_spec.hpp"
#include "trial/trial_block.hpp"

namespace restake {

using BlockFn = std::function<void(const TrialBlock&)>;

// Where the blocks of a sweep's points come from.
class BlockSource {
 public:
  virtual ~BlockSource() = default;
  // The points that will be asked for, ascending, before the first of them: a source that
  // computes ahead (MPI) starts on them.
  virtual void expect(const std::vector<std::size_t>& points) { (void)points; }
  // Calls on_block with every block of `point` (its model `m`), in trial order.
  virtual void for_each_block(std::size_t point, const Model& m, const BlockFn& on_block) = 0;
  // Runs `point` through `sink` in chunks of kTallyChunk trials (trial/engine.hpp's stream_trials)
  // and returns true; or returns false, having done nothing, if this source only makes blocks.
  virtual bool stream_point(std::size_t point, const Model& m, ChunkSink& sink) {
    (void)point, (void)m, (void)sink;
    return false;
  }
};

// Computes every block here, with the engine.
class LocalBlocks final : public BlockSource {
 public:
  // `stop`: run_trials' hook, to end a point within a few trials (the command line: on a signal).
  explicit LocalBlocks(const RunSpec& run, std::function<bool()> stop = {}) : run_(run), stop_(std::move(stop)) {}
  void for_each_block(std::size_t point, const Model& m, const BlockFn& on_block) override;
  bool stream_point(std::size_t point, const Model& m, ChunkSink& sink) override;

 private:
  RunSpec run_;
  std::function<bool()> stop_;
};

// With `exact_quantiles` the loss and net-return columns are kept in memory (16 bytes per trial
// and holder) for exact order statistics; otherwise quantiles, VaR and ES come from sketches of
// relative accuracy `sketch_accuracy`.
struct PointRun {
  RunSpec run;
  bool exact_quantiles = false;
  double sketch_accuracy = 1e-4;
};

// Point `point` (model `m`) with its blocks from `source`; `on_block`, if set, sees every block
// before it is tallied. Without exact quantiles and `on_block` the point is streamed if `source`
// can: the same numbers bit for bit, in memory that follows the threads, not the block's trials x
// holders.
RunSummary run_point(const Model& m, const RunInfo& info, const PointRun& options, BlockSource& source,
                     std::size_t point, const BlockFn& on_block = {});
// The same, computed here.
RunSummary run_point(const Model& m, const RunInfo& info, const PointRun& options, const BlockFn& on_block = {});

}  // namespace restake
