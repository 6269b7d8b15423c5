#include "stats/quantile_sketch.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace restake {

QuantileSketch::QuantileSketch(double a, double zero_below)
    : alpha_(a), gamma_((1 + a) / (1 - a)), log_gamma_(std::log(gamma_)), zero_below_(zero_below) {}

std::int64_t QuantileSketch::index_of(double m) const {
  return static_cast<std::int64_t>(std::ceil(std::log(m) / log_gamma_));
}

// 2 gamma^i / (gamma + 1) is within relative error alpha of every magnitude in the bucket.
double QuantileSketch::value_of(std::int64_t i) const {
  return 2.0 * std::exp(static_cast<double>(i) * log_gamma_) / (gamma_ + 1.0);
}

void QuantileSketch::bump(Side& s, std::int64_t i, std::uint64_t count) {
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
  s.total += count;
}

void QuantileSketch::merge(Side& into, const Side& from) {
  for (std::size_t k = 0; k < from.counts.size(); ++k)
    if (from.counts[k] > 0) bump(into, from.offset + static_cast<std::int64_t>(k), from.counts[k]);
}

void QuantileSketch::merge(const QuantileSketch& o) {
  if (o.alpha_ != alpha_ || o.zero_below_ != zero_below_)
    throw std::logic_error("QuantileSketch::merge: sketches of different accuracy");
  merge(negative_, o.negative_);
  merge(positive_, o.positive_);
  zeros_ += o.zeros_;
  n_ += o.n_;
}

void QuantileSketch::add(double x) {
  ++n_;
  if (std::abs(x) < zero_below_) {
    ++zeros_;
  } else if (x > 0) {
    bump(positive_, index_of(x));
  } else {
    bump(negative_, index_of(-x));
  }
}

template <class F>
void QuantileSketch::ascending(F&& f) const {
  for (std::size_t k = negative_.counts.size(); k-- > 0;)
    if (negative_.counts[k] && !f(-value_of(negative_.offset + static_cast<std::int64_t>(k)), negative_.counts[k])) return;
  if (zeros_ && !f(0.0, zeros_)) return;
  for (std::size_t k = 0; k < positive_.counts.size(); ++k)
    if (positive_.counts[k] && !f(value_of(positive_.offset + static_cast<std::int64_t>(k)), positive_.counts[k])) return;
}

template <class F>
void QuantileSketch::descending(F&& f) const {
  for (std::size_t k = positive_.counts.size(); k-- > 0;)
    if (positive_.counts[k] && !f(value_of(positive_.offset + static_cast<std::int64_t>(k)), positive_.counts[k])) return;
  if (zeros_ && !f(0.0, zeros_)) return;
  for (std::size_t k = 0; k < negative_.counts.size(); ++k)
    if (negative_.counts[k] && !f(-value_of(negative_.offset + static_cast<std::int64_t>(k)), negative_.counts[k])) return;
}

double QuantileSketch::quantile(double p) const {
  if (n_ == 0) return std::nan("");
  const double n = static_cast<double>(n_);
  const auto rank = std::clamp<std::uint64_t>(static_cast<std::uint64_t>(std::ceil(p * n * (1.0 - 1e-12))), 1, n_);
  std::uint64_t seen = 0;
  double out = 0.0;
  ascending([&](double v, std::uint64_t c) {
    seen += c;
    out = v;
    return seen < rank;
  });
  return out;
}

double QuantileSketch::expected_shortfall(double p) const {
  if (n_ == 0) return std::nan("");
  const double tail = static_cast<double>(n_) * (1.0 - p);
  if (tail <= 0.0) return quantile(1.0);
  double left = tail, sum = 0.0;
  descending([&](double v, std::uint64_t c) {
    const double take = std::min(left, static_cast<double>(c));
    sum += take * v;
    left -= take;
    return left > 0.0;
  });
  return sum / tail;
}

}  // namespace restake
