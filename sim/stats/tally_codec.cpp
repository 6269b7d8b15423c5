#include "stats/tally_codec.hpp"

#include <stdexcept>
#include <string>

namespace restake {

namespace {

// Every vector of OrderedSums, in the order they travel (a field added to OrderedSums goes here
// too: tests/test_tally_codec.cpp compares a round trip's merge with the original's).
template <class Sums, class F>
void each_vector(Sums& s, F&& f) {
  f(s.loss);
  f(s.net_return);
  f(s.loss_spread);
  f(s.return_spread);
  f(s.loss_positive);
  f(s.return_negative);
  f(s.covered_sum);
  f(s.cause_sum);
  f(s.avs_lost_sum);
  f(s.avs_slashed);
  f(s.pool_drawdown_sum);
  f(s.pool_exhausted);
  f(s.token_min_price_sum);
  f(s.token_depegged);
  f(s.token_depeg_days_sum);
  f(s.token_sold_sum);
  f(s.lending_liquidated_sum);
  f(s.lending_bad_debt_sum);
  f(s.lending_accounts_sum);
  f(s.lending_with_bad_debt);
  f(s.lending_bad_debt_over_1pct);
  f(s.market_loss_sum);
  f(s.first_loss_day_sum);
  f(s.loss_7d_sum);
  f(s.threshold_w);
  f(s.threshold_w2);
}

template <class Sketch>
void save_sketches(ByteWriter& out, const std::vector<Sketch>& v) {
  out.put<std::uint64_t>(v.size());
  for (const Sketch& s : v) s.save(out);
}

template <class Sketch>
void load_sketches(ByteReader& in, std::vector<Sketch>& v) {
  const auto n = in.get<std::uint64_t>();
  if (n != v.size())
    throw std::runtime_error(std::string(in.what) + ": " + std::to_string(n) + " quantile sketches where " + std::to_string(v.size()) +
                             " were expected");
  for (Sketch& s : v) s.load(in);
}

template <class Sets, class F>
void each_set(Sets& e, F&& f) {
  f(e.token_min_price_sketch);
  f(e.lending_liquidated_sketch);
  f(e.lending_bad_debt_sketch);
  f(e.market_loss_sketch);
  f(e.loss_7d_sketch);
}

}  // namespace

void save(ByteWriter& out, const OrderedSums& s) {
  out.put<std::uint64_t>(s.trials);
  out.put(s.weight_sum);
  out.put(s.weight_squares);
  out.put(s.exceedance);
  each_vector(s, [&](const auto& v) { out.put_vector(v); });
}

void load(ByteReader& in, OrderedSums& s) {
  s.trials = in.get<std::uint64_t>();
  s.weight_sum = in.get<double>();
  s.weight_squares = in.get<double>();
  s.exceedance = in.get<RunningMoments>();
  each_vector(s, [&](auto& v) { in.get_into(v); });
}

void save(ByteWriter& out, const TallyChunk& c) {
  out.put<std::uint64_t>(c.first);
  out.put<std::uint64_t>(c.end);
  out.put<std::int8_t>(c.weighted ? static_cast<std::int8_t>(*c.weighted) : std::int8_t{-1});
  save(out, c.sums);
}

void load(ByteReader& in, TallyChunk& c) {
  c.first = in.get<std::uint64_t>();
  c.end = in.get<std::uint64_t>();
  const auto weighted = in.get<std::int8_t>();
  if (weighted < -1 || weighted > 1) throw std::runtime_error(std::string(in.what) + ": not a chunk's sums");
  c.weighted = weighted < 0 ? std::nullopt : std::optional<bool>(weighted == 1);
  load(in, c.sums);
}

void save(ByteWriter& out, const ExactSums& e) {
  out.put(e.max_weight);
  out.put_vector(e.avs_holder_loss);
  save_sketches(out, e.loss_sketch);
  save_sketches(out, e.return_sketch);
  save_sketches(out, e.weighted_loss_sketch);
  save_sketches(out, e.weighted_return_sketch);
  each_set(e, [&](const SketchSet& s) {
    save_sketches(out, s.plain);
    save_sketches(out, s.weighted);
  });
}

void load(ByteReader& in, ExactSums& e) {
  e.max_weight = in.get<double>();
  in.get_into(e.avs_holder_loss);
  load_sketches(in, e.loss_sketch);
  load_sketches(in, e.return_sketch);
  load_sketches(in, e.weighted_loss_sketch);
  load_sketches(in, e.weighted_return_sketch);
  each_set(e, [&](SketchSet& s) {
    load_sketches(in, s.plain);
    load_sketches(in, s.weighted);
  });
}

void save(ByteWriter& out, const WorstTrials& w) {
  out.put<std::uint64_t>(w.tokens());
  for (std::size_t k = 0; k < w.tokens(); ++k) {
    const auto of = w.of(k);
    out.put_vector(std::vector<RankedTrial>(of.begin(), of.end()));
  }
}

void load(ByteReader& in, WorstTrials& w) {
  if (in.get<std::uint64_t>() != w.tokens()) throw std::runtime_error(std::string(in.what) + ": worst trials of another run");
  for (std::size_t k = 0; k < w.tokens(); ++k) {
    const std::vector<RankedTrial> got = in.get_vector<RankedTrial>();
    if (got.size() > w.k()) throw std::runtime_error(std::string(in.what) + ": more worst trials than asked for");
    for (const RankedTrial& t : got) w.add(k, t);
  }
}

}  // namespace restake
