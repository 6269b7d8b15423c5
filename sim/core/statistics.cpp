#include "statistics.hpp"

#include <algorithm>
#include <cmath>

namespace restake {

Moments moments(std::span<const double> x) {
  // Welford's update: stable when the mean is large against the spread.
  Moments m;
  double mean = 0.0, m2 = 0.0;
  std::size_t n = 0;
  for (double v : x) {
    ++n;
    const double d = v - mean;
    mean += d / static_cast<double>(n);
    m2 += d * (v - mean);
  }
  m.mean = mean;
  if (n > 1) {
    m.sd = std::sqrt(m2 / static_cast<double>(n - 1));
    m.stderr_mean = m.sd / std::sqrt(static_cast<double>(n));
  }
  return m;
}

double quantile_sorted(std::span<const double> s, double p) {
  if (s.empty()) return std::nan("");
  const double n = static_cast<double>(s.size());
  // 1-based rank; the relative tolerance keeps p*n = 95.00000000000001 from rounding up to 96.
  const auto rank = static_cast<std::size_t>(std::ceil(p * n * (1.0 - 1e-12)));
  return s[std::clamp<std::size_t>(rank, 1, s.size()) - 1];
}

double expected_shortfall_sorted(std::span<const double> s, double p) {
  if (s.empty()) return std::nan("");
  const double n = static_cast<double>(s.size());
  const double tail = n * (1.0 - p);
  const auto k = std::min(static_cast<std::size_t>(std::floor(tail * (1.0 + 1e-12))), s.size());
  double sum = 0.0;
  for (std::size_t i = 0; i < k; ++i) sum += s[s.size() - 1 - i];
  if (k < s.size()) sum += (tail - static_cast<double>(k)) * s[s.size() - 1 - k];
  return tail > 0.0 ? sum / tail : s.back();
}

LossSummary summarize_loss(std::vector<double> x) {
  LossSummary out;
  out.moments = moments(x);
  std::sort(x.begin(), x.end());
  const auto positive = static_cast<std::size_t>(x.end() - std::upper_bound(x.begin(), x.end(), 0.0));
  out.p_loss = x.empty() ? 0.0 : static_cast<double>(positive) / static_cast<double>(x.size());
  for (std::size_t i = 0; i < kLossQuantileLevels.size(); ++i) out.quantiles[i] = quantile_sorted(x, kLossQuantileLevels[i]);
  out.var95 = quantile_sorted(x, 0.95);
  out.var99 = quantile_sorted(x, 0.99);
  out.es95 = expected_shortfall_sorted(x, 0.95);
  out.es99 = expected_shortfall_sorted(x, 0.99);
  return out;
}

ReturnSummary summarize_return(std::vector<double> x) {
  ReturnSummary out;
  out.moments = moments(x);
  std::sort(x.begin(), x.end());
  const auto negative = static_cast<std::size_t>(std::lower_bound(x.begin(), x.end(), 0.0) - x.begin());
  out.p_negative = x.empty() ? 0.0 : static_cast<double>(negative) / static_cast<double>(x.size());
  for (std::size_t i = 0; i < kReturnQuantileLevels.size(); ++i)
    out.quantiles[i] = quantile_sorted(x, kReturnQuantileLevels[i]);
  return out;
}

}  // namespace restake
