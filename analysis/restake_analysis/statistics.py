"""Quantile, VaR and expected shortfall exactly as `sim/stats/statistics.cpp` defines them, and
confidence intervals for them. The definitions are written down in docs/statistics.md.

Every function takes a 1-D sample (losses or returns, one value per trial). Functions whose name
ends in `_sorted` expect it sorted ascending and do not copy it, which matters when several
statistics are computed from one column of a million trials.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# The levels the C++ summary stores (sim/stats/statistics.hpp).
LOSS_QUANTILE_LEVELS = (0.5, 0.9, 0.95, 0.99, 0.999)
RETURN_QUANTILE_LEVELS = (0.01, 0.05, 0.5, 0.95, 0.99)

# Relative tolerances of statistics.cpp: p*n and n*(1-p) are rounded products, and without them
# 0.07*100 = 7.000000000000001 would round up to rank 8, and a tail count n*(1-p) landing just
# below an integer would lose a whole trial.
_RANK_TOLERANCE = 1e-12

Z95 = 1.959963984540054  # standard normal quantile at 0.975


def quantile_rank(n: int, p: float) -> int:
    """1-based rank k of q_p = x_(k) in a sample of n: ceil(p n (1 - 1e-12)), clamped to [1, n]."""
    if n < 1:
        raise ValueError("quantile of an empty sample")
    # Same operations, in the same order, as quantile_sorted in statistics.cpp.
    rank = math.ceil(p * float(n) * (1.0 - _RANK_TOLERANCE))
    return min(max(rank, 1), n)


def quantile_sorted(s: np.ndarray, p: float) -> float:
    """q_p, the inverted empirical CDF: x_(ceil(p n)) of the ascending sample s (no interpolation)."""
    if s.size == 0:
        return math.nan
    return float(s[quantile_rank(s.size, p) - 1])


def quantile(x, p: float) -> float:
    return quantile_sorted(np.sort(np.asarray(x, dtype=np.float64)), p)


def expected_shortfall_sorted(s: np.ndarray, p: float) -> float:
    """ES_p (Acerbi & Tasche 2002): mean of the worst n(1-p) trials of the ascending sample s, the
    boundary trial counted in part. With t = n(1-p) and k = floor(t):
    ES_p = [x_(n) + ... + x_(n-k+1) + (t - k) x_(n-k)] / t, and x_(n) if t = 0."""
    n = s.size
    if n == 0:
        return math.nan
    tail = float(n) * (1.0 - p)
    k = min(math.floor(tail * (1.0 + _RANK_TOLERANCE)), n)
    # statistics.cpp adds the k largest one by one from the largest down; add.accumulate is a
    # sequential sum in the same order, so the result is the same double, not just close to it.
    total = float(np.add.accumulate(s[::-1][:k])[-1]) if k > 0 else 0.0
    if k < n:
        total += (tail - k) * float(s[n - 1 - k])
    return total / tail if tail > 0.0 else float(s[-1])


def expected_shortfall(x, p: float) -> float:
    return expected_shortfall_sorted(np.sort(np.asarray(x, dtype=np.float64)), p)


# --- weighted trials (importance sampling) ---------------------------------------------------------
# A weighted run's trial i carries its likelihood ratio w_i (Results.weight). The functions below are
# those of sim/stats/statistics.cpp and sim/stats/tally.cpp operation for operation: ufunc.accumulate
# is a sequential loop, so their sums are the same doubles as the C++ ones, not just close.

# The tally's chunk of trials (sim/stats/tally.hpp kTallyChunk): its sums run in trial order within
# chunks of 4096 trials, and the chunks' sums are added in order.
TALLY_CHUNK = 4096


def _sequential_sum(x: np.ndarray) -> float:
    return float(np.add.accumulate(x)[-1]) if x.size else 0.0


def tally_sum(x) -> float:
    """sum of x as the C++ tally adds it (per chunk of TALLY_CHUNK trials, then the chunks in order)."""
    x = np.asarray(x, dtype=np.float64)
    return _sequential_sum(np.array([_sequential_sum(x[i:i + TALLY_CHUNK]) for i in range(0, x.size, TALLY_CHUNK)]))


def sort_weighted(x, w) -> tuple[np.ndarray, np.ndarray]:
    """x ascending with its weights carried along (ties keep trial order, as C++'s stable_sort)."""
    x, w = np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64)
    order = np.argsort(x, kind="stable")
    return x[order], w[order]


def weighted_quantile_sorted(x: np.ndarray, w: np.ndarray, p: float) -> float:
    """q_p of an ascending weighted sample (docs/statistics.md, "Weighted trials"): for p >= 0.5, walking
    down from the largest value, the first whose upper-tail weight, itself included, exceeds
    n (1 - p) (1 + 1e-12); for p < 0.5, walking up, the first whose weight from below reaches
    n p (1 - 1e-12). With every w = 1 it is quantile_sorted."""
    n = x.size
    if n == 0:
        return math.nan
    if p < 0.5:
        target = p * float(n) * (1.0 - _RANK_TOLERANCE)
        above = np.flatnonzero(np.add.accumulate(w) >= target)
        return float(x[above[0]]) if above.size else float(x[-1])
    tail = float(n) * (1.0 - p) * (1.0 + _RANK_TOLERANCE)
    above = np.flatnonzero(np.add.accumulate(w[::-1]) > tail)
    return float(x[n - 1 - above[0]]) if above.size else float(x[0])


def weighted_expected_shortfall_sorted(x: np.ndarray, w: np.ndarray, p: float) -> float:
    """ES_p of an ascending weighted sample: the weighted mean of the upper tail's first n (1 - p) of
    weight, the boundary trial in part; weight missing below the smallest value counts at it."""
    n = x.size
    if n == 0:
        return math.nan
    tail = float(n) * (1.0 - p)
    if tail <= 0.0:
        return float(x[-1])
    xr, wr = x[::-1], w[::-1]
    # left[k]: the weight still to take before trial k (from the top) while every take is a whole weight.
    left = np.subtract.accumulate(np.concatenate(([tail], wr)))
    last = np.flatnonzero(wr >= left[:-1])            # the first trial whose weight covers what is left
    if last.size:
        k = int(last[0])
        terms = np.concatenate((wr[:k] * xr[:k], [left[k] * xr[k]]))
        return _sequential_sum(terms) / tail
    total = _sequential_sum(wr * xr)
    if left[-1] > 0.0:
        total += left[-1] * float(x[0])
    return total / tail


def weight_spread(w) -> tuple[float, float]:
    """(Kish's effective sample size (sum w)^2 / sum w^2, the largest weight's share max w / sum w) of a
    run's weights in trial order, as the C++ tally sums them (/summary/weights)."""
    w = np.asarray(w, dtype=np.float64)
    total = tally_sum(w)
    if not total > 0.0:
        return 0.0, math.nan
    return total * total / tally_sum(w * w), float(w.max()) / total


def weight_spread_above(x: np.ndarray, w: np.ndarray, level: float) -> tuple[float, float]:
    """The same over the trials of an ascending weighted sample with a value above `level`, summed
    from the largest down (/summary/loss/tail_ess95, ...): (0, NaN) when there is none."""
    k = x.size - int(np.searchsorted(x, level, side="right"))
    tail = w[x.size - k:][::-1]
    total = _sequential_sum(tail)
    if not total > 0.0:
        return 0.0, math.nan
    return total * total / _sequential_sum(tail * tail), float(tail.max()) / total


def effective_sample_size(w) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2 of a set of weights (any order)."""
    w = np.asarray(w, dtype=np.float64)
    return float(w.sum() ** 2 / np.sum(w * w)) if w.size and np.sum(w * w) > 0 else 0.0


def weighted_mean(x, w) -> float:
    """The importance-sampling estimate of E[x]: (1/n) sum w x."""
    x, w = np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64)
    return float(np.mean(w * x))


def weighted_probability(event, w) -> float:
    """The importance-sampling estimate of P(event): (1/n) sum of w over the trials where it holds,
    summed as the C++ tally sums it."""
    event, w = np.asarray(event, dtype=bool), np.asarray(w, dtype=np.float64)
    return tally_sum(np.where(event, w, 0.0)) / event.size


def weighted_sd(x, w) -> float:
    """West's weighted spread of x: sqrt(sum w (x - mean_w)^2 / (W - W2/W)); 0 without spread."""
    x, w = np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64)
    W, W2 = float(w.sum()), float(np.sum(w * w))
    divisor = W - W2 / W if W > 0 else 0.0
    if not divisor > 0.0:
        return 0.0
    m = float(np.sum(w * x) / W)
    return math.sqrt(float(np.sum(w * (x - m) ** 2)) / divisor)


def batch_stderr(x, w, statistic, batches: int = 20) -> float:
    """The batch-means standard error of statistic(x_sorted, w_sorted) (/summary/loss/var99_stderr,
    es99_stderr; batch_stderr in C++): the trials, in trial order, cut by numpy.array_split into
    `batches`, the statistic of each, sd (ddof 1) / sqrt(batches); NaN under two trials a batch."""
    x, w = np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64)
    if x.size < 2 * batches:
        return math.nan
    values = np.array([statistic(*sort_weighted(bx, bw)) for bx, bw in zip(np.array_split(x, batches), np.array_split(w, batches))])
    return float(values.std(ddof=1)) / math.sqrt(batches)


def weighted_batch_ci(x, w, statistic, batches: int = 20, level: float = 0.95, presorted=None) -> Interval:
    """A confidence interval for a weighted statistic(x_sorted, w_sorted) by batch means: the trials
    cut into `batches` consecutive batches (independent: trials are), the statistic computed in each,
    and the whole sample's estimate +/- t_(B-1) * sd(batch estimates) / sqrt(B). For quantiles and ES
    of importance-sampled runs, where the order-statistic interval does not apply. `presorted`:
    sort_weighted(x, w), if already at hand."""
    return weighted_batch_cis(x, w, {"": statistic}, batches, level, presorted)[""]


def weighted_batch_cis(x, w, statistics: dict, batches: int = 20, level: float = 0.95, presorted=None) -> dict:
    """weighted_batch_ci of several statistics ({name: statistic}) of one sample, each batch sorted
    once for all of them; returns {name: Interval}."""
    x, w = np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64)
    whole = presorted if presorted is not None else sort_weighted(x, w)
    estimates = {name: statistic(*whole) for name, statistic in statistics.items()}
    if x.size < 2 * batches:
        return {name: Interval(e, -math.inf, math.inf, level) for name, e in estimates.items()}
    values = {name: [] for name in statistics}
    for bx, bw in zip(np.array_split(x, batches), np.array_split(w, batches)):
        sorted_batch = sort_weighted(bx, bw)
        for name, statistic in statistics.items():
            values[name].append(statistic(*sorted_batch))
    t = _t_quantile(0.5 + level / 2.0, batches - 1)
    out = {}
    for name, e in estimates.items():
        half = t * float(np.array(values[name]).std(ddof=1)) / math.sqrt(batches)
        out[name] = Interval(e, e - half, e + half, level)
    return out


def _t_quantile(q: float, dof: int) -> float:
    """Student's t quantile (Hill 1970, Algorithm 396 expansion in the normal quantile; error below
    1e-6 for dof >= 5, which is all batch means use)."""
    z = _normal_quantile(q)
    g1 = (z ** 3 + z) / 4
    g2 = (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96
    g3 = (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384
    g4 = (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / 92160
    return z + g1 / dof + g2 / dof ** 2 + g3 / dof ** 3 + g4 / dof ** 4


# --- confidence intervals -------------------------------------------------------------------------


def binomial_cdf(n: int, p: float) -> tuple[int, np.ndarray]:
    """CDF of Binomial(n, p) on the window of k where it moves: returns (k0, cdf) with
    cdf[i] = P(B <= k0 + i); below the window the CDF is < 1e-30, above it within 1e-30 of 1.
    Exact arithmetic in logs (no normal approximation), O(sqrt(n)) work."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"probability {p} outside [0, 1]")
    if p == 0.0 or p == 1.0 or n == 0:
        k = 0 if p == 0.0 or n == 0 else n
        return k, np.ones(1)
    sd = math.sqrt(n * p * (1.0 - p))
    lo = max(0, math.floor(n * p - 14.0 * sd - 20.0))
    hi = min(n, math.ceil(n * p + 14.0 * sd + 20.0))
    k = np.arange(lo, hi + 1, dtype=np.float64)
    log_pmf0 = (math.lgamma(n + 1) - math.lgamma(lo + 1) - math.lgamma(n - lo + 1)
                + lo * math.log(p) + (n - lo) * math.log1p(-p))
    # log pmf(k+1) - log pmf(k) = log((n-k)/(k+1)) + log(p/(1-p))
    steps = np.log((n - k[:-1]) / (k[:-1] + 1.0)) + (math.log(p) - math.log1p(-p))
    log_pmf = log_pmf0 + np.concatenate(([0.0], np.cumsum(steps)))
    return lo, np.cumsum(np.exp(log_pmf))


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float
    level: float = 0.95

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


def quantile_ci_ranks(n: int, p: float, level: float = 0.95) -> tuple[int, int]:
    """1-based ranks (l, u) with P(x_(l) <= xi_p <= x_(u)) >= level for any distribution
    (distribution-free order-statistic interval: the count of trials at or below the true
    quantile xi_p is Binomial(n, p)). l = 0 means no lower bound, u = n + 1 no upper bound: the
    sample is too small for that level."""
    alpha = 1.0 - level
    k0, cdf = binomial_cdf(n, p)
    # Largest l with P(B <= l - 1) <= alpha/2 and smallest u with P(B <= u - 1) >= 1 - alpha/2.
    below = np.flatnonzero(cdf <= alpha / 2.0)
    l = k0 + int(below[-1]) + 1 if below.size else (k0 if k0 > 0 else 0)
    above = np.flatnonzero(cdf >= 1.0 - alpha / 2.0)
    u = k0 + int(above[0]) + 1 if above.size else n + 1
    return l, min(u, n + 1)


def quantile_ci_sorted(s: np.ndarray, p: float, level: float = 0.95) -> Interval:
    """q_p with its distribution-free order-statistic confidence interval [x_(l), x_(u)];
    a bound the sample cannot give (too few trials in the tail) is -inf / +inf."""
    n = s.size
    l, u = quantile_ci_ranks(n, p, level)
    low = float(s[l - 1]) if l >= 1 else -math.inf
    high = float(s[u - 1]) if u <= n else math.inf
    return Interval(quantile_sorted(s, p), low, high, level)


def mean_ci(x, level: float = 0.95) -> Interval:
    """Sample mean with the normal (CLT) interval mean +/- z * sd / sqrt(n)."""
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    m = float(x.mean())
    se = float(x.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    z = _normal_quantile(0.5 + level / 2.0)
    return Interval(m, m - z * se, m + z * se, level)


def expected_shortfall_ci_sorted(s: np.ndarray, p: float, level: float = 0.95) -> Interval:
    """ES_p with the asymptotic normal interval of Manistre & Hancock (2005, NAAJ 9(2)):
    Var(ES) ~ [Var(X | X >= VaR) + p (ES - VaR)^2] / (n (1 - p))."""
    n = s.size
    es = expected_shortfall_sorted(s, p)
    var = quantile_sorted(s, p)
    k = max(1, min(n, math.floor(n * (1.0 - p) * (1.0 + _RANK_TOLERANCE))))
    tail = s[n - k:]
    tail_var = float(tail.var(ddof=1)) if k > 1 else 0.0
    tail_n = n * (1.0 - p)
    se = math.sqrt((tail_var + p * (es - var) ** 2) / tail_n) if tail_n > 0 else math.nan
    z = _normal_quantile(0.5 + level / 2.0)
    return Interval(es, es - z * se, es + z * se, level)


def wilson_interval(k, n: int, level: float = 0.95):
    """Wilson score interval for a binomial proportion k / n (vectorised over k)."""
    k = np.asarray(k, dtype=np.float64)
    z = _normal_quantile(0.5 + level / 2.0)
    phat = k / n
    denom = 1.0 + z * z / n
    centre = (phat + z * z / (2.0 * n)) / denom
    half = z / denom * np.sqrt(phat * (1.0 - phat) / n + z * z / (4.0 * n * n))
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def _normal_quantile(q: float) -> float:
    """Standard normal quantile (Acklam's rational approximation refined by one Newton step; error
    below 1e-12), so the package needs nothing beyond numpy."""
    if q == 0.975:
        return Z95
    if not 0.0 < q < 1.0:
        raise ValueError(f"normal quantile of {q}")
    a = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
         1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00)
    b = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
         6.680131188771972e01, -1.328068155288572e01)
    c = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
         -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00)
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
    if q < 0.02425:
        t = math.sqrt(-2.0 * math.log(q))
        x = (((((c[0] * t + c[1]) * t + c[2]) * t + c[3]) * t + c[4]) * t + c[5]) / \
            ((((d[0] * t + d[1]) * t + d[2]) * t + d[3]) * t + 1.0)
    elif q > 1.0 - 0.02425:
        t = math.sqrt(-2.0 * math.log1p(-q))
        x = -(((((c[0] * t + c[1]) * t + c[2]) * t + c[3]) * t + c[4]) * t + c[5]) / \
            ((((d[0] * t + d[1]) * t + d[2]) * t + d[3]) * t + 1.0)
    else:
        r = q - 0.5
        t = r * r
        x = (((((a[0] * t + a[1]) * t + a[2]) * t + a[3]) * t + a[4]) * t + a[5]) * r / \
            (((((b[0] * t + b[1]) * t + b[2]) * t + b[3]) * t + b[4]) * t + 1.0)
    e = 0.5 * math.erfc(-x / math.sqrt(2.0)) - q
    return x - e * math.sqrt(2.0 * math.pi) * math.exp(x * x / 2.0)


# --- the C++ summary, recomputed ------------------------------------------------------------------


def _weighted_moments(x: np.ndarray, w: np.ndarray) -> dict:
    # The mean and its standard error are those of w x (the importance-sampling estimator), the sd
    # West's spread of x itself (sim/stats/statistics.hpp WeightedMoments).
    n = x.size
    wx = w * x
    se = float(wx.std(ddof=1)) / math.sqrt(n) if n > 1 else 0.0
    return {"mean": float(wx.mean()), "sd": weighted_sd(x, w), "stderr": se}


def summarize_loss(x, w=None, presorted=None) -> dict:
    """The fields of /summary/loss for one holder's loss column (as summarize_loss in C++); with the
    trials' weights `w` (a weighted run), the weighted estimators and the tail diagnostics.
    `presorted`: (x ascending, its weights) as sort_weighted(x, w) gives them, if already at hand
    (the weights are not read in plain Monte Carlo: scan.TrialColumns gives None)."""
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    if w is None:
        s = np.sort(x) if presorted is None else presorted[0]
        sd = float(x.std(ddof=1)) if n > 1 else 0.0
        return {
            "mean": float(x.mean()), "sd": sd, "stderr": sd / math.sqrt(n) if n > 1 else 0.0,
            "p_loss": float(np.count_nonzero(x > 0.0)) / n,
            "var95": quantile_sorted(s, 0.95), "var99": quantile_sorted(s, 0.99),
            "es95": expected_shortfall_sorted(s, 0.95), "es99": expected_shortfall_sorted(s, 0.99),
            "quantiles": np.array([quantile_sorted(s, p) for p in LOSS_QUANTILE_LEVELS]),
        }
    w = np.asarray(w, dtype=np.float64)
    s, sw = sort_weighted(x, w) if presorted is None else presorted
    out = _weighted_moments(x, w)
    out["p_loss"] = weighted_probability(x > 0.0, w)
    for p, name in ((0.95, "95"), (0.99, "99")):
        out["var" + name] = weighted_quantile_sorted(s, sw, p)
        out["es" + name] = weighted_expected_shortfall_sorted(s, sw, p)
        ess, share = weight_spread_above(s, sw, out["var" + name])
        out["tail_ess" + name], out["tail_max_weight_share" + name] = ess, share
    out["quantiles"] = np.array([weighted_quantile_sorted(s, sw, p) for p in LOSS_QUANTILE_LEVELS])
    out["var99_stderr"] = batch_stderr(x, w, lambda a, b: weighted_quantile_sorted(a, b, 0.99))
    out["es99_stderr"] = batch_stderr(x, w, lambda a, b: weighted_expected_shortfall_sorted(a, b, 0.99))
    return out


def summarize_return(x, w=None, presorted=None) -> dict:
    """The fields of /summary/net_return for one holder's net-return column (weighted with `w`;
    `presorted` as for summarize_loss)."""
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    if w is None:
        s = np.sort(x) if presorted is None else presorted[0]
        sd = float(x.std(ddof=1)) if n > 1 else 0.0
        return {
            "mean": float(x.mean()), "sd": sd, "stderr": sd / math.sqrt(n) if n > 1 else 0.0,
            "p_negative": float(np.count_nonzero(x < 0.0)) / n,
            "quantiles": np.array([quantile_sorted(s, p) for p in RETURN_QUANTILE_LEVELS]),
        }
    w = np.asarray(w, dtype=np.float64)
    s, sw = sort_weighted(x, w) if presorted is None else presorted
    out = _weighted_moments(x, w)
    out["p_negative"] = weighted_probability(x < 0.0, w)
    out["quantiles"] = np.array([weighted_quantile_sorted(s, sw, p) for p in RETURN_QUANTILE_LEVELS])
    return out
