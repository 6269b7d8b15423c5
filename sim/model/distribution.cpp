#include "model/distribution.hpp"

#include <algorithm>
#include <cmath>

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
