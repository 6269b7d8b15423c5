"""Contagion metrics against brute force and hand computation."""
import copy

import numpy as np
import pytest

from restake_analysis import Results
from restake_analysis import contagion as cg
from restake_analysis import plots
from restake_analysis.scenario import holder_avs_exposure, parse_world


def test_conditional_loss_matrix_is_p_j_given_i_from_the_trials(files):
    with Results(files["n1234"]) as r:
        m = cg.holder_conditional_loss(r, threshold=0.0)
        gross = r.gross_loss
        for i in range(3):
            for j in range(3):
                hit_i = gross[:, i] > 0
                expected = np.mean(gross[hit_i, j] > 0) if hit_i.any() else np.nan
                np.testing.assert_allclose(m.matrix[i, j], expected, rtol=1e-12)
        np.testing.assert_array_equal(np.diag(m.matrix), 1.0)
        np.testing.assert_allclose(m.p_hit, np.mean(gross > 0, axis=0))
        material = cg.holder_conditional_loss(r, threshold=0.01, gross=False)
        hit = r.loss_fraction > 0.01
        assert material.n_hit.tolist() == hit.sum(axis=0).tolist()


def test_avs_conditional_matrix_and_never_slashed_rows(files):
    with Results(files["n100"]) as r:
        m = cg.avs_conditional_slashing(r)
        slashed = r.avs_stake_lost > 0
        for a in range(len(r.avs_names)):
            if not slashed[:, a].any():
                assert np.isnan(m.matrix[a]).all()      # never slashed: no conditional row
            else:
                np.testing.assert_allclose(m.matrix[a], slashed[slashed[:, a]].mean(axis=0))


def test_restaking_ratio_of_the_default_world_by_hand(default):
    rr = cg.restaking_ratio(cg.world_of(default))
    assert rr.operators == ["op-alpha", "op-beta", "op-gamma", "op-delta", "op-epsilon"]
    np.testing.assert_allclose(rr.operator_tvl, [640_000, 400_000, 256_000, 160_000, 960_000])
    # op-alpha: oracle 0.3 x 300k, data-availability 0.4 x 300k (eigenlayer: rsETH 200k + native
    # 100k), bridge-validation (shared) 50k through symbiotic.
    np.testing.assert_allclose(rr.operator_by_avs[0], [90_000 / 640_000, 120_000 / 640_000, 50_000 / 640_000])
    assert rr.operator_ratio[0] == pytest.approx(260_000 / 640_000)
    assert rr.operator_ratio[4] == 0.0
    # rsETH-like: oracle 0.3*200k + 0.3*150k + 0.2*100k; DA 0.4*200k + 0.2*150k + 0.5*80k; BV 50k.
    np.testing.assert_allclose(rr.holder_by_avs[0], [125_000 / 580_000, 150_000 / 580_000, 50_000 / 580_000])
    assert rr.holder_ratio[0] == pytest.approx(325_000 / 580_000)
    assert rr.holder_ratio[1] == 0.0                       # the LST restakes nothing
    assert rr.holder_ratio[2] == pytest.approx(95_000 / 150_000)


def test_cascade_amplification_against_brute_force(files):
    with Results(files["n1234"]) as r:
        amp = cg.cascade_amplification(r)
        eth = r.loss_by_cause * r.holder_value[None, :, None]
        for k in range(4):
            ledger = eth[:, k, :] if k < 3 else eth.sum(axis=1)
            total, direct, ratios = 0.0, 0.0, []
            for row in ledger:
                if row.sum() > 0:
                    total += row.sum()
                    direct += row.max()
                    ratios.append(row.sum() / row.max())
            assert amp.n_loss[k] == len(ratios)
            assert amp.ratio_of_sums[k] == pytest.approx(total / direct, rel=1e-12)
            assert amp.mean[k] == pytest.approx(np.mean(ratios), rel=1e-12)
        assert np.all(amp.ratio_of_sums >= 1.0)
        finite = amp.by_cause[np.isfinite(amp.by_cause)]
        assert np.all((finite >= 1.0) & (finite <= len(r.loss_causes)))
        assert amp.trials_by_cause.sum(axis=0).tolist() == amp.n_loss.tolist()


def test_the_exact_avs_holder_matrix_from_the_file_keeps_both_ledgers(default):
    att = cg.avs_holder_loss(default, cg.world_of(default))
    assert att.method == "exact" and att.exact_share == 1.0
    np.testing.assert_array_equal(att.loss_fraction, default.summary.avs_holder_loss_mean)
    lbc = default.summary.loss_by_cause_mean
    own = (lbc[:, 1] + lbc[:, 2]) * default.holder_value
    np.testing.assert_allclose(att.loss.sum(axis=0), own, rtol=1e-9)   # columns: each holder's AVS ledger
    np.testing.assert_allclose(att.loss.sum(axis=1), default.summary.avs_stake_lost_mean, rtol=1e-9)  # rows: each AVS's
    assert np.all(att.loss[att.exposure == 0] == 0)
    # the attribution (for files without the matrix) agrees where it is exact and is close overall
    fitted = cg.avs_holder_loss(default, cg.world_of(default), exact=False)
    np.testing.assert_allclose(fitted.loss, att.loss, rtol=0.05, atol=1e-9 * att.loss.max())


def test_avs_holder_attribution_keeps_both_ledgers(default):
    att = cg.avs_holder_loss(default, cg.world_of(default), exact=False)
    assert att.method == "per-trial" and 0.5 < att.exact_share <= 1.0
    # Columns: each holder's AVS-slashing loss from its own ledger, exactly.
    lbc = default.summary.loss_by_cause_mean
    own = (lbc[:, 1] + lbc[:, 2]) * default.holder_value
    np.testing.assert_allclose(att.loss.sum(axis=0), own, rtol=1e-9)
    # Rows: each AVS's mean slashed stake (fitted where several AVSs slashed in one trial).
    np.testing.assert_allclose(att.loss.sum(axis=1), default.summary.avs_stake_lost_mean, rtol=1e-6)
    # Nothing lands where the AVS cannot slash: the LST, and native restakers for the Symbiotic AVS.
    assert np.all(att.loss[:, 1] == 0)
    assert att.loss[2, 2] == 0
    assert np.all(att.loss[att.exposure == 0] == 0)


def test_avs_holder_attribution_is_exact_with_one_avs(files):
    with Results(files["two"]) as r:
        att = cg.avs_holder_loss(r, cg.world_of(r), exact=False)
        assert att.exact_share == 1.0
        lbc = r.loss_by_cause
        ledger = ((lbc[:, :, 1] + lbc[:, :, 2]) * r.holder_value).mean(axis=0)
        np.testing.assert_allclose(att.loss[0], ledger, rtol=1e-12)
        assert att.loss[0, 0] > 0 and att.loss[0, 1] == 0 and att.loss[0, 2] == 0


def test_avs_holder_attribution_without_records_is_pro_rata(files):
    with Results(files["norecords"]) as r:
        att = cg.avs_holder_loss(r, cg.world_of(r), exact=False)
        assert att.method == "pro-rata"
        np.testing.assert_allclose(att.loss.sum(axis=1), r.summary.avs_stake_lost_mean, rtol=1e-12)
        share = att.exposure / att.exposure.sum(axis=1, keepdims=True)
        np.testing.assert_allclose(att.loss, share * r.summary.avs_stake_lost_mean[:, None], rtol=1e-12)


def test_the_scenario_world_matches_the_file(files):
    with Results(files["two"]) as r:
        w = cg.world_of(r)
        assert w.holder_names == ["lrt-x", "lst-one", "lst-two"]     # lrt, then lst, in file order
        np.testing.assert_allclose([h.value for h in w.holders], r.holder_value)
        assert w.operator_stake == {"op-a": 32_000.0, "op-b": 64_000.0}
        rr = cg.restaking_ratio(w)
        # Shared mode: the whole stake on op-a secures the AVS; the op-b position secures nothing.
        assert rr.holder_ratio.tolist() == pytest.approx([12_000 / 20_000, 0.0, 0.0])
        assert rr.operator_ratio.tolist() == pytest.approx([12_000 / 32_000, 0.0])


# --- two assets -------------------------------------------------------------------------------------


def test_the_scenario_parser_reads_assets_staked_with_pools_and_prices(files):
    with Results(files["mixed"]) as r:
        w = cg.world_of(r)
        assert w is not None
        assert w.operator_stake == {"eth-op": 64_000.0, "lst-op": 32_000.0, "fp-1": 1_000.0, "fp-2": 800.0}
        assert w.operator_asset == {"eth-op": "ETH", "lst-op": "ETH", "fp-1": "BTC", "fp-2": "BTC"}
        assert [h.asset for h in w.holders] == r.holder_assets
        assert [h.value for h in w.holders] == r.holder_value.tolist()
        assert [a.asset for a in w.avs] == ["ETH", "BTC", "BTC"]
        lrt = w.holders[0].positions
        assert [p.staked_with for p in lrt] == [None, "lst-op"]
        assert [p.validator_operator for p in lrt] == ["eth-op", "lst-op"]
        assert [p.operator for p in lrt] == ["eth-op", "eth-op"]     # both restaked with eth-op
        btc_cover, eth_bond = w.pools
        assert (btc_cover.asset, btc_cover.balance, btc_cover.holders) == ("BTC", 20.0, ("btc-lrt", "btc-native"))
        assert (eth_bond.asset, eth_bond.balance, eth_bond.operators) == ("ETH", 500.0, ("eth-op",))
        assert eth_bond.holders == ("eth-lrt", "eth-lst")            # default: the holders of its asset
        assert w.prices_usd == {"ETH": 3000.0, "BTC": 95000.0}


def test_the_scenario_parser_refuses_what_the_file_does_not_match(files):
    with Results(files["mixed"]) as r:
        good = r.scenario
        assert cg.world_of(r) is not None
        # A BTC amount on an ETH operator cannot be read.
        bad = copy.deepcopy(good)
        bad["lrt"][0]["positions"][0] = {"operator": "eth-op", "stake_btc": 40_000, "protocol": "eigen"}
        with pytest.raises(ValueError, match="stake_btc"):
            parse_world(bad)
        # A world whose assets differ from the file's is not used (world_of: None).
        other = copy.deepcopy(good)
        for o in other["operator"]:
            if o["name"] in ("fp-1", "fp-2"):
                o.pop("asset")
                o["stake_eth"] = o.pop("stake_btc") * 32
        for kind in ("lrt", "native"):
            for h in other[kind]:
                for p in h["positions"]:
                    if "stake_btc" in p:
                        p["stake_eth"] = p.pop("stake_btc")
        assert [h.asset for h in parse_world(other).holders] == ["ETH"] * 4
        r._scenario = other
        assert cg.world_of(r) is None
        r._scenario = good


def test_restaking_ratio_of_the_two_asset_world_by_hand(files):
    with Results(files["mixed"]) as r:
        rr = cg.restaking_ratio(cg.world_of(r))
        assert rr.operator_assets == ["ETH", "ETH", "BTC", "BTC"] and rr.avs_assets == ["ETH", "BTC", "BTC"]
        # eth-op: its 64,000 ETH of validators plus 10,000 ETH delegated to it from lst-op's validators.
        np.testing.assert_allclose(rr.operator_tvl, [74_000, 32_000, 1_000, 800])
        np.testing.assert_allclose(rr.operator_by_avs, [[0.5 * 50_000 / 74_000, 0, 0], [0, 0, 0],
                                                        [0, 900 / 1_000, 0], [0, 700 / 800, 700 / 800]])
        # eth-lrt: allocation 0.5 of 50,000 ETH; btc-lrt: all 500 BTC secure bsn-a, the 200 on fp-2 bsn-b too.
        np.testing.assert_allclose(rr.holder_ratio, [0.5, 1.4, 0.0, 1 + 500 / 1_100])
        # An AVS reaches only holders of its asset.
        e = holder_avs_exposure(cg.world_of(r))
        assert np.all(e[0, [1, 3]] == 0) and np.all(e[1:, [0, 2]] == 0)


@pytest.mark.parametrize("key", ["mixed", "mixed_no_prices"])
def test_amplification_aggregates_per_asset_and_in_usd_only_with_prices(files, key):
    with Results(files[key]) as r:
        amp = cg.cascade_amplification(r)
        priced = key == "mixed"
        groups = ["all ETH holders", "all BTC holders"] + (["all holders (USD)"] if priced else [])
        assert amp.labels == r.holder_names + groups
        assert [g[0] for g in amp.aggregates] == groups
        assert "ETH and BTC" in amp.note and (("USD" in amp.note) if priced else ("no USD price" in amp.note))
        lbc = r.loss_by_cause
        value = r.holder_value
        ledgers = [(lbc[:, [0, 2], :] * value[[0, 2]][None, :, None]).sum(axis=1),      # ETH holders, ETH
                   (lbc[:, [1, 3], :] * value[[1, 3]][None, :, None]).sum(axis=1)]      # BTC holders, BTC
        if priced:
            ledgers.append((lbc * (value * np.array([3000, 95000, 3000, 95000]))[None, :, None]).sum(axis=1))
        for k, ledger in enumerate(ledgers, start=len(r.holders)):
            hit = ledger.sum(axis=1) > 0
            assert amp.n_loss[k] == hit.sum()
            expected = ledger[hit].sum() / ledger[hit].max(axis=1).sum()
            assert amp.ratio_of_sums[k] == pytest.approx(expected, rel=1e-12)
        if priced:
            # Adding ETH and BTC amounts as plain numbers gives another answer (the ETH holders
            # dominate by count of units), so the unit matters.
            naive = (lbc * value[None, :, None]).sum(axis=1)
            hit = naive.sum(axis=1) > 0
            naive_ratio = naive[hit].sum() / naive[hit].max(axis=1).sum()
            assert abs(naive_ratio - amp.ratio_of_sums[-1]) > 0.01


def test_default_world_keeps_one_all_holders_aggregate(default):
    amp = cg.cascade_amplification(default)
    assert amp.labels[-1] == "all holders" and len(amp.labels) == 4 and amp.note == ""
    assert amp.aggregates == [("all holders", "ETH", [0, 1, 2])]


def test_avs_holder_attribution_is_made_per_asset(files):
    with Results(files["mixed"]) as r:
        att = cg.avs_holder_loss(r, cg.world_of(r), exact=False)
        assert att.holder_assets == r.holder_assets and att.avs_assets == r.avs_assets
        # Nothing crosses assets: the ETH AVS only hits ETH holders, the BTC AVSs only BTC holders.
        assert np.all(att.loss[0, [1, 3]] == 0) and np.all(att.loss[1:, [0, 2]] == 0)
        lbc = r.loss_by_cause
        ledger = ((lbc[:, :, 1] + lbc[:, :, 2]) * r.holder_value).mean(axis=0)
        np.testing.assert_allclose(att.loss.sum(axis=0), ledger, rtol=1e-9)
        np.testing.assert_allclose(att.loss.sum(axis=1), r.summary.avs_stake_lost_mean, rtol=1e-6)
        # One ETH AVS: exact in every trial, even those where a BTC AVS slashed as well.
        assert att.exact_share_by_asset["ETH"] == 1.0
        both = (r.avs_stake_lost[:, 0] > 0) & (r.avs_stake_lost[:, 1:] > 0).any(axis=1)
        assert both.any()
        assert 0.0 < att.exact_share_by_asset["BTC"] < 1.0
        # The overall share weighs the assets in USD.
        a = att.loss * np.array([3000, 95000, 3000, 95000])[None, :]
        eth_usd, btc_usd = a[:, [0, 2]].sum(), a[:, [1, 3]].sum()
        assert att.exact_share == pytest.approx((eth_usd + att.exact_share_by_asset["BTC"] * btc_usd)
                                                / (eth_usd + btc_usd), rel=1e-9)
    with Results(files["mixed_no_prices"]) as r:
        att = cg.avs_holder_loss(r, cg.world_of(r), exact=False)
        assert np.isnan(att.exact_share) and set(att.exact_share_by_asset) == {"ETH", "BTC"}
    with Results(files["mixed_norecords"]) as r:
        att = cg.avs_holder_loss(r, cg.world_of(r), exact=False)
        assert att.method == "pro-rata"
        assert np.all(att.loss[0, [1, 3]] == 0) and np.all(att.loss[1:, [0, 2]] == 0)
        np.testing.assert_allclose(att.loss.sum(axis=1), r.summary.avs_stake_lost_mean, rtol=1e-12)


def test_a_weighted_run_weighs_its_trials_in_the_contagion_metrics(files):
    hit = np.array([[True, True], [True, False], [False, True]])
    m = cg.conditional_matrix(hit, ["a", "b"], 0.0, "hit", w=np.array([2.0, 1.0, 1.0]))
    assert m.matrix[0, 1] == 2.0 / 3.0 and m.matrix[1, 0] == 2.0 / 3.0      # sum w over both / sum w over one
    np.testing.assert_array_equal(m.p_hit, [1.0, 1.0])                         # (2 + 1) / 3 trials
    np.testing.assert_array_equal(m.n_hit, [2, 2])                             # still trials
    same = cg.conditional_matrix(hit, ["a", "b"], 0.0, "hit", w=np.ones(3))
    plain = cg.conditional_matrix(hit, ["a", "b"], 0.0, "hit")
    np.testing.assert_array_equal(same.matrix, plain.matrix)
    np.testing.assert_array_equal(same.p_hit, plain.p_hit)
    with Results(files["weighted"]) as r:
        net = cg.holder_conditional_loss(r, gross=False)
        np.testing.assert_allclose(net.p_hit, r.summary.loss["p_loss"], rtol=1e-12)   # the weighted P(loss > 0)
        amp = cg.cascade_amplification(r)
        assert np.all(amp.ratio_of_sums[np.isfinite(amp.ratio_of_sums)] >= 1.0)
        assert np.all(amp.mean[np.isfinite(amp.mean)] >= 1.0)
        mix = plots.tail_loss_by_cause(r)
        np.testing.assert_allclose(np.nansum(mix, axis=1)[~np.isnan(mix).all(axis=1)], 1.0)
