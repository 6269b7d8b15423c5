#include "stats/tally_codec.hpp"

#include <stdexcept>
#include <string>

namespace restake {

namespace {

// OrderedSums' fields are plain values (sent as they are) or vectors of them (length, then elements).
template <class T>
inline constexpr bool is_vector = false;
template <class T>
inline constexpr bool is_vector<std::vector<T>> = true;

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
  for_each_field(
      [&]<class T>(const T& field) {
        if constexpr (is_vector<T>) out.put_vector(field); else out.put(field);
      },
      s);
}

void load(ByteReader& in, OrderedSums& s) {
  for_each_field(
      [&]<class T>(T& field) {
        if constexpr (is_vector<T>) in.get_into(field); else field = in.get<T>();
      },
      s);
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
