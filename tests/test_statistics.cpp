// Summary statistics on samples small enough to check by hand.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "stats/statistics.hpp"

using namespace restake;

TEST_CASE("quantile is the inverted empirical CDF: the ceil(p n)-th smallest value") {
  std::vector<double> x = {5, 1, 4, 2, 3, 10, 9, 8, 7, 6};
  std::sort(x.begin(), x.end());
  CHECK(quantile_sorted(x, 0.5) == 5);   // ceil(5) = 5th
  CHECK(quantile_sorted(x, 0.51) == 6);  // ceil(5.1) = 6th
  CHECK(quantile_sorted(x, 0.95) == 10); // ceil(9.5) = 10th
  CHECK(quantile_sorted(x, 0.9) == 9);   // 0.9 * 10 rounds to 9.000000000000002 in binary: still the 9th
  CHECK(quantile_sorted(x, 0.0) == 1);
  CHECK(quantile_sorted(x, 1.0) == 10);
}

TEST_CASE("expected shortfall averages the worst (1-p) share of trials, splitting the boundary trial") {
  std::vector<double> x(100);
  for (int i = 0; i < 100; ++i) x[i] = i + 1;  // 1..100
  CHECK(expected_shortfall_sorted(x, 0.95) == doctest::Approx((96 + 97 + 98 + 99 + 100) / 5.0));
  CHECK(expected_shortfall_sorted(x, 0.99) == doctest::Approx(100.0));
  // n (1-p) = 2.5: two whole trials and half of the third worst
  CHECK(expected_shortfall_sorted(x, 0.975) == doctest::Approx((100 + 99 + 0.5 * 98) / 2.5));
}

TEST_CASE("expected shortfall of a loss that is mostly zero is not the VaR") {
  std::vector<double> x(1000, 0.0);
  for (int i = 0; i < 20; ++i) x[i] = 0.5;  // 2% of trials lose half
  std::sort(x.begin(), x.end());
  const LossSummary s = summarize_loss(x);
  CHECK(s.p_loss == doctest::Approx(0.02));
  CHECK(s.var95 == 0.0);
  CHECK(s.es95 == doctest::Approx(0.5 * 20.0 / 50.0));  // 20 losing trials among the worst 50
  CHECK(s.var99 == 0.5);
  CHECK(s.es99 == doctest::Approx(0.5));
  CHECK(s.moments.mean == doctest::Approx(0.01));
}

TEST_CASE("moments: mean, sample standard deviation and standard error of the mean") {
  const std::vector<double> x = {2, 4, 4, 4, 5, 5, 7, 9};
  const Moments m = moments(x);
  CHECK(m.mean == doctest::Approx(5.0));
  CHECK(m.sd == doctest::Approx(std::sqrt(32.0 / 7.0)));
  CHECK(m.stderr_mean == doctest::Approx(std::sqrt(32.0 / 7.0) / std::sqrt(8.0)));
}

TEST_CASE("return summary counts negative returns and gives lower-tail quantiles") {
  std::vector<double> x;
  for (int i = -10; i < 90; ++i) x.push_back(i / 100.0);
  const ReturnSummary r = summarize_return(x);
  CHECK(r.p_negative == doctest::Approx(0.10));
  CHECK(r.quantiles[0] == doctest::Approx(-0.10));  // 1%: 1st of 100
  CHECK(r.quantiles[1] == doctest::Approx(-0.06));  // 5%: 5th
}

TEST_CASE("weighted moments: West's mean and spread, Welford's bit for bit when every weight is 1") {
  // x = 1 with weight 1 and x = 3 with weight 3: W = 4, W2 = 10, mean 2.5,
  // sum w (x - mean)^2 = 2.25 + 0.75 = 3, divisor W - W2/W = 1.5: sd = sqrt(2).
  WeightedMoments a, b, both;
  a.add(1.0, 1.0);
  b.add(3.0, 3.0);
  both.add(1.0, 1.0);
  both.add(3.0, 3.0);
  CHECK(both.sd() == doctest::Approx(std::sqrt(2.0)).epsilon(1e-15));
  a.merge(b);
  CHECK(a.sd() == doctest::Approx(std::sqrt(2.0)).epsilon(1e-15));

  const std::vector<double> x = {0.3, 0.0, 0.0, 0.125, 1.0 / 3.0, 0.0, 0.7, 0.01};
  RunningMoments plain;
  WeightedMoments ones;
  for (double v : x) {
    plain.add(v);
    ones.add(v, 1.0);
  }
  CHECK(ones.sd() == plain.result().sd);
  WeightedMoments one;
  one.add(0.5, 2.0);
  CHECK(one.sd() == 0.0);  // one trial: no spread to estimate
}

TEST_CASE("weighted quantiles and ES read the tail's weight, as importance sampling estimates it") {
  // Five trials; the two with losses were oversampled (small likelihood ratios).
  const std::vector<double> x = {0.0, 0.0, 0.0, 0.1, 0.5}, w = {1.5, 1.5, 1.5, 0.3, 0.2};
  // p = 0.95: the upper tail may weigh n (1-p) = 0.25; 0.5 alone weighs 0.2, with 0.1 it is 0.5.
  CHECK(weighted_quantile_sorted(x, w, 0.95) == 0.1);
  // ES: 0.2 of weight at 0.5 and the remaining 0.05 at 0.1, over 0.25.
  CHECK(weighted_expected_shortfall_sorted(x, w, 0.95) == doctest::Approx((0.2 * 0.5 + 0.05 * 0.1) / 0.25).epsilon(1e-15));
  CHECK(weighted_quantile_sorted(x, w, 0.99) == 0.5);  // 0.05 of weight: 0.5 alone holds it
  CHECK(weighted_expected_shortfall_sorted(x, w, 0.99) == doctest::Approx(0.5).epsilon(1e-15));
  CHECK(weighted_quantile_sorted(x, w, 0.5) == 0.0);
  CHECK(weighted_quantile_sorted(x, w, 0.25) == 0.0);  // the lower tail: 1.5 >= 5 * 0.25
  // Too little weight in the sample to fill the tail: the rest counts at the smallest value.
  const std::vector<double> light = {0.2, 0.4}, tiny = {0.1, 0.1};
  CHECK(weighted_expected_shortfall_sorted(light, tiny, 0.5) == doctest::Approx((0.1 * 0.4 + 0.1 * 0.2 + 0.8 * 0.2) / 1.0).epsilon(1e-15));
}

TEST_CASE("with every weight 1 the weighted quantiles and ES are the plain ones") {
  std::mt19937_64 rng(11);
  std::exponential_distribution<double> e(20.0);
  std::vector<double> x(997);
  for (double& v : x) v = rng() % 3 == 0 ? e(rng) : 0.0;
  std::sort(x.begin(), x.end());
  const std::vector<double> ones(x.size(), 1.0);
  for (double p : {0.01, 0.05, 0.3, 0.5, 0.9, 0.95, 0.99, 0.999}) {
    CAPTURE(p);
    CHECK(weighted_quantile_sorted(x, ones, p) == quantile_sorted(x, p));
    CHECK(weighted_expected_shortfall_sorted(x, ones, p) == doctest::Approx(expected_shortfall_sorted(x, p)).epsilon(1e-13));
  }
}

TEST_CASE("batch_quantile: the whole sample's quantile, and the spread of its batches' quantiles over sqrt(batches)") {
  // 0..99 in trial order, four batches of 25: their medians (13th smallest) are 12, 37, 62 and 87.
  std::vector<double> x(100);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<double>(i);
  const QuantileEstimate q = batch_quantile(x, {}, 0.5, 4);
  CHECK(q.value == 49.0);
  const double sd = std::sqrt((2 * 37.5 * 37.5 + 2 * 12.5 * 12.5) / 3.0);  // of 12, 37, 62, 87 (mean 49.5)
  CHECK(q.stderr_value == doctest::Approx(sd / 2.0).epsilon(1e-14));
  // Weights: a weight-2 trial counts as two (the weighted rules of weighted_quantile_sorted).
  const std::vector<double> w(100, 1.0);
  const QuantileEstimate same = batch_quantile(x, w, 0.5, 4);
  CHECK(same.value == q.value);
  CHECK(same.stderr_value == q.stderr_value);
  CHECK(std::isnan(batch_quantile({1.0, 2.0, 3.0, 4.0, 5.0}, {}, 0.5, 3).stderr_value));  // under two trials a batch
  // 0..9 in three batches cut as numpy.array_split cuts: [0..3], [4..6], [7..9], medians 1, 5 and 8.
  const QuantileEstimate uneven = batch_quantile({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {}, 0.5, 3);
  CHECK(uneven.stderr_value == doctest::Approx(std::sqrt((1.0 + 25.0 + 64.0 - 3.0 * (14.0 / 3.0) * (14.0 / 3.0)) / 2.0 / 3.0)));
}
