#pragma once
// Summary statistics of a sample, with the definitions written down in docs/output-format.md:
//   quantile q_p    = the inverted empirical CDF: x_(ceil(p n)) of the sorted sample (1-based);
//   VaR_p           = q_p of the loss;
//   ES_p            = (1 / (n (1-p))) * [sum of the k = floor(n (1-p)) largest losses
//                     + (n (1-p) - k) * x_(n-k)]  (Acerbi & Tasche 2002), the mean of the worst
//                     (1-p) share of trials, splitting the boundary trial.
#include <array>
#include <cstddef>
#include <span>
#include <vector>

namespace restake {

inline constexpr std::array<double, 5> kLossQuantileLevels = {0.5, 0.9, 0.95, 0.99, 0.999};
inline constexpr std::array<double, 5> kReturnQuantileLevels = {0.01, 0.05, 0.5, 0.95, 0.99};

struct Moments {
  double mean = 0.0;
  double sd = 0.0;
  double stderr_mean = 0.0;
};

// Welford's running mean and variance: stable when the mean is large against the spread, and
// deterministic when values are added in a fixed (trial) order.
class RunningMoments {
 public:
  void add(double x) {
    ++n_;
    const double d = x - mean_;
    mean_ += d / static_cast<double>(n_);
    m2_ += d * (x - mean_);
  }
  // Adds the moments of values that come after this one's (Chan, Golub & LeVeque 1979). Exact when
  // this one is empty; otherwise the last bits depend on where the sample was split, so callers
  // that promise thread-independent results split it at fixed places (stats/tally.hpp).
  void merge(const RunningMoments& later);
  std::size_t count() const { return n_; }
  Moments result() const;

 private:
  std::size_t n_ = 0;
  double mean_ = 0.0, m2_ = 0.0;
};
Moments moments(std::span<const double> x);

// `sorted` must be in ascending order.
double quantile_sorted(std::span<const double> sorted, double p);
double expected_shortfall_sorted(std::span<const double> sorted, double p);

struct LossSummary {
  Moments moments;
  double p_loss = 0.0;  // share of trials with a loss > 0
  std::array<double, kLossQuantileLevels.size()> quantiles{};
  double var95 = 0.0, var99 = 0.0, es95 = 0.0, es99 = 0.0;
};
struct ReturnSummary {
  Moments moments;
  double p_negative = 0.0;  // share of trials with a net return < 0
  std::array<double, kReturnQuantileLevels.size()> quantiles{};
};

// All of these take the sample by value: they sort it.
LossSummary summarize_loss(std::vector<double> x);
ReturnSummary summarize_return(std::vector<double> x);
// Only the order statistics (quantiles, VaR, ES), for moments accumulated elsewhere.
void set_loss_tail(LossSummary& out, std::vector<double> x);
void set_return_quantiles(ReturnSummary& out, std::vector<double> x);

}  // namespace restake
