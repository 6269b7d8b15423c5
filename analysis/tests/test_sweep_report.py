"""The sweep report: the 'what keeps VaR 99% under X' reading on hand-worked curves, readable labels,
bands, and the page written from a sweep file of the real CLI."""
import math

import h5py
import numpy as np
import pandas as pd
import pytest

from conftest import SCENARIO, run_cli
from restake_analysis import Sweep
from restake_analysis import statistics as st
from restake_analysis.__main__ import main
from restake_analysis.plots import pct
from restake_analysis.sweep_report import (Crossing, crossing, metric_band, metric_label, parameter_label, parse_limit,
                                           plot_heatmap, plot_metric, reading_text, value_text, var_limit_crossings)

RATE = "avs.oracle.faulty_annual_probability"
SLASH = "avs.oracle.slashing.wrong-price.annual_probability"
POOL = "pool.lrt-coverage.balance_eth"


def test_a_falling_curve_is_under_the_limit_from_its_interpolated_crossing_with_the_bands_crossings_as_interval():
    # A pool: VaR 8%, 6%, 4%, 2% at 0, 1000, 2000, 3000 ETH; the limit 5% lies halfway from 6% to 4%,
    # so 1000 + (5 - 6) / (4 - 6) x 1000 = 1500 ETH. The band +/- 0.5 point: the lower curve
    # (5.5% at 1000, 3.5% at 2000) crosses at 1000 + 0.5 / 2 x 1000 = 1250, the upper at 1750.
    x = [0, 1000, 2000, 3000]
    y = np.array([0.08, 0.06, 0.04, 0.02])
    c = crossing(x, y, 0.05, y - 0.005, y + 0.005)
    assert c.kind == "from"
    assert c.x == pytest.approx(1500.0, abs=1e-9)
    assert (c.low, c.high) == (pytest.approx(1250.0, abs=1e-9), pytest.approx(1750.0, abs=1e-9))


def test_a_rising_curve_is_under_the_limit_up_to_its_crossing():
    # An allocation: 1%, 3%, 7%, 9% at 0, 0.1, 0.2, 0.3; 5% is halfway from 3% to 7%: 0.15.
    c = crossing([0.0, 0.1, 0.2, 0.3], [0.01, 0.03, 0.07, 0.09], 0.05)
    assert c.kind == "up_to" and c.x == pytest.approx(0.15, abs=1e-15)
    assert math.isnan(c.low) and math.isnan(c.high)  # no band given: no interval
    # The band's upper curve is above the limit everywhere: the interval reaches below the range;
    # its lower curve stays under it everywhere: the interval reaches beyond it.
    c = crossing([0.0, 0.1, 0.2, 0.3], [0.01, 0.03, 0.07, 0.09], 0.05, [0.0] * 4, [0.06] * 4)
    assert (c.low, c.high) == (-math.inf, math.inf)
    # A point exactly at the limit counts as under: 0.2 itself is the largest allocation.
    c = crossing([0.0, 0.1, 0.2, 0.3], [0.01, 0.03, 0.05, 0.09], 0.05)
    assert c.kind == "up_to" and c.x == pytest.approx(0.2, abs=1e-15)


def test_always_never_and_several_crossings_are_said_as_such():
    assert crossing([1, 2, 3], [0.01, 0.02, 0.03], 0.05).kind == "always"
    assert crossing([1, 2, 3], [0.06, 0.07, 0.08], 0.05).kind == "never"
    c = crossing([1, 2, 3, 4], [0.06, 0.04, 0.04, 0.06], 0.05)
    assert c.kind == "several"
    assert c.crossings == [(pytest.approx(1.5), "down"), (pytest.approx(3.5), "up")]
    with pytest.raises(ValueError):
        crossing([2, 1], [0.1, 0.2], 0.05)


def test_limits_labels_and_values_are_readable():
    assert parse_limit("5%") == pytest.approx(0.05) and parse_limit("0.05") == 0.05
    for bad in ("5", "0%", "abc", "150%"):
        with pytest.raises(ValueError):
            parse_limit(bad)
    assert metric_label("loss/var99") == "VaR 99% (% of initial value)"
    assert metric_label("loss/p_loss") == "P(loss > 0) (%)"
    assert parameter_label(POOL) == "pool lrt-coverage: balance (ETH)"
    assert parameter_label(SLASH) == "avs oracle, slashing wrong-price: annual probability (%)"
    assert parameter_label("simulation.horizon_days") == "simulation: horizon (days)"
    assert parameter_label("ethereum.fork", "string") == "ethereum: fork"
    assert value_text(1e4, POOL) == "10,000 ETH"
    assert value_text(0.021544346900318832, RATE) == "2.154%"
    assert value_text(0.030000000000000002, RATE) == "3%"
    c = Crossing("from", 1500.0, 1250.0, math.inf)
    from restake_analysis.sweep_report import LimitReading
    assert reading_text(LimitReading("h", "", c, True), POOL, 0.05) == \
        "VaR 99% at or under 5% from 1,500 ETH (95% interval 1,250 ETH to beyond the swept range)"


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    d = tmp_path_factory.mktemp("sweep-report")
    one = d / "one.toml"
    one.write_text(f'[sweep]\nscenario = "{SCENARIO}"\ntrials = 3000\nseed = 5\n'
                   f'[[sweep.parameter]]\npath = "{RATE}"\nvalues = [0.001, 0.01, 0.03, 0.1, 0.3]\n')
    two = d / "two.toml"
    two.write_text(f'[sweep]\nscenario = "{SCENARIO}"\ntrials = 2000\n'
                   f'[[sweep.parameter]]\npath = "{SLASH}"\nvalues = [0.0, 0.05, 0.2]\n'
                   f'[[sweep.parameter]]\npath = "{POOL}"\nvalues = [0, 1000, 20000]\n')
    run_cli("sweep", one, "-o", d / "one.h5", "-q", "--records")
    run_cli("sweep", two, "-o", d / "two.h5", "-q")
    return d


def test_the_reading_interpolates_the_files_var99_between_the_two_points_around_the_limit(sweeps):
    with Sweep(sweeps / "one.h5") as s:
        x = s.parameter_values(RATE)
        y = s.metric("loss/var99", "rsETH-like")
        assert np.all(np.diff(y) >= 0) and y[-1] > y[0]   # common random numbers: a monotone curve
        limit = float((y[2] + y[3]) / 2)                   # halfway between the third and fourth points
        xp, readings = var_limit_crossings(s, limit)
        assert xp == RATE
        r = next(r for r in readings if r.holder == "rsETH-like")
        assert r.crossing.kind == "up_to"
        assert r.crossing.x == pytest.approx((x[2] + x[3]) / 2, rel=1e-12)   # halfway in x too
        # The band: with records, each point's order-statistic interval of the 0.99 quantile.
        low, high = metric_band(s, "loss/var99", "rsETH-like")
        with h5py.File(sweeps / "one.h5") as f:
            h = s.holder_names.index("rsETH-like")
            for p in range(s.points):
                ci = st.quantile_ci_sorted(np.sort(f["trials/loss_fraction"][p, :, h]), 0.99)
                assert (low[p], high[p]) == (ci.low, ci.high)
        assert r.band and r.crossing.low <= r.crossing.x <= r.crossing.high
        # The unrestaked LST is far under any such limit at every rate; the page says how far.
        lst = next(r for r in readings if r.holder == "stETH-like")
        assert lst.crossing.kind == "always"
        y_lst = s.metric("loss/var99", "stETH-like")
        assert lst.nearest[1] == y_lst.max()
        assert reading_text(lst, RATE, limit).startswith("VaR 99% is at or under")
        assert f"(highest {pct(y_lst.max())} at " in reading_text(lst, RATE, limit)


def test_the_plots_carry_units_readable_labels_bands_and_one_line_per_value_of_the_second_parameter(sweeps, tmp_path):
    with Sweep(sweeps / "one.h5") as s:
        fig = plot_metric(s, RATE, "loss/mean")
        fig.savefig(tmp_path / "mean.png")
        ax = fig.axes[0]
        assert ax.get_xlabel() == "avs oracle: faulty annual probability (%)"
        assert ax.get_ylabel() == "Mean loss (% of initial value)"
        line = {l.get_label(): l for l in ax.get_lines()}["rsETH-like"]
        np.testing.assert_array_equal(line.get_xdata(), s.parameter_values(RATE) * 100)
        np.testing.assert_array_equal(line.get_ydata(), s.metric("loss/mean", "rsETH-like") * 100)
        assert len(ax.collections) == len(s.holder_names)   # one band per holder: mean +/- 1.96 se
        band = ax.collections[0].get_paths()[0].vertices[:, 1]
        se = s.metric("loss/stderr", s.holder_names[0])
        mean = s.metric("loss/mean", s.holder_names[0])
        assert band.max() == pytest.approx(100 * (mean + 1.959963984540054 * se).max())
    with Sweep(sweeps / "two.h5") as s:
        fig = plot_metric(s, SLASH, "loss/var99", by=POOL)
        fig.savefig(tmp_path / "by.png")
        panels = [a for a in fig.axes if a.get_visible()]
        assert [a.get_title() for a in panels] == s.holder_names
        assert [l.get_label() for l in panels[0].get_lines()] == ["0 ETH", "1,000 ETH", "20,000 ETH"]
        assert panels[0].get_legend().get_title().get_text() == "pool lrt-coverage: balance (ETH)"
        assert len(panels[0].collections) == 0   # a plain sweep without records stores no error of its VaR
        fig = plot_heatmap(s, SLASH, POOL, "loss/var99", "rsETH-like")
        fig.savefig(tmp_path / "heat.png")
        ax = fig.axes[0]
        assert [t.get_text() for t in ax.get_xticklabels()] == ["0%", "5%", "20%"]
        assert [t.get_text() for t in ax.get_yticklabels()] == ["0 ETH", "1,000 ETH", "20,000 ETH"]
        m = ax.get_images()[0].get_array()
        var99 = s.metric("loss/var99", "rsETH-like")
        assert m[0, 0] == var99[0] * 100


def test_report_of_a_sweep_writes_the_page_a_table_per_point_and_the_reading(sweeps, tmp_path, capsys):
    out = tmp_path / "rep"
    with Sweep(sweeps / "one.h5") as s:
        y = s.metric("loss/var99", "rsETH-like")
        limit = float((y[2] + y[3]) / 2)
    assert main(["report", str(sweeps / "one.h5"), "-o", str(out), "--var-limit", f"{limit * 100}%"]) == 0
    page = (out / "index.html").read_text()
    assert "What keeps VaR 99% under" in page
    assert page.count("<summary>Point ") == 5
    assert "VaR 99% at or under" in page and "up to" in page
    assert (out / "figures" / "loss_var99.png").exists()
    frame = pd.read_csv(out / "points.csv", float_precision="round_trip")
    with h5py.File(sweeps / "one.h5") as f:
        var99 = f["summary/loss/var99"][()]
        for _, row in frame.iterrows():
            assert row["loss/var99"] == var99[row["point"], list(f["holders/names"].asstr()[()]).index(row["holder"])]
    assert main(["report", str(sweeps / "two.h5"), "-o", str(tmp_path / "rep2"), "--var-limit", "5%"]) == 0
    page = (tmp_path / "rep2" / "index.html").read_text()
    assert "pool lrt-coverage: balance (ETH) = 20,000 ETH" in page   # one reading per pool size
    assert (tmp_path / "rep2" / "figures" / "heatmap_var99_rsETH-like.png").exists()


def test_report_refuses_a_sweep_with_other_files_a_bad_limit_and_a_limit_on_a_results_file(sweeps, files, tmp_path, capsys):
    assert main(["report", str(sweeps / "one.h5"), str(files["minimal"]), "-o", str(tmp_path / "a")]) == 2
    assert "reported alone" in capsys.readouterr().err
    assert main(["report", str(sweeps / "one.h5"), "-o", str(tmp_path / "b"), "--var-limit", "five"]) == 2
    assert "--var-limit: expected a share" in capsys.readouterr().err
    assert main(["report", str(sweeps / "one.h5"), "-o", str(tmp_path / "c"), "--along", "nope"]) == 2
    assert "--along: no parameter 'nope'" in capsys.readouterr().err
    assert main(["report", str(files["minimal"]), "-o", str(tmp_path / "d"), "--var-limit", "5%"]) == 2
    assert "is not one" in capsys.readouterr().err
    assert not (tmp_path / "b").exists() and not (tmp_path / "d").exists()
