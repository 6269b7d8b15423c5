"""The reader on files written by the CLI: index, metadata, per-trial arrays, DataFrames, refusals."""
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest

from conftest import REPO, SCENARIO
from restake_analysis import FormatVersionError, NoRecordsError, Results, ResultsError


def test_reader_exposes_holders_metadata_and_the_scenario_text(default):
    assert default.holder_names == ["rsETH-like", "stETH-like", "native-restakers"]
    assert default.holder_kinds == ["lrt", "lst", "native"]
    np.testing.assert_array_equal(default.holder_value_eth, [580_000.0, 1_200_000.0, 150_000.0])
    assert default.avs_names == ["oracle", "data-availability", "bridge-validation"]
    assert default.pool_names == ["lrt-coverage"]
    assert default.loss_causes == ["beacon_slashing", "avs_slashing", "avs_faulty_slashing", "contract", "bridge"]
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
    assert default.loss_by_cause.shape == (n, h, 5)
    assert default.avs_stake_lost_eth.shape == (n, a)
    assert default.pool_drawdown_eth.shape == (n, p)
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
    lbc = default.loss_by_cause_frame()
    assert lbc.shape == (3, 5) and list(lbc.columns) == default.loss_causes
    assert list(default.avs_frame().index) == default.avs_names
    assert default.pools_frame().loc["lrt-coverage", "balance_eth"] == 2000.0
    t = default.trials_frame("loss_fraction")
    assert t.shape == (20000, 3) and list(t.columns) == default.holder_names
    np.testing.assert_array_equal(t["stETH-like"].to_numpy(), default.loss_fraction[:, 1])
    by = default.trials_frame("loss_by_cause")
    assert by.shape == (20000, 15)
    np.testing.assert_array_equal(by[("native-restakers", "contract")].to_numpy(), default.loss_by_cause[:, 2, 3])
    assert list(default.trials_frame("avs_stake_lost_eth").columns) == default.avs_names


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
    bad = _copy_with(tmp_path, files["n100"], "v2.h5", format_version=np.int64(2))
    with pytest.raises(FormatVersionError) as e:
        Results(bad)
    msg = str(e.value)
    assert "format_version 2" in msg and "understands only format_version 1" in msg and str(bad) in msg


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
