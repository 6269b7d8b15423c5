"""Tidy frames (Results/Sweep .estimates_frame, cause_holder_frame, avs_holder_frame, trials_long)
and xarray Datasets (to_xarray), checked against the stored datasets read with h5py and against
intervals worked out here from their definitions."""
import math
import shutil
import sys

import h5py
import numpy as np
import pytest

from conftest import REPO, run_cli, simulate
from test_summary_table import with_short_pilots
from restake_analysis import Results, ResultsError, Sweep
from restake_analysis import statistics as st

Z = 1.959963984540054      # standard normal quantile at 0.975
T19 = 2.093024054408263    # Student's t at 0.975 with 19 degrees of freedom (20 batch means)
COLUMNS = ["estimate", "stderr", "ci_low", "ci_high", "interval", "unit", "asset", "amount", "amount_usd"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("frames")
    sc = REPO / "scenarios"
    out = {
        "default": simulate(d / "default.h5", sc / "default.toml", "--trials", "1000", "--seed", "7"),
        "ecosystem": simulate(d / "eco.h5", sc / "ecosystem.toml", "--trials", "500"),
        "weighted": simulate(d / "tail.h5", with_short_pilots(sc / "default.toml", d), "--trials", "600",
                             "--tail", "rsETH-like:quantile=0.99"),
        "no-records": simulate(d / "norec.h5", sc / "default.toml", "--trials", "500", "--no-records"),
    }
    run_cli("sweep", REPO / "sweeps" / "forks.toml", "-o", d / "forks.h5", "--trials", "200", "--records",
            "--threads", "1")
    out["sweep"] = d / "forks.h5"
    return out


def row(df, **where):
    mask = np.ones(len(df), dtype=bool)
    for k, v in where.items():
        mask &= (df[k] == v).to_numpy()
    assert mask.sum() == 1, where
    return df[mask].iloc[0]


def test_estimates_are_the_stored_values_with_their_intervals_and_provenance(files):
    with Results(files["default"]) as r, h5py.File(files["default"]) as f:
        df = r.estimates_frame()
        assert list(df.columns) == ["holder", "metric"] + COLUMNS
        wide = r.summary_frame()
        # every row is the summary_frame's entry of the same name (the metrics are its columns)
        for x in df.itertuples():
            assert x.estimate == wide.loc[x.holder, x.metric] or (math.isnan(x.estimate) and math.isnan(wide.loc[x.holder, x.metric]))
        assert len(df) == len(r.holders) * df.metric.nunique()
        for h, name in enumerate(r.holder_names):
            mean = row(df, holder=name, metric="loss_mean")
            assert mean.estimate == f["summary/loss/mean"][h] and mean.stderr == f["summary/loss/stderr"][h]
            assert mean.ci_low == pytest.approx(mean.estimate - Z * mean.stderr, abs=1e-15)
            assert mean.ci_high == pytest.approx(mean.estimate + Z * mean.stderr, abs=1e-15)
            assert mean.interval == "normal" and mean.unit == "fraction of initial value" and mean.asset == "ETH"
            assert mean.amount == pytest.approx(mean.estimate * f["holders/value"][h], rel=1e-15)
            assert math.isnan(mean.amount_usd)  # the default scenario gives no price
            ret = row(df, holder=name, metric="return_mean")
            assert ret.estimate == f["summary/net_return/mean"][h]
            assert ret.ci_high - ret.ci_low == pytest.approx(2 * Z * f["summary/net_return/stderr"][h], rel=1e-12)
            # a probability: binomial standard error, Wilson's interval, no amount
            p = row(df, holder=name, metric="p_loss")
            n, k = 1000, round(f["summary/loss/p_loss"][h] * 1000)
            assert p.estimate == k / n and p.stderr == pytest.approx(math.sqrt(p.estimate * (1 - p.estimate) / n), rel=1e-12)
            centre = (k / n + Z * Z / (2 * n)) / (1 + Z * Z / n)
            half = Z / (1 + Z * Z / n) * math.sqrt(k / n * (1 - k / n) / n + Z * Z / (4 * n * n))
            assert (p.ci_low, p.ci_high) == pytest.approx((max(centre - half, 0), min(centre + half, 1)), abs=1e-12)
            assert p.interval == "wilson" and p.unit == "probability" and math.isnan(p.amount)
            q = row(df, holder=name, metric="loss_q0.999")
            assert q.estimate == f["summary/loss/quantiles"][h, 4]
            assert math.isnan(q.stderr) and math.isnan(q.ci_low) and q.interval == ""  # none stored
        a = df.attrs
        assert a["seed"] == 7 and a["trials"] == 1000
        assert a["scenario"] == (REPO / "scenarios" / "default.toml").read_text()
        assert a["program_version"] == f.attrs["program_version"] and a["git_commit"] == f.attrs["git_commit"]
        assert a["metric_units"]["p_loss"] == "probability" and a["metric_units"]["var99"] == "fraction of initial value"
        assert a["units"]["amount_usd"].startswith("USD")


def test_amounts_are_in_the_holders_asset_and_in_usd_at_the_scenarios_price(files):
    with Results(files["ecosystem"]) as r:
        df = r.estimates_frame()
        assert r.usd_prices == {"ETH": 3000.0, "BTC": 95000.0}  # scenarios/ecosystem.toml [prices_usd]
        weeth = row(df, holder="weETH", metric="var99")
        assert weeth.asset == "ETH" and weeth.amount == pytest.approx(weeth.estimate * 2_000_000, rel=1e-15)
        assert weeth.amount_usd == pytest.approx(weeth.amount * 3000.0, rel=1e-15)
        btc = row(df, holder="btc-stakers", metric="es99")
        assert btc.asset == "BTC" and btc.amount == pytest.approx(btc.estimate * 24_000, rel=1e-15)
        assert btc.amount_usd == pytest.approx(btc.amount * 95_000.0, rel=1e-15)


def test_a_weighted_runs_var_and_es_have_batch_means_intervals(files):
    with Results(files["weighted"]) as r, h5py.File(files["weighted"]) as f:
        df = r.estimates_frame()
        assert df.attrs["estimator"] == "importance sampling"
        for h, name in enumerate(r.holder_names):
            for metric in ("var99", "es99"):
                x = row(df, holder=name, metric=metric)
                se = f[f"summary/loss/{metric}_stderr"][h]
                assert x.stderr == se and x.interval == "batch means"
                assert (x.ci_low, x.ci_high) == pytest.approx((x.estimate - T19 * se, x.estimate + T19 * se), abs=1e-15)
            p = row(df, holder=name, metric="p_loss")
            assert math.isnan(p.stderr) and p.interval == ""  # a weighted probability's error is not stored
        # with the records: the weighted probability's error, sd(w 1{loss > 0}) / sqrt(n)
        rec = r.estimates_frame(intervals_from_records=True)
        w, loss = r.weight, r.loss_fraction[:, 0]
        p = row(rec, holder=r.holder_names[0], metric="p_loss")
        assert p.stderr == pytest.approx(np.std(w * (loss > 0), ddof=1) / math.sqrt(len(w)), rel=1e-12)
        assert p.interval == "normal"
        # VaR 95%, by batch means over 20 consecutive batches of trials (none is stored for it)
        var = row(rec, holder=r.holder_names[0], metric="var95")
        batches = [st.weighted_quantile_sorted(*st.sort_weighted(bx, bw), 0.95)
                   for bx, bw in zip(np.array_split(loss, 20), np.array_split(w, 20))]
        se = np.std(batches, ddof=1) / math.sqrt(20)
        assert var.interval == "batch means" and var.stderr == pytest.approx(se, rel=1e-12)
        assert (var.ci_low, var.ci_high) == pytest.approx((var.estimate - T19 * se, var.estimate + T19 * se), rel=1e-12)


def test_intervals_from_records(files):
    with Results(files["default"]) as r:
        df = r.estimates_frame(intervals_from_records=True)
        n = r.n_trials
        for h, name in enumerate(r.holder_names):
            x = np.sort(r.loss_fraction[:, h])
            var = row(df, holder=name, metric="var99")
            # distribution-free: the bounds are order statistics of the sample around rank ceil(0.99 n)
            assert var.interval == "order statistics" and math.isnan(var.stderr)
            assert var.ci_low in x and var.ci_high in x and var.ci_low <= var.estimate <= var.ci_high
            cov = row(df, holder=name, metric="covered_mean")
            c = r.covered_fraction[:, h]
            assert cov.stderr == pytest.approx(np.std(c, ddof=1) / math.sqrt(n), rel=1e-9, abs=1e-18)
            # what the stored summary gives is kept as it is
            assert row(df, holder=name, metric="loss_mean").interval == "normal"
    with Results(files["no-records"]) as r, pytest.raises(Exception, match="no-records"):
        r.estimates_frame(intervals_from_records=True)


def test_cause_and_avs_frames(files):
    with Results(files["default"]) as r:
        causes = r.cause_holder_frame(intervals_from_records=True)
        assert len(causes) == len(r.holders) * len(r.loss_causes)
        by_cause = r.loss_by_cause
        for h, holder in enumerate(r.holders):
            for c, cause in enumerate(r.loss_causes):
                x = row(causes, cause=cause, holder=holder.name)
                assert x.estimate == r.summary.loss_by_cause_mean[h, c]
                assert x.stderr == pytest.approx(np.std(by_cause[:, h, c], ddof=1) / math.sqrt(r.n_trials), rel=1e-9, abs=1e-18)
                assert x.amount == pytest.approx(x.estimate * holder.value, rel=1e-15)
        avs = r.avs_holder_frame()
        assert len(avs) == len(r.avs_names) * len(r.holders)
        # docs/output-format.md: the rows times holder values add up to avs_stake_lost_mean, the
        # columns to the loss by the two AVS causes
        assert avs.groupby("avs", sort=False).amount.sum().to_numpy() == pytest.approx(r.summary.avs_stake_lost_mean, rel=1e-9)
        c = [r.loss_causes.index("avs_slashing"), r.loss_causes.index("avs_faulty_slashing")]
        per_holder = avs.groupby("holder", sort=False).estimate.sum().reindex(r.holder_names).to_numpy()
        assert per_holder == pytest.approx(r.summary.loss_by_cause_mean[:, c].sum(axis=1), rel=1e-9, abs=1e-15)
        assert avs.attrs["seed"] == 7 and avs.stderr.isna().all()


def test_trials_long(files):
    with Results(files["default"]) as r:
        df = r.trials_long("loss_fraction", "net_return")
        H = len(r.holders)
        assert len(df) == r.n_trials * H and list(df.columns) == ["trial", "holder", "loss_fraction", "net_return"]
        t, h = 123, 2
        x = df.iloc[t * H + h]
        assert x.trial == t and x.holder == r.holder_names[h]
        assert x.loss_fraction == r.loss_fraction[t, h] and x.net_return == r.net_return[t, h]
        assert df.attrs["units"] == {"loss_fraction": "fraction of initial value", "net_return": "fraction of initial value"}
        causes = r.trials_long("loss_by_cause")
        y = causes[(causes.trial == 7) & (causes.holder == r.holder_names[0]) & (causes.cause == "contract")]
        assert y.loss_by_cause.item() == r.loss_by_cause[7, 0, r.loss_causes.index("contract")]
        with pytest.raises(ValueError, match="one shape"):
            r.trials_long("loss_fraction", "avs_stake_lost")
    with Results(files["weighted"]) as r:
        df = r.trials_long("loss_fraction")
        assert (df.weight.to_numpy() == np.repeat(r.weight, len(r.holders))).all()
        assert df.attrs["units"]["weight"] == "likelihood ratio"


def test_sweep_estimates_frame(files):
    with Sweep(files["sweep"]) as s, h5py.File(files["sweep"]) as f:
        df = s.estimates_frame()
        metrics = df.metric.nunique()
        assert len(df) == s.points * len(s.holder_names) * metrics
        assert list(df.columns[:4]) == ["point", "point_name", "ethereum.fork", "ethereum.inactivity_leak"]
        assert df["ethereum.inactivity_leak"].dtype == bool
        values = f["holders/value"][()]
        for p in range(s.points):
            for h, name in enumerate(s.holder_names):
                x = row(df, point=p, holder=name, metric="loss_mean")
                assert x.estimate == s.metric("loss/mean", name)[p]
                assert x.ci_low == pytest.approx(x.estimate - Z * f["summary/loss/stderr"][p, h], abs=1e-15)
                assert x.amount == pytest.approx(x.estimate * values[p, h], rel=1e-15)
                assert x["ethereum.fork"] == s.parameter_labels("ethereum.fork")[p]
                assert x["ethereum.inactivity_leak"] == (s.parameter_labels("ethereum.inactivity_leak")[p] == "true")
        assert df.attrs["seed"] == s.seed and df.attrs["trials"] == 200
        assert df.attrs["parameters"] == ["ethereum.fork", "ethereum.inactivity_leak"]


def test_to_xarray_reads_the_dimension_scales(files):
    pytest.importorskip("xarray")
    with Results(files["ecosystem"]) as r, h5py.File(files["ecosystem"]) as f:
        ds = r.to_xarray()
        assert ds.loss_quantiles.dims == ("holder", "loss_quantile")
        assert list(ds.holder.values) == list(f["holders/names"].asstr()[()])
        assert list(ds.loss_quantile.values) == list(f["summary/loss/quantile_levels"][()])
        assert float(ds.loss_quantiles.sel(holder="btc-stakers", loss_quantile=0.999)) == f["summary/loss/quantiles"][-1, 4]
        assert float(ds.loss_by_cause_mean.sel(holder="weETH", cause="bridge")) == \
            f["summary/loss_by_cause_mean"][0, r.loss_causes.index("bridge")]
        assert ds.avs_holder_loss_mean.dims == ("avs", "holder")
        assert ds.loss_mean.attrs["units"] == "fraction of initial value"
        assert float(ds.usd_price.sel(asset="BTC")) == 95000.0
        assert ds.attrs["seed"] == r.seed and ds.attrs["scenario"] == r.scenario_text
        tr = r.to_xarray("trials")
        assert tr.loss_by_cause.dims == ("trial", "holder", "cause")
        assert float(tr.loss_fraction.sel(trial=17, holder="rsETH")) == r.loss_fraction[17, r.holder_index("rsETH")]
    with Results(files["weighted"]) as r:
        ds = r.to_xarray()
        assert float(ds.weights_effective_sample_size) == r.summary.weights["effective_sample_size"]
        assert "weight" in r.to_xarray("trials")
    with Sweep(files["sweep"]) as s:
        ds = s.to_xarray()
        assert ds.loss_es99.dims == ("point", "holder")
        assert list(ds.point.values) == [str(x) for x in h5py.File(files["sweep"])["points/names"].asstr()[()]]
        assert list(ds["ethereum.fork"].values) == s.parameter_labels("ethereum.fork")
        assert (ds.loss_es99.sel(holder="stETH-like").values == s.metric("loss/es99", "stETH-like")).all()
        assert s.to_xarray("trials").loss_fraction.dims == ("point", "trial", "holder")


def test_to_xarray_of_a_file_without_axis_labels_and_with_wrong_ones(files, tmp_path):
    pytest.importorskip("xarray")
    # files written before the axes were labelled: the schema's dimensions and scale datasets
    old = tmp_path / "old.h5"
    shutil.copy(files["default"], old)
    with h5py.File(old, "r+") as f:
        ds = f["summary/loss/quantiles"]
        for d in range(2):
            ds.dims[d].detach_scale(ds.dims[d][0])
            ds.dims[d].label = ""
    with Results(old) as r:
        x = r.to_xarray()
        assert x.loss_quantiles.dims == ("holder", "loss_quantile")
        assert list(x.loss_quantile.values) == [0.5, 0.9, 0.95, 0.99, 0.999]
    bad = tmp_path / "bad.h5"
    shutil.copy(files["default"], bad)
    with h5py.File(bad, "r+") as f:
        f["summary/loss/mean"].dims[0].label = "avs"
    with Results(bad) as r, pytest.raises(ValueError, match=r"/summary/loss/mean labels its axes \['avs'\], expected \['holder'\]"):
        r.to_xarray()


def test_to_xarray_without_xarray_says_how_to_install_it(files, monkeypatch):
    monkeypatch.setitem(sys.modules, "xarray", None)  # import xarray raises ImportError
    with Results(files["default"]) as r:
        with pytest.raises(ImportError, match="python3-xarray"):
            r.to_xarray()
        assert len(r.estimates_frame()) > 0  # the frames need only pandas


def test_a_file_of_an_earlier_version_has_no_avs_holder_matrix(files, tmp_path):
    old = tmp_path / "old.h5"
    shutil.copy(files["default"], old)
    with h5py.File(old, "r+") as f:
        del f["summary/avs_holder_loss_mean"]
    with Results(old) as r, pytest.raises(ResultsError, match="avs_holder_loss_mean"):
        r.avs_holder_frame()
