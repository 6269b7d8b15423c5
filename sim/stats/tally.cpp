#include "stats/tally.hpp"

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include <fmt/format.h>
#include <tbb/parallel_for.h>

namespace restake {

OrderedSums::OrderedSums(const RecordShape& s, std::size_t thresholds)
    : loss(s.holders),
      net_return(s.holders),
      loss_spread(s.holders),
      return_spread(s.holders),
      loss_positive(s.holders, 0.0),
      return_negative(s.holders, 0.0),
      covered_sum(s.holders, 0.0),
      cause_sum(s.holders * kLossCauseCount, 0.0),
      avs_lost_sum(s.avs, 0.0),
      avs_slashed(s.avs, 0.0),
      pool_drawdown_sum(s.pools, 0.0),
      pool_exhausted(s.pools, 0.0),
      token_min_price_sum(s.tokens, 0.0),
      token_depegged(s.tokens, 0.0),
      token_depeg_days_sum(s.tokens, 0.0),
      token_sold_sum(s.tokens, 0.0),
      lending_liquidated_sum(s.lending, 0.0),
      lending_bad_debt_sum(s.lending, 0.0),
      lending_accounts_sum(s.lending, 0.0),
      lending_with_bad_debt(s.lending, 0.0),
      lending_bad_debt_over_1pct(s.lending, 0.0),
      market_loss_sum(s.market_holders(), 0.0),
      first_loss_day_sum(s.holders, 0.0),
      loss_7d_sum(s.holders, 0.0),
      threshold_w(s.holders * thresholds, 0.0),
      threshold_w2(s.holders * thresholds, 0.0) {}

namespace {

// A field of the later sums added to this one's: counts and sums by addition, moments by their
// merge (Chan et al.), vectors element by element.
template <class T>
void merge_field(T& into, const T& from) {
  if constexpr (std::is_arithmetic_v<T>)
    into += from;
  else
    into.merge(from);
}

template <class T>
void merge_field(std::vector<T>& into, const std::vector<T>& from) {
  for (std::size_t k = 0; k < into.size(); ++k) merge_field(into[k], from[k]);
}

}  // namespace

void OrderedSums::merge(const OrderedSums& b) {
  for_each_field([](auto& into, const auto& from) { merge_field(into, from); }, *this, b);
}

void SketchSet::merge(const SketchSet& o) {
  for (std::size_t i = 0; i < plain.size(); ++i) {
    plain[i].merge(o.plain[i]);
    weighted[i].merge(o.weighted[i]);
  }
}

double SketchSet::quantile(std::size_t i, double p, bool weighted_run) const {
  return weighted_run ? weighted.at(i).quantile(p) : plain.at(i).quantile(p);
}

double SketchSet::expected_shortfall(std::size_t i, double p, bool weighted_run) const {
  return weighted_run ? weighted.at(i).expected_shortfall(p) : plain.at(i).expected_shortfall(p);
}

ExactSums::ExactSums(const RecordShape& s, double sketch_accuracy) : avs_holder_loss(s.avs * s.holders, 0) {
  if (sketch_accuracy > 0.0) {  // both kinds: empty sketches cost nothing, and blocks say which is used
    loss_sketch.assign(s.holders, QuantileSketch(sketch_accuracy));
    return_sketch.assign(s.holders, QuantileSketch(sketch_accuracy));
    weighted_loss_sketch.assign(s.holders, WeightedQuantileSketch(sketch_accuracy));
    weighted_return_sketch.assign(s.holders, WeightedQuantileSketch(sketch_accuracy));
    token_min_price_sketch = SketchSet(s.tokens, sketch_accuracy);
    lending_liquidated_sketch = SketchSet(s.lending, sketch_accuracy);
    lending_bad_debt_sketch = SketchSet(s.lending, sketch_accuracy);
    market_loss_sketch = SketchSet(s.market_holders(), sketch_accuracy);
    loss_7d_sketch = SketchSet(s.holders, sketch_accuracy);
  }
}

void ExactSums::merge(const ExactSums& e) {
  max_weight = std::max(max_weight, e.max_weight);
  for (std::size_t k = 0; k < avs_holder_loss.size(); ++k) avs_holder_loss[k] += e.avs_holder_loss[k];
  for (std::size_t h = 0; h < loss_sketch.size(); ++h) {
    loss_sketch[h].merge(e.loss_sketch[h]);
    return_sketch[h].merge(e.return_sketch[h]);
    weighted_loss_sketch[h].merge(e.weighted_loss_sketch[h]);
    weighted_return_sketch[h].merge(e.weighted_return_sketch[h]);
  }
  token_min_price_sketch.merge(e.token_min_price_sketch);
  lending_liquidated_sketch.merge(e.lending_liquidated_sketch);
  lending_bad_debt_sketch.merge(e.lending_bad_debt_sketch);
  market_loss_sketch.merge(e.market_loss_sketch);
  loss_7d_sketch.merge(e.loss_7d_sketch);
}

Tally::Tally(const Model& m, double sketch_accuracy, std::optional<TailInfo> tail, std::vector<double> thresholds)
    : shape_(RecordShape::of(m)),
      sketch_accuracy_(sketch_accuracy),
      tail_(tail),
      thresholds_(std::move(thresholds)),
      done_(shape_, thresholds_.size()),
      open_(shape_, thresholds_.size()),
      exact_(ExactSums(shape_, sketch_accuracy)) {
  for (const auto& p : m.coverage_pools) pool_balance_.push_back(p.balance);
  for (const auto& l : m.lending_markets) bad_debt_1pct_.push_back(0.01 * l.debt_eth);
}

template <bool Weighted>
void Tally::add_trials(const TrialBlock& b, std::size_t from, std::size_t to, OrderedSums& o, ExactSums& x) const {
  const std::size_t H = shape_.holders, A = shape_.avs, P = shape_.pools, C = kLossCauseCount;
  const std::size_t K = shape_.tokens, L = shape_.lending, MH = shape_.market_holders();
  const bool sketches = !x.loss_sketch.empty();
  // Compiled twice: a plain run's loop carries no weight at all. (With w = 1.0, w * x == x and the
  // weighted loop would give the same bits, only slower.)
  auto weigh = [](double w, double v) { return Weighted ? w * v : v; };
  auto count = [](double w, bool yes) { return yes ? (Weighted ? w : 1.0) : 0.0; };
  for (std::size_t t = from; t < to; ++t) {
    const double w = Weighted ? b.weight[t] : 1.0;
    if constexpr (Weighted) {
      o.weight_sum += w;
      o.weight_squares += w * w;
      x.max_weight = std::max(x.max_weight, w);
    }
    for (std::size_t h = 0; h < H; ++h) {
      const double l = b.loss_fraction[t * H + h], r = b.net_return[t * H + h];
      o.loss[h].add(weigh(w, l));
      o.net_return[h].add(weigh(w, r));
      if constexpr (Weighted) {
        o.loss_spread[h].add(l, w);
        o.return_spread[h].add(r, w);
      }
      o.loss_positive[h] += count(w, l > 0.0);
      // A trial with a loss has its first day (NaN without one: never added).
      if (l > 0.0) o.first_loss_day_sum[h] += weigh(w, b.first_loss_day[t * H + h]);
      const double week = b.loss_7d_max[t * H + h];
      o.loss_7d_sum[h] += weigh(w, week);
      if (sketches) x.loss_7d_sketch.add<Weighted>(h, week, w);
      for (std::size_t k = 0; k < thresholds_.size(); ++k)
        if (l >= thresholds_[k]) {
          o.threshold_w[h * thresholds_.size() + k] += w;
          o.threshold_w2[h * thresholds_.size() + k] += w * w;
        }
      o.return_negative[h] += count(w, r < 0.0);
      if (!x.loss_sketch.empty()) {
        if constexpr (Weighted) {
          x.weighted_loss_sketch[h].add(l, w);
          x.weighted_return_sketch[h].add(r, w);
        } else {
          x.loss_sketch[h].add(l);
          x.return_sketch[h].add(r);
        }
      }
      o.covered_sum[h] += weigh(w, b.covered_fraction[t * H + h]);
      for (std::size_t c = 0; c < C; ++c) o.cause_sum[h * C + c] += weigh(w, b.loss_by_cause[(t * H + h) * C + c]);
    }
    if (tail_) o.exceedance.add(count(w, b.loss_fraction[t * H + tail_->holder] >= tail_->loss));
    for (std::size_t a = 0; a < A; ++a) {
      o.avs_lost_sum[a] += weigh(w, b.avs_stake_lost[t * A + a]);
      o.avs_slashed[a] += count(w, b.avs_stake_lost[t * A + a] > 0.0);
    }
    for (std::size_t p = 0; p < P; ++p) {
      const double d = b.pool_drawdown[t * P + p];
      o.pool_drawdown_sum[p] += weigh(w, d);
      // Exhausted: paid its whole balance (to the rounding of the running subtraction).
      o.pool_exhausted[p] += count(w, pool_balance_[p] > 0.0 && d >= pool_balance_[p] * (1.0 - 1e-12));
    }
    for (std::size_t k = 0; k < K; ++k) {
      const double price = b.token_min_price[t * K + k], depeg = b.token_depeg_days[t * K + k];
      o.token_min_price_sum[k] += weigh(w, price);
      o.token_depegged[k] += count(w, depeg > 0.0);
      o.token_depeg_days_sum[k] += weigh(w, depeg);
      o.token_sold_sum[k] += weigh(w, b.token_sold[t * K + k]);
      if (sketches) x.token_min_price_sketch.add<Weighted>(k, price, w);
    }
    for (std::size_t l = 0; l < L; ++l) {
      const double seized = b.lending_liquidated[t * L + l], bad = b.lending_bad_debt[t * L + l];
      o.lending_liquidated_sum[l] += weigh(w, seized);
      o.lending_bad_debt_sum[l] += weigh(w, bad);
      o.lending_accounts_sum[l] += weigh(w, b.lending_accounts_liquidated[t * L + l]);
      o.lending_with_bad_debt[l] += count(w, bad > 0.0);
      o.lending_bad_debt_over_1pct[l] += count(w, bad > bad_debt_1pct_[l]);
      if (sketches) {
        x.lending_liquidated_sketch.add<Weighted>(l, seized, w);
        x.lending_bad_debt_sketch.add<Weighted>(l, bad, w);
      }
    }
    for (std::size_t h = 0; h < MH; ++h) {
      const double l = b.loss_at_market[t * H + h];
      o.market_loss_sum[h] += weigh(w, l);
      if (sketches) x.market_loss_sketch.add<Weighted>(h, l, w);
    }
  }
  // The AVS x holder losses, trial by trial (for its weight): a quiet block has none.
  for (std::size_t t = from, k = from == 0 ? 0 : b.avs_shares_end[from - 1]; t < to; ++t)
    for (; k < b.avs_shares_end[t]; ++k) {
      const AvsHolderShare& s = b.avs_shares[k];
      x.avs_holder_loss[s.avs * H + s.holder] += to_fixed(Weighted ? b.weight[t] * s.share : s.share);
    }
  o.trials += to - from;
}

void Tally::add(const TrialBlock& b) {
  if (b.count == 0) return;
  const std::uint64_t next = done_.trials + open_.trials;
  if (next > 0 && b.first_trial != next_trial_)
    throw std::logic_error(fmt::format("Tally: block of trial {} after trial {}", b.first_trial, next_trial_ - 1));
  next_trial_ = b.first_trial + b.count;
  if (!weighted_) weighted_ = !b.weight.empty();
  if (*weighted_ != !b.weight.empty()) throw std::logic_error("Tally: weighted and unweighted blocks in one run");
  // The block cut into pieces at chunk boundaries; the first may continue the chunk under way.
  struct Piece {
    std::size_t from, to;
    bool ends_chunk;
  };
  std::vector<Piece> pieces;
  for (std::size_t i = 0; i < b.count;) {
    const std::uint64_t chunk_end = ((b.first_trial + i) / kTallyChunk + 1) * kTallyChunk;
    const std::size_t to = static_cast<std::size_t>(std::min<std::uint64_t>(b.count, chunk_end - b.first_trial));
    pieces.push_back({i, to, b.first_trial + to == chunk_end});
    i = to;
  }
  const bool continues = open_.trials > 0;
  std::vector<OrderedSums> sums(pieces.size(), OrderedSums(shape_, thresholds_.size()));
  if (continues) std::swap(sums[0], open_);
  tbb::parallel_for(std::size_t{0}, pieces.size(), [&](std::size_t k) {
    if (*weighted_)
      add_trials<true>(b, pieces[k].from, pieces[k].to, sums[k], exact_.local());
    else
      add_trials<false>(b, pieces[k].from, pieces[k].to, sums[k], exact_.local());
  });
  // In trial order: only the last piece can leave a chunk under way.
  for (std::size_t k = 0; k < pieces.size(); ++k) {
    if (pieces[k].ends_chunk)
      done_.merge(sums[k]);
    else
      open_ = std::move(sums[k]);
  }
}

std::unique_ptr<ChunkSink::Chunk> Tally::open(std::uint64_t first, std::uint64_t end) {
  return std::make_unique<TallyChunk>(shape_, thresholds_.size(), first, end);
}

void Tally::add(Chunk& chunk, const TrialBlock& rows) {
  auto& c = static_cast<TallyChunk&>(chunk);
  if (rows.count == 0) return;
  if (rows.first_trial != c.first + c.sums.trials || rows.first_trial + rows.count > c.end)
    throw std::logic_error(fmt::format("Tally: rows of trials {}..{} in the chunk of trials {}..{} at trial {}", rows.first_trial,
                                       rows.first_trial + rows.count - 1, c.first, c.end - 1, c.first + c.sums.trials));
  const bool weighted = !rows.weight.empty();
  if (c.weighted.value_or(weighted) != weighted) throw std::logic_error("Tally: weighted and unweighted rows in one chunk");
  c.weighted = weighted;
  // Exact sums into the thread's own (any order); ordered ones into the chunk's, in trial order.
  if (weighted)
    add_trials<true>(rows, 0, rows.count, c.sums, exact_.local());
  else
    add_trials<false>(rows, 0, rows.count, c.sums, exact_.local());
}

void Tally::close(std::unique_ptr<Chunk> chunk) {
  auto& c = static_cast<TallyChunk&>(*chunk);
  if (c.first + c.sums.trials != c.end)
    throw std::logic_error(fmt::format("Tally: chunk of trials {}..{} closed after {} of them", c.first, c.end - 1, c.sums.trials));
  if (open_.trials > 0 || (done_.trials > 0 && c.first != next_trial_))
    throw std::logic_error(fmt::format("Tally: chunk of trial {} after trial {}", c.first, next_trial_ - 1));
  if (!weighted_) weighted_ = c.weighted;
  if (c.weighted && *weighted_ != *c.weighted) throw std::logic_error("Tally: weighted and unweighted chunks in one run");
  next_trial_ = c.end;
  // As add(block): a chunk that reaches its end boundary is merged; only the run's last one may not.
  if (c.end % kTallyChunk == 0)
    done_.merge(c.sums);
  else
    open_ = std::move(c.sums);
}

void Tally::merge_exact(const ExactSums& other) { exact_.local().merge(other); }

TallyTotals Tally::totals() const {
  TallyTotals t;
  OrderedSums& ordered = t;
  ordered = done_;
  ordered.merge(open_);
  ExactSums& exact = t;
  exact = ExactSums(shape_, sketch_accuracy_);
  for (const ExactSums& e : exact_) exact.merge(e);
  t.weighted = weighted_.value_or(false);
  t.tail = tail_;
  t.thresholds = thresholds_;
  return t;
}

}  // namespace restake
