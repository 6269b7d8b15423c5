// The quantile sketch used when per-trial records are not stored: within its relative accuracy
// of the exact order statistics.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "stats/quantile_sketch.hpp"
#include "stats/statistics.hpp"

using namespace restake;

namespace {
bool within(double approx, double exact, double rel) { return std::abs(approx - exact) <= rel * std::abs(exact) + 1e-12; }
}  // namespace

TEST_CASE("sketch quantiles and expected shortfall are within the relative accuracy of the exact ones") {
  std::mt19937_64 rng(42);
  std::bernoulli_distribution hit(0.08);
  std::lognormal_distribution<double> size(-3.0, 1.5);
  std::normal_distribution<double> ret(0.03, 0.05);
  const double a = 1e-4;
  QuantileSketch losses(a), returns(a);
  std::vector<double> xs, rs;
  for (int i = 0; i < 200'000; ++i) {
    const double x = hit(rng) ? std::min(1.0, size(rng)) : 0.0;  // zero-inflated, like a loss
    const double r = ret(rng);                                   // both signs
    losses.add(x);
    returns.add(r);
    xs.push_back(x);
    rs.push_back(r);
  }
  std::sort(xs.begin(), xs.end());
  std::sort(rs.begin(), rs.end());
  for (double p : {0.5, 0.9, 0.95, 0.99, 0.999, 1.0}) {
    CAPTURE(p);
    CHECK(within(losses.quantile(p), quantile_sorted(xs, p), a));
    CHECK(within(returns.quantile(p), quantile_sorted(rs, p), a));
  }
  for (double p : {0.01, 0.05}) CHECK(within(returns.quantile(p), quantile_sorted(rs, p), a));
  for (double p : {0.9, 0.95, 0.99, 0.999}) {
    CAPTURE(p);
    CHECK(within(losses.expected_shortfall(p), expected_shortfall_sorted(xs, p), a));
  }
  CHECK(losses.quantile(0.5) == 0.0);  // zeros stay exactly zero
  CHECK(losses.count() == 200'000);
}

TEST_CASE("a coarse sketch is coarse: the accuracy parameter is what bounds the error") {
  QuantileSketch coarse(0.1);
  for (int i = 1; i <= 1000; ++i) coarse.add(i);
  const double q = coarse.quantile(0.5);
  CHECK(within(q, 500.0, 0.1));
  CHECK(q != 500.0);  // the bucket's representative, not the value
}

TEST_CASE("a weighted sketch reads its tails by the weighted rules, within its relative accuracy") {
  std::mt19937_64 rng(5);
  std::bernoulli_distribution hit(0.3);
  std::lognormal_distribution<double> size(-3.0, 1.0);
  std::uniform_real_distribution<double> w01(0.1, 2.0);
  const double a = 1e-4;
  WeightedQuantileSketch sketch(a), left(a), right(a);
  std::vector<std::pair<double, double>> xw;
  for (int i = 0; i < 50'000; ++i) {
    const double x = hit(rng) ? std::min(1.0, size(rng)) : 0.0, w = w01(rng);
    sketch.add(x, w);
    (i % 2 ? left : right).add(x, w);
    xw.emplace_back(x, w);
  }
  std::sort(xw.begin(), xw.end());
  std::vector<double> xs, ws;
  for (const auto& [x, w] : xw) {
    xs.push_back(x);
    ws.push_back(w);
  }
  for (double p : {0.1, 0.5, 0.9, 0.95, 0.99, 0.999}) {
    CAPTURE(p);
    CHECK(within(sketch.quantile(p), weighted_quantile_sorted(xs, ws, p), a));
    CHECK(within(sketch.expected_shortfall(p), weighted_expected_shortfall_sorted(xs, ws, p), 2 * a));
  }
  left.merge(right);  // fixed-point weights: the same sketch, in any order
  for (double p : {0.5, 0.99}) {
    CHECK(left.quantile(p) == sketch.quantile(p));
    CHECK(left.expected_shortfall(p) == sketch.expected_shortfall(p));
  }
}
