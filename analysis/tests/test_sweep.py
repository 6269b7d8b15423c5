"""Sweep files written by the real CLI: the reader's arrays and the two plots' data."""
import numpy as np
import pytest

from conftest import SCENARIO, run_cli
from restake_analysis import Sweep, plot_sweep_heatmap, plot_sweep_metric
from restake_analysis.results import ResultsError

RATE = "avs.oracle.slashing.wrong-price.annual_probability"
POOL = "pool.lrt-coverage.balance_eth"
LEAK = "ethereum.inactivity_leak"


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    d = tmp_path_factory.mktemp("sweeps")
    one = d / "one.toml"
    one.write_text(f'[sweep]\nscenario = "{SCENARIO}"\ntrials = 4000\nseed = 3\n'
                   f'[[sweep.parameter]]\npath = "{RATE}"\nlinspace = [0.0, 0.3, 4]\n')
    two = d / "two.toml"
    two.write_text(f'[sweep]\nscenario = "{SCENARIO}"\ntrials = 2000\n'
                   f'[[sweep.parameter]]\npath = "{RATE}"\nvalues = [0.0, 0.2]\n'
                   f'[[sweep.parameter]]\npath = "{POOL}"\nvalues = [0, 1000, 20000]\n')
    three = d / "three.toml"
    three.write_text(f'[sweep]\nscenario = "{SCENARIO}"\ntrials = 20000\n'
                     f'[[sweep.parameter]]\npath = "{LEAK}"\nvalues = [true, false]\n'
                     f'[[sweep.parameter]]\npath = "{RATE}"\nvalues = [0.0, 0.2]\n')
    run_cli("sweep", one, "-o", d / "one.h5", "-q")
    run_cli("sweep", two, "-o", d / "two.h5", "-q")
    run_cli("sweep", three, "-o", d / "three.h5", "-q")
    return d


def test_the_reader_gives_points_parameters_and_per_point_summaries(sweeps):
    with Sweep(sweeps / "one.h5") as s:
        assert s.parameters == [RATE]
        assert s.points == 4 and s.trials == 4000 and s.seed == 3 and s.mode == "grid"
        assert not s.weighted and s.effective_sample_size is None   # plain Monte Carlo
        np.testing.assert_allclose(s.parameter_values(RATE), [0.0, 0.1, 0.2, 0.3])
        mean = s.metric("loss/mean", "rsETH-like")
        assert mean.shape == (4,) and np.all(np.diff(mean) > 0)  # common random numbers: no noise
        assert s.metric("loss/quantiles", "rsETH-like", quantile=3).shape == (4,)
        # the LST is not restaked: the oracle's slashing never reaches it, on exactly the same draws
        assert np.all(s.metric("loss/mean", "stETH-like") == s.metric("loss/mean", "stETH-like")[0])


def test_the_metric_plot_draws_each_holder_against_the_parameter(sweeps, tmp_path):
    with Sweep(sweeps / "one.h5") as s:
        fig = plot_sweep_metric(s, RATE, "loss/es99")
        fig.savefig(tmp_path / "metric.png")
        ax = fig.axes[0]
        assert ax.get_xlabel() == "avs oracle, slashing wrong-price: annual probability (%)"
        assert ax.get_ylabel() == "ES 99% (% of initial value)"
        lines = {line.get_label(): line for line in ax.get_lines()}
        assert set(lines) == set(s.holder_names)
        # percent on both axes: the probability parameter and the loss
        np.testing.assert_array_equal(lines["native-restakers"].get_xdata(), s.parameter_values(RATE) * 100)
        np.testing.assert_array_equal(lines["native-restakers"].get_ydata(), s.metric("loss/es99", "native-restakers") * 100)


def test_the_heatmap_puts_each_point_in_its_grid_cell(sweeps, tmp_path):
    with Sweep(sweeps / "two.h5") as s:
        fig = plot_sweep_heatmap(s, POOL, RATE, "loss/mean", "rsETH-like")
        fig.savefig(tmp_path / "heatmap.png")
        m = fig.axes[0].get_images()[0].get_array()
        assert m.shape == (2, 3)
        mean = s.metric("loss/mean", "rsETH-like")
        for p in range(s.points):
            i = [0.0, 0.2].index(s.values[p, 0])
            j = [0, 1000, 20000].index(s.values[p, 1])
            assert m[i, j] == mean[p] * 100   # percent
        assert np.all(np.diff(m, axis=0) > 0)  # more slashing, more loss, at every pool size
        assert np.all(np.diff(m, axis=1) <= 0)  # a bigger pool never makes it worse
        with pytest.raises(KeyError):
            s.metric("loss/mean", "nobody")


def test_a_results_file_is_not_a_sweep(files):
    with pytest.raises(ResultsError):
        Sweep(files["minimal"])


def test_a_boolean_parameter_reads_as_labels_and_plots_with_named_ticks(sweeps, tmp_path):
    with Sweep(sweeps / "three.h5") as s:
        assert s.kinds == ["boolean", "number"]
        assert s.is_categorical(LEAK) and not s.is_categorical(RATE)
        np.testing.assert_array_equal(s.parameter_values(LEAK), [0, 0, 1, 1])  # label indices, in listed order
        assert s.parameter_labels(LEAK) == ["true", "true", "false", "false"]
        assert s.parameter_labels(RATE) == ["0.0", "0.2", "0.0", "0.2"]
        # the same trials with and without the leak: the LST (on an operator in the outage) loses more with it
        mean = s.metric("loss/mean", "stETH-like")
        assert mean[0] > mean[2] and mean[1] > mean[3]
        fig = plot_sweep_metric(s, LEAK, "loss/mean")
        fig.savefig(tmp_path / "leak.png")
        assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["true", "false"]
        fig = plot_sweep_heatmap(s, RATE, LEAK, "loss/mean", "stETH-like")
        fig.savefig(tmp_path / "leak_heatmap.png")
        assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["true", "false"]
        assert fig.axes[0].get_images()[0].get_array()[0, 0] == mean[0] * 100


def test_labels_decode_toml_strings_and_old_files_read_as_numbers(sweeps, tmp_path):
    import shutil
    import h5py
    from restake_analysis.sweep import _unquote
    assert _unquote('"q\\"uote b\\\\ack\\nline\\u0001 \u00e9"') == 'q"uote b\\ack\nline\x01 \u00e9'
    assert _unquote("'C:\\dir'") == "C:\\dir" and _unquote("true") == "true" and _unquote("0.01") == "0.01"
    # a file from before string and boolean parameters: no labels, no kinds, format_version 1
    old = tmp_path / "old.h5"
    shutil.copy(sweeps / "two.h5", old)
    with h5py.File(old, "r+") as f:
        assert int(f.attrs["format_version"]) == 1  # numbers only: still version 1
        del f["points/labels"], f["points/kinds"]
    with Sweep(old) as s:
        assert s.kinds == ["number", "number"]
        assert s.parameter_labels(POOL) == ["0", "1000", "20000"] * 2
        assert s.parameter_labels(RATE)[:4] == ["0", "0", "0", "0.2"]  # whole values as integers
    with Sweep(sweeps / "three.h5") as s, h5py.File(sweeps / "three.h5", "r") as f:
        assert int(f.attrs["format_version"]) == 2  # label indices in /points/values


def test_a_weighted_sweep_says_so_and_each_points_summary_is_its_weighted_estimate(tmp_path):
    import h5py
    from conftest import sweep_weighted
    from restake_analysis import statistics as st
    sweep = tmp_path / "s.toml"
    sweep.write_text(f'[sweep]\nscenario = "{SCENARIO}"\ntrials = 1500\nseed = 3\n'
                     f'[[sweep.parameter]]\npath = "{RATE}"\nvalues = [0.0, 0.2]\n')
    out = sweep_weighted(tmp_path / "w.h5", sweep, 3.0, 0.1)
    with Sweep(out) as s:
        assert s.weighted and s.effective_sample_size.shape == (2,)
        assert np.all(s.effective_sample_size < s.trials)
        assert s.metric("loss/tail_ess99").shape == (2,)
    with h5py.File(out, "r") as f:
        assert f.attrs["weighted"] == 1 and f["trials/weight"].shape == (2, 1500)
        for p in range(2):   # one tilt, every point's own weights: the same as a results file's statistics
            w, loss = f["trials/weight"][p], f["trials/loss_fraction"][p]
            assert st.weight_spread(w) == (f["summary/weights/effective_sample_size"][p], f["summary/weights/max_weight_share"][p])
            for h in range(loss.shape[1]):
                mine = st.summarize_loss(loss[:, h], w)
                for k in ("var99", "es99", "p_loss", "tail_ess99"):
                    assert mine[k] == f[f"summary/loss/{k}"][p, h], (p, h, k)


def test_a_sweep_of_a_world_with_markets_gives_token_and_lending_market_summaries_by_name(tmp_path):
    from test_reader import MARKETS
    scenario = tmp_path / "markets.toml"
    scenario.write_text(MARKETS)
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(f'[sweep]\nscenario = "{scenario}"\ntrials = 200\nseed = 1\n'
                     '[[sweep.parameter]]\npath = "operator.op.annual_fault_probability"\nvalues = [0.1, 0.4]\n')
    run_cli("sweep", sweep, "-o", tmp_path / "s.h5", "-q")
    with Sweep(tmp_path / "s.h5") as s:
        assert s.token_names == ["tok-x"] and s.lending_names == ["aave-x"]
        low = s.metric("token/min_price_mean", "tok-x")  # likelier faults, more losses: lower prices
        assert low.shape == (2,) and 0.0 < low[1] < low[0] < 1.0
        assert s.metric("lending/p_bad_debt", "aave-x").shape == (2,)
        assert s.metric("loss_at_market/mean", "lst-y").shape == (2,)
        with pytest.raises(KeyError, match="no token 'nope'"):
            s.metric("token/p_depeg", "nope")
