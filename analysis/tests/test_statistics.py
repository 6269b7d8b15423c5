"""The statistics of docs/statistics.md: definitions, confidence intervals, and the same numbers as
the C++ summary on the same files."""
import json
import math

import numpy as np
import pytest

from conftest import SCENARIO, run_cli
from restake_analysis import Results
from restake_analysis import statistics as st

ORDER_FIELDS = {"loss": ("var95", "var99", "es95", "es99", "quantiles", "p_loss"),
                "net_return": ("quantiles", "p_negative")}
MOMENTS = ("mean", "sd", "stderr")
BATCH_ERRORS = ("var99_stderr", "es99_stderr")  # sd of batch estimates: Welford in C++, numpy here


def test_the_quantile_is_the_inverted_empirical_cdf_without_interpolation():
    x = np.arange(1.0, 101.0)[::-1]          # 100..1, unsorted on purpose
    assert 0.07 * 100 == 7.000000000000001   # the float edge the rank tolerance is for:
    assert st.quantile(x, 0.07) == 7.0       # x_(7), as in statistics.cpp, not x_(8)
    assert np.quantile(x, 0.07, method="inverted_cdf") == 8.0  # where numpy differs
    assert st.quantile(x, 0.95) == 95.0
    assert st.quantile(x, 0.5) == 50.0
    assert st.quantile(x, 0.999) == 100.0
    assert st.quantile(x, 0.0) == 1.0        # rank clamped to 1
    assert st.quantile_rank(20000, 0.99) == 19800
    rng = np.random.default_rng(1)
    for n in (1, 2, 7, 100, 1234, 20000):
        y = rng.exponential(size=n)
        for p in (0.01, 0.05, 0.5, 0.9, 0.95, 0.99, 0.999):
            assert st.quantile(y, p) == np.quantile(y, p, method="inverted_cdf")


def test_expected_shortfall_splits_the_boundary_trial():
    x = np.array([5.0, 1.0, 9.0, 3.0, 7.0, 2.0, 8.0, 4.0, 10.0, 6.0])
    # n = 10, p = 0.75: t = 2.5, k = 2 -> (10 + 9 + 0.5 * 8) / 2.5
    assert st.expected_shortfall(x, 0.75) == pytest.approx((10 + 9 + 0.5 * 8) / 2.5, rel=1e-15)
    assert st.expected_shortfall(x, 0.9) == 10.0        # t = 1: the largest
    assert st.expected_shortfall(x, 1.0) == 10.0        # t = 0: the largest by definition
    assert st.expected_shortfall(x, 0.0) == pytest.approx(x.mean())
    assert math.isnan(st.expected_shortfall(np.array([]), 0.99))


@pytest.mark.parametrize("name", ["default", "n1234", "n100", "two"])
def test_python_summary_equals_the_cpp_summary_on_the_same_file(files, name):
    with Results(files[name]) as r:
        mine = r.recompute_summary()
        for group, fields in ORDER_FIELDS.items():
            stored = getattr(r.summary, group)
            for f in fields:
                # Order statistics and probabilities: the same doubles, not just close.
                np.testing.assert_array_equal(mine[group][f], stored[f], err_msg=f"{name} {group}.{f}")
            for f in MOMENTS:
                # Welford in C++ vs numpy's pairwise sum: equal up to summation rounding.
                np.testing.assert_allclose(mine[group][f], stored[f], rtol=1e-12, atol=0,
                                           err_msg=f"{name} {group}.{f}")


WEIGHTED_FIELDS = ("tail_ess95", "tail_max_weight_share95", "tail_ess99", "tail_max_weight_share99")


@pytest.mark.parametrize("name", ["weighted", "weighted_two"])
def test_python_summary_of_a_weighted_file_equals_the_cpp_summary(files, name):
    with Results(files[name]) as r:
        assert r.weighted
        mine = r.recompute_summary()
        for group, fields in ORDER_FIELDS.items():
            stored = getattr(r.summary, group)
            for f in fields + (WEIGHTED_FIELDS if group == "loss" else ()):
                # Weighted quantiles, ES, probabilities (tally sums) and tail diagnostics: the same doubles.
                np.testing.assert_array_equal(mine[group][f], stored[f], err_msg=f"{name} {group}.{f}")
            for f in MOMENTS:
                np.testing.assert_allclose(mine[group][f], stored[f], rtol=1e-12, atol=0, err_msg=f"{name} {group}.{f}")
            for f in BATCH_ERRORS if group == "loss" else ():  # an sd of equal batch values: 0 in C++, ~1e-21 in numpy
                np.testing.assert_allclose(mine[group][f], stored[f], rtol=1e-12, atol=1e-18, err_msg=f"{name} {group}.{f}")
        assert np.all(np.isfinite(r.summary.loss["var99_stderr"])) and np.all(r.summary.loss["es99_stderr"] > 0)
        assert mine["weights"] == r.summary.weights          # effective sample size, largest weight's share
        assert all(v == 0.0 for k, v in r.summary_mismatch().items() if k.split(".")[1] not in MOMENTS + BATCH_ERRORS)
        # The weights matter: the plain statistics of the same records are other numbers.
        plain = st.summarize_loss(r.loss_fraction[:, 0])
        assert plain["mean"] != pytest.approx(r.summary.loss["mean"][0], rel=1e-3)


def test_weighted_statistics_with_unit_weights_are_the_plain_ones_bit_for_bit():
    rng = np.random.default_rng(3)
    for n in (1, 7, 100, 1234, 5000):
        x = np.where(rng.random(n) < 0.7, 0.0, rng.exponential(size=n))
        s = np.sort(x)
        one = np.ones(n)
        for p in (0.01, 0.05, 0.5, 0.9, 0.95, 0.99, 0.999):
            assert st.weighted_quantile_sorted(s, one, p) == st.quantile_sorted(s, p), (n, p)
        for p in (0.5, 0.95, 0.99):
            # The same boundary, summed in another order: equal to the last bits of the sum.
            assert st.weighted_expected_shortfall_sorted(s, one, p) == pytest.approx(st.expected_shortfall_sorted(s, p),
                                                                                   rel=1e-13, abs=1e-300)
        assert st.weight_spread(one) == (n, 1 / n)
        assert st.weighted_probability(x > 0, one) == np.count_nonzero(x > 0) / n


def test_weighted_statistics_by_hand():
    x = np.array([0.0, 0.1, 0.2, 0.5])
    w = np.array([1.0, 1.0, 2.0, 1.0])
    # n (1 - p) = 4 x 0.25 = 1 of upper-tail weight: 0.5 (weight 1) holds it, not more -> the next one.
    assert st.weighted_quantile_sorted(x, w, 0.75) == 0.2
    assert st.weighted_quantile_sorted(x, w, 0.9) == 0.5        # 0.4 of weight: 0.5 alone exceeds it
    assert st.weighted_quantile_sorted(x, w, 0.25) == 0.0       # 1 of weight from below: reached at 0.0
    assert st.weighted_expected_shortfall_sorted(x, w, 0.5) == pytest.approx((0.5 + 1.0 * 0.2) / 2.0)
    assert st.weighted_expected_shortfall_sorted(x, w * 0.1, 0.5) == pytest.approx(
        (0.1 * 0.5 + 0.2 * 0.2 + 0.1 * 0.1 + 0.1 * 0.0 + 1.6 * 0.0) / 2.0)   # too light: the rest at the smallest
    assert st.weight_spread_above(x, w, 0.1) == (9 / 5, 2 / 3)
    ess, share = st.weight_spread_above(x, w, 0.5)
    assert ess == 0.0 and math.isnan(share)
    assert st.effective_sample_size(w) == 25 / 7
    # A tally sum is chunked: the same double as a sequential sum over each chunk, then the chunks.
    y = np.random.default_rng(1).random(10_000)
    chunks = [float(np.add.accumulate(y[i:i + 4096])[-1]) for i in (0, 4096, 8192)]
    assert st.tally_sum(y) == (chunks[0] + chunks[1]) + chunks[2]


def test_batch_means_interval_covers_a_known_mean_of_weighted_samples():
    # Exponential(1) sampled from exponential(1/2) with weights f/g: the tail estimate is unbiased.
    rng = np.random.default_rng(5)
    covered = 0
    for _ in range(200):
        y = rng.exponential(2.0, size=4000)
        w = np.exp(-y) / (0.5 * np.exp(-y / 2))
        ci = st.weighted_batch_ci(y, w, lambda s, sw: st.weighted_quantile_sorted(s, sw, 0.99))
        covered += ci.contains(-math.log(0.01))
    assert 0.88 <= covered / 200 <= 0.995


def test_python_numbers_equal_the_cli_json_summary(files):
    proc = run_cli("summary", files["n1234"], "--json")
    doc = json.loads(proc.stdout)
    with Results(files["n1234"]) as r:
        for h, holder in enumerate(doc["holders"]):
            x = np.sort(r.loss_fraction[:, h])
            assert holder["name"] == r.holder_names[h]
            assert holder["loss"]["var99"] == st.quantile_sorted(x, 0.99)
            assert holder["loss"]["es99"] == st.expected_shortfall_sorted(x, 0.99)
            assert holder["loss"]["es95"] == st.expected_shortfall_sorted(x, 0.95)
            for p, value in holder["loss"]["quantiles"].items():
                assert value == st.quantile_sorted(x, float(p)), p
            ret = np.sort(r.net_return[:, h])
            for p, value in holder["net_return"]["quantiles"].items():
                assert value == st.quantile_sorted(ret, float(p)), p
            assert holder["loss"]["p_loss"] == np.count_nonzero(x > 0) / x.size


def test_binomial_cdf_matches_the_exact_sum():
    for n, p in ((10, 0.3), (57, 0.9), (200, 0.01), (1000, 0.5)):
        k0, cdf = st.binomial_cdf(n, p)
        exact = np.cumsum([math.comb(n, k) * p ** k * (1 - p) ** (n - k) for k in range(n + 1)])
        np.testing.assert_allclose(cdf, exact[k0:k0 + cdf.size], rtol=1e-9, atol=1e-15)
        assert k0 == 0 or exact[k0 - 1] < 1e-30          # what the window leaves out is negligible


def test_order_statistic_interval_of_the_median_of_100_is_x40_to_x61():
    # The textbook ranks (e.g. Conover, Practical Nonparametric Statistics, table A3).
    assert st.quantile_ci_ranks(100, 0.5) == (40, 61)
    # Too few trials for an upper bound on the 99.9% quantile:
    l, u = st.quantile_ci_ranks(100, 0.999)
    assert u == 101
    ci = st.quantile_ci_sorted(np.arange(100.0), 0.999)
    assert ci.high == math.inf and ci.low <= ci.estimate


def test_order_statistic_interval_covers_the_true_quantile_at_least_95_percent():
    rng = np.random.default_rng(7)
    n, p, reps = 300, 0.9, 2000
    true_q = -math.log(1 - p)                   # exponential(1)
    l, u = st.quantile_ci_ranks(n, p)
    samples = np.sort(rng.exponential(size=(reps, n)), axis=1)
    covered = np.mean((samples[:, l - 1] <= true_q) & (true_q <= samples[:, u - 1]))
    assert covered >= 0.94                      # nominal >= 0.95, minus Monte Carlo noise
    assert covered <= 0.985                     # and not absurdly wide


def test_mean_interval_uses_the_same_standard_error_as_the_cpp_summary(default):
    for h in range(3):
        ci = st.mean_ci(default.loss_fraction[:, h])
        assert ci.estimate == pytest.approx(default.summary.loss["mean"][h], rel=1e-12)
        half = (ci.high - ci.low) / 2
        assert half == pytest.approx(st.Z95 * default.summary.loss["stderr"][h], rel=1e-9)


def test_expected_shortfall_interval_brackets_the_estimate(default):
    x = np.sort(default.loss_fraction[:, 0])
    ci = st.expected_shortfall_ci_sorted(x, 0.99)
    assert ci.estimate == default.summary.loss["es99"][0]
    assert ci.low < ci.estimate < ci.high
    assert (ci.high - ci.low) / ci.estimate < 0.5


def test_wilson_interval_and_normal_quantile():
    lo, hi = st.wilson_interval(np.array([0, 5, 10]), 10)
    assert lo[0] == 0.0 and hi[0] == pytest.approx(st.Z95 ** 2 / (10 + st.Z95 ** 2))
    assert lo[1] < 0.5 < hi[1] and hi[2] == pytest.approx(1.0) and lo[2] < 1.0
    assert st._normal_quantile(0.995) == pytest.approx(2.5758293035489004, abs=1e-12)
    assert st._normal_quantile(0.05) == pytest.approx(-1.6448536269514729, abs=1e-12)


def test_the_cli_json_of_a_weighted_file_names_its_estimator_and_python_agrees(files):
    doc = json.loads(run_cli("summary", files["weighted"], "--json").stdout)
    assert doc["estimator"] == "importance sampling"
    with Results(files["weighted"]) as r:
        ess, share = st.weight_spread(r.weight)
        assert doc["weights"]["effective_sample_size"] == ess and doc["weights"]["max_weight_share"] == share
        assert doc["weights"]["defensive"] == r.tilt.defensive
        assert doc["weights"]["tilted_sources"] == {s: {"rate_factor": f, "size_exponent": b} for s, f, b in r.tilt.tilted()}
        for h, holder in enumerate(doc["holders"]):
            mine = st.summarize_loss(r.loss_fraction[:, h], r.weight)
            assert holder["loss"]["var99"] == mine["var99"] and holder["loss"]["es99"] == mine["es99"]
            assert holder["loss"]["beyond_var99"]["effective_sample_size"] == mine["tail_ess99"]
    table = run_cli("summary", files["weighted"]).stdout
    assert "estimator: importance sampling - 5000 trials" in table
    assert "estimator" not in run_cli("summary", files["n100"]).stdout


def test_a_tail_run_s_target_estimates_agree_with_python_on_its_records(tmp_path):
    out = tmp_path / "tail.h5"
    run_cli("run", SCENARIO, "-o", out, "--trials", "20000", "--seed", "5", "--no-progress", "-q",
            "--tail", "rsETH-like:quantile=0.999")
    with Results(out) as r:
        t = r.tail
        assert t["holder_name"] == "rsETH-like" and t["holder"] == 0 and t["quantile_level"] == 0.999
        loss, w = r.loss_fraction[:, 0], r.weight
        hits = np.where(loss >= t["loss"], w, 0.0)
        assert t["probability"] == pytest.approx(hits.mean(), rel=1e-12)
        assert t["probability_stderr"] == pytest.approx(hits.std(ddof=1) / math.sqrt(hits.size), rel=1e-9)
        # The quantile: the same weighted rule; its standard error, the report's batch means.
        ci = st.weighted_batch_ci(loss, w, lambda x, v: st.weighted_quantile_sorted(x, v, 0.999), batches=20)
        assert t["quantile"] == ci.estimate
        half = (ci.high - ci.low) / 2
        assert t["quantile_stderr"] * st._t_quantile(0.975, 19) == pytest.approx(half, rel=1e-5)
    with Results(run_cli_plain(tmp_path)) as r:
        assert r.tail is None


def run_cli_plain(tmp_path):
    out = tmp_path / "plain.h5"
    run_cli("run", SCENARIO, "-o", out, "--trials", "200", "--no-progress", "-q")
    return out
