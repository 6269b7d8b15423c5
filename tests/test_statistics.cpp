// Summary statistics on samples small enough to check by hand.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
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
