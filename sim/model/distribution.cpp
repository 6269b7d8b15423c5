#include "model/distribution.hpp"

#include <algorithm>
#include <cmath>

#include <boost/math/distributions/beta.hpp>
#include <boost/math/distributions/lognormal.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/triangular.hpp>
#include <fmt/format.h>

namespace restake {

double Distribution::mean() const {
  switch (kind) {
    case DistributionKind::Fixed: return a;
    case DistributionKind::Uniform: return 0.5 * (a + b);
    case DistributionKind::Beta: return a / (a + b);
    case DistributionKind::Normal: return a;
    case DistributionKind::LogNormal: return std::exp(a + 0.5 * b * b);
    case DistributionKind::Triangular: return (a + b + c) / 3.0;
  }
  return a;
}

double Distribution::support_min() const {
  switch (kind) {
    case DistributionKind::Fixed: return a;
    case DistributionKind::Uniform: return a;
    case DistributionKind::Beta: return 0.0;
    case DistributionKind::Triangular: return a;
    case DistributionKind::Normal: return lo;
    case DistributionKind::LogNormal: return std::max(0.0, lo);
  }
  return a;
}

double Distribution::support_max() const {
  switch (kind) {
    case DistributionKind::Fixed: return a;
    case DistributionKind::Uniform: return b;
    case DistributionKind::Beta: return 1.0;
    case DistributionKind::Triangular: return c;
    case DistributionKind::Normal:
    case DistributionKind::LogNormal: return hi;
  }
  return a;
}

namespace {

// Quantile of a (Boost.Math) law at u, from the side where u or q = 1 - u is small.
template <class Law>
double quantile_of(const Law& law, double u, double q) {
  return u <= 0.5 ? boost::math::quantile(law, u) : boost::math::quantile(boost::math::complement(law, q));
}

// A law truncated to [lo, hi]: the untruncated quantile at the matching probability.
template <class Law>
double truncated_quantile(const Law& law, double lo, double hi, double u, double q) {
  const double below_lo = lo <= boost::math::support(law).first ? 0.0 : boost::math::cdf(law, lo);
  const double above_hi = hi >= boost::math::support(law).second ? 0.0 : boost::math::cdf(boost::math::complement(law, hi));
  const double mass = 1.0 - below_lo - above_hi;
  const double x = u <= 0.5 ? boost::math::quantile(law, std::min(1.0, below_lo + u * mass))
                            : boost::math::quantile(boost::math::complement(law, std::min(1.0, above_hi + q * mass)));
  return std::clamp(x, lo, hi);  // the rounding of the probabilities only
}

}  // namespace

double inverse_cdf(const Distribution& d, double u, double q) {
  switch (d.kind) {
    case DistributionKind::Fixed: return d.a;
    case DistributionKind::Uniform: return u <= 0.5 ? d.a + u * (d.b - d.a) : d.b - q * (d.b - d.a);
    case DistributionKind::Beta:
      // Closed forms for the common shapes (ours are mostly Beta(1, b)): 1 - F = (1 - x)^b, F = x^a.
      if (d.a == 1.0) return -std::expm1(std::log(q) / d.b);
      if (d.b == 1.0) return std::exp(std::log(u) / d.a);
      return quantile_of(boost::math::beta_distribution<double>(d.a, d.b), u, q);
    case DistributionKind::Triangular: return quantile_of(boost::math::triangular_distribution<double>(d.a, d.b, d.c), u, q);
    case DistributionKind::Normal:
      return truncated_quantile(boost::math::normal_distribution<double>(d.a, d.b), d.lo, d.hi, u, q);
    case DistributionKind::LogNormal:
      return truncated_quantile(boost::math::lognormal_distribution<double>(d.a, d.b), std::max(0.0, d.lo), d.hi, u, q);
  }
  return d.a;
}

std::string Distribution::describe() const {
  switch (kind) {
    case DistributionKind::Fixed: return fmt::format("{}", a);
    case DistributionKind::Uniform: return fmt::format("uniform({}, {})", a, b);
    case DistributionKind::Beta: return fmt::format("beta({}, {})", a, b);
    case DistributionKind::Triangular: return fmt::format("triangular({}, {}, {})", a, b, c);
    case DistributionKind::Normal: return fmt::format("normal({}, {}) on [{}, {}]", a, b, lo, hi);
    case DistributionKind::LogNormal: return fmt::format("lognormal({}, {}) on [{}, {}]", a, b, lo, hi);
  }
  return "?";
}

}  // namespace restake
