#pragma once
// Summary statistics of a sample, with the definitions written down in docs/output-format.md:
//   quantile q_p    = the inverted empirical CDF: x_(ceil(p n)) of the sorted sample (1-based);
//   VaR_p           = q_p of the loss;
//   ES_p            = (1 / (n (1-p))) * [sum of the k = floor(n (1-p)) largest losses
//                     + (n (1-p) - k) * x_(n-k)]  (Acerbi & Tasche 2002), the mean of the worst
//                     (1-p) share of trials, splitting the boundary trial.
#include <array>
#include <cmath>
#include <cstddef>
#include <functional>
#include <initializer_list>
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

// Trials of an importance-sampled run carry weights, their likelihood ratios w (1 in plain Monte
// Carlo). A mean is then estimated by (1/n) sum w x - RunningMoments over w x gives it and its
// standard error - and the spread of x itself by West's weighted running variance (West 1979),
// with the unbiased divisor W - W2/W of reliability weights (W = sum w, W2 = sum w^2). With every
// w = 1 it is Welford's algorithm above, bit for bit.
class WeightedMoments {
 public:
  void add(double x, double w) {
    W_ += w;
    W2_ += w * w;
    const double d = x - mean_;
    mean_ += d * w / W_;
    m2_ += w * d * (x - mean_);
  }
  void merge(const WeightedMoments& later);  // Chan et al. with weights: exact when this one is empty
  double sd() const;  // 0 when no spread can be estimated (W - W2/W <= 0: one trial)

 private:
  double W_ = 0.0, W2_ = 0.0, mean_ = 0.0, m2_ = 0.0;
};

// `sorted` must be in ascending order.
double quantile_sorted(std::span<const double> sorted, double p);
double expected_shortfall_sorted(std::span<const double> sorted, double p);

// How many trials a weighted tail estimate rests on: over the trials beyond a level, Kish's
// effective sample size (sum w)^2 / sum w^2, and the largest single weight's share of their total
// weight. No trial beyond: 0 and NaN.
struct WeightSpread {
  double effective_sample_size = 0.0;
  double max_weight_share = 0.0;
};

// P(loss >= x) at a threshold the user names (run --threshold), from the sums over the trials of
// w 1{loss >= x} and w^2 1{loss >= x} (w = 1 in plain Monte Carlo). The 95% interval is Wilson's
// score interval in plain Monte Carlo - it stays inside [0, 1] and is not empty when no trial
// crossed (Brown, Cai & DasGupta 2001 recommend it over the normal one for small counts) - and the
// normal interval p +/- 1.96 se in a weighted run, whose trials are not Bernoulli draws (its lower
// end at 0 when the normal one would cross it: a probability is not negative).
struct Exceedance {
  double p = 0.0, stderr_p = 0.0, ci_low = 0.0, ci_high = 0.0;
};
Exceedance exceedance_estimate(double sum_w, double sum_w2, double trials, bool weighted);
// The same from a sample in trial order (w: its weights, or empty), at each threshold; with the
// sums added in trial order, as the tally adds them.
std::vector<Exceedance> exceedances(std::span<const double> x, std::span<const double> w, std::span<const double> thresholds);

struct LossSummary {
  Moments moments;
  double p_loss = 0.0;  // share of trials with a loss > 0
  std::array<double, kLossQuantileLevels.size()> quantiles{};
  double var95 = 0.0, var99 = 0.0, es95 = 0.0, es99 = 0.0;
  // Weighted runs with records: the trials with a loss above var95 and var99 (NaN otherwise), and
  // the standard errors of var99 and es99 by batch means (kBatches batches; NaN otherwise).
  WeightSpread beyond_var95, beyond_var99;
  double var99_stderr = std::nan(""), es99_stderr = std::nan("");
  std::vector<Exceedance> exceedance;  // [threshold] at RunInfo::thresholds (empty: none asked for)
};
struct ReturnSummary {
  Moments moments;
  double p_negative = 0.0;  // share of trials with a net return < 0
  std::array<double, kReturnQuantileLevels.size()> quantiles{};
};

// Weighted samples (x ascending, w its weights, n = x.size() trials): the tails are estimated as
// importance sampling does (Glasserman 2004, section 9.2), from the side the tilt oversamples.
// The upper tail P(X > x) = (1/n) sum of w over x_i > x gives quantiles for p >= 0.5 and ES: q_p is
// the largest value whose upper tail, itself included, first weighs more than n (1-p). Quantiles
// for p < 0.5 come from the lower tail: the smallest value whose lower tail, itself included,
// weighs at least n p. ES_p is the mean of the upper tail's first n (1-p) of weight, the boundary
// trial in part (Acerbi-Tasche with weights); weight missing below the smallest value counts at it.
// With every w = 1 these are the ranks of quantile_sorted and expected_shortfall_sorted.
double weighted_quantile_sorted(std::span<const double> x, std::span<const double> w, double p);
double weighted_expected_shortfall_sorted(std::span<const double> x, std::span<const double> w, double p);

// The trials of x (ascending, weights w) above `level`, summed from the largest down.
WeightSpread weight_spread_above(std::span<const double> x, std::span<const double> w, double level);

// The quantile at level p of a sample in trial order (w: its weights, or empty), with a standard
// error by batch means: the sample cut into `batches` consecutive runs of trials, each its own
// quantile; stderr = sd of those / sqrt(batches) (Glasserman 2004, §9.2 for weighted samples;
// the batches' own small-sample bias is left out, so keep them large); a 95% interval is then
// value +/- t(0.975, batches - 1) stderr. The batches are cut as numpy.array_split cuts (the first
// n % batches one trial longer), as the Python report's weighted_batch_ci does. NaN below two
// trials per batch.
struct QuantileEstimate {
  double value = 0.0, stderr_value = 0.0;
};
QuantileEstimate batch_quantile(const std::vector<double>& x, const std::vector<double>& w, double p, std::size_t batches);
// The batch-means standard errors of statistics of the sorted (weighted) sample, one per
// statistic, batches cut as above and each sorted once for all of them (its weights empty when w is).
using SortedStatistic = std::function<double(std::span<const double> x, std::span<const double> w)>;
std::vector<double> batch_stderr(const std::vector<double>& x, const std::vector<double>& w, std::size_t batches,
                                 std::initializer_list<SortedStatistic> statistics);
inline constexpr std::size_t kBatches = 20;  // of every batch-means error in the summaries

// A sample sorted once (with its weights, if any) for several order statistics of it: quantiles
// and ES as quantile_sorted and expected_shortfall_sorted, or their weighted forms.
class SortedSample {
 public:
  SortedSample(std::vector<double> x, std::vector<double> w = {});
  double quantile(double p) const;
  double expected_shortfall(double p) const;

 private:
  std::vector<double> x_, w_;
};

// All of these take the sample by value: they sort it.
LossSummary summarize_loss(std::vector<double> x);
ReturnSummary summarize_return(std::vector<double> x);
// Only the order statistics (quantiles, VaR, ES), for moments accumulated elsewhere.
// `w`: the trials' weights, or empty when every trial weighs 1.
void set_loss_tail(LossSummary& out, std::vector<double> x, std::vector<double> w = {});
void set_return_quantiles(ReturnSummary& out, std::vector<double> x, std::vector<double> w = {});

}  // namespace restake
