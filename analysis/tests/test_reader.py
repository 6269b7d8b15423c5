"""The reader on files written by the CLI: index, metadata, per-trial arrays, DataFrames, refusals."""
import json
import math
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest

from conftest import REPO, SCENARIO, run_cli
from restake_analysis import FORMAT_VERSION, FormatVersionError, NoRecordsError, Results, ResultsError


def test_reader_exposes_holders_metadata_and_the_scenario_text(default):
    assert default.holder_names == ["rsETH-like", "stETH-like", "native-restakers"]
    assert default.holder_kinds == ["lrt", "lst", "native"]
    np.testing.assert_array_equal(default.holder_value, [580_000.0, 1_200_000.0, 150_000.0])
    assert default.holder_assets == ["ETH", "ETH", "ETH"] and default.assets_held == ["ETH"]
    assert default.avs_assets == ["ETH"] * 3 and default.pool_assets == ["ETH"]
    # Every asset the program knows is listed; the default scenario gives no USD prices.
    assert default.asset_names == ["ETH", "BTC"]
    assert all(math.isnan(p) for p in default.usd_prices.values()) and math.isnan(default.usd_price("ETH"))
    assert np.isnan(default.holder_value_usd).all()
    assert default.avs_names == ["oracle", "data-availability", "bridge-validation"]
    assert default.pool_names == ["lrt-coverage"]
    assert default.loss_causes == ["beacon_slashing", "avs_slashing", "avs_faulty_slashing", "contract", "bridge",
                                   "cascade_attack", "inactivity", "key_compromise"]
    assert default.n_trials == 20000 and default.seed == 20261124 and default.horizon_days == 365.0
    assert default.has_records and default.quantile_relative_error == 0.0
    assert default.program_version and default.git_commit
    assert default.scenario_text == SCENARIO.read_text()
    assert default.scenario["simulation"]["name"] == "default"
    assert default.holder_index("stETH-like") == 1
    with pytest.raises(KeyError, match="rsETH-like"):
        default.holder_index("nobody")


def test_per_trial_arrays_have_the_documented_shapes_and_ledger(default):
    n, h, a, p = 20000, 3, 3, 1
    assert default.loss_fraction.shape == (n, h)
    assert default.net_return.shape == (n, h)
    assert default.covered_fraction.shape == (n, h)
    assert default.loss_by_cause.shape == (n, h, 8)
    assert FORMAT_VERSION == 2
    assert default.avs_stake_lost.shape == (n, a)
    assert default.pool_drawdown.shape == (n, p)
    assert default.loss_fraction.dtype == np.float64
    # Gross by cause = net + covered (docs/output-format.md).
    np.testing.assert_allclose(default.gross_loss, default.loss_fraction + default.covered_fraction, atol=1e-12)
    assert default.trials("loss_fraction") is default.loss_fraction  # read once, then cached
    with pytest.raises(KeyError, match="per-trial dataset"):
        default.trials("nonsense")


def test_summaries_and_per_trial_tables_come_as_dataframes(default):
    df = default.summary_frame()
    assert list(df.index) == default.holder_names
    assert df.index.name == "holder"
    np.testing.assert_array_equal(df["var99"], default.summary.loss["var99"])
    np.testing.assert_array_equal(df["loss_q0.999"], default.summary.loss["quantiles"][:, 4])
    np.testing.assert_array_equal(df["return_q0.01"], default.summary.net_return["quantiles"][:, 0])
    assert list(df["kind"]) == ["lrt", "lst", "native"]
    assert list(df.columns[:4]) == ["kind", "asset", "value", "value_usd"]
    assert list(df["asset"]) == ["ETH"] * 3 and df["value_usd"].isna().all()    # no [prices_usd]
    lbc = default.loss_by_cause_frame()
    assert lbc.shape == (3, 8) and list(lbc.columns) == default.loss_causes
    avs = default.avs_frame()
    assert list(avs.index) == default.avs_names and list(avs["asset"]) == ["ETH"] * 3
    np.testing.assert_allclose(avs["stake_lost_mean"], default.avs_stake_lost.mean(axis=0), rtol=1e-12)
    pools = default.pools_frame()
    assert pools.loc["lrt-coverage", "balance"] == 2000.0 and pools.loc["lrt-coverage", "asset"] == "ETH"
    assert pools.loc["lrt-coverage", "drawdown_mean"] == pytest.approx(default.pool_drawdown[:, 0].mean(), rel=1e-12)
    t = default.trials_frame("loss_fraction")
    assert t.shape == (20000, 3) and list(t.columns) == default.holder_names
    np.testing.assert_array_equal(t["stETH-like"].to_numpy(), default.loss_fraction[:, 1])
    by = default.trials_frame("loss_by_cause")
    assert by.shape == (20000, 3 * len(default.loss_causes))
    np.testing.assert_array_equal(by[("native-restakers", "contract")].to_numpy(), default.loss_by_cause[:, 2, 3])
    assert list(default.trials_frame("avs_stake_lost").columns) == default.avs_names


def test_a_no_records_file_serves_its_summary_and_refuses_per_trial_data_clearly(files):
    with Results(files["norecords"]) as r:
        assert not r.has_records
        assert r.quantile_relative_error == pytest.approx(1e-4)
        assert r.summary_frame().shape[0] == 3
        with pytest.raises(NoRecordsError) as e:
            r.loss_fraction
        msg = str(e.value)
        assert "--no-records" in msg and "/trials/loss_fraction" in msg and "records = 0" in msg
        with pytest.raises(NoRecordsError):
            r.trials_frame("net_return")


def _copy_with(tmp_path, src, name, **attrs):
    dst = tmp_path / name
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        for k, v in attrs.items():
            f.attrs[k] = v
    return dst


def test_a_file_of_another_format_version_is_refused_with_a_clear_message(files, tmp_path):
    old = _copy_with(tmp_path, files["n100"], "v1.h5", format_version=np.int64(1))
    with pytest.raises(FormatVersionError) as e:
        Results(old)
    msg = str(e.value)
    assert "format_version 1" in msg and "understands only format_version 2" in msg and str(old) in msg
    assert "ETH only" in msg                      # says what the old layout was
    newer = _copy_with(tmp_path, files["n100"], "v3.h5", format_version=np.int64(3))
    with pytest.raises(FormatVersionError, match="format_version 3.*understands only format_version 2"):
        Results(newer)


def test_the_cli_refuses_another_format_version_with_exit_status_2(files, tmp_path):
    bad = _copy_with(tmp_path, files["n100"], "v7.h5", format_version=np.int64(7))
    proc = subprocess.run([sys.executable, "-m", "restake_analysis", "report", str(bad), "-o", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO / "analysis")})
    assert proc.returncode == 2
    assert "format_version 7" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out" / "index.html").exists()


def test_other_files_are_refused_too(files, tmp_path):
    incomplete = _copy_with(tmp_path, files["n100"], "partial.h5", complete=np.int64(0))
    with pytest.raises(ResultsError, match="incomplete run"):
        Results(incomplete)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.attrs["file_type"] = "something else"
    with pytest.raises(ResultsError, match="not a restake-sim results file"):
        Results(other)
    text = tmp_path / "text.h5"
    text.write_text("hello")
    with pytest.raises(ResultsError, match="not an HDF5 file"):
        Results(text)
    with pytest.raises(ResultsError, match="no such file"):
        Results(tmp_path / "missing.h5")



def _replace(path, dataset, data):
    with h5py.File(path, "r+") as f:
        del f[dataset]
        f[dataset] = data


def test_datasets_that_disagree_with_their_axes_are_refused_naming_dataset_and_shapes(files, tmp_path):
    kinds = _copy_with(tmp_path, files["n100"], "kinds.h5")
    with h5py.File(kinds, "r") as f:
        H, A = len(f["holders/names"]), len(f["avs/names"])
    _replace(kinds, "holders/kinds", np.array(["lrt"], dtype=h5py.string_dtype()))
    with pytest.raises(ResultsError, match=fr"kinds.h5: /holders/kinds has shape \[1\], expected \[{H}\] \(holder\)"):
        Results(kinds)
    names = _copy_with(tmp_path, files["n100"], "names.h5")
    with h5py.File(names, "r") as f:
        more = [*(n.decode() if isinstance(n, bytes) else n for n in f["avs/names"][()]), "one-too-many"]
    _replace(names, "avs/names", np.array(more, dtype=h5py.string_dtype()))
    with pytest.raises(ResultsError, match=fr"/avs/assets has shape \[{A}\], expected \[{A + 1}\] \(avs\)"):
        Results(names)
    means = _copy_with(tmp_path, files["n100"], "means.h5")
    _replace(means, "summary/loss/mean", np.array([0.5]))
    with pytest.raises(ResultsError, match=fr"/summary/loss/mean has shape \[1\], expected \[{H}\] \(holder\)"):
        Results(means)


# --- two assets -------------------------------------------------------------------------------------


def test_holders_avss_and_pools_carry_their_asset_and_usd_values(files):
    with Results(files["mixed"]) as r:
        assert r.holder_names == ["eth-lrt", "btc-lrt", "eth-lst", "btc-native"]
        assert r.holder_assets == ["ETH", "BTC", "ETH", "BTC"] and r.assets_held == ["ETH", "BTC"]
        np.testing.assert_array_equal(r.holder_value, [50_000.0, 500.0, 20_000.0, 1_100.0])   # own units
        assert r.usd_prices == {"ETH": 3000.0, "BTC": 95000.0}
        assert [h.usd_price for h in r.holders] == [3000.0, 95000.0, 3000.0, 95000.0]
        np.testing.assert_array_equal(r.holder_value_usd, [150e6, 47.5e6, 60e6, 104.5e6])
        assert r.holders[1].value_usd == 47.5e6
        assert r.avs_assets == ["ETH", "BTC", "BTC"] and r.pool_assets == ["BTC", "ETH"]
        np.testing.assert_array_equal(r.pool_balance, [20.0, 500.0])
        df = r.summary_frame()
        assert list(df["asset"]) == r.holder_assets
        np.testing.assert_array_equal(df["value_usd"], r.holder_value_usd)
        avs = r.avs_frame()
        np.testing.assert_allclose(avs["stake_lost_mean_usd"],
                                   r.summary.avs_stake_lost_mean * np.array([3000.0, 95000.0, 95000.0]), rtol=1e-15)
        pools = r.pools_frame()
        assert pools.loc["btc-cover", "balance_usd"] == 20 * 95000.0
        assert pools.loc["eth-bond", "drawdown_mean_usd"] == pytest.approx(pools.loc["eth-bond", "drawdown_mean"] * 3000)
        # A pool pays in its own asset, at most its balance.
        assert np.all(r.pool_drawdown <= r.pool_balance[None, :] * (1 + 1e-12))
        assert r.trials_frame("pool_drawdown").columns.tolist() == ["btc-cover", "eth-bond"]
        # Each units attribute names the assets datasets rather than a currency.
        with h5py.File(files["mixed"], "r") as f:
            for ds in ("holders/value", "pools/balance", "trials/avs_stake_lost", "trials/pool_drawdown",
                       "summary/avs_stake_lost_mean", "summary/pool_drawdown_mean"):
                assert "asset" in f[ds].attrs["units"], ds
            assert "value_eth" not in f["holders"] and "balance_eth" not in f["pools"]


def test_without_prices_usd_columns_are_nan_and_the_cli_json_agrees(files):
    with Results(files["mixed_no_prices"]) as r:
        assert all(math.isnan(p) for p in r.usd_prices.values())
        assert r.summary_frame()["value_usd"].isna().all()
        assert r.pools_frame()["balance_usd"].isna().all()
    # restake-sim summary --json reads the same file: same assets and values; usd_price 0 for "none".
    for key, price in (("mixed", {"ETH": 3000.0, "BTC": 95000.0}), ("mixed_no_prices", {"ETH": 0.0, "BTC": 0.0})):
        doc = json.loads(run_cli("summary", files[key], "--json").stdout)
        with Results(files[key]) as r:
            assert [h["asset"] for h in doc["holders"]] == r.holder_assets
            assert [h["value"] for h in doc["holders"]] == r.holder_value.tolist()
            assert [h["usd_price"] for h in doc["holders"]] == [price[a] for a in r.holder_assets]
            assert [a["asset"] for a in doc["avs"]] == r.avs_assets
            assert [a["stake_lost_mean"] for a in doc["avs"]] == pytest.approx(r.summary.avs_stake_lost_mean.tolist(),
                                                                                rel=1e-15)
            assert [p["asset"] for p in doc["pools"]] == r.pool_assets
            assert [p["balance"] for p in doc["pools"]] == r.pool_balance.tolist()
            assert [p["drawdown_mean"] for p in doc["pools"]] == pytest.approx(r.summary.pool_drawdown_mean.tolist(),
                                                                                rel=1e-15)


def test_the_reader_reads_exactly_the_outputs_the_simulator_declares(default, files):
    from restake_analysis.results import NEEDS, SCHEMA, SUMMARY_DATASETS, TRIAL_DATASETS, WEIGHTED_ONLY
    # schema.json is the simulator's declaration as it prints it now.
    assert json.loads(run_cli("schema", "--json").stdout) == SCHEMA
    assert "trials/weight" in WEIGHTED_ONLY
    for path, weighted in ((default.path, False), (files["weighted"], True)):
        # The default world has a token and lending markets: their outputs are present too.
        present = {o["path"] for o in SCHEMA["trial_records"] + SCHEMA["summaries"]
                   if o["needs"] in (None, "tokens", "lending_markets") or (weighted and o["needs"] == "weights")}
        with h5py.File(path, "r") as f:
            datasets = []
            f.visititems(lambda name, obj: datasets.append(name) if isinstance(obj, h5py.Dataset) else None)
            scales = {d["scale"] for d in SCHEMA["dimensions"]}
            assert {n for n in datasets if n.startswith("trials/")} == {"trials/" + t for t in TRIAL_DATASETS} & present
            assert {n for n in datasets if n.startswith("summary/") and n not in scales} == \
                {"summary/" + s for s in SUMMARY_DATASETS} & present
            # Every axis carries its dimension's name, and the scale where the dimension has one.
            for o in SCHEMA["trial_records"] + SCHEMA["summaries"]:
                if o["path"] not in present:
                    continue
                dims = f[o["path"]].dims
                assert [d.label for d in dims] == o["dims"], o["path"]
                for d, name in zip(dims, o["dims"]):
                    scale = next(x["scale"] for x in SCHEMA["dimensions"] if x["name"] == name)
                    assert [s.name for s in d.values()] == (["/" + scale] if scale else [])
    # The default world's token and lending markets are read as such.
    assert default.has_tokens and default.has_lending and list(default.tokens_frame().index) == ["rsETH-like"]
    top = [k for k in SUMMARY_DATASETS if "/" not in k and "summary/" + k not in WEIGHTED_ONLY]
    assert all(hasattr(default.summary, k) for k in top)
    assert set(default.summary.loss) == {k.removeprefix("loss/") for k in SUMMARY_DATASETS
                                         if k.startswith("loss/") and "summary/" + k not in WEIGHTED_ONLY
                                         and NEEDS["summary/" + k] not in ("thresholds", "contributions")}


def test_a_run_with_thresholds_reads_p_exceed_on_its_axis(tmp_path):
    from restake_analysis import Results
    out = tmp_path / "t.h5"
    run_cli("run", str(REPO / "scenarios" / "etherfi.toml"), "-o", str(out), "--trials", "2000", "--threshold", "5%,1%",
            "--no-progress", "-q", "--price-paths", "0")
    r = Results(out)
    assert r.has_thresholds and list(r.thresholds) == [0.01, 0.05]
    p = r.summary.loss["p_exceed"]
    assert p.shape == (1, 2)
    loss = r.trials("loss_fraction")[:, 0]
    assert p[0, 0] == (loss >= 0.01).mean() and p[0, 1] == (loss >= 0.05).mean()
    assert p[0, 0] > p[0, 1] > 0
    lo, hi = r.summary.loss["p_exceed_ci_low"], r.summary.loss["p_exceed_ci_high"]
    assert (lo <= p).all() and (p <= hi).all()


# --- the market layer (issue 11) -------------------------------------------------------------------

MARKETS = """
[simulation]
name = "markets"
trials = 400
seed = 5
horizon_days = 365
[ethereum]
total_active_stake_eth = 1_000_000
[prices_usd]
ETH = 3_000
[[operator]]
name = "op"
validators = 100
annual_fault_probability = 0.2
fault_fraction = 0.01
[[protocol]]
name = "p"
slashing_mode = "shared"
[[lrt]]
name = "lrt-x"
protocol = "p"
positions = [{ operator = "op", stake_eth = 1000 }]
[[lst]]
name = "lst-y"
positions = [{ operator = "op", stake_eth = 2000 }]
[[token]]
name = "tok-x"
holder = "lrt-x"
pool = { kind = "constant_product", eth = 500 }
[[lending_market]]
name = "aave-x"
token = "tok-x"
rules = "aave_v3"
ltv = 0.93
liquidation_threshold = 0.95
liquidation_bonus = 0.01
oracle = "exchange_rate"
debt_eth = 400
health_factor = 1.1
"""


def test_a_run_with_markets_exposes_tokens_lending_markets_and_the_loss_at_market(tmp_path):
    from restake_analysis.results import NEEDS, SCHEMA
    scenario = tmp_path / "markets.toml"
    scenario.write_text(MARKETS)
    with Results(simulate_path(tmp_path / "m.h5", scenario)) as r:
        assert r.has_tokens and r.has_lending
        assert r.token_names == ["tok-x"] and r.token_holders == ["lrt-x"]
        assert r.lending_names == ["aave-x"] and r.lending_tokens == ["tok-x"]
        assert list(r.lending_debt_eth) == [400.0]
        # Every declared output but the weighted ones, each with its axes.
        with h5py.File(r.path, "r") as f:
            for o in SCHEMA["trial_records"] + SCHEMA["summaries"]:
                assert (o["path"] in f) == (NEEDS[o["path"]] not in ("weights", "thresholds", "contributions")), o["path"]
        assert r.trials("lending_bad_debt").shape == (400, 1)
        assert r.trials("token_min_price").shape == (400, 1)
        assert r.trials("loss_at_market").shape == (400, 2)
        assert list(r.trials_frame("token_sold").columns) == ["tok-x"]
        tokens, lending = r.tokens_frame(), r.lending_frame()
        assert list(tokens.index) == ["tok-x"] and tokens.loc["tok-x", "holder"] == "lrt-x"
        for k in ("min_price_mean", "min_price_p05", "p_depeg", "depeg_days_mean", "sold_mean"):
            assert tokens.loc["tok-x", k] == r.summary.token[k][0]
        assert lending.loc["aave-x", "bad_debt_var95_usd"] == lending.loc["aave-x", "bad_debt_var95"] * 3000
        assert set(lending.columns) >= {"liquidated_mean", "liquidated_p95", "bad_debt_mean", "p_bad_debt",
                                        "p_bad_debt_1pct", "accounts_liquidated_mean"}
        assert set(r.summary.loss_at_market) == {"mean", "var95", "var99", "es99"}
        assert "loss_at_market_var99" in r.summary_frame().columns
        # The command's JSON summary carries the same numbers.
        js = json.loads(run_cli("summary", r.path, "--json").stdout)
        assert js["lending_markets"][0]["bad_debt_var95"] == lending.loc["aave-x", "bad_debt_var95"]
        assert js["tokens"][0]["min_price_p05"] == tokens.loc["tok-x", "min_price_p05"]


def simulate_path(out, scenario):
    run_cli("run", scenario, "-o", out, "--no-progress", "-q")
    return out


# --- weighted runs (importance sampling) ------------------------------------------------------------


def test_a_weighted_file_carries_each_trials_weight_and_its_tilt_and_a_plain_one_neither(files, default):
    with Results(files["weighted"]) as r:
        assert r.weighted and r.estimator == "importance sampling" and "weighted" in repr(r)
        w = r.weight
        assert w.shape == (r.n_trials,) and np.all(w > 0)
        assert np.all(w <= 1 / 0.1)                     # defensive mixing bounds every weight
        assert r.tilt.defensive == 0.1
        assert len(r.tilt.sources) == len(r.tilt.rate_factor) > 0
        assert set(r.tilt.rate_factor.tolist()) <= {1.0, 3.0}   # 1: silent sources
        assert all(f == 3.0 and b == 1.0 for _, f, b in r.tilt.tilted())
        assert r.tilt.size_exponent.tolist() == [1.0] * len(r.tilt.sources)   # a tilt of the rates only
        assert r.tilt.sources[0].startswith("operator ") and r.tilt.sources[0].endswith(": faults")
        assert r.trials_frame("weight")["weight"].tolist() == w.tolist()
        assert 0 < r.summary.weights["effective_sample_size"] < r.n_trials
        assert 0 < r.summary.weights["max_weight_share"] < 1
        assert r.summary.loss["tail_ess99"].shape == (len(r.holders),)
    assert not default.weighted and default.weight is None and default.tilt is None
    assert default.summary.weights is None and "tail_ess99" not in default.summary.loss
    assert default.estimator == "plain Monte Carlo"
    with pytest.raises(KeyError, match="plain run"):
        default.trials("weight")
    with Results(files["weighted_norecords"]) as r:
        assert r.weighted and r.tilt.defensive == 0.1
        with pytest.raises(NoRecordsError):
            r.weight


def test_weights_of_the_wrong_shape_or_value_are_refused_naming_the_dataset(files, tmp_path):
    n = 5000
    shape = _copy_with(tmp_path, files["weighted"], "shape.h5")
    _replace(shape, "trials/weight", np.ones((n, 2)))
    with pytest.raises(ResultsError, match=fr"/trials/weight has shape \[{n}, 2\], expected \[{n}\] \(trial\)"):
        Results(shape)
    proc = subprocess.run([str(os.environ.get("RESTAKE_SIM", REPO / "build" / "bin" / "restake-sim")), "summary", shape],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and f"/trials/weight has shape [{n}, 2], expected [{n}]" in proc.stderr
    for i, bad in enumerate((-1.0, np.nan, np.inf)):
        path = _copy_with(tmp_path, files["weighted"], f"bad{i}.h5")
        with h5py.File(path, "r") as f:
            w = f["trials/weight"][()]
        w[7] = bad
        _replace(path, "trials/weight", w)
        with Results(path) as r, pytest.raises(ResultsError, match=r"/trials/weight: trial 7 weighs"):
            r.weight
    plain = _copy_with(tmp_path, files["n100"], "plain.h5")
    with h5py.File(plain, "r+") as f:
        f["trials/weight"] = np.ones(100)
    with pytest.raises(ResultsError, match=r"/trials/weight in the file of a plain run"):
        Results(plain)
    no_tilt = _copy_with(tmp_path, files["weighted"], "no-tilt.h5")
    with h5py.File(no_tilt, "r+") as f:
        del f["tilt"]
    with pytest.raises(ResultsError, match=r"weighted = 1 but no /tilt"):
        Results(no_tilt)
    factors = _copy_with(tmp_path, files["weighted"], "factors.h5")
    with h5py.File(factors, "r") as f:
        k = f["tilt/rate_factor"].shape[0]
    _replace(factors, "tilt/rate_factor", np.full(k, -1.0))
    with pytest.raises(ResultsError, match=r"/tilt/rate_factor\[0\] is -1.0"):
        Results(factors)


def test_a_run_with_contributions_reads_them_by_cause_avs_and_operator(tmp_path):
    from restake_analysis import Results
    out = tmp_path / "c.h5"
    run_cli("run", str(REPO / "scenarios" / "eigenlayer-unique.toml"), "-o", str(out), "--trials", "20000", "--contributions",
            "--no-progress", "-q")
    with Results(out) as r:
        assert r.has_contributions and "el-op-1" in r.operator_names
        for stat in ("es99", "var99"):
            total = r.contributions_frame(stat, "total")
            for by in ("cause", "avs", "operator"):
                df = r.contributions_frame(stat, by)
                assert list(df.columns) == r.holder_names
                # Each view adds up to the statistic, coverage (and the losses from no AVS) included.
                np.testing.assert_allclose(df.sum(axis=0).to_numpy(), total.to_numpy(), rtol=1e-9, atol=1e-15)
        es = r.contributions_frame("es99", "total")
        assert es["eigenpod-restakers"] == pytest.approx(r.summary.loss["es99"][r.holder_names.index("eigenpod-restakers")], rel=1e-12)
        with pytest.raises(ValueError, match="by"):
            r.contributions_frame("es99", "pool")
