#pragma once
// Per-trial records of a block of consecutive trials, one contiguous array per quantity
// (row-major [trial, ...]) so a block is written to HDF5 as it is.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "trial/trial.hpp"

namespace restake {

struct RecordShape {
  std::size_t holders = 0;
  std::size_t avs = 0;
  std::size_t pools = 0;
  std::size_t tokens = 0;   // [[token]]
  std::size_t lending = 0;  // [[lending_market]]
  static RecordShape of(const Model& m) {
    return {m.holders.size(), m.avs.size(), m.coverage_pools.size(), m.tokens.size(), m.lending_markets.size()};
  }
  // loss_at_market has a row per holder only in runs with a market for some of them.
  std::size_t market_holders() const { return tokens > 0 ? holders : 0; }
  // The doubles one trial's row holds (TrialBlock's arrays; its AVS x holder losses aside).
  std::size_t doubles_per_trial() const {
    return holders * (5 + kLossCauseCount) + market_holders() + avs + pools + 4 * tokens + 3 * lending + 1;
  }
};

struct TrialBlock {
  RecordShape shape;
  std::uint64_t first_trial = 0;
  std::size_t count = 0;
  std::vector<double> loss_fraction, net_return, covered_fraction, loss_by_cause, avs_stake_lost, pool_drawdown;
  // The market layer, as TrialRecord: [trial, token], [trial, lending market], [trial, holder];
  // empty in runs without tokens (lending markets).
  std::vector<double> token_min_price, token_max_discount, token_depeg_days, token_sold;
  std::vector<double> lending_liquidated, lending_bad_debt, lending_accounts_liquidated;
  std::vector<double> loss_at_market;
  std::vector<double> first_loss_day, loss_7d_max;  // [trial, holder], as TrialRecord
  // [trial] each trial's weight, its likelihood ratio in an importance-sampled run; empty in plain
  // Monte Carlo, where every trial weighs 1.
  std::vector<double> weight;
  // The trials' AVS x holder losses, trial after trial (sparse: an [A, H] row per trial would cost
  // A x H doubles per trial); trial i's are avs_shares[avs_shares_end[i-1] .. avs_shares_end[i]).
  std::vector<AvsHolderShare> avs_shares;
  std::vector<std::uint64_t> avs_shares_end;  // [trial]

  std::span<const AvsHolderShare> avs_shares_of(std::size_t i) const {
    const std::size_t from = i == 0 ? 0 : avs_shares_end[i - 1];
    return {avs_shares.data() + from, avs_shares_end[i] - from};
  }

  void reset(const RecordShape& s, std::uint64_t first, std::size_t n) {
    shape = s;
    first_trial = first;
    count = n;
    // Every trial writes its whole row of these (Trial::write_record): kept, not zeroed, for a
    // block that is reused (zeroing them cost more than the tally of a quiet trial).
    loss_fraction.resize(n * s.holders);
    net_return.resize(n * s.holders);
    covered_fraction.resize(n * s.holders);
    first_loss_day.resize(n * s.holders);
    loss_7d_max.resize(n * s.holders);
    loss_by_cause.resize(n * s.holders * kLossCauseCount);
    avs_stake_lost.assign(n * s.avs, 0.0);
    pool_drawdown.assign(n * s.pools, 0.0);
    // Neutral values (nothing happened in the market), so a trial whose mechanism writes nothing
    // leaves nothing uninitialised; the market mechanism overwrites every element.
    token_min_price.assign(n * s.tokens, 1.0);
    token_max_discount.assign(n * s.tokens, 0.0);
    token_depeg_days.assign(n * s.tokens, 0.0);
    token_sold.assign(n * s.tokens, 0.0);
    lending_liquidated.assign(n * s.lending, 0.0);
    lending_bad_debt.assign(n * s.lending, 0.0);
    lending_accounts_liquidated.assign(n * s.lending, 0.0);
    loss_at_market.assign(n * s.market_holders(), 0.0);
    weight.clear();
    avs_shares.clear();
    avs_shares_end.assign(n, 0);
  }

  // The record of the i-th trial of the block. Its AVS x holder losses go to `shares`: the engine
  // gives each thread a list of its own and gathers them in trial order (set_avs_shares).
  TrialRecord row(std::size_t i, std::vector<AvsHolderShare>& shares) {
    const std::size_t h = shape.holders, k = shape.tokens, l = shape.lending, mh = shape.market_holders();
    return {{loss_fraction.data() + i * h, h},
            {net_return.data() + i * h, h},
            {covered_fraction.data() + i * h, h},
            {loss_by_cause.data() + i * h * kLossCauseCount, h * kLossCauseCount},
            {avs_stake_lost.data() + i * shape.avs, shape.avs},
            {pool_drawdown.data() + i * shape.pools, shape.pools},
            {token_min_price.data() + i * k, k},
            {token_max_discount.data() + i * k, k},
            {token_depeg_days.data() + i * k, k},
            {token_sold.data() + i * k, k},
            {lending_liquidated.data() + i * l, l},
            {lending_bad_debt.data() + i * l, l},
            {lending_accounts_liquidated.data() + i * l, l},
            {loss_at_market.data() + i * mh, mh},
            {first_loss_day.data() + i * h, h},
            {loss_7d_max.data() + i * h, h},
            &shares,
            nullptr};
  }
  // Trials computed one at a time, in order: trial i's losses go straight into the block.
  TrialRecord row(std::size_t i) { return row(i, avs_shares); }
  void end_row(std::size_t i) { avs_shares_end[i] = avs_shares.size(); }
};

// The consumer of a streamed run (trial/engine.hpp's stream_trials): each trial is tallied on the thread that ran it,
// chunk by chunk, and no block of rows is kept, so memory follows the threads rather than the
// trials - what a run without per-trial records needs for a world of thousands of holders.
class ChunkSink {
 public:
  // A chunk's running state, the consumer's own (its ordered sums).
  struct Chunk {
    virtual ~Chunk() = default;
  };
  virtual ~ChunkSink() = default;
  // Trial indices [first, end) as one chunk, on the worker thread that runs them.
  virtual std::unique_ptr<Chunk> open(std::uint64_t first, std::uint64_t end) = 0;
  // The chunk's trials, a few rows at a time and in trial order, on that worker thread; other
  // chunks are added to concurrently.
  virtual void add(Chunk& chunk, const TrialBlock& rows) = 0;
  // A chunk whose trials were all added: called for the chunks in trial order, one at a time.
  virtual void close(std::unique_ptr<Chunk> chunk) = 0;
};

}  // namespace restake
