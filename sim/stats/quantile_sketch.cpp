#include "stats/quantile_sketch.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace restake {

double default_sketch_accuracy(std::size_t holders) { return holders <= 100 ? 1e-4 : 1e-4 * static_cast<double>(holders) / 100.0; }

template <class Count>
BasicQuantileSketch<Count>::BasicQuantileSketch(double a, double zero_below)
    : alpha_(a), gamma_((1 + a) / (1 - a)), log_gamma_(std::log(gamma_)), zero_below_(zero_below) {}

template <class Count>
std::int64_t BasicQuantileSketch<Count>::index_of(double m) const {
  return static_cast<std::int64_t>(std::ceil(std::log(m) / log_gamma_));
}

// 2 gamma^i / (gamma + 1) is within relative error alpha of every magnitude in the bucket.
template <class Count>
double BasicQuantileSketch<Count>::value_of(std::int64_t i) const {
  return 2.0 * std::exp(static_cast<double>(i) * log_gamma_) / (gamma_ + 1.0);
}

template <class Count>
double BasicQuantileSketch<Count>::amount(Count c) {
  if constexpr (kWeighted)
    return from_fixed(c);
  else
    return static_cast<double>(c);
}

template <class Count>
void BasicQuantileSketch<Count>::bump(Side& s, std::int64_t i, Count count) {
  if (s.counts.empty()) {
    s.counts.assign(1, 0);
    s.offset = i;
  } else if (i < s.offset) {
    s.counts.insert(s.counts.begin(), static_cast<std::size_t>(s.offset - i), 0);
    s.offset = i;
  } else if (i >= s.offset + static_cast<std::int64_t>(s.counts.size())) {
    s.counts.resize(static_cast<std::size_t>(i - s.offset + 1), 0);
  }
  s.counts[static_cast<std::size_t>(i - s.offset)] += count;
}

template <class Count>
void BasicQuantileSketch<Count>::merge(Side& into, const Side& from) {
  for (std::size_t k = 0; k < from.counts.size(); ++k)
    if (from.counts[k] != 0) bump(into, from.offset + static_cast<std::int64_t>(k), from.counts[k]);
}

template <class Count>
void BasicQuantileSketch<Count>::merge(const BasicQuantileSketch& o) {
  if (o.alpha_ != alpha_ || o.zero_below_ != zero_below_)
    throw std::logic_error("QuantileSketch::merge: sketches of different accuracy");
  merge(negative_, o.negative_);
  merge(positive_, o.positive_);
  zeros_ += o.zeros_;
  n_ += o.n_;
}

template <class Count>
void BasicQuantileSketch<Count>::save(ByteWriter& out) const {
  out.put(alpha_);
  out.put(zero_below_);
  out.put<std::uint64_t>(n_);
  out.put(zeros_);
  for (const Side* s : {&negative_, &positive_}) {
    out.put(s->offset);
    out.put_vector(s->counts);
  }
}

template <class Count>
void BasicQuantileSketch<Count>::load(ByteReader& in) {
  if (in.get<double>() != alpha_ || in.get<double>() != zero_below_)
    throw std::runtime_error(std::string(in.what) + ": a quantile sketch of another accuracy");
  n_ = in.get<std::uint64_t>();
  zeros_ = in.get<Count>();
  for (Side* s : {&negative_, &positive_}) {
    s->offset = in.get<std::int64_t>();
    s->counts = in.get_vector<Count>();
  }
}

template <class Count>
void BasicQuantileSketch<Count>::add_count(double x, Count c) {
  ++n_;
  if (std::abs(x) < zero_below_) {
    zeros_ += c;
  } else if (x > 0) {
    bump(positive_, index_of(x), c);
  } else {
    bump(negative_, index_of(-x), c);
  }
}

template <class Count>
template <class F>
void BasicQuantileSketch<Count>::ascending(F&& f) const {
  for (std::size_t k = negative_.counts.size(); k-- > 0;)
    if (negative_.counts[k] != 0 && !f(-value_of(negative_.offset + static_cast<std::int64_t>(k)), amount(negative_.counts[k]))) return;
  if (zeros_ != 0 && !f(0.0, amount(zeros_))) return;
  for (std::size_t k = 0; k < positive_.counts.size(); ++k)
    if (positive_.counts[k] != 0 && !f(value_of(positive_.offset + static_cast<std::int64_t>(k)), amount(positive_.counts[k]))) return;
}

template <class Count>
template <class F>
void BasicQuantileSketch<Count>::descending(F&& f) const {
  for (std::size_t k = positive_.counts.size(); k-- > 0;)
    if (positive_.counts[k] != 0 && !f(value_of(positive_.offset + static_cast<std::int64_t>(k)), amount(positive_.counts[k]))) return;
  if (zeros_ != 0 && !f(0.0, amount(zeros_))) return;
  for (std::size_t k = 0; k < negative_.counts.size(); ++k)
    if (negative_.counts[k] != 0 && !f(-value_of(negative_.offset + static_cast<std::int64_t>(k)), amount(negative_.counts[k]))) return;
}

template <class Count>
double BasicQuantileSketch<Count>::quantile(double p) const {
  if (n_ == 0) return std::nan("");
  const double n = static_cast<double>(n_);
  double seen = 0.0, out = 0.0;
  if constexpr (kWeighted) {
    // statistics.hpp's weighted quantile: the lower tail for p < 0.5, the upper one otherwise.
    if (p < 0.5) {
      const double target = p * n * (1.0 - 1e-12);
      ascending([&](double v, double c) {
        seen += c;
        out = v;
        return seen < target;
      });
      return out;
    }
    const double tail = n * (1.0 - p) * (1.0 + 1e-12);
    descending([&](double v, double c) {
      seen += c;
      out = v;
      return seen <= tail;
    });
    return out;
  } else {
    // Counts below 2^53 are exact as doubles: the rank of quantile_sorted.
    const double rank = std::clamp(std::ceil(p * n * (1.0 - 1e-12)), 1.0, n);
    ascending([&](double v, double c) {
      seen += c;
      out = v;
      return seen < rank;
    });
    return out;
  }
}

template <class Count>
double BasicQuantileSketch<Count>::expected_shortfall(double p) const {
  if (n_ == 0) return std::nan("");
  const double tail = static_cast<double>(n_) * (1.0 - p);
  if (tail <= 0.0) return quantile(1.0);
  double left = tail, sum = 0.0, smallest = 0.0;
  descending([&](double v, double c) {
    const double take = std::min(left, c);
    sum += take * v;
    left -= take;
    smallest = v;
    return left > 0.0;
  });
  if (left > 0.0) sum += left * smallest;  // a weighted sample lighter than its tail: the rest at its smallest value
  return sum / tail;
}

template class BasicQuantileSketch<std::uint64_t>;
template class BasicQuantileSketch<FixedSum>;

}  // namespace restake
