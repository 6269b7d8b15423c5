"""The report's risk views (risk_views.py) against the simulator's own numbers and by hand."""
import math
import re

import numpy as np
import pytest

from conftest import REPO, run_cli
from restake_analysis import Results
from restake_analysis import risk_views as rv


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("views") / "eco.h5"
    run_cli("run", str(REPO / "scenarios" / "ecosystem.toml"), "-o", str(out), "--trials", "20000", "--threshold",
            "1%,10%", "--contributions", "--no-progress", "-q")
    return out


def test_exceedance_by_hand():
    # 5 of 100 at or above 0.1: Wilson's interval [0.02154, 0.11175]; weighted: p = 0.75, se 0.478714.
    loss = np.array([0.2] * 5 + [0.0] * 95)
    p, se, lo, hi = rv.exceedance(loss, None, 0.1)
    assert p == 0.05 and lo == pytest.approx(0.021544, abs=1e-5) and hi == pytest.approx(0.111752, abs=1e-5)
    p, se, lo, hi = rv.exceedance(np.array([0.2, 0.3, 0.0, 0.1]), np.array([2.0, 0.0, 1.0, 1.0]), 0.1)
    assert p == 0.75 and se == pytest.approx(0.478714, rel=1e-5) and lo == 0.0


def test_thresholds_recomputed_from_records_match_the_runs(run):
    with Results(run) as r:
        stored = rv.thresholds_frame(r)
        again = rv.thresholds_frame(r, asked=[0.01, 0.1, 0.25])  # another list: from the records
        assert list(stored["threshold"].unique()) == [0.01, 0.1]
        both = stored.merge(again, on=["holder", "threshold"], suffixes=("", "_py"))
        assert len(both) == 2 * len(r.holders)
        np.testing.assert_allclose(both["p"], both["p_py"], rtol=0, atol=0)
        np.testing.assert_allclose(both["ci_high"], both["ci_high_py"], rtol=1e-12)
        assert "x = 10%" in rv.thresholds_html(stored)


def test_concentration_amounts_and_contributions(run):
    with Results(run) as r:
        c = rv.concentration_frame(r)
        assert ((c["hhi_operators"] > 0) & (c["hhi_operators"] <= 1)).all()
        assert c.loc["stETH", "restaked_share"] == 0.0 and c.loc["stETH", "hhi_avs"] == 0.0
        a = rv.amounts_frame(r)
        eco = a[(a.holder == "weETH") & (a.metric == "var99")].iloc[0]
        h = r.holders[r.holder_names.index("weETH")]
        assert eco.amount == pytest.approx(r.summary.loss["var99"][h.index] * h.value, rel=1e-12)
        assert math.isfinite(eco.amount_usd)  # the ecosystem prices ETH
        long = rv.contributions_frame(r)
        sums = long.groupby(["holder", "statistic", "by"])["value"].sum()
        totals = {s: r.contributions_frame(s, "total") for s in ("es99", "var99")}
        for (holder, stat, by), v in sums.items():
            assert v == pytest.approx(totals[stat][holder], rel=1e-9, abs=1e-14)
        fig = rv.plot_contributions(r, "es99", "avs")
        assert fig.axes[0].get_xlabel().startswith("contribution to ES 99%")
        assert "Risk contributions" in rv.contributions_html(r, {"avs": "x.png"})


def test_the_report_shows_the_views_and_writes_their_csv(run, tmp_path):
    from restake_analysis.report import write_report
    out = tmp_path / "rep"
    index = write_report([run], out, progress=False, thresholds=[0.05, 0.5])
    page = index.read_text()
    for text in ("P(loss &ge; x) at thresholds", "x = 50%", "Loss amounts", "Concentration of each book",
                 "Risk contributions", "contributions_avs.png", "When losses come", "first_loss_day.png"):
        assert text in page, text
    df = __import__("pandas").read_csv(out / "figures" / "thresholds.csv")
    assert list(df["threshold"].unique()) == [0.05, 0.5]
    assert (out / "figures" / "contributions.csv").exists() and (out / "figures" / "concentration.csv").exists()


@pytest.mark.parametrize("bad", ["0", "150%", "5%,5%", "five"])
def test_report_threshold_errors_write_nothing(run, tmp_path, bad):
    import subprocess
    import sys
    out = tmp_path / "rep"
    p = subprocess.run([sys.executable, "-m", "restake_analysis", "report", str(run), "-o", str(out), "--threshold", bad],
                       capture_output=True, text=True)
    assert p.returncode != 0 and "--threshold" in p.stderr
    assert not out.exists()


def test_timing_frame_is_the_records_means(run):
    with Results(run) as r:
        t = rv.timing_frame(r)
        day = r.trials("first_loss_day")
        week = r.trials("loss_7d_max")
        for h in r.holders:
            d = day[:, h.index]
            hit = np.isfinite(d)
            if hit.any():
                assert t.loc[h.name, "first_loss_day_mean"] == pytest.approx(d[hit].mean(), rel=1e-12)
            assert t.loc[h.name, "loss_7d_mean"] == pytest.approx(week[:, h.index].mean(), rel=1e-12, abs=1e-18)
            # Never more than the whole trial's loss.
            assert (week[:, h.index] <= r.trials("loss_fraction")[:, h.index] * (1 + 1e-12)).all()


@pytest.fixture(scope="module")
def no_records(tmp_path_factory):
    """Two --no-records runs: one with stored thresholds (5%, 10%), one without any."""
    d = tmp_path_factory.mktemp("norecords")
    stored, bare = d / "stored.h5", d / "bare.h5"
    for out, extra in ((stored, ["--threshold", "5%,10%"]), (bare, [])):
        run_cli("run", str(REPO / "scenarios" / "default.toml"), "-o", str(out), "--trials", "2000", "--no-records",
                "--no-progress", "-q", *extra)
    return stored, bare


def test_report_threshold_the_file_cannot_give_is_refused_before_writing(no_records, tmp_path):
    import subprocess
    import sys
    from restake_analysis import ResultsError
    from restake_analysis.report import write_report
    stored, bare = no_records
    for file, asked, why in ((stored, "2%,20%", "only at the thresholds its run was given (5%, 10%)"),
                             (bare, "5%", "it was given none")):
        out = tmp_path / file.stem
        p = subprocess.run([sys.executable, "-m", "restake_analysis", "report", str(file), "-o", str(out),
                            "--threshold", asked], capture_output=True, text=True)
        assert p.returncode == 2, p.stderr
        assert str(file) in p.stderr and "no per-trial records" in p.stderr and why in p.stderr, p.stderr
        assert not out.exists()
        with pytest.raises(ResultsError, match="--threshold"):
            write_report([file], tmp_path / "api", thresholds=[float(x.rstrip("%")) / 100 for x in asked.split(",")])
        assert not (tmp_path / "api").exists()
    with Results(stored) as r:   # the stored list asked for again, or nothing asked: the stored values
        for asked in (None, [0.05, 0.1]):
            df = rv.thresholds_frame(r, asked)
            assert list(df["threshold"].unique()) == [0.05, 0.1]
            np.testing.assert_array_equal(df["p"], r.summary.loss["p_exceed"].ravel())
    with Results(bare) as r:     # nothing asked, nothing stored: no table, and the page says why truly
        assert rv.thresholds_frame(r) is None
        assert "stored no thresholds" in rv.thresholds_html(None) and "run without" not in rv.thresholds_html(None)


def test_a_holder_without_positions_has_no_equal_shares(run, tmp_path):
    """hhi_operators is 0 for a holder without positions (no stake to share): "-", not "~inf equal"."""
    import shutil
    import h5py
    copy = tmp_path / "copy.h5"
    shutil.copy(run, copy)
    with h5py.File(copy, "r+") as f:
        f["summary/concentration/hhi_operators"][0] = 0.0
        f["summary/concentration/hhi_avs"][0] = 0.0
    with Results(copy) as r:
        page = rv.concentration_html(r)
        first = page[page.index("<tbody>"):].split("</tr>")[0]
        assert "inf" not in page and re.findall(r"<td[^>]*>([^<]*)</td>", first)[1:3] == ["-", "-"]
        assert "magnitude allocated to each AVS, summed" in page


def test_first_loss_day_figure_reads_the_days_once_in_blocks(run):
    from restake_analysis import scan
    with Results(run) as r:
        day = r.trials("first_loss_day")
        for block in (None, 997):
            for h, (trials, values) in zip(r.holders, scan.finite_by_column(r, "first_loss_day", block)):
                hit = np.flatnonzero(np.isfinite(day[:, h.index]))
                np.testing.assert_array_equal(trials, hit)
                np.testing.assert_array_equal(values, day[hit, h.index])
        fig = rv.plot_first_loss_day(r, block=997)
        lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
        drawn = [h for h in r.holders if np.isfinite(day[:, h.index]).any()]
        assert drawn and sorted(lines) == sorted(h.name for h in drawn)
        for h in drawn:   # the whole column's curve, to the bit
            d = day[:, h.index]
            x = np.sort(d[np.isfinite(d)], kind="stable")
            np.testing.assert_array_equal(lines[h.name].get_xdata(), x)
            np.testing.assert_array_equal(lines[h.name].get_ydata(), 100 * np.cumsum(np.ones(x.size)) / r.n_trials)
