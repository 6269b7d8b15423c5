"""The report command: one file, a --no-records file, a comparison, a world without AVSs."""
import os
import re
import subprocess
import sys

import pytest

import numpy as np

from conftest import REPO, simulate
from restake_analysis import Results
from restake_analysis.plots import pct, usd
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
                    "conditional_holders", "conditional_avs", "amplification", "restaking_ratio", "bad_debt_exceedance",
                    "price_paths", "first_loss_day"}
    assert f"seed {default.seed}" in page and str(default.seed) in page
    assert default.program_version in page and default.git_commit in page
    assert "[[avs.slashing]]" in page and "&quot;eigenlayer&quot;" in page      # scenario text, escaped
    for name in default.holder_names:
        assert name in page
    assert "14.7%" in page                                   # rsETH-like VaR 99% (20000 trials)
    assert "equals the stored C++ summary exactly" in page
    assert (out / "figures" / "summary.csv").read_text().startswith("holder,kind,asset,value,value_usd,")
    # summary.csv carries the page's 95% intervals beside the figures they bound.
    import pandas as pd
    table = pd.read_csv(out / "figures" / "summary.csv", index_col="holder")
    cols = list(table.columns)
    assert cols[cols.index("var99") + 1:cols.index("var99") + 3] == ["var99_ci_low", "var99_ci_high"]
    assert ((table["var99_ci_low"] <= table["var99"]) & (table["var99"] <= table["var99_ci_high"])).all()
    assert ((table["loss_mean_ci_low"] <= table["loss_mean"]) & (table["loss_mean"] <= table["loss_mean_ci_high"])).all()
    assert {"var95_ci_low", "es99_ci_high"} <= set(cols)
    assert "580,000 ETH" in page                              # amounts carry their asset
    assert "value USD" not in page and "$" not in page.split("<pre>")[0]   # no prices, so no USD


def test_no_records_report_works_from_the_summary_and_says_what_is_missing(files, tmp_path):
    index = write_report([files["norecords"]], tmp_path)
    page = index.read_text()
    check_self_contained(tmp_path, page)
    assert "--no-records" in page and "not shown" in page and "loss exceedance curves" in page
    figs = {os.path.basename(s)[:-4] for s in images(page)}
    # The worst trials' price paths need no records: they are tallied as the run goes and re-run.
    assert figs == {"loss_by_cause", "avs_holder", "restaking_ratio", "price_paths"}
    assert "bad-debt exceedance per lending market" in page   # in the list of what is not shown
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
    assert "importance sampling: probabilities and means, normal intervals of the weighted means" in page  # Markets
    assert "Wilson" not in page.split('id="run1-markets"')[1].split("</section>")[0]
    plain = write_report([files["n100"]], tmp_path / "plain")
    assert "plain Monte Carlo: 100 trials of equal weight" in plain.read_text()


def markets_section(page: str) -> str:
    m = re.search(r'<section id="run1-markets">.*?</section>', page, re.S)
    assert m, "no Markets section"
    return m.group(0)


def test_a_run_with_markets_has_a_markets_section_with_tables_and_the_bad_debt_figure(single, default):
    out, page = single
    assert '<a href="#run1-markets">Markets</a>' in page
    sec = markets_section(page)
    # Tokens: each token with its holder and lowest price, P(depeg), days and tokens sold.
    t = default.summary.token
    for k, name in enumerate(default.token_names):
        assert re.search(rf"<td[^>]*>{re.escape(name)}</td><td[^>]*>{re.escape(default.token_holders[k])}</td>"
                         rf"<td[^>]*>{t['min_price_mean'][k]:.4f}</td><td[^>]*>{t['min_price_p05'][k]:.4f}</td>", sec)
    # Loss at market beside loss at NAV, for the token's holder: the stored VaR 99% of both.
    h = default.holder_index(default.token_holders[0])
    assert "VaR 99% at market" in sec and "VaR 99% at NAV" in sec
    assert f">{pct(default.summary.loss_at_market['var99'][h])}<br>" in sec
    assert f">{pct(default.summary.loss['var99'][h])}<br>" in sec
    # Lending markets: each by name with its oracle (from the scenario), VaR 95% and the probabilities.
    ls = default.summary.lending
    for m, name in enumerate(default.lending_names):
        assert f">{name}</td>" in sec
        assert f">{pct(ls['p_bad_debt_1pct'][m])}<br>" in sec
    assert "exchange_rate" in sec and "market_spot" in sec
    assert "Gauntlet" in sec and "Credora" in sec
    # The figures, and the data beside them: the worst trials' price paths (run's default --price-paths 10)
    # come with the token's tables.
    assert 'id="run1-price_paths"' in sec and (out / "figures" / "price_paths.png").stat().st_size > 0
    assert sec.index('id="run1-price_paths"') < sec.index("<h3>Lending markets</h3>")
    assert 'id="run1-bad_debt_exceedance"' in sec and "figures/bad_debt_exceedance.png" in sec
    assert (out / "figures" / "tokens.csv").read_text().startswith("token,holder,")
    assert (out / "figures" / "lending.csv").read_text().startswith("lending_market,token,debt_eth,")
    # No USD in a world without prices.
    assert "USD" not in sec


def test_markets_without_records_come_from_the_summary_and_say_why_there_is_no_figure(files, tmp_path):
    page = write_report([files["norecords"]], tmp_path).read_text()
    sec = markets_section(page)
    assert "bad_debt_exceedance" not in sec
    assert "No bad-debt exceedance plot: this run was written with <code>--no-records</code>" in sec
    with Results(files["norecords"]) as r:
        for m, name in enumerate(r.lending_names):
            assert f">{pct(r.summary.lending['p_bad_debt_1pct'][m])}</td>" in sec  # no interval without records
    assert not (tmp_path / "figures" / "bad_debt_exceedance.png").exists()


def test_markets_whose_reserves_cover_every_deficit_say_so_instead_of_an_empty_plot(tmp_path):
    scenario = (REPO / "scenarios" / "default.toml").read_text()
    assert scenario.count("debt_eth = 150_000\n") == 2
    (tmp_path / "reserved.toml").write_text(
        scenario.replace("debt_eth = 150_000\n", "debt_eth = 150_000\nreserve_eth = 1_000_000\n"))
    simulate(tmp_path / "reserved.h5", tmp_path / "reserved.toml", "--trials", 3000)
    with Results(tmp_path / "reserved.h5") as r:
        assert not np.any(r.trials("lending_bad_debt") > 0) and np.any(r.trials("lending_liquidated") > 0)
    page = write_report([tmp_path / "reserved.h5"], tmp_path / "report").read_text()
    sec = markets_section(page)
    assert "No lending market has bad debt in any of the 3,000 trials, so there is no bad-debt exceedance to plot" in sec
    assert "bad_debt_exceedance.png" not in sec and not (tmp_path / "report" / "figures" / "bad_debt_exceedance.png").exists()


def test_runs_without_markets_have_no_markets_section(files, tmp_path):
    for key in ("minimal", "mixed", "mixed_norecords"):
        page = write_report([files[key]], tmp_path / key).read_text()
        assert 'id="run1-markets"' not in page and "Markets" not in page, key
        assert "bad-debt" not in page and "bad_debt" not in page and "loss at market" not in page.lower()
        assert not (tmp_path / key / "figures" / "tokens.csv").exists()


def test_markets_in_usd_where_the_file_has_an_eth_price(tmp_path):
    """The lending table's debt and bad debt in USD too when the scenario prices ETH."""
    scenario = (REPO / "scenarios" / "default.toml").read_text()
    assert "[prices_usd]" not in scenario
    (tmp_path / "priced.toml").write_text(scenario + "\n[prices_usd]\nETH = 2_000\n")
    simulate(tmp_path / "priced.h5", tmp_path / "priced.toml", "--trials", 2000)
    page = write_report([tmp_path / "priced.h5"], tmp_path / "report").read_text()
    sec = markets_section(page)
    assert "debt USD" in sec and "bad debt VaR 95% USD" in sec and "VaR 99% at market, USD" in sec
    with Results(tmp_path / "priced.h5") as r:
        assert f">{usd(r.lending_debt_eth[0] * 2000)}</td>" in sec


def test_key_findings_give_no_ratio_against_a_baseline_that_loses_almost_nothing():
    from restake_analysis.report import baseline_label, var_ratio_text
    assert var_ratio_text(0.1468, 0.0243) == " (×6.0)"
    assert var_ratio_text(0.02, 0.015) == ""                    # under 2x: no ratio
    # 14.7% against 0.0015%: "x9,561" said more about the baseline's rounding than about the holder.
    assert "×" not in var_ratio_text(0.1468, 0.0000154)
    assert "loses almost nothing" in var_ratio_text(0.1468, 0.0000154)
    assert var_ratio_text(0.0005, 0.0) == ""                     # neither is material
    assert baseline_label("stETH-baseline") == "stETH-baseline"
    assert baseline_label("stETH-like") == "stETH-like baseline"
