"""The printed summary: `restake-analysis summary FILE` prints what `restake-sim summary FILE`
prints, byte for byte, for runs that exercise each of its tables."""
import io
import math
from contextlib import redirect_stdout

import pytest

from conftest import REPO, run_cli, simulate
from restake_analysis import Results
from restake_analysis.__main__ import main
from restake_analysis.summary_table import T19_975, _pct, _shortest, _usd, format_summary

SCENARIOS = REPO / "scenarios"
# name -> (scenario, extra run options): markets (default), USD prices and BTC holders with four
# tables (ecosystem), lending in USD (lrt-markets), one trial ("n/a" standard errors), a sketch run
# (--no-records), and weighted runs with a tail target (quantile with records; probability without).
RUNS = {
    "default": ("default.toml", ["--trials", "400"]),
    "ecosystem": ("ecosystem.toml", ["--trials", "300"]),
    "lrt-markets": ("lrt-markets.toml", ["--trials", "300"]),
    "one-trial": ("babylon.toml", ["--trials", "1"]),
    "no-records": ("default.toml", ["--trials", "400", "--no-records", "--threshold", "1%,5%,25%"]),
    "tail-quantile": ("default.toml", ["--trials", "400", "--tail", "rsETH-like:quantile=0.99"]),
    "tail-loss": ("default.toml", ["--trials", "400", "--tail", "rsETH-like:0.25", "--no-records"]),
}


def with_short_pilots(scenario, folder):
    """The scenario with a [tail] table of two small pilot rounds (the target comes from --tail), so
    a weighted run takes a fraction of a second; the printed text is what is compared, not the tilt."""
    path = folder / f"short-pilots-{scenario.name}"
    path.write_text(scenario.read_text() + '\n[tail]\nholder = "rsETH-like"\nloss = 0.25\npilot_trials = 500\nrounds = 2\n')
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("summary_table")
    out = {}
    for k, (scenario, extra) in RUNS.items():
        path = SCENARIOS / scenario
        if "--tail" in extra:
            path = with_short_pilots(path, d)
        out[k] = simulate(d / f"{k}.h5", path, *extra)
    return out


@pytest.mark.parametrize("name", list(RUNS))
def test_python_summary_prints_what_the_cpp_summary_prints(files, name):
    cpp = run_cli("summary", files[name]).stdout
    with Results(files[name]) as r:
        assert format_summary(r) == cpp
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["summary", str(files[name])]) == 0
    assert out.getvalue() == cpp


def test_the_runs_reach_every_table(files):
    # the comparison above is only as wide as the tables these runs print
    text = {k: run_cli("summary", f).stdout for k, f in files.items()}
    assert "Loss amounts" in text["ecosystem"] and " BTC" in text["ecosystem"]
    assert "debt USD" in text["lrt-markets"]
    assert "n/a" in text["one-trial"].split("\n")[4]
    assert "loss quantile 99%" in text["tail-quantile"] and "Trials beyond each VaR" in text["tail-quantile"]
    assert "tail target" in text["tail-loss"] and "loss quantile" not in text["tail-loss"]
    assert "Markets" in text["default"] and "AVS" in text["default"] and "pool" in text["default"]
    assert "P(loss >= x)" in text["no-records"] and "x = 25%" in text["no-records"]
    assert "Concentration: Herfindahl" in text["ecosystem"] and "HHI AVSs" in text["ecosystem"]


def test_printed_numbers_by_hand():
    assert _pct(0.0123456) == "1.2346%"
    assert _pct(-0.094062) == "-9.4062%"
    assert _usd(1.6e9) == "$1.60B" and _usd(27.38e6) == "$27.38M" and _usd(51_200.0) == "$51.2k" and _usd(0.0) == "$0"
    assert _shortest(365.0) == "365" and _shortest(0.1) == "0.1" and _shortest(182.5) == "182.5"


def test_batch_means_t_quantile():
    stats = pytest.importorskip("scipy.stats")
    assert math.isclose(T19_975, stats.t.ppf(0.975, 19), rel_tol=1e-13)


def test_percentages_read_back_to_the_stored_summary(files):
    # hand check of one row: the mean-loss column is 100 x /summary/loss/mean, four decimals
    with Results(files["default"]) as r:
        row = format_summary(r).splitlines()[4].split()
        assert row[0] == r.holder_names[0]
        assert row[5] == f"{100 * r.summary.loss['mean'][0]:.4f}%"
        assert row[6] == f"{100 * r.summary.loss['stderr'][0]:.4f}%"


def test_a_file_written_before_the_timing_and_concentration_reads_without_them(files, tmp_path):
    # Format version 2 files of earlier releases lack these datasets: both readers take them as absent.
    import shutil

    import h5py
    old = tmp_path / "old.h5"
    shutil.copy(files["ecosystem"], old)
    with h5py.File(old, "r+") as f:
        for group in ("summary/timing", "summary/concentration"):
            del f[group]
        for name in ("trials/first_loss_day", "trials/loss_7d_max"):
            del f[name]
    cpp = run_cli("summary", old).stdout
    assert "When losses come" not in cpp and "Concentration" not in cpp and "Mean loss by cause" in cpp
    with Results(old) as r:
        assert format_summary(r) == cpp


def many_holders(folder, n=14):
    """A world of n LSTs, each on its own faulty operator: more holder columns than 120 characters hold."""
    text = ('[simulation]\nname = "many"\ntrials = 300\nseed = 3\nhorizon_days = 365\n'
            '[ethereum]\ntotal_active_stake_eth = 34_000_000\nbase_apr = 0.03\n')
    for i in range(n):
        text += (f'[[operator]]\nname = "op-{i:02d}"\nstake_eth = 32_000\nannual_fault_probability = 0.5\n'
                 f'fault_fraction = 0.01\n')
    for i in range(n):
        text += f'[[lst]]\nname = "holder-{i:02d}"\npositions = [{{ operator = "op-{i:02d}", stake_eth = 32_000 }}]\n'
    path = folder / "many.toml"
    path.write_text(text)
    return path


def test_holder_columns_are_cut_to_120_unless_wide(tmp_path):
    from restake_analysis.summary_table import holder_groups
    # 20 + 10 x 10 = 120: ten holders of names up to 9 characters fit, the eleventh starts a table.
    assert holder_groups(["h"] * 14, 20, 120) == [(0, 10), (10, 14)]
    assert holder_groups(["h"] * 14, 20, 0) == [(0, 14)]
    assert holder_groups(["x" * 200], 20, 120) == [(0, 1)]  # one holder always goes in
    out = simulate(tmp_path / "many.h5", many_holders(tmp_path))
    cpp, wide = run_cli("summary", out).stdout, run_cli("summary", out, "--wide").stdout
    assert max(len(line) for line in cpp.splitlines()[1:]) <= 120
    assert cpp.count("\ncause ") == 2 and wide.count("\ncause ") == 1
    assert max(len(line) for line in wide.splitlines()) > 120
    assert all(f"holder-{i:02d}" in cpp for i in range(14))
    with Results(out) as r:
        assert format_summary(r) == cpp
        assert format_summary(r, 0) == wide


def test_thresholds_table_is_cut_to_120_unless_wide(tmp_path):
    """Six thresholds (given in two --threshold repeats): 16 + 6 x 23 = 154 columns, so four in a
    table and two in the next, the holders again; --wide prints one table. Python prints the same."""
    out = simulate(tmp_path / "t.h5", SCENARIOS / "default.toml", "--trials", "300", "--threshold", "1%,2%,5%",
                   "--threshold", "10%,25%,50%")
    cpp, wide = run_cli("summary", out).stdout, run_cli("summary", out, "--wide").stdout

    def headers(text):
        return [line.split()[1:] for line in text.splitlines() if line.startswith("holder") and "x = " in line]
    assert headers(cpp) == [["x", "=", "1%", "x", "=", "2%", "x", "=", "5%", "x", "=", "10%"],
                            ["x", "=", "25%", "x", "=", "50%"]]
    assert headers(wide) == [["x", "=", "1%", "x", "=", "2%", "x", "=", "5%", "x", "=", "10%", "x", "=", "25%", "x", "=",
                              "50%"]]
    assert max(len(line) for line in cpp.splitlines()[1:]) <= 120
    assert max(len(line) for line in wide.splitlines()) > 120
    table = cpp[cpp.index("P(loss >= x)"):cpp.index("When losses come")]
    assert all(table.count(f"\n{h} ") == 2 for h in ("rsETH-like", "stETH-like", "native-restakers"))
    with Results(out) as r:
        assert list(r.thresholds) == [0.01, 0.02, 0.05, 0.1, 0.25, 0.5]
        assert format_summary(r) == cpp
        assert format_summary(r, 0) == wide
