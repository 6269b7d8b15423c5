#include "stats/statistics.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace restake {

Moments RunningMoments::result() const {
  Moments m;
  m.mean = mean_;
  if (n_ > 1) {
    m.sd = std::sqrt(m2_ / static_cast<double>(n_ - 1));
    m.stderr_mean = m.sd / std::sqrt(static_cast<double>(n_));
  }
  return m;
}

void RunningMoments::merge(const RunningMoments& b) {
  if (b.n_ == 0) return;
  const double na = static_cast<double>(n_), nb = static_cast<double>(b.n_), n = na + nb;
  const double d = b.mean_ - mean_;
  n_ += b.n_;
  mean_ += d * (nb / n);
  m2_ += b.m2_ + d * d * (na * nb / n);
}

void WeightedMoments::merge(const WeightedMoments& b) {
  if (b.W_ == 0.0) return;
  const double W = W_ + b.W_, d = b.mean_ - mean_;
  mean_ += d * (b.W_ / W);
  m2_ += b.m2_ + d * d * (W_ * b.W_ / W);
  W_ = W;
  W2_ += b.W2_;
}

double WeightedMoments::sd() const {
  const double divisor = W_ - W2_ / W_;
  return W_ > 0.0 && divisor > 0.0 ? std::sqrt(m2_ / divisor) : 0.0;
}

Exceedance exceedance_estimate(double sum_w, double sum_w2, double n, bool weighted) {
  if (!(n > 0.0)) return {std::nan(""), std::nan(""), std::nan(""), std::nan("")};
  constexpr double z = 1.959963984540054;  // the 0.975 normal quantile
  const double p = sum_w / n;
  // The sample variance of w 1{loss >= x} (divisor n - 1), over n for the mean's.
  const double var = n > 1.0 ? std::max(0.0, (sum_w2 - n * p * p) / (n - 1.0)) : 0.0;
  Exceedance e{p, std::sqrt(var / n), 0.0, 0.0};
  if (weighted) {
    e.ci_low = std::max(0.0, p - z * e.stderr_p);
    e.ci_high = p + z * e.stderr_p;
  } else {
    const double z2 = z * z, centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    const double half = z / (1.0 + z2 / n) * std::sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n));
    // At p = 0 (or 1) the interval's end is exactly 0 (or 1); computed, it is off by a rounding.
    e.ci_low = p == 0.0 ? 0.0 : std::max(0.0, centre - half);
    e.ci_high = p == 1.0 ? 1.0 : std::min(1.0, centre + half);
  }
  return e;
}

std::vector<Exceedance> exceedances(std::span<const double> x, std::span<const double> w, std::span<const double> thresholds) {
  if (!w.empty() && w.size() != x.size()) throw std::logic_error("exceedances: weights and sample differ in length");
  std::vector<Exceedance> out;
  for (const double level : thresholds) {
    double s1 = 0.0, s2 = 0.0;
    for (std::size_t i = 0; i < x.size(); ++i)
      if (x[i] >= level) {
        const double wi = w.empty() ? 1.0 : w[i];
        s1 += wi;
        s2 += wi * wi;
      }
    out.push_back(exceedance_estimate(s1, s2, static_cast<double>(x.size()), !w.empty()));
  }
  return out;
}

Moments moments(std::span<const double> x) {
  RunningMoments r;
  for (double v : x) r.add(v);
  return r.result();
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

double weighted_quantile_sorted(std::span<const double> x, std::span<const double> w, double p) {
  if (x.empty()) return std::nan("");
  const double n = static_cast<double>(x.size());
  double mass = 0.0;
  if (p < 0.5) {
    const double target = p * n * (1.0 - 1e-12);  // the tolerance of quantile_sorted's rank
    for (std::size_t i = 0; i < x.size(); ++i)
      if ((mass += w[i]) >= target) return x[i];
    return x.back();
  }
  const double tail = n * (1.0 - p) * (1.0 + 1e-12);
  for (std::size_t i = x.size(); i-- > 0;)
    if ((mass += w[i]) > tail) return x[i];
  return x.front();
}

double weighted_expected_shortfall_sorted(std::span<const double> x, std::span<const double> w, double p) {
  if (x.empty()) return std::nan("");
  const double tail = static_cast<double>(x.size()) * (1.0 - p);
  if (tail <= 0.0) return x.back();
  double left = tail, sum = 0.0;
  for (std::size_t i = x.size(); i-- > 0 && left > 0.0;) {
    const double take = std::min(left, w[i]);
    sum += take * x[i];
    left -= take;
  }
  if (left > 0.0) sum += left * x.front();
  return sum / tail;
}

WeightSpread weight_spread_above(std::span<const double> x, std::span<const double> w, double level) {
  double sum = 0.0, squares = 0.0, largest = 0.0;
  for (std::size_t i = x.size(); i-- > 0 && x[i] > level;) {
    sum += w[i];
    squares += w[i] * w[i];
    largest = std::max(largest, w[i]);
  }
  if (!(sum > 0.0)) return {0.0, std::nan("")};
  return {sum * sum / squares, largest / sum};
}

namespace {
// Sorts x ascending and carries w along.
void sort_weighted(std::vector<double>& x, std::vector<double>& w) {
  std::vector<std::size_t> order(x.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return x[a] < x[b]; });
  std::vector<double> xs(x.size()), ws(x.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    xs[i] = x[order[i]];
    ws[i] = w[order[i]];
  }
  x = std::move(xs);
  w = std::move(ws);
}

double quantile_of(std::vector<double> x, std::vector<double> w, double p) {
  if (w.empty()) std::sort(x.begin(), x.end()); else sort_weighted(x, w);
  return w.empty() ? quantile_sorted(x, p) : weighted_quantile_sorted(x, w, p);
}
}  // namespace

SortedSample::SortedSample(std::vector<double> x, std::vector<double> w) : x_(std::move(x)), w_(std::move(w)) {
  if (!w_.empty() && w_.size() != x_.size()) throw std::logic_error("SortedSample: a weight per value");
  if (w_.empty()) std::sort(x_.begin(), x_.end()); else sort_weighted(x_, w_);
}

double SortedSample::quantile(double p) const {
  return w_.empty() ? quantile_sorted(x_, p) : weighted_quantile_sorted(x_, w_, p);
}

double SortedSample::expected_shortfall(double p) const {
  return w_.empty() ? expected_shortfall_sorted(x_, p) : weighted_expected_shortfall_sorted(x_, w_, p);
}

QuantileEstimate batch_quantile(const std::vector<double>& x, const std::vector<double>& w, double p, std::size_t batches) {
  return {quantile_of(x, w, p), batch_stderr(x, w, batches, {[p](std::span<const double> s, std::span<const double> sw) {
            return sw.empty() ? quantile_sorted(s, p) : weighted_quantile_sorted(s, sw, p);
          }})[0]};
}

std::vector<double> batch_stderr(const std::vector<double>& x, const std::vector<double>& w, std::size_t batches,
                                 std::initializer_list<SortedStatistic> statistics) {
  const std::size_t n = x.size();
  if (batches < 2 || n < 2 * batches) return std::vector<double>(statistics.size(), std::nan(""));
  // Cut as numpy.array_split cuts (the Python report's weighted_batch_ci): the first n % B batches
  // one trial longer.
  const std::size_t size = n / batches, longer = n % batches;
  const auto start = [&](std::size_t b) { return b * size + std::min(b, longer); };
  std::vector<RunningMoments> spread(statistics.size());
  for (std::size_t b = 0; b < batches; ++b) {
    const std::size_t from = start(b), to = start(b + 1);
    std::vector<double> bx(x.begin() + from, x.begin() + to), bw;
    if (w.empty()) {
      std::sort(bx.begin(), bx.end());
    } else {
      bw.assign(w.begin() + from, w.begin() + to);
      sort_weighted(bx, bw);
    }
    std::size_t k = 0;
    for (const SortedStatistic& statistic : statistics) spread[k++].add(statistic(bx, bw));
  }
  std::vector<double> out;
  for (const RunningMoments& r : spread) out.push_back(r.result().sd / std::sqrt(static_cast<double>(batches)));
  return out;
}

void set_loss_tail(LossSummary& out, std::vector<double> x, std::vector<double> w) {
  if (!w.empty()) {  // in trial order, before the sort
    const std::vector<double> se =
        batch_stderr(x, w, kBatches, {[](auto s, auto sw) { return weighted_quantile_sorted(s, sw, 0.99); },
                                      [](auto s, auto sw) { return weighted_expected_shortfall_sorted(s, sw, 0.99); }});
    out.var99_stderr = se[0];
    out.es99_stderr = se[1];
  }
  if (w.empty()) std::sort(x.begin(), x.end()); else sort_weighted(x, w);
  auto q = [&](double p) { return w.empty() ? quantile_sorted(x, p) : weighted_quantile_sorted(x, w, p); };
  auto es = [&](double p) { return w.empty() ? expected_shortfall_sorted(x, p) : weighted_expected_shortfall_sorted(x, w, p); };
  for (std::size_t i = 0; i < kLossQuantileLevels.size(); ++i) out.quantiles[i] = q(kLossQuantileLevels[i]);
  out.var95 = q(0.95);
  out.var99 = q(0.99);
  out.es95 = es(0.95);
  out.es99 = es(0.99);
  if (!w.empty()) {
    out.beyond_var95 = weight_spread_above(x, w, out.var95);
    out.beyond_var99 = weight_spread_above(x, w, out.var99);
  }
}

void set_return_quantiles(ReturnSummary& out, std::vector<double> x, std::vector<double> w) {
  if (w.empty()) std::sort(x.begin(), x.end()); else sort_weighted(x, w);
  for (std::size_t i = 0; i < kReturnQuantileLevels.size(); ++i)
    out.quantiles[i] = w.empty() ? quantile_sorted(x, kReturnQuantileLevels[i]) : weighted_quantile_sorted(x, w, kReturnQuantileLevels[i]);
}

LossSummary summarize_loss(std::vector<double> x) {
  LossSummary out;
  out.moments = moments(x);
  const auto positive = std::count_if(x.begin(), x.end(), [](double v) { return v > 0.0; });
  out.p_loss = x.empty() ? 0.0 : static_cast<double>(positive) / static_cast<double>(x.size());
  set_loss_tail(out, std::move(x));
  return out;
}

ReturnSummary summarize_return(std::vector<double> x) {
  ReturnSummary out;
  out.moments = moments(x);
  const auto negative = std::count_if(x.begin(), x.end(), [](double v) { return v < 0.0; });
  out.p_negative = x.empty() ? 0.0 : static_cast<double>(negative) / static_cast<double>(x.size());
  set_return_quantiles(out, std::move(x));
  return out;
}

}  // namespace restake
