#pragma once
// The statistics stage: running sums over the trials of a run, fed the engine's blocks in trial
// order (moments, probabilities, means of every per-trial quantity). Quantiles need the whole
// sample and come from the stored records instead (summary.hpp), or from sketches kept here.
//
// Blocks are tallied in parallel, yet every number is the same for any thread count and any block
// size: floating-point sums run over fixed chunks of the run's trials (kTallyChunk, in trial order
// within each) and chunks are merged in trial order; integer counts, the sketches' bucket counts
// and the fixed-point AVS x holder sums do not depend on the order at all.
#include <cstdint>
#include <optional>
#include <vector>

#include <tbb/enumerable_thread_specific.h>

#include "model/model.hpp"
#include "stats/fixed_sum.hpp"
#include "stats/quantile_sketch.hpp"
#include "stats/statistics.hpp"
#include "trial/trial_block.hpp"

namespace restake {

// Trials whose sums are added in order before they are merged with others. A chunk is a range of
// trial indices (not of a block): the merges fall at the same places whatever the blocks are.
inline constexpr std::uint64_t kTallyChunk = 4096;

// What an importance-sampled run was tuned for (run --tail): holder h's P(loss >= loss), and for a
// quantile target the level whose quantile the pilots estimated as `loss`.
struct TailInfo {
  std::size_t holder = 0;
  double loss = 0.0;
  double quantile_level = 0.0;  // 0: a loss target
};

// Sums whose last bits depend on the order of the trials: summed in chunks of kTallyChunk trial
// indices, in trial order, and merged in order. Every sum is weighted by the trials' weights
// (their likelihood ratios in an importance-sampled run, 1 otherwise): an estimate is the sum over
// the number of trials. Counts of trials are sums of weights too (exact integers when all are 1).
struct OrderedSums {
  std::uint64_t trials = 0;
  std::vector<RunningMoments> loss, net_return;             // [holder] of w x: mean and its stderr
  std::vector<WeightedMoments> loss_spread, return_spread;  // [holder] of x with weight w: sd (weighted runs)
  std::vector<double> loss_positive, return_negative;       // [holder] trials
  std::vector<double> covered_sum;                          // [holder]
  std::vector<double> cause_sum;                            // [holder * cause]
  std::vector<double> avs_lost_sum;                         // [avs]
  std::vector<double> avs_slashed;                          // [avs] trials with a slash
  std::vector<double> pool_drawdown_sum;                    // [pool]
  std::vector<double> pool_exhausted;                       // [pool] trials that emptied it
  // The market layer, sized 0 without tokens (lending markets).
  std::vector<double> token_min_price_sum, token_depegged, token_depeg_days_sum, token_sold_sum;  // [token]
  std::vector<double> lending_liquidated_sum, lending_bad_debt_sum, lending_accounts_sum;       // [lending market]
  std::vector<double> lending_with_bad_debt, lending_bad_debt_over_1pct;                        // [lending market] trials
  std::vector<double> market_loss_sum;                                                          // [holder], with tokens
  std::vector<double> first_loss_day_sum, loss_7d_sum;  // [holder]: of w day over the trials with a loss; of w loss_7d_max
  // P(loss >= x) at the run's thresholds (run --threshold): sums of w and w^2 over the trials at or
  // above each, [holder * threshold].
  std::vector<double> threshold_w, threshold_w2;
  double weight_sum = 0.0, weight_squares = 0.0;            // weighted runs: sum w, sum w^2
  RunningMoments exceedance;                                // with a tail target: of w 1{its holder's loss >= its loss}
  OrderedSums() = default;
  explicit OrderedSums(const RecordShape& s, std::size_t thresholds = 0);
  void merge(const OrderedSums& later);
};

// Every field of OrderedSums, the one list of them: calls f(a.x, b.x, ...) for each field x of the
// sums given, in the order they travel between processes (stats/tally_codec.cpp). merge and the
// codec both walk it, so a field added to OrderedSums and here is missed by neither
// (tests/test_tally.cpp checks that the list covers the struct's bytes).
template <class F, class... Sums>
void for_each_field(F&& f, Sums&... s) {
  f(s.trials...);
  f(s.weight_sum...);
  f(s.weight_squares...);
  f(s.exceedance...);
  f(s.loss...);
  f(s.net_return...);
  f(s.loss_spread...);
  f(s.return_spread...);
  f(s.loss_positive...);
  f(s.return_negative...);
  f(s.covered_sum...);
  f(s.cause_sum...);
  f(s.avs_lost_sum...);
  f(s.avs_slashed...);
  f(s.pool_drawdown_sum...);
  f(s.pool_exhausted...);
  f(s.token_min_price_sum...);
  f(s.token_depegged...);
  f(s.token_depeg_days_sum...);
  f(s.token_sold_sum...);
  f(s.lending_liquidated_sum...);
  f(s.lending_bad_debt_sum...);
  f(s.lending_accounts_sum...);
  f(s.lending_with_bad_debt...);
  f(s.lending_bad_debt_over_1pct...);
  f(s.market_loss_sum...);
  f(s.first_loss_day_sum...);
  f(s.loss_7d_sum...);
  f(s.threshold_w...);
  f(s.threshold_w2...);
}

// Quantile sketches of one quantity per entity, of either kind (the blocks say which is used).
struct SketchSet {
  std::vector<QuantileSketch> plain;
  std::vector<WeightedQuantileSketch> weighted;
  SketchSet() = default;
  SketchSet(std::size_t n, double accuracy) : plain(n, QuantileSketch(accuracy)), weighted(n, WeightedQuantileSketch(accuracy)) {}
  template <bool Weighted>
  void add(std::size_t i, double x, double w) {
    if constexpr (Weighted) weighted[i].add(x, w); else plain[i].add(x);
  }
  void merge(const SketchSet& other);
  double quantile(std::size_t i, double p, bool weighted_run) const;
  double expected_shortfall(std::size_t i, double p, bool weighted_run) const;
};

// Sums that do not: kept per thread, merged in any order.
struct ExactSums {
  std::vector<FixedSum> avs_holder_loss;                   // [avs * holder] exact sum
  std::vector<QuantileSketch> loss_sketch, return_sketch;  // [holder], empty unless asked for
  std::vector<WeightedQuantileSketch> weighted_loss_sketch, weighted_return_sketch;  // the same, weighted runs
  // The market layer's quantities with a quantile in the summary, when sketches are kept.
  SketchSet token_min_price_sketch, lending_liquidated_sketch, lending_bad_debt_sketch;  // [token], [lending market]
  SketchSet market_loss_sketch;                                                          // [holder], with tokens
  SketchSet loss_7d_sketch;                                                              // [holder]
  double max_weight = 0.0;                                 // weighted runs
  ExactSums() = default;
  ExactSums(const RecordShape& s, double sketch_accuracy);
  void merge(const ExactSums& other);
};

// What the trials of a run add up to.
struct TallyTotals : OrderedSums, ExactSums {
  bool weighted = false;
  std::optional<TailInfo> tail;  // the run's tail target (exceedance is its sum)
  std::vector<double> thresholds;  // threshold_w's
};

// A chunk of a streamed run as Tally::open makes it: in the open, so that its sums can travel
// between processes and be closed by another process's tally (cli/mpi_run.cpp).
struct TallyChunk final : ChunkSink::Chunk {
  TallyChunk(const RecordShape& s, std::size_t thresholds, std::uint64_t first, std::uint64_t end)
      : sums(s, thresholds), first(first), end(end) {}
  OrderedSums sums;
  std::uint64_t first, end;
  std::optional<bool> weighted;  // known from its first rows
};

class Tally final : public ChunkSink {
 public:
  // `sketch_accuracy` > 0 also keeps quantile sketches of each holder's loss and net return, for
  // runs whose per-trial records are not stored.
  // `tail`: also the exceedance of an importance-sampled run's target (run --tail).
  // `thresholds`: also P(loss >= x) of every holder at each x (run --threshold).
  explicit Tally(const Model& m, double sketch_accuracy = 0.0, std::optional<TailInfo> tail = {}, std::vector<double> thresholds = {});
  // The next block of the run (blocks come in trial order, without gaps).
  void add(const TrialBlock& b);
  // Or the run streamed (stream_trials, with chunks of kTallyChunk trials): the same sums, merged
  // at the same places. One tally is fed one way or the other, not both.
  std::unique_ptr<Chunk> open(std::uint64_t first, std::uint64_t end) override;
  void add(Chunk& chunk, const TrialBlock& rows) override;
  void close(std::unique_ptr<Chunk> chunk) override;
  // Another tally's order-free sums (another process's share of a streamed run; its chunks are
  // closed here): any order, any time before totals().
  void merge_exact(const ExactSums& other);
  // Everything added so far.
  TallyTotals totals() const;

 private:
  // Trials [from, to) of block b.
  template <bool Weighted>
  void add_trials(const TrialBlock& b, std::size_t from, std::size_t to, OrderedSums& into, ExactSums& exact) const;

  RecordShape shape_;
  double sketch_accuracy_;
  std::optional<TailInfo> tail_;
  std::vector<double> thresholds_;
  std::optional<bool> weighted_;  // known from the first block
  std::vector<double> pool_balance_;
  std::vector<double> bad_debt_1pct_;  // [lending market] 1% of its debt_eth
  std::uint64_t next_trial_ = 0;  // after the last block's
  OrderedSums done_;  // the chunks merged so far
  OrderedSums open_;  // the chunk under way (its trials up to the last block's end)
  tbb::enumerable_thread_specific<ExactSums> exact_;
};

}  // namespace restake
