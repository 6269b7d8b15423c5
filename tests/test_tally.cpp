// The statistics stage: tallies merged from fixed chunks of trials give the same numbers for any
// thread count and block size, and agree with one running sum over the whole sample.
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>
#include <chrono>

#include <tbb/global_control.h>

#include "stats/summary.hpp"
#include "stats/tally.hpp"
#include "stats/tally_codec.hpp"
#include "cli_support.hpp"
#include "support.hpp"
#include "weighted_run.hpp"

using namespace restake;
using namespace restake::test;

namespace {

const char* kDefault = RESTAKE_SOURCE_DIR "/scenarios/default.toml";

TallyTotals tally_run(const Model& m, std::uint64_t trials, int threads, std::size_t block, double sketch = 1e-4) {
  RunSpec o;
  o.trials = trials;
  o.seed = 5;
  o.threads = threads;
  o.block_trials = block;
  Tally t(m, sketch);
  run_trials(m, o, [&](const TrialBlock& b) { t.add(b); });
  return t.totals();
}

bool same_bits(const RunningMoments& a, const RunningMoments& b) {
  const Moments x = a.result(), y = b.result();
  return a.count() == b.count() && x.mean == y.mean && x.sd == y.sd;
}

// The sums every tally keeps (moments of w x, probabilities, means, the exact AVS x holder sums),
// bit for bit.
void check_same_sums(const TallyTotals& a, const TallyTotals& b) {
  CHECK(a.trials == b.trials);
  REQUIRE(a.loss.size() == b.loss.size());
  for (std::size_t h = 0; h < a.loss.size(); ++h) {
    CHECK(same_bits(a.loss[h], b.loss[h]));
    CHECK(same_bits(a.net_return[h], b.net_return[h]));
  }
  CHECK(a.loss_positive == b.loss_positive);
  CHECK(a.return_negative == b.return_negative);
  CHECK(a.covered_sum == b.covered_sum);
  CHECK(a.cause_sum == b.cause_sum);
  CHECK(a.avs_lost_sum == b.avs_lost_sum);
  CHECK(a.avs_slashed == b.avs_slashed);
  CHECK(a.pool_drawdown_sum == b.pool_drawdown_sum);
  CHECK(a.pool_exhausted == b.pool_exhausted);
  CHECK(a.avs_holder_loss == b.avs_holder_loss);
}

}  // namespace

TEST_CASE("merging the moments of two samples gives the moments of both (Chan et al.)") {
  RunningMoments a, b, all;
  for (double x : {2.0, 4.0, 4.0}) {
    a.add(x);
    all.add(x);
  }
  for (double x : {4.0, 5.0, 5.0, 7.0, 9.0}) {
    b.add(x);
    all.add(x);
  }
  a.merge(b);
  CHECK(a.count() == 8);
  CHECK(a.result().mean == doctest::Approx(5.0).epsilon(1e-15));
  CHECK(a.result().sd == doctest::Approx(std::sqrt(32.0 / 7.0)).epsilon(1e-15));
  RunningMoments empty;
  empty.merge(all);  // into an empty one: a copy, bit for bit
  CHECK(same_bits(empty, all));
  all.merge(RunningMoments{});
  CHECK(same_bits(empty, all));
}

TEST_CASE("merged sketches are the sketch of the whole sample, count for count") {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> x(0.0, 0.1);
  QuantileSketch one(1e-3), left(1e-3), right(1e-3);
  for (int i = 0; i < 20'000; ++i) {
    const double v = i % 5 == 0 ? 0.0 : x(rng);
    one.add(v);
    (i % 3 == 0 ? left : right).add(v);
  }
  right.merge(left);
  CHECK(right.count() == one.count());
  for (double p : {0.001, 0.01, 0.2, 0.5, 0.9, 0.99, 0.999}) {
    CAPTURE(p);
    CHECK(right.quantile(p) == one.quantile(p));
    CHECK(right.expected_shortfall(p) == one.expected_shortfall(p));
  }
  CHECK_THROWS_AS(right.merge(QuantileSketch(1e-2)), std::logic_error);
}

TEST_CASE("a tally is the same, bit for bit, for any thread count and block size") {
  const Model m = model_from(slurp(kDefault));
  const tbb::global_control allow(tbb::global_control::max_allowed_parallelism, 4);
  const std::uint64_t trials = 3 * kTallyChunk + 1234;  // several chunks and a part of one
  const TallyTotals ref = tally_run(m, trials, 1, trials);
  REQUIRE(ref.trials == trials);
  for (const auto& [threads, block] : {std::pair{2, std::size_t{1100}}, {4, std::size_t{kTallyChunk}}, {3, std::size_t{777}},
                                       {2, std::size_t{5 * kTallyChunk}}}) {
    CAPTURE(threads);
    CAPTURE(block);
    const TallyTotals t = tally_run(m, trials, threads, block);
    check_same_sums(t, ref);
    for (std::size_t h = 0; h < m.holders.size(); ++h)
      CHECK(t.loss_sketch[h].quantile(0.99) == ref.loss_sketch[h].quantile(0.99));
  }
}

TEST_CASE("a tally agrees with one running sum over the whole sample within 1e-12") {
  const Model m = model_from(slurp(kDefault));
  const std::uint64_t trials = 5 * kTallyChunk + 17;
  const Records r = run_in_memory(m, trials, 2, 3000, 5);
  const TallyTotals t = tally_run(m, trials, 2, 3000, 0.0);
  bool some_loss = false;
  for (std::size_t h = 0; h < m.holders.size(); ++h) {
    RunningMoments plain;
    double covered = 0.0;
    for (std::size_t i = 0; i < trials; ++i) {
      plain.add(r.loss(i, h));
      covered += r.covered_fraction[i * m.holders.size() + h];
    }
    // The chunks' merges round differently from one sum: 1e-12 relative is their budget.
    CHECK(t.loss[h].result().mean == doctest::Approx(plain.result().mean).epsilon(1e-12));
    CHECK(t.loss[h].result().sd == doctest::Approx(plain.result().sd).epsilon(1e-12));
    CHECK(t.covered_sum[h] == doctest::Approx(covered).epsilon(1e-12));
    some_loss = some_loss || plain.result().mean > 0.0;
  }
  CHECK(some_loss);
}

TEST_CASE("a tally takes blocks in trial order only") {
  const Model m = model_from(slurp(kDefault));
  Tally t(m);
  TrialBlock b;
  b.reset(RecordShape::of(m), 0, 10);
  t.add(b);
  b.reset(RecordShape::of(m), 20, 10);  // trials 10-19 are missing
  CHECK_THROWS_AS(t.add(b), std::logic_error);
  b.reset(RecordShape::of(m), 10, 10);
  t.add(b);
  CHECK(t.totals().trials == 20);
}

namespace {
// A block of three trials of the default world by hand: holder 0 loses 0, 0.2 and 0.5.
TrialBlock three_trials(const Model& m, std::vector<double> weight) {
  TrialBlock b;
  b.reset(RecordShape::of(m), 0, 3);
  const std::size_t H = m.holders.size();
  b.loss_fraction[0 * H] = 0.0;
  b.loss_fraction[1 * H] = 0.2;
  b.loss_fraction[2 * H] = 0.5;
  b.net_return[0 * H] = 0.03;
  b.net_return[1 * H] = -0.17;
  b.net_return[2 * H] = -0.47;
  b.weight = std::move(weight);
  // AVS 0 took 0.2 of holder 0 in trial 1, and 0.1 + 0.4 in trial 2.
  b.avs_shares = {{0, 0, 0.2}, {0, 0, 0.1}, {0, 0, 0.4}};
  b.avs_shares_end = {0, 1, 3};
  return b;
}
}  // namespace

TEST_CASE("a weighted tally estimates means and probabilities as sums of w x over the trials") {
  Model m = model_from(slurp(kDefault));
  m.tokens.clear();  // the default world without its market view: this tally is the holders' (test_market_outputs has the markets')
  m.lending_markets.clear();
  Tally t(m);
  t.add(three_trials(m, {2.0, 0.5, 0.5}));
  const TallyTotals s = t.totals();
  CHECK(s.weighted);
  // (2 * 0 + 0.5 * 0.2 + 0.5 * 0.5) / 3
  CHECK(s.loss[0].result().mean == doctest::Approx(0.35 / 3.0).epsilon(1e-15));
  CHECK(s.loss_positive[0] == 1.0);       // 0.5 + 0.5: P(loss > 0) = 1/3
  CHECK(s.return_negative[0] == 1.0);
  CHECK(from_fixed(s.avs_holder_loss[0]) == doctest::Approx(0.5 * 0.2 + 0.5 * 0.5).epsilon(1e-15));
  // The standard error is that of w x: values 0, 0.1, 0.25.
  CHECK(s.loss[0].result().stderr_mean == doctest::Approx(moments(std::vector<double>{0.0, 0.1, 0.25}).stderr_mean).epsilon(1e-15));

  QuantileSource cols;
  cols.loss_fraction = [](std::size_t) { return std::vector<double>{0.0, 0.2, 0.5}; };
  cols.net_return = [](std::size_t) { return std::vector<double>{0.03, -0.17, -0.47}; };
  cols.weight = [] { return std::vector<double>{2.0, 0.5, 0.5}; };
  cols.market = [](std::vector<double> TrialBlock::*, std::size_t) { return std::vector<double>{0.0, 0.2, 0.5}; };  // loss_7d_max
  const RunSummary r = summarize_run(m, RunInfo{}, t, cols);
  const HolderSummary& h = r.holders[0];
  CHECK(h.loss.p_loss == doctest::Approx(1.0 / 3.0).epsilon(1e-15));
  // The upper tail may weigh 3 * 0.01 = 0.03 at p = 0.99: 0.5 (weight 0.5) holds it.
  CHECK(h.loss.var99 == 0.5);
  // At p = 0.5 it may weigh 1.5: 0.5 and 0.2 weigh 1, the trial at 0 crosses it.
  CHECK(h.loss.quantiles[0] == 0.0);
  // The sd is the loss's own, West's weighted spread: mean 0.35 / 3 by weight, W = 3, W2 = 4.5.
  const double mean = (0.5 * 0.2 + 0.5 * 0.5) / 3.0;
  const double m2 = 2.0 * mean * mean + 0.5 * (0.2 - mean) * (0.2 - mean) + 0.5 * (0.5 - mean) * (0.5 - mean);
  CHECK(h.loss.moments.sd == doctest::Approx(std::sqrt(m2 / (3.0 - 4.5 / 3.0))).epsilon(1e-14));

  cols.weight = {};
  CHECK_THROWS_AS(summarize_run(m, RunInfo{}, t, cols), std::logic_error);  // records without their weights
}

TEST_CASE("weights of 1 give a plain tally's numbers, bit for bit") {
  const Model m = model_from(slurp(kDefault));
  RunSpec o;
  o.trials = kTallyChunk + 500;
  o.seed = 2;
  o.threads = 2;
  o.block_trials = 3000;
  Tally plain(m), ones(m);
  run_trials(m, o, [&](const TrialBlock& b) {
    plain.add(b);
    TrialBlock w = b;
    w.weight.assign(b.count, 1.0);
    ones.add(w);
  });
  const TallyTotals a = plain.totals(), b = ones.totals();
  check_same_sums(a, b);
  for (std::size_t h = 0; h < m.holders.size(); ++h)
    CHECK(b.loss_spread[h].sd() == doctest::Approx(a.loss[h].result().sd).epsilon(1e-12));  // merged differently
}

TEST_CASE("a run is weighted or not throughout") {
  const Model m = model_from(slurp(kDefault));
  Tally t(m);
  t.add(three_trials(m, {1.0, 1.0, 1.0}));
  TrialBlock next = three_trials(m, {});
  next.first_trial = 3;
  CHECK_THROWS_AS(t.add(next), std::logic_error);
}

namespace {
// The run of `o` streamed (stream_trials: tallied where each trial ran, no blocks).
TallyTotals tally_streamed(const Model& m, const RunSpec& o, double sketch = 1e-4, std::optional<TailInfo> tail = {}) {
  Tally t(m, sketch, tail, {0.05, 0.2});
  stream_trials(m, o, kTallyChunk, t);
  return t.totals();
}
TallyTotals tally_blocks(const Model& m, const RunSpec& o, double sketch = 1e-4, std::optional<TailInfo> tail = {}) {
  Tally t(m, sketch, tail, {0.05, 0.2});
  run_trials(m, o, [&](const TrialBlock& b) { t.add(b); });
  return t.totals();
}
void check_same_streamed(const Model& m, const TallyTotals& s, const TallyTotals& b) {
  check_same_sums(s, b);
  CHECK(same_bits(s.exceedance, b.exceedance));
  CHECK(s.threshold_w == b.threshold_w);
  CHECK(s.threshold_w2 == b.threshold_w2);
  CHECK(s.first_loss_day_sum == b.first_loss_day_sum);
  CHECK(s.loss_7d_sum == b.loss_7d_sum);
  CHECK(s.token_min_price_sum == b.token_min_price_sum);
  CHECK(s.lending_bad_debt_sum == b.lending_bad_debt_sum);
  CHECK(s.weight_sum == b.weight_sum);
  CHECK(s.weighted == b.weighted);
  for (std::size_t h = 0; h < m.holders.size(); ++h) {
    // The sketch of the run's kind (the other stays empty: its quantile is NaN).
    if (s.weighted)
      CHECK(s.weighted_loss_sketch[h].quantile(0.99) == b.weighted_loss_sketch[h].quantile(0.99));
    else
      CHECK(s.loss_sketch[h].quantile(0.99) == b.loss_sketch[h].quantile(0.99));
    CHECK(s.loss_7d_sketch.quantile(h, 0.99, s.weighted) == b.loss_7d_sketch.quantile(h, 0.99, b.weighted));
  }
}
}  // namespace

TEST_CASE("a streamed run tallies what its blocks tally, bit for bit, for any thread count and first trial") {
  const Model m = model_from(slurp(kDefault));
  const tbb::global_control allow(tbb::global_control::max_allowed_parallelism, 4);
  RunSpec o;
  o.trials = 3 * kTallyChunk + 1234;  // several chunks and a part of one
  o.seed = 5;
  o.threads = 1;
  o.block_trials = 3000;
  const TailInfo tail{0, 0.05, 0.0};
  for (const std::uint64_t first : {std::uint64_t{0}, std::uint64_t{1000}}) {  // 1000: the first chunk is cut short too
    o.first_trial = first;
    const TallyTotals ref = tally_blocks(m, o, 1e-4, tail);
    REQUIRE(ref.trials == o.trials);
    for (const int threads : {1, 2, 3}) {
      CAPTURE(first);
      CAPTURE(threads);
      RunSpec s = o;
      s.threads = threads;
      check_same_streamed(m, tally_streamed(m, s, 1e-4, tail), ref);
    }
  }
}

namespace {
// A share of a streamed run (ChunkShare) on its own tally, each chunk's sums kept as bytes.
struct ShareToBytes final : ChunkSink {
  Tally tally;
  std::map<std::uint64_t, std::vector<char>>& chunks;  // by first trial
  ShareToBytes(const Model& m, std::optional<TailInfo> tail, std::map<std::uint64_t, std::vector<char>>& chunks)
      : tally(m, 1e-4, tail, {0.05, 0.2}), chunks(chunks) {}
  std::unique_ptr<Chunk> open(std::uint64_t first, std::uint64_t end) override { return tally.open(first, end); }
  void add(Chunk& c, const TrialBlock& rows) override { tally.add(c, rows); }
  void close(std::unique_ptr<Chunk> c) override {
    ByteWriter out;
    save(out, static_cast<const TallyChunk&>(*c));
    chunks.emplace(static_cast<const TallyChunk&>(*c).first, std::move(out.bytes));
  }
};

// The run of `o` as `shares` processes would run it (cli/mpi_run.cpp): every share's chunks
// through bytes into one tally, closed in trial order; each share's exact sums through bytes too.
TallyTotals tally_shared(const Model& m, const RunSpec& o, std::uint64_t shares, std::optional<TailInfo> tail) {
  std::map<std::uint64_t, std::vector<char>> chunks;
  std::vector<std::vector<char>> exact;
  for (std::uint64_t k = 0; k < shares; ++k) {
    ShareToBytes share(m, tail, chunks);
    stream_trials(m, o, kTallyChunk, share, {}, {shares, k});
    ByteWriter out;
    const TallyTotals t = share.tally.totals();
    save(out, static_cast<const ExactSums&>(t));
    exact.push_back(std::move(out.bytes));
  }
  Tally whole(m, 1e-4, tail, {0.05, 0.2});
  for (const auto& [first, bytes] : chunks) {
    auto c = std::make_unique<TallyChunk>(RecordShape::of(m), 2, 0, 0);
    ByteReader in{bytes.data(), bytes.data() + bytes.size(), "test chunk"};
    load(in, *c);
    CHECK(in.done());
    whole.close(std::move(c));
  }
  for (const std::vector<char>& bytes : exact) {
    ExactSums e(RecordShape::of(m), 1e-4);
    ByteReader in{bytes.data(), bytes.data() + bytes.size(), "test exact sums"};
    load(in, e);
    CHECK(in.done());
    whole.merge_exact(e);
  }
  return whole.totals();
}
}  // namespace

TEST_CASE("a streamed run split into shares, its sums passed as bytes, tallies what one process tallies") {
  const Model m = model_from(slurp(kDefault));
  RunSpec o;
  o.trials = 5 * kTallyChunk + 1234;
  o.seed = 7;
  o.threads = 2;
  const TailInfo tail{0, 0.05, 0.0};
  const TallyTotals ref = tally_streamed(m, o, 1e-4, tail);
  for (const std::uint64_t shares : {1, 2, 3, 7}) {  // 7: more shares than chunks
    CAPTURE(shares);
    const TallyTotals t = tally_shared(m, o, shares, tail);
    check_same_streamed(m, t, ref);
    CHECK(t.avs_holder_loss == ref.avs_holder_loss);
    CHECK(t.return_sketch[1].quantile(0.05) == ref.return_sketch[1].quantile(0.05));
  }
  ByteWriter out;
  save(out, static_cast<const OrderedSums&>(ref));
  OrderedSums cut(RecordShape::of(m), 2);
  ByteReader in{out.bytes.data(), out.bytes.data() + out.bytes.size() - 1, "test sums"};
  CHECK_THROWS_AS(load(in, cut), std::runtime_error);  // a message cut short
  OrderedSums other(RecordShape::of(m), 3);  // another run's thresholds
  ByteReader again{out.bytes.data(), out.bytes.data() + out.bytes.size(), "test sums"};
  CHECK_THROWS_AS(load(again, other), std::runtime_error);
}

TEST_CASE("for_each_field lists every field of OrderedSums, so merge and the codec miss none") {
  // Every field is 8, 24 or 32 bytes and 8-aligned, so no padding: the listed fields' bytes add up
  // to the struct's only if none is left out.
  OrderedSums s;
  std::size_t bytes = 0;
  for_each_field([&](const auto& field) { bytes += sizeof(field); }, s);
  CHECK(bytes == sizeof(OrderedSums));
}

TEST_CASE("a streamed importance-sampled run tallies its weights as its blocks do") {
  const Model m = model_from(slurp(kDefault));
  RunSpec o = tilted_run(m, 2 * kTallyChunk + 99, 11, 20.0, 0.1);
  o.block_trials = 2500;
  const TallyTotals ref = tally_blocks(m, o);
  REQUIRE(ref.weighted);
  REQUIRE(ref.weight_sum != static_cast<double>(o.trials));  // the weights are not all 1
  check_same_streamed(m, tally_streamed(m, o), ref);
}

TEST_CASE("a streamed run stops within a chunk when asked, and closes none it did not finish") {
  const Model m = model_from(slurp(kDefault));
  RunSpec o;
  o.trials = 10 * kTallyChunk;
  o.seed = 1;
  o.threads = 1;  // one lane: the chunks run one after another
  struct Counting final : ChunkSink {
    Tally tally;
    std::atomic<std::uint64_t> closed{0};
    explicit Counting(const Model& m) : tally(m) {}
    std::unique_ptr<Chunk> open(std::uint64_t first, std::uint64_t end) override { return tally.open(first, end); }
    void add(Chunk& c, const TrialBlock& rows) override { tally.add(c, rows); }
    void close(std::unique_ptr<Chunk> c) override {
      tally.close(std::move(c));
      ++closed;
    }
  } sink(m);
  std::atomic<std::uint64_t> asked{0};
  // Stop after about a chunk and a half of trials: chunk 0 is closed, the ones under way are not.
  CHECK_THROWS_AS(stream_trials(m, o, kTallyChunk, sink, [&] { return ++asked > kTallyChunk * 3 / 2; }), RunStopped);
  CHECK(sink.closed == 1);
  CHECK(sink.tally.totals().trials == sink.closed * kTallyChunk);
}

TEST_CASE("a streamed tally takes its chunks whole and in trial order") {
  const Model m = model_from(slurp(kDefault));
  const RecordShape shape = RecordShape::of(m);
  Tally t(m);
  TrialBlock rows;
  auto first = t.open(0, kTallyChunk);
  auto second = t.open(kTallyChunk, 2 * kTallyChunk);
  rows.reset(shape, kTallyChunk + 5, 3);  // not the chunk's next trials
  CHECK_THROWS_AS(t.add(*second, rows), std::logic_error);
  rows.reset(shape, kTallyChunk, 3);
  t.add(*second, rows);
  CHECK_THROWS_AS(t.close(std::move(second)), std::logic_error);  // 3 of its 4096 trials
  for (std::uint64_t k = 0; k < kTallyChunk; k += 4096 / 8) {
    rows.reset(shape, k, 4096 / 8);
    t.add(*first, rows);
  }
  t.close(std::move(first));
  CHECK(t.totals().trials == kTallyChunk);
  auto skipped = t.open(2 * kTallyChunk, 3 * kTallyChunk);  // the chunk before it never closed
  for (std::uint64_t k = 2 * kTallyChunk; k < 3 * kTallyChunk; k += 512) {
    rows.reset(shape, k, 512);
    t.add(*skipped, rows);
  }
  CHECK_THROWS_AS(t.close(std::move(skipped)), std::logic_error);
}

namespace {
// A chunk that knows only its first trial: for sinks that watch the order of chunks, not their sums.
struct ChunkAt final : ChunkSink::Chunk {
  explicit ChunkAt(std::uint64_t first) : first(first) {}
  std::uint64_t first;
};
std::uint64_t first_of(const ChunkSink::Chunk& c) { return static_cast<const ChunkAt&>(c).first; }
}  // namespace

TEST_CASE("a streamed run's slow chunk holds the others back: few finished chunks wait to be closed") {
  const Model m = model_from(slurp(kDefault));
  RunSpec o;
  o.trials = 200 * 16;
  o.seed = 3;
  o.threads = 2;
  // Chunk 0 is slow; without a window the other lane would run all 199 others meanwhile.
  struct Watching final : ChunkSink {
    std::atomic<int> open_now{0}, most_open{0};
    std::uint64_t closed = 0;
    std::unique_ptr<Chunk> open(std::uint64_t first, std::uint64_t) override {
      const int n = ++open_now;
      for (int seen = most_open; n > seen && !most_open.compare_exchange_weak(seen, n);) {
      }
      return std::make_unique<ChunkAt>(first);
    }
    void add(Chunk& c, const TrialBlock&) override {
      if (first_of(c) == 0) std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    void close(std::unique_ptr<Chunk> c) override {
      CHECK(first_of(*c) == closed * 16);  // in trial order
      ++closed;
      --open_now;
    }
  } sink;
  stream_trials(m, o, 16, sink);
  CHECK(sink.closed == 200);
  CHECK(sink.most_open <= 4 * 2 + 1);  // the window of 4 chunks per lane, and the one being opened
}

TEST_CASE("a streamed run whose sink fails to close a chunk throws that error, and closes nothing after it") {
  const Model m = model_from(slurp(kDefault));
  RunSpec o;
  o.trials = 300 * 16;
  o.seed = 4;
  o.threads = 3;
  struct Failing final : ChunkSink {
    std::atomic<int> after_failure{0};
    bool failed = false;
    std::unique_ptr<Chunk> open(std::uint64_t first, std::uint64_t) override { return std::make_unique<ChunkAt>(first); }
    void add(Chunk&, const TrialBlock&) override {}
    void close(std::unique_ptr<Chunk> c) override {
      REQUIRE(c != nullptr);  // never an empty chunk left behind by the failed close
      if (failed) ++after_failure;
      if (first_of(*c) == 5 * 16) {
        failed = true;
        throw std::runtime_error("disk full");
      }
    }
  } sink;
  CHECK_THROWS_WITH_AS(stream_trials(m, o, 16, sink), "disk full", std::runtime_error);
  CHECK(sink.after_failure == 0);
}
