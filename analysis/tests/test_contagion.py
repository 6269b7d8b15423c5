"""Contagion metrics against brute force and hand computation."""
import numpy as np
import pytest

from restake_analysis import Results
from restake_analysis import contagion as cg


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
        slashed = r.avs_stake_lost_eth > 0
        for a in range(len(r.avs_names)):
            if not slashed[:, a].any():
                assert np.isnan(m.matrix[a]).all()      # never slashed: no conditional row
            else:
                np.testing.assert_allclose(m.matrix[a], slashed[slashed[:, a]].mean(axis=0))


def test_restaking_ratio_of_the_default_world_by_hand(default):
    rr = cg.restaking_ratio(cg.world_of(default))
    assert rr.operators == ["op-alpha", "op-beta", "op-gamma", "op-delta", "op-epsilon"]
    np.testing.assert_allclose(rr.operator_tvl_eth, [640_000, 400_000, 256_000, 160_000, 960_000])
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
        eth = r.loss_by_cause * r.holder_value_eth[None, :, None]
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


def test_avs_holder_attribution_keeps_both_ledgers(default):
    att = cg.avs_holder_loss(default, cg.world_of(default))
    assert att.method == "per-trial" and 0.5 < att.exact_share <= 1.0
    # Columns: each holder's AVS-slashing loss from its own ledger, exactly.
    lbc = default.summary.loss_by_cause_mean
    own = (lbc[:, 1] + lbc[:, 2]) * default.holder_value_eth
    np.testing.assert_allclose(att.loss_eth.sum(axis=0), own, rtol=1e-9)
    # Rows: each AVS's mean slashed stake (fitted where several AVSs slashed in one trial).
    np.testing.assert_allclose(att.loss_eth.sum(axis=1), default.summary.avs_stake_lost_mean_eth, rtol=1e-6)
    # Nothing lands where the AVS cannot slash: the LST, and native restakers for the Symbiotic AVS.
    assert np.all(att.loss_eth[:, 1] == 0)
    assert att.loss_eth[2, 2] == 0
    assert np.all(att.loss_eth[att.exposure_eth == 0] == 0)


def test_avs_holder_attribution_is_exact_with_one_avs(files):
    with Results(files["two"]) as r:
        att = cg.avs_holder_loss(r, cg.world_of(r))
        assert att.exact_share == 1.0
        lbc = r.loss_by_cause
        ledger = ((lbc[:, :, 1] + lbc[:, :, 2]) * r.holder_value_eth).mean(axis=0)
        np.testing.assert_allclose(att.loss_eth[0], ledger, rtol=1e-12)
        assert att.loss_eth[0, 0] > 0 and att.loss_eth[0, 1] == 0 and att.loss_eth[0, 2] == 0


def test_avs_holder_attribution_without_records_is_pro_rata(files):
    with Results(files["norecords"]) as r:
        att = cg.avs_holder_loss(r, cg.world_of(r))
        assert att.method == "pro-rata"
        np.testing.assert_allclose(att.loss_eth.sum(axis=1), r.summary.avs_stake_lost_mean_eth, rtol=1e-12)
        share = att.exposure_eth / att.exposure_eth.sum(axis=1, keepdims=True)
        np.testing.assert_allclose(att.loss_eth, share * r.summary.avs_stake_lost_mean_eth[:, None], rtol=1e-12)


def test_the_scenario_world_matches_the_file(files):
    with Results(files["two"]) as r:
        w = cg.world_of(r)
        assert w.holder_names == ["lrt-x", "lst-one", "lst-two"]     # lrt, then lst, in file order
        np.testing.assert_allclose([h.value_eth for h in w.holders], r.holder_value_eth)
        assert w.operator_stake_eth == {"op-a": 32_000.0, "op-b": 64_000.0}
        rr = cg.restaking_ratio(w)
        # Shared mode: the whole stake on op-a secures the AVS; the op-b position secures nothing.
        assert rr.holder_ratio.tolist() == pytest.approx([12_000 / 20_000, 0.0, 0.0])
        assert rr.operator_ratio.tolist() == pytest.approx([12_000 / 32_000, 0.0])
