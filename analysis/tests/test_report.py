"""The report command: one file, a --no-records file, a comparison, a world without AVSs."""
import os
import re
import subprocess
import sys

import pytest

from conftest import REPO
from restake_analysis.report import write_report


def images(page: str) -> list[str]:
    return re.findall(r'<img src="([^"]+)"', page)


def check_self_contained(out, page):
    for src in images(page):
        assert (out / src).is_file(), src
    # Opens from disk with no server and no network: nothing is fetched from elsewhere.
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "<script" not in page


@pytest.fixture(scope="module")
def single(files, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    proc = subprocess.run([sys.executable, "-m", "restake_analysis", "report", str(files["default"]), "-o", str(out)],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO / "analysis")})
    assert proc.returncode == 0, proc.stderr
    assert str(out / "index.html") in proc.stdout
    return out, (out / "index.html").read_text()


def test_report_page_has_tables_every_figure_the_scenario_seed_and_version(single, default):
    out, page = single
    check_self_contained(out, page)
    figs = {os.path.basename(s)[:-4] for s in images(page)}
    assert figs == {"loss_exceedance", "net_yield", "loss_by_cause", "avs_holder", "convergence",
                    "conditional_holders", "conditional_avs", "amplification", "restaking_ratio"}
    assert f"seed {default.seed}" in page and str(default.seed) in page
    assert default.program_version in page and default.git_commit in page
    assert "[[avs.slashing]]" in page and "&quot;eigenlayer&quot;" in page      # scenario text, escaped
    for name in default.holder_names:
        assert name in page
    assert "14.7%" in page                                   # rsETH-like VaR 99% (20000 trials)
    assert "equals the stored C++ summary exactly" in page
    assert (out / "figures" / "summary.csv").read_text().startswith("holder,kind,asset,value,value_usd,")
    assert "580,000 ETH" in page                              # amounts carry their asset
    assert "value USD" not in page and "$" not in page.split("<pre>")[0]   # no prices, so no USD


def test_no_records_report_works_from_the_summary_and_says_what_is_missing(files, tmp_path):
    index = write_report([files["norecords"]], tmp_path)
    page = index.read_text()
    check_self_contained(tmp_path, page)
    assert "--no-records" in page and "not shown" in page and "loss exceedance curves" in page
    figs = {os.path.basename(s)[:-4] for s in images(page)}
    assert figs == {"loss_by_cause", "avs_holder", "restaking_ratio"}
    assert "relative error 0.0001" in page
    assert "14.7%" in page                                   # VaR 99% from the sketch, same to 3 digits


def test_comparison_report_puts_runs_side_by_side(files, tmp_path):
    index = write_report([files["n1234"], files["n100"], files["norecords"]], tmp_path)
    page = index.read_text()
    check_self_contained(tmp_path, page)
    assert 'id="compare"' in page and "comparison_exceedance.png" in page
    for run in ("run1", "run2", "run3"):
        assert f'id="{run}"' in page and (tmp_path / run).is_dir()
    assert "Key statistics by run" in page
    assert "seed 11" in page and "1,234 trials" in page


def test_report_of_a_world_without_avs_pools_or_restaking(files, tmp_path):
    index = write_report([files["minimal"]], tmp_path)
    page = index.read_text()
    check_self_contained(tmp_path, page)
    assert "net-yield comparison" in page                     # skipped, and said so
    assert "staker" in page and "<h3>AVSs</h3>" not in page


def test_report_of_a_two_asset_world_labels_amounts_with_their_asset(files, tmp_path):
    index = write_report([files["mixed"]], tmp_path)
    page = index.read_text()
    check_self_contained(tmp_path, page)
    figs = {os.path.basename(s)[:-4] for s in images(page)}
    assert {"net_yield", "avs_holder", "amplification", "restaking_ratio"} <= figs
    # Cards and the loss table: each holder's value in its asset, and in USD at the scenario's prices.
    assert "lrt · 500 BTC ($47.50M)" in page and "lrt · 50,000 ETH ($150.00M)" in page
    assert "value USD" in page and "VaR 99% USD" in page
    assert "ETH (USD 3,000.00 per ETH), BTC (USD 95,000.00 per BTC)" in page
    # AVS and pool tables in their own assets.
    assert re.search(r"<td[^>]*>bsn-a</td><td[^>]*>[\d,.]+ BTC</td>", page)
    assert re.search(r"<td[^>]*>btc-cover</td><td[^>]*>20 BTC</td>", page)
    assert re.search(r"<td[^>]*>eth-bond</td><td[^>]*>500 ETH</td>", page)
    # Amplification: per-asset aggregates and the USD one, with the note.
    assert "all BTC holders" in page and "all holders (USD)" in page and "aggregated per asset" in page
    # Findings compare restaked holders only with a baseline of their own asset.
    assert "<b>eth-lrt</b> has a 1-in-100 loss" in page and "<b>btc-lrt</b> has a 1-in-100 loss" not in page
    assert "BTC of AVS security per BTC held" in page
    csv = (tmp_path / "figures" / "summary.csv").read_text().splitlines()
    assert csv[0].startswith("holder,kind,asset,value,value_usd,") and csv[2].startswith("btc-lrt,lrt,BTC,500.0,47500000.0,")


def test_report_of_a_two_asset_world_without_prices_adds_nothing_across_assets(files, tmp_path):
    index = write_report([files["mixed_no_prices"]], tmp_path)
    page = index.read_text()
    check_self_contained(tmp_path, page)
    assert "value USD" not in page and "all holders (USD)" not in page
    assert "no USD price for ETH or BTC" in page and "all ETH holders" in page
    assert "lrt · 500 BTC</div>" in page


def test_report_of_a_two_asset_world_without_records(files, tmp_path):
    index = write_report([files["mixed_norecords"]], tmp_path)
    page = index.read_text()
    check_self_contained(tmp_path, page)
    assert {os.path.basename(s)[:-4] for s in images(page)} == {"loss_by_cause", "avs_holder", "restaking_ratio"}
    assert "lrt · 500 BTC ($47.50M)" in page


def test_the_report_of_a_weighted_run_states_its_estimator_and_effective_sample_size(files, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "restake_analysis", "report", str(files["weighted"]), "-o", str(tmp_path)],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO / "analysis")})
    assert proc.returncode == 0, proc.stderr
    page = (tmp_path / "index.html").read_text()
    check_self_contained(tmp_path, page)
    assert "5,000 trials of importance sampling" in page
    assert re.search(r"importance sampling: 5,000 trials weighted by their likelihood ratios; effective sample size [\d,]+", page)
    assert "batch means over 20 batches" in page
    assert "every quantile, VaR, ES and probability equals the stored C++ summary exactly" in page
    assert "and their weights (importance sampling)" in page
    plain = write_report([files["n100"]], tmp_path / "plain")
    assert "plain Monte Carlo: 100 trials of equal weight" in plain.read_text()
