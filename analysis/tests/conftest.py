"""Fixtures: results files written by the real CLI (small trial counts) into pytest's tmp dirs.

The CLI is $RESTAKE_SIM (CTest sets it to the built target), else build/bin/restake-sim."""
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "scenarios" / "default.toml"


def cli_path() -> Path:
    path = Path(os.environ.get("RESTAKE_SIM", REPO / "build" / "bin" / "restake-sim"))
    if not path.is_file():
        pytest.fail(f"restake-sim CLI not found at {path}: build it, or set RESTAKE_SIM", pytrace=False)
    return path


def run_cli(*args) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(cli_path()), *map(str, args)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"restake-sim {' '.join(map(str, args))} failed:\n{proc.stderr}"
    return proc


def simulate(out: Path, scenario=SCENARIO, *extra) -> Path:
    run_cli("run", scenario, "-o", out, "--no-progress", "-q", *extra)
    return out


def simulate_weighted(out: Path, scenario, trials: int, factor: float, defensive: float, *extra) -> Path:
    """A weighted (importance-sampled) results file: every event source's rate times `factor`,
    `defensive` of the trials at the model's rates, written by tests/write_weighted_results (CTest
    sets $RESTAKE_WEIGHTED_WRITER; else build/bin/write_weighted_results)."""
    return _weighted_writer(str(scenario), str(out), str(trials), str(factor), str(defensive), *extra)


def sweep_weighted(out: Path, sweep, factor: float, defensive: float) -> Path:
    """A weighted sweep file (with records): every point drawn with the same tilt."""
    return _weighted_writer("--sweep", str(sweep), str(out), str(factor), str(defensive))


def _weighted_writer(*args) -> Path:
    path = Path(os.environ.get("RESTAKE_WEIGHTED_WRITER", REPO / "build" / "bin" / "write_weighted_results"))
    if not path.is_file():
        pytest.fail(f"write_weighted_results not found at {path}: build it, or set RESTAKE_WEIGHTED_WRITER", pytrace=False)
    proc = subprocess.run([str(path), *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"write_weighted_results failed:\n{proc.stderr}"
    return Path(args[2] if args[0] == "--sweep" else args[1])


# A second world: two LST baselines, one LRT restaking through a shared-mode protocol with one AVS,
# no pools (so the AVS x holder attribution is exact in every trial).
TWO_BASELINES = """
[simulation]
name = "two-baselines"
trials = 1000
seed = 3
horizon_days = 180

[ethereum]
total_active_stake_eth = 34_000_000

[[operator]]
name = "op-a"
validators = 1000
annual_fault_probability = 0.2
fault_fraction = { dist = "beta", alpha = 1, beta = 10 }

[[operator]]
name = "op-b"
stake_eth = 64_000
effective_balance_eth = 64
annual_fault_probability = 0.1
fault_fraction = 0.05

[[protocol]]
name = "shared-proto"
slashing_mode = "shared"

[[avs]]
name = "sequencer"
protocol = "shared-proto"
operators = ["op-a"]
faulty_annual_probability = 0.05
faulty_fraction = 0.1
  [[avs.slashing]]
  name = "liveness"
  annual_probability = 0.3
  fraction = { dist = "uniform", min = 0.01, max = 0.2 }
  [avs.rewards]
  initial_apr = 0.02

[[lst]]
name = "lst-one"
positions = [{ operator = "op-a", stake_eth = 10_000 }]

[[lrt]]
name = "lrt-x"
reward_fee = 0.1
protocol = "shared-proto"
positions = [{ operator = "op-a", stake_eth = 12_000 }, { operator = "op-b", stake_eth = 8_000, protocol = "shared-proto" }]

[[lst]]
name = "lst-two"
positions = [{ operator = "op-b", stake_eth = 20_000 }]
"""

# The smallest world: one LST, no AVS, no pool, no restaking.
MINIMAL = """
[simulation]
name = "minimal"

[ethereum]
total_active_stake_eth = 34_000_000

[[operator]]
name = "op"
validators = 100
annual_fault_probability = 0.3
fault_fraction = 0.1

[[lst]]
name = "staker"
positions = [{ operator = "op", stake_eth = 3200 }]
"""

# A world of two assets (format_version 2): ETH holders (an LRT partly staked with another operator's
# validators, an LST baseline) and BTC holders (Babylon-style finality providers, a bridged liquid
# token and native stakers), an ETH AVS and two BTC ones, a BTC pool and an ETH operator bond, USD
# prices, [stress] and [ethereum] fork. MIXED_NO_PRICES is the same world without [prices_usd].
MIXED = """
[simulation]
name = "mixed-assets"
trials = 3000
seed = 7
horizon_days = 365

[ethereum]
total_active_stake_eth = 34_000_000
fork = "electra"

[prices_usd]
ETH = 3_000
BTC = 95_000

[[operator]]
name = "eth-op"
validators = 2000
annual_fault_probability = 0.3
fault_fraction = { dist = "beta", alpha = 1, beta = 10 }

[[operator]]
name = "lst-op"
validators = 1000
annual_fault_probability = 0.1
fault_fraction = 0.05

[[operator]]
name = "fp-1"
asset = "BTC"
stake_btc = 1_000

[[operator]]
name = "fp-2"
asset = "BTC"
stake_btc = 800

[[contract]]
name = "btc-bridge"
kind = "bridge"
annual_failure_probability = 0.2
loss_given_failure = 0.5

[[protocol]]
name = "eigen"
slashing_mode = "unique"

[[protocol]]
name = "babylon"
slashing_mode = "shared"

[[avs]]
name = "eth-oracle"
protocol = "eigen"
operators = [{ operator = "eth-op", allocation = 0.5 }]
  [[avs.slashing]]
  name = "bad-report"
  annual_probability = 0.3
  fraction = 0.2

[[avs]]
name = "bsn-a"
protocol = "babylon"
operators = ["fp-1", "fp-2"]
  [[avs.slashing]]
  name = "double-sign"
  annual_probability = 0.2
  fraction = 0.05

[[avs]]
name = "bsn-b"
protocol = "babylon"
operators = ["fp-2"]
  [[avs.slashing]]
  name = "double-sign"
  annual_probability = 0.3
  fraction = 0.1
  [avs.rewards]
  initial_apr = 0.03

[[lrt]]
name = "eth-lrt"
protocol = "eigen"
positions = [{ operator = "eth-op", stake_eth = 40_000 }, { operator = "eth-op", staked_with = "lst-op", stake_eth = 10_000 }]

[[lrt]]
name = "btc-lrt"
protocol = "babylon"
bridged = [{ bridge = "btc-bridge", share = 1.0 }]
positions = [{ operator = "fp-1", stake_btc = 300 }, { operator = "fp-2", stake_btc = 200 }]

[[lst]]
name = "eth-lst"
positions = [{ operator = "lst-op", stake_eth = 20_000 }]

[[native]]
name = "btc-native"
protocol = "babylon"
positions = [{ operator = "fp-1", stake_btc = 600 }, { operator = "fp-2", stake_btc = 500 }]

[[pool]]
name = "btc-cover"
balance_btc = 20
covers = ["avs_slashing", "bridge"]

[[pool]]
name = "eth-bond"
balance_eth = 500
covers = ["beacon_slashing", "avs_slashing"]
operators = ["eth-op"]

[stress]
random_events = true
"""

MIXED_NO_PRICES = MIXED.replace('name = "mixed-assets"', 'name = "mixed-no-prices"').replace(
    "[prices_usd]\nETH = 3_000\nBTC = 95_000\n", "")
assert "prices_usd" not in MIXED_NO_PRICES


@pytest.fixture(scope="session")
def files(tmp_path_factory):
    """Results files of the default scenario: 20000 trials, 1234 trials (fractional ES boundary),
    100 trials (p n = 95.00000000000001), and 20000 trials with --no-records; plus the other worlds
    above (the mixed-asset one with and without USD prices, and without records)."""
    d = tmp_path_factory.mktemp("results")
    (d / "two.toml").write_text(TWO_BASELINES)
    (d / "minimal.toml").write_text(MINIMAL)
    (d / "mixed.toml").write_text(MIXED)
    (d / "mixed-no-prices.toml").write_text(MIXED_NO_PRICES)
    return {
        "default": simulate(d / "default.h5", SCENARIO, "--trials", 20000),
        "n1234": simulate(d / "n1234.h5", SCENARIO, "--trials", 1234, "--seed", 11),
        "n100": simulate(d / "n100.h5", SCENARIO, "--trials", 100, "--seed", 5),
        "norecords": simulate(d / "norecords.h5", SCENARIO, "--trials", 20000, "--no-records"),
        "two": simulate(d / "two.h5", d / "two.toml", "--trials", 4000),
        "minimal": simulate(d / "minimal.h5", d / "minimal.toml", "--trials", 2000),
        "mixed": simulate(d / "mixed.h5", d / "mixed.toml"),
        "mixed_no_prices": simulate(d / "mixed-no-prices.h5", d / "mixed-no-prices.toml"),
        "mixed_norecords": simulate(d / "mixed-norecords.h5", d / "mixed.toml", "--no-records"),
        # Weighted runs: every rate tripled (quadrupled), a tenth of the trials at the model's rates.
        "weighted": simulate_weighted(d / "weighted.h5", SCENARIO, 5000, 3.0, 0.1),
        "weighted_two": simulate_weighted(d / "weighted-two.h5", d / "two.toml", 3001, 4.0, 0.2),
        "weighted_norecords": simulate_weighted(d / "weighted-norecords.h5", SCENARIO, 5000, 3.0, 0.1, "--no-records"),
    }


@pytest.fixture(scope="session")
def default(files):
    from restake_analysis import Results
    with Results(files["default"]) as r:
        yield r
