"""Each figure is drawn and saved as PNG, and what it plots is checked against the data (artists'
data, not pixels)."""
import numpy as np
import pytest

from restake_analysis import Results
from restake_analysis import contagion as cg
from restake_analysis import plots
from restake_analysis import statistics as st

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def saved(fig, tmp_path, name):
    path = tmp_path / f"{name}.png"
    fig.savefig(path)
    assert path.read_bytes()[:8] == PNG_MAGIC and path.stat().st_size > 10_000
    return path


def lines_with_label(ax, start):
    return [line for line in ax.get_lines() if line.get_label().startswith(start)]


def test_loss_exceedance_plots_p_loss_at_least_x_per_holder_on_log_axes(default, tmp_path):
    fig = plots.plot_loss_exceedance(default)
    saved(fig, tmp_path, "exceedance")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert "loss" in ax.get_xlabel() and "%" in ax.get_xlabel() and ax.get_title()
    for h in default.holders:
        (line,) = lines_with_label(ax, h.name)
        x, y = line.get_xdata(), line.get_ydata()
        loss = default.loss_fraction[:, h.index]
        np.testing.assert_array_equal(x, np.unique(loss[loss > 0]))
        np.testing.assert_allclose(y, [np.mean(loss >= v) for v in x], rtol=1e-12)
        assert y[0] == pytest.approx(default.summary.loss["p_loss"][h.index])
        assert np.all(np.diff(y) <= 0)
    bands = ax.collections
    assert len(bands) == len(default.holders)  # one confidence band per holder


def test_exceedance_curve_thins_large_samples_but_keeps_probabilities_exact():
    rng = np.random.default_rng(3)
    x = np.where(rng.random(50_000) < 0.3, rng.pareto(2.0, 50_000), 0.0)
    v, p, lo, hi = plots.exceedance_curve(x, max_points=500)
    assert v.size <= 501 and v[-1] == x.max()
    np.testing.assert_allclose(p, [np.mean(x >= t) for t in v])
    assert np.all(lo <= p) and np.all(p <= hi)


def test_net_yield_compares_each_restaked_holder_with_each_lst(files, tmp_path):
    with Results(files["two"]) as r:
        fig = plots.plot_net_yield(r)
        saved(fig, tmp_path, "net_yield")
        body, tail, spread = fig.axes[:3]
        assert tail.get_yscale() == "log" and spread.get_yscale() == "log"
        # Left tail: the sorted net returns with P(return <= x) = i / n.
        n = r.n_trials
        for h in r.holders:
            (line,) = lines_with_label(tail, h.name)
            s = np.sort(r.net_return[:, h.index])
            keep = np.arange(1, n + 1) / n <= 0.5
            np.testing.assert_array_equal(line.get_xdata(), s[keep])
        # Spread: one curve per (restaked holder, baseline) pair, the sorted per-trial difference.
        pairs = [(line.get_label().split(" − ")[0], line.get_label().split(" − ")[1].split(":")[0])
                 for line in spread.get_lines() if " − " in line.get_label()]
        assert pairs == [("lrt-x", "lst-one"), ("lrt-x", "lst-two")]
        for line, (a, b) in zip([l for l in spread.get_lines() if " − " in l.get_label()], pairs):
            d = r.net_return[:, r.holder_index(a)] - r.net_return[:, r.holder_index(b)]
            np.testing.assert_array_equal(line.get_xdata(), np.sort(d))
            assert f"P(< 0) {100 * np.mean(d < 0):.1f}%" in line.get_label()
        # Body: one step histogram per holder, LSTs dashed.
        labels = [p.get_label() for p in body.patches]
        assert any(lab.startswith("lst-one (lst)") for lab in labels)


def test_net_yield_is_skipped_without_a_baseline(files):
    with Results(files["minimal"]) as r:
        assert plots.plot_net_yield(r) is None


def test_loss_by_cause_bars_are_the_stored_means_and_the_tail_mix_sums_to_one(default, tmp_path):
    fig = plots.plot_loss_by_cause(default)
    saved(fig, tmp_path, "loss_by_cause")
    ax, ax_tail = fig.axes[:2]
    H, C = default.summary.loss_by_cause_mean.shape
    widths = np.array([p.get_width() for p in ax.patches]).reshape(C, H).T
    np.testing.assert_allclose(widths, default.summary.loss_by_cause_mean, rtol=1e-12)
    lefts = np.array([p.get_x() for p in ax.patches]).reshape(C, H).T
    np.testing.assert_allclose(lefts[:, 1:], np.cumsum(default.summary.loss_by_cause_mean, axis=1)[:, :-1])
    tail = np.array([p.get_width() for p in ax_tail.patches]).reshape(C, H).T
    np.testing.assert_allclose(tail.sum(axis=1), 1.0)
    np.testing.assert_allclose(tail, plots.tail_loss_by_cause(default))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [plots.CAUSE_LABELS[c] for c in default.loss_causes]


def test_tail_mix_is_the_worst_one_percent_by_gross_loss(files):
    with Results(files["n1234"]) as r:
        mix = plots.tail_loss_by_cause(r)
        gross = r.gross_loss[:, 0]
        worst = np.argsort(-gross, kind="stable")[:13]          # ceil(0.01 * 1234)
        worst = worst[gross[worst] > 0]
        c = r.loss_by_cause[worst, 0, :].sum(axis=0)
        np.testing.assert_allclose(mix[0], c / c.sum())


def test_avs_holder_matrix_shows_the_matrix_with_unreachable_cells_blank(default, tmp_path):
    att = cg.avs_holder_loss(default, cg.world_of(default))
    fig = plots.plot_avs_holder_matrix(default, att)
    saved(fig, tmp_path, "avs_holder")
    ax = fig.axes[0]
    data = ax.images[0].get_array()
    assert data.shape == (3, 3)
    assert data.mask[:, 1].all()                          # the LST: no AVS can slash it
    reach = att.exposure > 0
    np.testing.assert_allclose(data.data[reach], att.loss_fraction[reach], rtol=1e-12)
    assert [t.get_text() for t in ax.get_yticklabels()] == default.avs_names
    assert "attribution" not in ax.get_title()  # the file's exact matrix
    fig = plots.plot_avs_holder_matrix(default, cg.avs_holder_loss(default, cg.world_of(default), exact=False))
    assert "attribution" in fig.axes[0].get_title()  # files without it


def test_convergence_ends_at_the_stored_mean_and_var99(default, tmp_path):
    fig = plots.plot_convergence(default)
    saved(fig, tmp_path, "convergence")
    axes = np.array(fig.axes).reshape(3, 2)
    for h in default.holders:
        ax_mean, ax_var = axes[h.index]
        est_mean = ax_mean.get_lines()[0].get_ydata()
        est_var = ax_var.get_lines()[0].get_ydata()
        n = ax_mean.get_lines()[0].get_xdata()
        assert n[-1] == default.n_trials and n[0] == 100 and ax_mean.get_xscale() == "log"
        assert est_mean[-1] == pytest.approx(default.summary.loss["mean"][h.index], rel=1e-12)
        assert est_var[-1] == default.summary.loss["var99"][h.index]          # exactly the C++ number
        x = default.loss_fraction[:, h.index]
        k = n.size // 2
        assert est_var[k] == st.quantile(x[:int(n[k])], 0.99)
        assert est_mean[k] == pytest.approx(x[:int(n[k])].mean(), rel=1e-12)


def test_conditional_heatmaps_plot_p_j_given_i(default, tmp_path):
    mats = [cg.holder_conditional_loss(default), cg.holder_conditional_loss(default, 0.01)]
    fig = plots.plot_conditional(mats, ["any", "material"], "holders")
    saved(fig, tmp_path, "conditional")
    for ax, m in zip([a for a in fig.axes if a.images], mats):
        data = ax.images[0].get_array()
        off = ~np.eye(3, dtype=bool)
        np.testing.assert_array_equal(data.data[off], m.matrix[off])
        assert data.mask[np.eye(3, dtype=bool)].all()   # the diagonal is blank
    # Each row says what its P counts when asked: gross, unlike the summary's P(loss > 0) after coverage.
    fig = plots.plot_conditional(mats[:1], ["any"], "holders", basis="gross")
    labels = [t.get_text() for t in [a for a in fig.axes if a.images][0].get_yticklabels()]
    assert labels and all(label.endswith(", gross)") for label in labels)


def test_amplification_heatmap_rows_are_causes_then_overall_and_tail(default, tmp_path):
    amp = cg.cascade_amplification(default)
    fig = plots.plot_amplification(amp)
    saved(fig, tmp_path, "amplification")
    data = fig.axes[0].images[0].get_array()
    # Causes that started no trial's loss are not rows of "no trials": left out, and named in the caption.
    started = [i for i in range(len(amp.causes)) if np.isfinite(amp.by_cause[i]).any()]
    assert 0 < len(started) < len(default.loss_causes)  # the default world never starts with cascade attacks or key compromise
    assert data.shape == (len(started) + 2, len(default.holders) + 1)
    np.testing.assert_array_equal(data.data[:len(started)], amp.by_cause[started])
    caption = " ".join(" ".join(t.get_text() for t in fig.texts).split())  # wrapped to the figure
    assert "Left out, as no trial's loss started with them:" in caption
    np.testing.assert_array_equal(data.data[-2], amp.ratio_of_sums)
    np.testing.assert_array_equal(data.data[-1], amp.tail)
    assert np.all(data.compressed() >= 1.0)


def test_restaking_ratio_heatmaps_end_with_the_ratio_column(default, tmp_path):
    rr = cg.restaking_ratio(cg.world_of(default))
    fig = plots.plot_restaking_ratio(rr)
    saved(fig, tmp_path, "restaking_ratio")
    ops, holders = [a for a in fig.axes if a.images]
    np.testing.assert_allclose(ops.images[0].get_array()[:, -1], rr.operator_ratio)
    np.testing.assert_allclose(holders.images[0].get_array()[:, -1], [325 / 580, 0.0, 95 / 150])
    assert "restaking ratio" in ops.get_xticklabels()[-1].get_text()


def test_comparison_exceedance_has_one_panel_per_common_holder_and_one_line_per_run(files, tmp_path):
    runs = [Results(files["default"]), Results(files["n1234"]), Results(files["norecords"])]
    try:
        fig = plots.plot_exceedance_comparison(runs, ["a", "b", "c"])
        saved(fig, tmp_path, "comparison")
        visible = [ax for ax in fig.axes if ax.get_visible()]
        assert [ax.get_title() for ax in visible] == runs[0].holder_names
        labels = [line.get_label() for line in visible[0].get_lines()]
        assert labels == ["a", "b", "c (stored quantiles)"]
        pts = visible[0].get_lines()[2]
        q = runs[2].summary.loss["quantiles"][0]
        np.testing.assert_array_equal(pts.get_xdata(), q[q > 0])
    finally:
        for r in runs:
            r.close()


# --- two assets -------------------------------------------------------------------------------------


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def test_amounts_in_figures_carry_each_entitys_asset(files, tmp_path):
    with Results(files["mixed"]) as r:
        w = cg.world_of(r)
        att = cg.avs_holder_loss(r, w)
        fig = plots.plot_avs_holder_matrix(r, att)
        saved(fig, tmp_path, "avs_holder_mixed")
        ax = fig.axes[0]
        texts = _texts(ax)
        A, H = att.loss.shape
        cells = np.array(texts).reshape(A, H)
        assert cells[0, 0].endswith(f"{att.loss[0, 0]:,.1f} ETH")       # ETH AVS x ETH LRT
        assert cells[1, 1].endswith(f"{att.loss[1, 1]:,.1f} BTC")       # BTC AVS x BTC LRT
        assert cells[0, 1] == "—" and cells[1, 0] == "—"                 # unreachable across assets
        caption = fig._supxlabel.get_text().replace("\n", " ")   # the note under the figure
        assert "in the holder's asset (ETH, BTC)" in caption and "in ETH" not in caption

        rr = cg.restaking_ratio(w)
        fig = plots.plot_restaking_ratio(rr)
        saved(fig, tmp_path, "restaking_mixed")
        ops, holders = [a for a in fig.axes if a.images]
        assert [t.get_text() for t in ops.get_yticklabels()] == [
            "eth-op\n(74,000 ETH)", "lst-op\n(32,000 ETH)", "fp-1\n(1,000 BTC)", "fp-2\n(800 BTC)"]
        assert [t.get_text().split("\n")[1] for t in holders.get_yticklabels()] == [
            "(50,000 ETH)", "(500 BTC)", "(20,000 ETH)", "(1,100 BTC)"]


def test_amplification_figure_has_a_column_per_aggregate_and_says_how(files, tmp_path):
    for key, cols in (("mixed", ["all ETH holders", "all BTC holders", "all holders (USD)"]),
                      ("mixed_no_prices", ["all ETH holders", "all BTC holders"])):
        with Results(files[key]) as r:
            amp = cg.cascade_amplification(r)
            fig = plots.plot_amplification(amp)
            saved(fig, tmp_path, f"amplification_{key}")
            ax = fig.axes[0]
            assert [t.get_text() for t in ax.get_xticklabels()] == r.holder_names + cols
            np.testing.assert_array_equal(ax.images[0].get_array().data[-2], amp.ratio_of_sums)
            caption = fig._supxlabel.get_text().replace("\n", " ")
            assert "adds the ETH losses" not in caption
            assert ("in USD at the scenario's prices" in caption) == (key == "mixed")
            if key == "mixed":   # dollar signs printed as such, not read as mathtext
                assert r"ETH \$3,000, BTC \$95,000" in caption


def test_net_yield_pairs_holders_of_the_same_asset_only(files, tmp_path):
    with Results(files["mixed"]) as r:
        assert [(h.name, b.name) for h, b in plots.yield_pairs(r)] == [("eth-lrt", "eth-lst")]
        fig = plots.plot_net_yield(r)
        saved(fig, tmp_path, "net_yield_mixed")
        spread = fig.axes[2]
        assert [l.get_label().split(":")[0] for l in spread.get_lines() if " − " in l.get_label()] == [
            "eth-lrt − eth-lst"]
        body_labels = [p.get_label() for p in fig.axes[0].patches]
        assert not any(lab.startswith("btc-") for lab in body_labels)     # no BTC baseline: not drawn


def test_amount_labels():
    assert plots.amount(580_000, "ETH") == "580,000 ETH"
    assert plots.amount(12.345, "BTC", 1) == "12.3 BTC"
    assert plots.usd(47.5e6) == "$47.50M" and plots.usd(2.05e9) == "$2.05B" and plots.usd(950) == "$950"
    assert plots.usd(12_345) == "$12.3k" and plots.usd(float("nan")) == "n/a"


def test_bad_debt_exceedance_plots_p_bad_debt_at_least_x_in_eth_and_as_a_share_of_debt(default, tmp_path):
    fig = plots.plot_bad_debt_exceedance(default)
    assert fig is not None, "the default world's market-priced e-mode market has bad debt in 20,000 trials"
    saved(fig, tmp_path, "bad_debt")
    eth, share = fig.axes[:2]
    for ax in (eth, share):
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert "ETH" in eth.get_xlabel() and "debt" in share.get_xlabel()
    bad = default.trials("lending_bad_debt")
    quiet = plots.lending_without_bad_debt(default)
    drawn = [m for m, name in enumerate(default.lending_names) if name not in quiet]
    assert drawn
    curves = [line for line in share.get_lines() if len(line.get_xdata()) > 2]  # not the 1% reference line
    assert len(curves) == len(drawn)
    for m, line_share in zip(drawn, curves):
        (line,) = lines_with_label(eth, default.lending_names[m])
        x, y = line.get_xdata(), line.get_ydata()
        np.testing.assert_array_equal(x, np.unique(bad[bad[:, m] > 0, m]))
        np.testing.assert_allclose(y, [np.mean(bad[:, m] >= v) for v in x], rtol=1e-12)
        assert y[0] == pytest.approx(default.summary.lending["p_bad_debt"][m])
        np.testing.assert_allclose(line_share.get_xdata(), x / default.lending_debt_eth[m], rtol=1e-15)
    for name in quiet:  # named, not drawn
        assert not lines_with_label(eth, name)


class _FakeMarkets:
    """The little of Results the bad-debt figure reads: two markets of one token, one with no bad debt."""
    def __init__(self, bad):
        self._bad = bad
        self.n_trials = bad.shape[0]
        self.lending_names = ["exchange-rate market", "spot market"]
        self.lending_tokens = ["tok", "tok"]
        self.token_names = ["tok"]
        self.lending_debt_eth = np.array([1000.0, 1000.0])
        self.weight = None
        self.weighted = False
        self.scenario_name = "fake"
        self.horizon_days = 365.0
        self.summary = type("S", (), {"lending": {"p_bad_debt": np.mean(bad > 0, axis=0),
                                                  "bad_debt_var95": np.quantile(bad, 0.95, axis=0)}})()

    def trials(self, name):
        assert name == "lending_bad_debt"
        return self._bad


def test_bad_debt_exceedance_names_markets_without_bad_debt_instead_of_drawing_them(tmp_path):
    rng = np.random.default_rng(5)
    bad = np.zeros((2000, 2))
    bad[:, 1] = np.where(rng.random(2000) < 0.1, rng.pareto(1.5, 2000) * 5.0, 0.0)
    fig = plots.plot_bad_debt_exceedance(_FakeMarkets(bad))
    saved(fig, tmp_path, "bad_debt_one_quiet")
    eth = fig.axes[0]
    assert lines_with_label(eth, "spot market") and not lines_with_label(eth, "exchange-rate market")
    assert "No bad debt in any trial, so not drawn: exchange-rate market." in fig._supxlabel.get_text().replace("\n", " ")
    assert plots.plot_bad_debt_exceedance(_FakeMarkets(np.zeros((2000, 2)))) is None  # nothing to draw at all
