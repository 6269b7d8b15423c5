#pragma once
// The size of a trade that brings a pool's price to a level: a root of a monotone function on a
// bracket. The market layer solves for one inside Monte Carlo trials (a purchase to the arbitrage
// floor, a sale down to NAV or to a liquidation threshold, on pools without a closed form), so it
// uses Boost's TOMS 748 (Alefeld, Potra and Shi, 1995): ~10 evaluations where bisection to the same
// precision needs ~50, and each evaluation of a StableSwap trade runs two Newton iterations.
#include <cmath>
#include <cstdint>
#include <utility>

#include <boost/math/tools/toms748_solve.hpp>

namespace restake::market {

// For `gap` increasing (not necessarily continuous) with gap(lo) < 0 <= gap(hi): a bracket [a, b]
// of its sign change, gap(a) < 0 <= gap(b), b - a within ~1e-15 of b. Endpoints already on the
// sign change are returned as they are.
template <class Gap>
std::pair<double, double> sign_change(Gap gap, double lo, double hi) {
  const double flo = gap(lo), fhi = gap(hi);
  if (flo >= 0.0) return {lo, lo};
  if (fhi < 0.0) return {hi, hi};
  std::uintmax_t iterations = 200;
  auto [a, b] = boost::math::tools::toms748_solve(gap, lo, hi, flo, fhi, boost::math::tools::eps_tolerance<double>(50), iterations);
  // TOMS 748 may stop on an exact root: step below it to the strict side.
  for (int i = 0; i < 8 && a > lo && gap(a) >= 0.0; ++i) a = std::nextafter(a, lo);
  if (gap(a) >= 0.0) a = lo;
  return {a, b};
}

}  // namespace restake::market
