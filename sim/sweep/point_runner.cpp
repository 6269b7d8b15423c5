#include "sweep/point_runner.hpp"

#include <utility>

#include "stats/tally.hpp"
#include "trial/engine.hpp"

namespace restake {

namespace {

// A Tally, and with exact quantiles the loss and net-return columns. `m` must outlive it.
class PointTally {
 public:
  PointTally(const Model& m, bool exact_quantiles, double sketch_accuracy, std::uint64_t trials)
      : model_(m), tally_(m, exact_quantiles ? 0.0 : sketch_accuracy), loss_(exact_quantiles ? m.holders.size() : 0),
        ret_(loss_.size()) {
    for (std::size_t h = 0; h < loss_.size(); ++h) {
      loss_[h].reserve(trials);
      ret_[h].reserve(trials);
    }
  }

  void add(const TrialBlock& b) {
    tally_.add(b);
    if (!loss_.empty()) weight_.insert(weight_.end(), b.weight.begin(), b.weight.end());
    const std::size_t H = model_.holders.size();
    for (std::size_t h = 0; h < loss_.size(); ++h)
      for (std::size_t i = 0; i < b.count; ++i) {
        loss_[h].push_back(b.loss_fraction[i * H + h]);
        ret_[h].push_back(b.net_return[i * H + h]);
      }
  }

  RunSummary summarize(const RunInfo& info) {  // once: hands its columns over
    if (loss_.empty()) return summarize_run(model_, info, tally_);
    QuantileSource cols;
    cols.loss_fraction = [&](std::size_t h) { return std::move(loss_[h]); };
    cols.net_return = [&](std::size_t h) { return std::move(ret_[h]); };
    if (!weight_.empty()) cols.weight = [&] { return weight_; };
    return summarize_run(model_, info, tally_, cols);
  }

 private:
  const Model& model_;
  Tally tally_;
  std::vector<std::vector<double>> loss_, ret_;  // [holder], exact quantiles only
  std::vector<double> weight_;                    // a weighted run's, exact quantiles only
};

}  // namespace

void LocalBlocks::for_each_block(std::size_t, const Model& m, const BlockFn& on_block) { run_trials(m, run_, on_block, stop_); }

RunSummary run_point(const Model& m, const RunInfo& info, const PointRun& o, BlockSource& source, std::size_t point,
                     const BlockFn& on_block) {
  PointTally tally(m, o.exact_quantiles, o.sketch_accuracy, o.run.trials);
  source.for_each_block(point, m, [&](const TrialBlock& b) {
    if (on_block) on_block(b);
    tally.add(b);
  });
  return tally.summarize(info);
}

RunSummary run_point(const Model& m, const RunInfo& info, const PointRun& o, const BlockFn& on_block) {
  LocalBlocks here(o.run);
  return run_point(m, info, o, here, 0, on_block);
}

}  // namespace restake
