#include "sweep/point_runner.hpp"

#include <array>
#include <stdexcept>
#include <utility>

#include "stats/tally.hpp"
#include "trial/engine.hpp"

namespace restake {

namespace {

// The market records whose quantiles the summary holds (summarize_run's QuantileSource::market).
constexpr std::array kMarketColumns = {&TrialBlock::token_min_price, &TrialBlock::lending_liquidated,
                                       &TrialBlock::lending_bad_debt, &TrialBlock::loss_at_market, &TrialBlock::loss_7d_max};

// A Tally, and with exact quantiles the loss and net-return columns (and the market ones). `m`
// must outlive it.
class PointTally {
 public:
  PointTally(const Model& m, bool exact_quantiles, double sketch_accuracy, std::uint64_t trials)
      : model_(m), tally_(m, exact_quantiles ? 0.0 : sketch_accuracy), loss_(exact_quantiles ? m.holders.size() : 0),
        ret_(loss_.size()) {
    for (std::size_t h = 0; h < loss_.size(); ++h) {
      loss_[h].reserve(trials);
      ret_[h].reserve(trials);
    }
    if (!exact_quantiles) return;
    const RecordShape shape = RecordShape::of(m);
    const std::array widths = {shape.tokens, shape.lending, shape.lending, shape.market_holders(), shape.holders};
    for (std::size_t c = 0; c < kMarketColumns.size(); ++c) market_[c].resize(widths[c]);
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
    for (std::size_t c = 0; c < kMarketColumns.size(); ++c) {
      const std::vector<double>& v = b.*kMarketColumns[c];
      const std::size_t width = market_[c].size();
      for (std::size_t k = 0; k < width; ++k)
        for (std::size_t i = 0; i < b.count; ++i) market_[c][k].push_back(v[i * width + k]);
    }
  }

  // The tally alone, to stream the point into: only without exact quantiles, whose columns need
  // the rows in trial order.
  ChunkSink& stream_sink() {
    if (!loss_.empty()) throw std::logic_error("PointTally: exact quantiles need blocks, not a stream");
    return tally_;
  }

  RunSummary summarize(const RunInfo& info) {  // once: hands its columns over
    if (loss_.empty()) return summarize_run(model_, info, tally_);
    QuantileSource cols;
    cols.loss_fraction = [&](std::size_t h) { return std::move(loss_[h]); };
    cols.net_return = [&](std::size_t h) { return std::move(ret_[h]); };
    if (!weight_.empty()) cols.weight = [&] { return weight_; };
    cols.market = [&](std::vector<double> TrialBlock::*field, std::size_t i) {
      for (std::size_t c = 0; c < kMarketColumns.size(); ++c)
        if (kMarketColumns[c] == field) return std::move(market_[c].at(i));
      throw std::logic_error("PointTally: no column of that market record");
    };
    return summarize_run(model_, info, tally_, cols);
  }

 private:
  const Model& model_;
  Tally tally_;
  std::vector<std::vector<double>> loss_, ret_;  // [holder], exact quantiles only
  std::vector<double> weight_;                    // a weighted run's, exact quantiles only
  std::array<std::vector<std::vector<double>>, kMarketColumns.size()> market_;  // [column][entity][trial]
};

}  // namespace

void LocalBlocks::for_each_block(std::size_t, const Model& m, const BlockFn& on_block) { run_trials(m, run_, on_block, stop_); }

bool LocalBlocks::stream_point(std::size_t, const Model& m, ChunkSink& sink) {
  stream_trials(m, run_, kTallyChunk, sink, stop_);
  return true;
}

RunSummary run_point(const Model& m, const RunInfo& info, const PointRun& o, BlockSource& source, std::size_t point,
                     const BlockFn& on_block) {
  PointTally tally(m, o.exact_quantiles, o.sketch_accuracy, o.run.trials);
  // Blocks only when something needs the rows: exact quantiles keep columns of them, `on_block`
  // writes them (records), and a source may make nothing else (MPI ranks send blocks). Otherwise
  // the Tally itself is the ChunkSink, as in `run --no-records`: the same sums merged at the same
  // kTallyChunk boundaries, so the same numbers bit for bit.
  if (!o.exact_quantiles && !on_block && source.stream_point(point, m, tally.stream_sink())) return tally.summarize(info);
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
