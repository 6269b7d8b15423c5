#pragma once
// A parameter that is uncertain: a fixed value or a draw from a named family.
// Scenario files write either a number or an inline table such as
//   { dist = "beta", alpha = 2, beta = 30 }.
#include <string>

#include <boost/random/beta_distribution.hpp>
#include <boost/random/lognormal_distribution.hpp>
#include <boost/random/normal_distribution.hpp>
#include <boost/random/triangle_distribution.hpp>
#include <boost/random/uniform_real_distribution.hpp>

namespace restake {

enum class DistributionKind { Fixed, Uniform, Beta, Normal, LogNormal, Triangular };

struct Distribution {
  DistributionKind kind = DistributionKind::Fixed;
  // Meaning by kind: Fixed(a); Uniform(a=min, b=max); Beta(a=alpha, b=beta);
  // Normal(a=mean, b=sd) and LogNormal(a=mu, b=sigma) truncated to [lo, hi];
  // Triangular(a=min, b=mode, c=max).
  double a = 0.0, b = 0.0, c = 0.0;
  double lo = -1e300, hi = 1e300;

  static Distribution fixed(double v) { return {DistributionKind::Fixed, v, 0.0, 0.0, v, v}; }
  bool is_fixed() const { return kind == DistributionKind::Fixed; }
  double mean() const;          // of the untruncated family (exact for all but truncated normals)
  double support_min() const;   // smallest value a draw can take
  double support_max() const;   // largest value a draw can take
  std::string describe() const; // e.g. "beta(2, 30)", for logs and errors
};

// The value at cumulative probability u (truncated families: of the truncated law), with
// q = 1 - u given separately so that upper quantiles keep their precision: inversion, for
// importance sampling, where a draw's likelihood ratio must be known (trial/sampler.hpp).
double inverse_cdf(const Distribution& d, double u, double q);

// Draws one value. Truncated families use rejection, so the draw count per call
// depends only on the stream - still a pure function of (seed, trial).
template <class Urng>
double draw(const Distribution& d, Urng& rng) {
  switch (d.kind) {
    case DistributionKind::Fixed: return d.a;
    case DistributionKind::Uniform: return boost::random::uniform_real_distribution<double>(d.a, d.b)(rng);
    case DistributionKind::Beta: {
      // Boost draws x / (x + y) from two gamma variates, 0/0 when both underflow (shapes below
      // ~0.02; the parser requires >= 0.05). Redraw rather than let a NaN through.
      boost::random::beta_distribution<double> beta(d.a, d.b);
      for (int i = 0; i < 1000; ++i) {
        const double x = beta(rng);
        if (x == x) return x;
      }
      return d.mean();
    }
    case DistributionKind::Triangular:
      return boost::random::triangle_distribution<double>(d.a, d.b, d.c)(rng);
    case DistributionKind::Normal: {
      boost::random::normal_distribution<double> n(d.a, d.b);
      for (int i = 0; i < 1000; ++i) {
        const double x = n(rng);
        if (x >= d.lo && x <= d.hi) return x;
      }
      return d.a < d.lo ? d.lo : (d.a > d.hi ? d.hi : d.a);  // truncation window far in a tail
    }
    case DistributionKind::LogNormal: {
      boost::random::lognormal_distribution<double> n(d.a, d.b);
      for (int i = 0; i < 1000; ++i) {
        const double x = n(rng);
        if (x >= d.lo && x <= d.hi) return x;
      }
      return d.lo;
    }
  }
  return d.a;
}

}  // namespace restake
