"""One results file (or several, for a comparison) -> a folder with index.html, the figures as PNG
and the summaries as CSV. The page needs no server and loads nothing from the network: open it
from disk in any browser."""
from __future__ import annotations

import html
import math
import multiprocessing as mp
import os
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import __version__
from . import compare as cmp
from . import contagion as cg
from . import market_plots
from . import plots
from . import risk_views as rv
from . import statistics as st
from .plots import amount, pct, usd
from .results import RELATIVE_FIELDS, Results
from .scan import Progress, RecordScan, TrialColumns, scan_records

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 0;
       color: #1d2330; background: #f6f7f9; line-height: 1.45; }
header { background: #1d2330; color: #fff; padding: 18px 32px; }
header h1 { margin: 0 0 4px 0; font-size: 24px; }
header .meta { color: #c9cfdb; font-size: 14px; }
nav { background: #fff; border-bottom: 1px solid #dde1e8; padding: 8px 32px; position: sticky; top: 0; z-index: 2;
      font-size: 14px; }
nav a { margin-right: 18px; color: #2a5db0; text-decoration: none; }
main { max-width: 1280px; margin: 0 auto; padding: 8px 32px 48px 32px; }
section { background: #fff; border: 1px solid #dde1e8; border-radius: 8px; padding: 16px 24px; margin: 20px 0; }
h2 { margin-top: 4px; font-size: 20px; }
h3 { font-size: 16px; margin-bottom: 6px; }
.cards { display: flex; flex-wrap: wrap; gap: 14px; margin: 8px 0 4px 0; }
.card { flex: 1 1 260px; border: 1px solid #dde1e8; border-top: 5px solid var(--c); border-radius: 6px;
        padding: 10px 14px; background: #fbfcfd; }
.card .name { font-weight: 600; font-size: 16px; }
.card .kind { color: #667; font-size: 13px; }
.card dl { display: grid; grid-template-columns: auto auto; gap: 2px 12px; margin: 8px 0 0 0; font-size: 14px; }
.card dt { color: #556; } .card dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; }
.card .big { font-size: 20px; font-weight: 600; }
ul.findings li { margin: 4px 0; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0 12px 0; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e4e7ec; }
th { background: #eef1f5; text-align: left; font-weight: 600; }
td:first-child { white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td .ci { color: #6a7080; font-size: 12px; }
.tablewrap { overflow-x: auto; }
figure { margin: 14px 0 22px 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #e4e7ec; }
figcaption { font-size: 14px; color: #3b4252; max-width: 980px; }
.note { background: #fff8e6; border-left: 4px solid #e0a800; padding: 8px 12px; font-size: 14px; }
.ok { background: #eef8f0; border-left: 4px solid #2e8b57; padding: 8px 12px; font-size: 14px; }
pre { background: #f3f4f6; padding: 12px; overflow-x: auto; font-size: 12px; border-radius: 4px; }
details summary { cursor: pointer; font-weight: 600; }
.small { font-size: 13px; color: #556; }
"""


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def _num(x: float, digits: int = 3) -> str:
    return pct(float(x), digits)


def _ci(low: float, high: float) -> str:
    lo = "−∞" if low == -math.inf else _num(low)
    hi = "+∞" if high == math.inf else _num(high)
    return f'<span class="ci">[{lo}, {hi}]</span>'


def _table(headers: list[str], rows: list[list[str]], numeric_from: int = 1) -> str:
    head = "".join(f'<th class="{"num" if i >= numeric_from else ""}">{h}</th>' for i, h in enumerate(headers))
    head = f"<thead><tr>{head}</tr></thead>" if any(headers) else ""
    body = "".join("<tr>" + "".join(f'<td class="{"num" if i >= numeric_from else ""}">{c}</td>'
                                     for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f'<div class="tablewrap"><table>{head}<tbody>{body}</tbody></table></div>'


@dataclass
class RunReport:
    """What the report computed for one results file."""
    results: Results
    label: str
    anchor: str
    folder: str
    figures: dict = field(default_factory=dict)   # name -> relative PNG path
    skipped: list = field(default_factory=list)    # names of figures not drawn, with why
    intervals: dict = field(default_factory=dict)  # holder index -> {"mean", "var99", "es99"} Intervals
    mismatch: dict | None = None   # Results.summary_mismatch(), with records
    avs_holder: cg.AvsHolderLoss | None = None
    amplification: cg.Amplification | None = None
    restaking: cg.RestakingRatio | None = None
    markets: dict | None = None    # runs with records and tokens or lending markets: _market_intervals()
    scan: RecordScan | None = None  # the run's records, read in blocks; dropped once its numbers are out
    spreads: dict = field(default_factory=dict)  # (restaked, baseline) -> (P(worse), median pickup): _spreads()
    thresholds: object = None  # risk_views.thresholds_frame: P(loss >= x) per holder and threshold, or None


def _save(fig, path: Path):
    fig.savefig(path, dpi=110)


def _loss_intervals(x: np.ndarray, w: np.ndarray | None, presorted=None) -> dict:
    """95% intervals of a loss sample's mean, VaR 95%, VaR 99% and ES 99% (w: a weighted run's weights;
    presorted: (x ascending, its weights or None) if already at hand)."""
    if w is not None:
        # Importance sampling: the mean's interval from w x; the tails' by batch means (the
        # order-statistic interval counts trials, and weighted trials do not count alike).
        tails = st.weighted_batch_cis(x, w, {
            "var99": lambda s, sw: st.weighted_quantile_sorted(s, sw, 0.99),
            "var95": lambda s, sw: st.weighted_quantile_sorted(s, sw, 0.95),
            "es99": lambda s, sw: st.weighted_expected_shortfall_sorted(s, sw, 0.99)}, presorted=presorted)
        return {"mean": st.mean_ci(w * x), **tails}
    s = np.sort(x) if presorted is None else presorted[0]
    return {"mean": st.mean_ci(x), "var99": st.quantile_ci_sorted(s, 0.99),
            "var95": st.quantile_ci_sorted(s, 0.95), "es99": st.expected_shortfall_ci_sorted(s, 0.99)}


def _intervals(r: Results, columns: TrialColumns | None = None) -> dict:
    if not r.has_records:
        return {}
    cols = columns if columns is not None else TrialColumns.of(r)
    return {h.index: _loss_intervals(cols.loss(h.index), r.weight, cols.sorted_loss(h.index)) for h in r.holders}


def _spreads(r: Results, columns: TrialColumns) -> dict:
    """For the key findings, each (restaked holder, LST baseline) pair's share of years in which the
    holder earns less, and the median yield pickup."""
    w = r.weight
    out = {}
    for h, b in plots.yield_pairs(r):
        d = columns.spread(h.index, b.index)
        p_less = float(np.mean(d < 0)) if w is None else st.weighted_probability(d < 0, w)
        s, sw = columns.sorted_spread(h.index, b.index)
        median = st.quantile_sorted(s, 0.5) if w is None else st.weighted_quantile_sorted(s, sw, 0.5)
        out[(h.index, b.index)] = (p_less, median)
    return out


def _summary_with_intervals(r: Results, intervals: dict):
    """The summary frame with the 95% intervals the page shows beside mean loss, VaR 95%, VaR 99% and
    ES 99% (columns <name>_ci_low, <name>_ci_high); without records the frame as stored."""
    df = r.summary_frame()
    if not intervals:
        return df
    for key, column in (("mean", "loss_mean"), ("var95", "var95"), ("var99", "var99"), ("es99", "es99")):
        at = df.columns.get_loc(column) + 1
        lows = [intervals[h.index][key].low for h in r.holders]
        highs = [intervals[h.index][key].high for h in r.holders]
        df.insert(at, f"{column}_ci_high", highs)
        df.insert(at, f"{column}_ci_low", lows)
    return df


def estimator_text(r: Results) -> str:
    """Which estimator produced the figures, and for importance sampling what they rest on."""
    if not r.weighted:
        return f"plain Monte Carlo: {r.n_trials:,} trials of equal weight"
    wts = r.summary.weights
    tilted = r.tilt.tilted()
    return (f"importance sampling: {r.n_trials:,} trials weighted by their likelihood ratios; effective sample size "
            f"{wts['effective_sample_size']:,.0f} ({100 * wts['effective_sample_size'] / r.n_trials:.1f}% of the "
            f"trials), the largest single weight {100 * wts['max_weight_share']:.3g}% of the total; "
            f"{len(tilted)} of {len(r.tilt.sources)} event sources tilted "
            f"(rate factors {min(f for _, f, _ in tilted):g} to {max(f for _, f, _ in tilted):g}, "
            f"size exponents {min(b for _, _, b in tilted):g} to {max(b for _, _, b in tilted):g}), "
            f"defensive share {r.tilt.defensive:g}" if tilted else
            f"importance sampling: {r.n_trials:,} weighted trials, no source tilted")


@dataclass
class _Figure:
    """A figure the report draws: draw() returns it, or None (not drawn, for the reason why_not)."""
    name: str
    draw: object
    why_not: str | None = None


# Figures drawn in a second process while the first reads the records (they need only the summary and
# the scenario), and after it, while the first computes the intervals and the other figures.
EARLY_FIGURES = ("avs_holder", "restaking_ratio")
BACKGROUND_FIGURES = ("convergence", "conditional_avs")


def _figure_plan(rr: RunReport, world) -> list:
    """The run's figures and the notes on what is not shown, in the page's order: _Figure or str.
    The figures of the records read rr.scan when drawn."""
    r = rr.results
    plan = []

    def cols():
        return rr.scan.columns if rr.scan is not None else None

    def hits(name):
        return getattr(rr.scan, name) if rr.scan is not None else None
    records_needed = ["loss exceedance curves", "net-yield distributions", "tail cause mix",
                      "convergence", "conditional loss matrices", "cascade amplification"]
    if r.has_records:
        plan.append(_Figure("loss_exceedance", lambda: plots.plot_loss_exceedance(r, cols())))
        plan.append(_Figure("net_yield", lambda: plots.plot_net_yield(r, cols()),
                            "net-yield comparison (needs an lst holder and an lrt or native holder of the same asset)"))
    plan.append(_Figure("loss_by_cause", lambda: plots.plot_loss_by_cause(r, hits("tail_causes"))))
    if world is not None and r.avs_names:
        rr.avs_holder = cg.avs_holder_loss(r, world)
        plan.append(_Figure("avs_holder", lambda: plots.plot_avs_holder_matrix(r, rr.avs_holder)))
    if r.has_records:
        plan.append(_Figure("convergence", lambda: plots.plot_convergence(r, columns=cols())))
        plan.append(_Figure("conditional_holders", lambda: plots.plot_conditional(
            [cg.holder_conditional_loss(r, hit=hits("gross_hit")),
             cg.holder_conditional_loss(r, 0.01, hit=hits("gross_hit_material"))],
            ["any gross loss (> 0)", "a material gross loss (> 1% of value)"],
            "If one holder loses, how likely is another to lose in the same trial? (gross: before coverage pools pay)",
            basis="gross")))
        if len(r.avs_names) >= 2:
            plan.append(_Figure("conditional_avs", lambda: plots.plot_conditional(
                [cg.avs_conditional_slashing(r, hit=hits("avs_hit"))], ["AVS slashings that remove holders' stake"],
                "If one AVS slashes, how likely is another to slash in the same trial?")))

        def amplification():
            if rr.amplification is None:
                rr.amplification = rr.scan.amplification if rr.scan is not None else cg.cascade_amplification(r)
            return plots.plot_amplification(rr.amplification)
        plan.append(_Figure("amplification", amplification))
    else:
        plan.extend(records_needed)
    if r.has_tokens:
        plan.append(_Figure("price_paths", lambda: market_plots.price_paths_figure(r),
                            "price paths of the worst trials (none stored: run --price-paths 0, or no trial moved a price)"))
    if r.has_lending:
        if r.has_records:
            plan.append(_Figure("bad_debt_exceedance", lambda: plots.plot_bad_debt_exceedance(r)))
        else:
            plan.append("bad-debt exceedance per lending market")
    if world is not None:
        rr.restaking = cg.restaking_ratio(world)
        plan.append(_Figure("restaking_ratio", lambda: plots.plot_restaking_ratio(rr.restaking)))
    else:
        plan.append("restaking ratio and AVS x holder matrix (the stored scenario text could not be read, "
                    "or its holders, AVSs or pools do not match the file's)")
    return plan


def _draw(figures: list, folder: Path, progress: Progress, label: str) -> dict:
    """Draw and save each figure: {name: whether it was drawn}."""
    drawn = {}
    for f in figures:
        progress(f"{label}: figure {f.name}")
        fig = f.draw()
        drawn[f.name] = fig is not None
        if fig is not None:
            _save(fig, folder / f"{f.name}.png")
    return drawn


class _Drawing:
    """Figures drawn in a forked process (they read only memory the process inherits, never the
    results file), so that two cores draw at once; where there is no fork or one core, at once.
    result() waits for them: {name: whether it was drawn}."""

    def __init__(self, figures: list, folder: Path, progress: Progress, label: str):
        self._process = None
        if not figures or (os.cpu_count() or 1) < 2 or "fork" not in mp.get_all_start_methods():
            self._result = _draw(figures, folder, progress, label)
            return
        ctx = mp.get_context("fork")
        self._conn, child = ctx.Pipe(duplex=False)

        def run():
            try:
                child.send(_draw(figures, folder, progress, label))
            except BaseException:
                child.send(traceback.format_exc())
        self._process = ctx.Process(target=run, daemon=True)
        self._process.start()
        child.close()

    def result(self) -> dict:
        if self._process is None:
            return self._result
        try:
            got = self._conn.recv()
        except EOFError:
            got = f"the drawing process ended with exit code {self._process.exitcode} before it reported"
        self._process.join()
        if isinstance(got, str):
            raise RuntimeError(f"drawing figures failed:\n{got}")
        return got


# --- page sections --------------------------------------------------------------------------------


def _assets_text(r: Results) -> str:
    """What the holders hold: "ETH", or "ETH (USD 3,000.00 per ETH), BTC (no USD price)"."""
    held = r.assets_held
    if not any(math.isfinite(r.usd_price(a)) for a in held):
        return ", ".join(held) + ("" if len(held) <= 1 else " (amounts stay in each holder's asset; no USD prices)")
    return ", ".join(f"{a} (USD {r.usd_price(a):,.2f} per {a})" if math.isfinite(r.usd_price(a)) else
                     f"{a} (no USD price)" for a in held)


def _meta_table(r: Results) -> str:
    desc = ((r.scenario or {}).get("simulation") or {}).get("description", "")
    rows = [["file", _e(os.path.abspath(r.path))], ["scenario", f"{_e(r.scenario_name)} ({_e(r.scenario_path)})"]]
    if desc:
        rows.append(["description", _e(desc)])
    rows += [["estimator", _e(estimator_text(r))],
             ["trials", f"{r.n_trials:,}"], ["seed", str(r.seed)], ["horizon", f"{r.horizon_days:g} days"],
             ["restake-sim", f"{_e(r.program_version)}, commit {_e(r.git_commit)}"],
             ["created (UTC)", _e(r.created_utc)],
             ["assets held", _e(_assets_text(r))],
             ["per-trial records", "yes" if r.has_records else
              f"no (--no-records): quantiles, VaR and ES are from a sketch, relative error {r.quantile_relative_error:g}"]]
    return _table(["", ""], rows, numeric_from=99)


def _cards(rr: RunReport) -> str:
    r, s = rr.results, rr.results.summary
    out = []
    for h in r.holders:
        i = h.index
        ci = rr.intervals.get(i)
        mean_pm = f" ± {_num(s.loss['stderr'][i] * st.Z95, 2)}" if r.n_trials > 1 else ""
        worth = f" ({usd(h.value_usd)})" if math.isfinite(h.value_usd) else ""
        out.append(
            f'<div class="card" style="--c:{plots.holder_color(i)}"><div class="name">{_e(h.name)}</div>'
            f'<div class="kind">{_e(h.kind)} · {_e(amount(h.value, h.asset))}{_e(worth)}</div><dl>'
            f'<dt>1-in-100 loss (VaR 99%)</dt><dd class="big">{_num(s.loss["var99"][i])}</dd>'
            + (f'<dt class="small">VaR 99% in USD</dt><dd class="small">{usd(s.loss["var99"][i] * h.value_usd)}</dd>'
               if math.isfinite(h.value_usd) else "") +
            f'<dt>average of worst 1% (ES 99%)</dt><dd>{_num(s.loss["es99"][i])}</dd>'
            f'<dt>expected loss</dt><dd>{_num(s.loss["mean"][i])}{mean_pm}</dd>'
            f'<dt>chance of any loss</dt><dd>{_num(s.loss["p_loss"][i])}</dd>'
            f'<dt>mean net return</dt><dd>{_num(s.net_return["mean"][i])}</dd>'
            f'<dt>chance of a negative year</dt><dd>{_num(s.net_return["p_negative"][i])}</dd>'
            + (f'<dt class="small">VaR 99% 95% CI</dt><dd class="small">{_ci(ci["var99"].low, ci["var99"].high)}</dd>'
               if ci else "") +
            "</dl></div>")
    return f'<div class="cards">{"".join(out)}</div>'


# A baseline VaR below this share of value is "almost nothing": a ratio against it (×9,561) says more
# about the baseline's rounding than about the holder.
MATERIAL_VAR = 1e-3


def var_ratio_text(v: float, vb: float) -> str:
    """How a holder's VaR compares with its baseline's, for the key findings: a ratio when both are
    material and it is at least 2, a plain statement when the baseline's is almost nothing."""
    if vb < MATERIAL_VAR:
        return "; the baseline loses almost nothing in its 1-in-100 year, so no ratio is given" if v >= MATERIAL_VAR else ""
    return f" (×{v / vb:,.1f})" if v / vb >= 2 else ""


def baseline_label(name: str) -> str:
    """"the stETH baseline", but "stETH-baseline" rather than "the stETH-baseline baseline"."""
    return name if "baseline" in name.lower() else f"{name} baseline"


def _findings(rr: RunReport) -> str:
    r, s = rr.results, rr.results.summary
    items = []
    for h, b in plots.yield_pairs(r):  # restaked holders against LST baselines of the same asset
        v, vb = s.loss["var99"][h.index], s.loss["var99"][b.index]
        ratio = var_ratio_text(v, vb)
        items.append(f"<b>{_e(h.name)}</b> has a 1-in-100 loss of <b>{_num(v)}</b> of its value against "
                     f"{_num(vb)} for the {_e(baseline_label(b.name))}{ratio}; its mean net return is "
                     f"{_num(s.net_return['mean'][h.index])} against {_num(s.net_return['mean'][b.index])}.")
        if (h.index, b.index) in rr.spreads:
            p_less, median = rr.spreads[(h.index, b.index)]
            items.append(f"{_e(h.name)} earns less than {_e(b.name)} in <b>{100 * p_less:.1f}%</b> "
                         f"of years; median yield pickup {100 * median:+.2f} percentage points.")
    for h in r.holders:
        by = s.loss_by_cause_mean[h.index]
        if by.sum() > 0:
            c = int(np.argmax(by))
            items.append(f"{_e(h.name)}: the largest source of expected loss is "
                         f"<b>{_e(plots.CAUSE_LABELS.get(r.loss_causes[c], r.loss_causes[c]))}</b> "
                         f"({100 * by[c] / by.sum():.0f}% of {_num(by.sum())}).")
    att = rr.avs_holder
    if att is not None and att.loss.size and att.loss.max() > 0:
        a, h = np.unravel_index(int(np.argmax(att.loss_fraction)), att.loss_fraction.shape)
        items.append(f"Heaviest AVS exposure: <b>{_e(att.avs[a])}</b>'s slashing costs {_e(att.holders[h])} "
                     f"{_num(att.loss_fraction[a, h])} of its value on average"
                     f"{'' if att.method == 'exact' else ' (attribution)'}.")
    rs = rr.restaking
    if rs is not None and rs.holder_ratio.size and rs.holder_ratio.max() > 0:
        h = int(np.argmax(rs.holder_ratio))
        asset = _e(rs.holder_assets[h] if rs.holder_assets else "ETH")
        items.append(f"Highest restaking ratio: {_e(rs.holders[h])}, {rs.holder_ratio[h]:.2f} {asset} of AVS security "
                     f"per {asset} held.")
    if not items:
        return ""
    return '<h3>Key findings</h3><ul class="findings">' + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def _loss_table(rr: RunReport) -> str:
    r, s = rr.results, rr.results.summary
    priced = any(math.isfinite(h.value_usd) for h in r.holders)
    rows = []
    for h in r.holders:
        i = h.index
        ci = rr.intervals.get(i)
        rows.append([
            f"{_e(h.name)}", _e(h.kind), _e(amount(h.value, h.asset))]
            + ([_e(usd(h.value_usd)), _e(usd(s.loss["var99"][i] * h.value_usd))] if priced else []) + [
            _num(s.loss["p_loss"][i]),
            _num(s.loss["mean"][i]) + (f"<br>{_ci(ci['mean'].low, ci['mean'].high)}" if ci else
                                       f"<br>{_ci(s.loss['mean'][i] - st.Z95 * s.loss['stderr'][i], s.loss['mean'][i] + st.Z95 * s.loss['stderr'][i])}"),
            _num(s.loss["var95"][i]) + (f"<br>{_ci(ci['var95'].low, ci['var95'].high)}" if ci else ""),
            _num(s.loss["var99"][i]) + (f"<br>{_ci(ci['var99'].low, ci['var99'].high)}" if ci else ""),
            _num(s.loss["es95"][i]),
            _num(s.loss["es99"][i]) + (f"<br>{_ci(ci['es99'].low, ci['es99'].high)}" if ci else ""),
            _num(s.loss["quantiles"][i][list(s.loss_levels).index(0.999)] if 0.999 in list(s.loss_levels) else math.nan),
            _num(s.covered_mean[i]),
        ])
    return _table(["holder", "kind", "value"] + (["value USD", "VaR 99% USD"] if priced else []) +
                  ["P(loss &gt; 0)", "mean loss", "VaR 95%", "VaR 99%", "ES 95%", "ES 99%", "q 99.9%", "mean covered"],
                  rows, numeric_from=2)


def _return_table(r: Results) -> str:
    s = r.summary
    rows = []
    for h in r.holders:
        i = h.index
        rows.append([_e(h.name), _e(h.kind), _num(s.net_return["mean"][i]) +
                     f"<br>{_ci(s.net_return['mean'][i] - st.Z95 * s.net_return['stderr'][i], s.net_return['mean'][i] + st.Z95 * s.net_return['stderr'][i])}",
                     _num(s.net_return["sd"][i]), _num(s.net_return["p_negative"][i])]
                    + [_num(q) for q in s.net_return["quantiles"][i]])
    levels = [f"q {100 * p:g}%" for p in s.return_levels]
    return _table(["holder", "kind", "mean", "sd", "P(&lt; 0)"] + levels, rows, numeric_from=2)


def _cause_table(r: Results) -> str:
    s = r.summary
    rows = [[_e(h.name)] + [_num(v) for v in s.loss_by_cause_mean[h.index]] +
            [_num(s.loss_by_cause_mean[h.index].sum()), _num(s.covered_mean[h.index])] for h in r.holders]
    return _table(["holder"] + [_e(plots.CAUSE_LABELS.get(c, c)) for c in r.loss_causes] + ["total (gross)", "covered"],
                  rows)


def _avs_pool_tables(r: Results) -> str:
    """Amounts in each AVS's / pool's own asset, with a USD column when some asset has a price."""
    s, out = r.summary, ""
    if r.avs_names:
        priced = any(math.isfinite(r.usd_price(a)) for a in r.avs_assets)
        rows = []
        for i, a in enumerate(r.avs_names):
            asset = r.avs_assets[i]
            rows.append([_e(a), _e(amount(s.avs_stake_lost_mean[i], asset, 2))]
                        + ([_e(usd(s.avs_stake_lost_mean[i] * r.usd_price(asset)))] if priced else [])
                        + [_num(s.avs_p_slashed[i])])
        out += "<h3>AVSs</h3>" + _table(
            ["AVS", "mean holders' stake slashed"] + (["in USD"] if priced else []) + ["P(slashes holders' stake)"], rows)
    if r.pool_names:
        priced = any(math.isfinite(r.usd_price(a)) for a in r.pool_assets)
        rows = []
        for i, p in enumerate(r.pool_names):
            asset, price = r.pool_assets[i], r.usd_price(r.pool_assets[i])
            rows.append([_e(p), _e(amount(r.pool_balance[i], asset)), _e(amount(s.pool_drawdown_mean[i], asset, 2))]
                        + ([_e(usd(r.pool_balance[i] * price)), _e(usd(s.pool_drawdown_mean[i] * price))] if priced else [])
                        + [_num(s.pool_p_exhausted[i])])
        out += "<h3>Coverage pools</h3>" + _table(
            ["pool", "balance", "mean payout"] + (["balance USD", "mean payout USD"] if priced else []) + ["P(exhausted)"],
            rows)
    return out


def _amplification_table(amp: cg.Amplification) -> str:
    rows = [[_e(lab), f"{amp.n_loss[k]:,}", f"×{amp.ratio_of_sums[k]:.3f}" if np.isfinite(amp.ratio_of_sums[k]) else "—",
             f"×{amp.mean[k]:.3f}" if np.isfinite(amp.mean[k]) else "—",
             _num(amp.p_compound[k]) if np.isfinite(amp.p_compound[k]) else "—",
             f"×{amp.tail[k]:.3f}" if np.isfinite(amp.tail[k]) else "—"] for k, lab in enumerate(amp.labels)]
    table = _table(["holder", "trials with a loss", "amplification (loss-weighted)", "mean per trial",
                    "P(another cause adds &gt; 1%)", "worst 1% of trials"], rows)
    return table + (f'<p class="small">{_e(amp.note)}</p>' if amp.note else "")


# --- markets --------------------------------------------------------------------------------------


def _probability_ci(event: np.ndarray, w: np.ndarray | None) -> st.Interval:
    """A probability from the records with its 95% interval: Wilson's for counts, the normal one of
    the mean of w 1{event} in a weighted run."""
    if w is not None:
        return st.mean_ci(w * event)
    k, n = int(np.count_nonzero(event)), event.size
    lo, hi = st.wilson_interval(k, n)
    return st.Interval(k / n, float(lo), float(hi))


def _market_intervals(r: Results) -> dict | None:
    """From the records: the intervals of the loss at market per holder with a token, and per
    lending market those of the mean bad debt and of P(bad debt > 0) and P(> 1% of debt); the
    markets with no bad debt in any trial. None without records or markets."""
    if not r.has_records or not (r.has_tokens or r.has_lending):
        return None
    w = r.weight
    out = {"loss_at_market": {}, "lending": {}, "quiet": []}
    if r.has_tokens:
        x = r.trials("loss_at_market")
        for name in dict.fromkeys(r.token_holders):
            h = r.holder_index(name)
            out["loss_at_market"][h] = _loss_intervals(x[:, h], w)
    if r.has_lending:
        bad = r.trials("lending_bad_debt")
        for m in range(len(r.lending_names)):
            x = bad[:, m]
            out["lending"][m] = {"bad_debt_mean": st.mean_ci(x if w is None else w * x),
                                 "p_bad_debt": _probability_ci(x > 0.0, w),
                                 "p_bad_debt_1pct": _probability_ci(x > 0.01 * r.lending_debt_eth[m], w)}
        out["quiet"] = plots.lending_without_bad_debt(r)
    return out


def _lending_oracles(r: Results) -> dict:
    """Each lending market's rules and oracle as the stored scenario names them ({} if unreadable)."""
    out = {}
    for spec in (r.scenario or {}).get("lending_market", []) or []:
        if isinstance(spec, dict) and "name" in spec:
            out[spec["name"]] = (str(spec.get("rules", "")), str(spec.get("oracle", "")))
    return out


def _eth(x: float) -> str:
    """An amount of ETH with four significant digits (bad debt, collateral): 0 ETH, 12.35 ETH, 4,817 ETH."""
    if not math.isfinite(x):
        return "n/a"
    if x == 0:
        return "0"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def _with_ci(text: str, ci, fmt=None) -> str:
    if ci is None:
        return text
    if fmt is None:
        return text + f"<br>{_ci(ci.low, ci.high)}"
    return text + f'<br><span class="ci">[{fmt(ci.low)}, {fmt(ci.high)}]</span>'


def _token_table(r: Results) -> str:
    t = r.summary.token
    rows = [[_e(name), _e(r.token_holders[k]), f"{t['min_price_mean'][k]:.4f}", f"{t['min_price_p05'][k]:.4f}",
             _num(t["p_depeg"][k]), f"{t['depeg_days_mean'][k]:.3g}", _eth(t["sold_mean"][k])]
            for k, name in enumerate(r.token_names)]
    return _table(["token", "holder", "lowest price, mean (ETH)", "lowest price, p05 (ETH)", "P(depeg)",
                   "days depegged, mean", "tokens sold, mean"], rows, numeric_from=2)


def _lending_table(rr: RunReport) -> str:
    r = rr.results
    ls = r.summary.lending
    ci = (rr.markets or {}).get("lending", {})
    eth = r.usd_price("ETH")
    priced = math.isfinite(eth)
    oracles = _lending_oracles(r)
    rows = []
    for m, name in enumerate(r.lending_names):
        c = ci.get(m, {})
        rules, oracle = oracles.get(name, ("", ""))
        debt = float(r.lending_debt_eth[m])
        rows.append([_e(name), _e(r.lending_tokens[m]), _e(oracle or "—"), _e(_eth(debt))]
                    + ([_e(usd(debt * eth))] if priced else [])
                    + [_eth(ls["liquidated_mean"][m]), _eth(ls["liquidated_p95"][m]),
                       _with_ci(_eth(ls["bad_debt_mean"][m]), c.get("bad_debt_mean"), _eth),
                       _eth(ls["bad_debt_var95"][m])]
                    + ([_e(usd(ls["bad_debt_mean"][m] * eth)), _e(usd(ls["bad_debt_var95"][m] * eth))] if priced else [])
                    + [_with_ci(_num(ls["p_bad_debt"][m]), c.get("p_bad_debt")),
                       _with_ci(_num(ls["p_bad_debt_1pct"][m]), c.get("p_bad_debt_1pct")),
                       _num(ls["accounts_liquidated_mean"][m])])
    return _table(["lending market", "token", "oracle", "debt (ETH)"] + (["debt USD"] if priced else [])
                  + ["collateral liquidated, mean (tokens)", "collateral liquidated, p95 (tokens)",
                     "bad debt, mean (ETH)", "bad debt VaR 95% (ETH)"]
                  + (["bad debt, mean USD", "bad debt VaR 95% USD"] if priced else [])
                  + ["P(bad debt &gt; 0)", "P(bad debt &gt; 1% of debt)", "accounts liquidated, mean share"],
                  rows, numeric_from=3)


def _market_loss_table(rr: RunReport) -> str:
    r, s = rr.results, rr.results.summary
    ci = (rr.markets or {}).get("loss_at_market", {})
    priced = any(math.isfinite(r.holders[r.holder_index(n)].value_usd) for n in r.token_holders)
    rows = []
    for k, name in enumerate(r.token_names):
        h = r.holders[r.holder_index(r.token_holders[k])]
        i, c, nav = h.index, ci.get(h.index, {}), rr.intervals.get(h.index, {})
        lm = s.loss_at_market
        rows.append([_e(h.name), _e(name),
                     _with_ci(_num(s.loss["mean"][i]), nav.get("mean")), _with_ci(_num(lm["mean"][i]), c.get("mean")),
                     _with_ci(_num(s.loss["var99"][i]), nav.get("var99")), _with_ci(_num(lm["var99"][i]), c.get("var99")),
                     _with_ci(_num(s.loss["es99"][i]), nav.get("es99")), _with_ci(_num(lm["es99"][i]), c.get("es99"))]
                    + ([_e(usd(s.loss["var99"][i] * h.value_usd)), _e(usd(lm["var99"][i] * h.value_usd))] if priced else []))
    return _table(["holder", "token", "mean at NAV", "mean at market", "VaR 99% at NAV", "VaR 99% at market",
                   "ES 99% at NAV", "ES 99% at market"]
                  + (["VaR 99% at NAV, USD", "VaR 99% at market, USD"] if priced else []), rows, numeric_from=2)


def _markets_html(rr: RunReport) -> str:
    """The market layer's section; "" for a run without tokens or lending markets."""
    r = rr.results
    if not (r.has_tokens or r.has_lending):
        return ""
    parts = [f'<section id="{rr.anchor}-markets"><h2>Markets</h2>'
             f'<p class="small">After a loss, each token trades in its pool and the lending markets that hold it as '
             f'collateral liquidate against their oracle (docs/markets.md). Prices in ETH per token (1 at the start); '
             f'collateral in tokens; debt and bad debt in ETH, after the market\'s reserve. '
             + ("Brackets: 95% confidence intervals from the per-trial records ("
                + ("importance sampling: probabilities and means, normal intervals of the weighted means; VaR and ES, "
                   "batch means over 20 batches" if r.weighted
                   else "probabilities: Wilson; means: normal; VaR: order statistics; ES: asymptotic normal") + ")."
                if r.has_records else
                f"Without per-trial records the lowest-price p05, the liquidated p95 and the VaR figures come from a "
                f"sketch (relative error {r.quantile_relative_error:g}) and have no confidence intervals.")
             + "</p>"]
    if r.has_tokens:
        parts.append("<h3>Tokens</h3>" + _token_table(r) +
                     '<p class="small">Lowest price: the token\'s lowest price in its pool over the trial (1 when nothing '
                     'happened); p05 is the low of one trial in 20. P(depeg): share of trials with a day below the '
                     'depeg threshold of NAV. Tokens sold: by the sellers and the liquidators into the pool (holders selling while it pays more than NAV only reprice it, and are not counted).</p>')
        parts.append("<h3>Loss at market beside loss at NAV</h3>"
                     '<p class="small">The loss of a holder who must sell at the token\'s lowest price, '
                     'max(loss at NAV, 1 − lowest price), against the loss at NAV of the tables above; share of initial '
                     'value, net of coverage. Holders without a token have their loss at NAV'
                     + (f" ({_e(', '.join(h.name for h in r.holders if h.name not in r.token_holders))})"
                        if len(set(r.token_holders)) < len(r.holders) else "") + ".</p>" + _market_loss_table(rr))
        parts.append(_figure_html(rr, "price_paths"))
    if r.has_lending:
        parts.append("<h3>Lending markets</h3>" + _lending_table(rr) +
                     '<p class="small">VaR 95% of bad debt: its 0.95 quantile over the trials, the lenders\' value at '
                     'risk as Gauntlet reports it. P(bad debt &gt; 1% of debt): the share of trials whose bad debt '
                     'exceeds 1% of the market\'s debt, Credora\'s measure. A VaR 95% of 0 means bad debt in fewer than one trial in '
                     '20: read P(bad debt &gt; 0) and the figure for its tail. Accounts liquidated: the share of the '
                     'market\'s accounts (debt buckets) liquidated in the trial\'s worst episode, averaged over '
                     'the trials.</p>')
        if "bad_debt_exceedance" in rr.figures:
            parts.append(_figure_html(rr, "bad_debt_exceedance"))
        if r.has_records and rr.markets is not None:
            quiet = rr.markets["quiet"]
            if quiet and len(quiet) == len(r.lending_names):
                parts.append(f'<p class="note">No lending market has bad debt in any of the {r.n_trials:,} trials, so '
                             f'there is no bad-debt exceedance to plot.</p>')
            elif quiet:
                parts.append(f'<p class="small">No bad debt in any of the {r.n_trials:,} trials, so not in the figure: '
                             f'{_e(", ".join(quiet))}.</p>')
        elif not r.has_records:
            parts.append('<p class="note">No bad-debt exceedance plot: this run was written with '
                         '<code>--no-records</code>, so it has no per-trial bad debt to draw the curves from; the table '
                         'above comes from the stored summary.</p>')
    parts.append(f'<p class="small">Data: '
                 + (f'<a href="{_e(rr.folder)}/tokens.csv">tokens.csv</a>' if r.has_tokens else "")
                 + (", " if r.has_tokens and r.has_lending else "")
                 + (f'<a href="{_e(rr.folder)}/lending.csv">lending.csv</a>' if r.has_lending else "")
                 + ".</p></section>")
    return "".join(parts)


FIGURE_TEXT = {
    "loss_exceedance": ("Loss exceedance",
                        "How likely is a loss at least this large? Each curve gives, for a loss x (share of the "
                        "holder's initial value, net of coverage), the share of simulated years with a loss of at "
                        "least x. Both axes are logarithmic so the tail is visible; the shaded band is the 95% "
                        "confidence interval of each probability. Where a curve crosses 1% is its VaR 99%."),
    "net_yield": ("Net yield against the LST baseline",
                  "Each restaked holder against the LST baseline(s) of its own asset. "
                  "Top left: the distribution of the net return in ordinary years. Top right: the bad years, "
                  "P(net return ≤ x) on a log scale. Bottom: the restaked holder's return minus the baseline's in "
                  "the same simulated year; the share of years below 0 is how often restaking did worse than "
                  "plain staking."),
    "loss_by_cause": ("Loss by cause",
                      "Left: expected loss split by what caused it (gross of coverage pools). Right: the same split "
                      "over each holder's worst 1% of years, which is usually a different story: rare contract and "
                      "correlated slashing events dominate the tail."),
    "avs_holder": ("Which AVS's slashing hits whom",
                   "Expected loss of each holder caused by each AVS's slashing (conditions and faulty slashings), "
                   "as restake-sim summed it over the trials (files from older versions: an attribution from each "
                   "AVS's and each holder's per-trial losses; method under the figure)."),
    "convergence": ("Convergence",
                    "Estimates from the first n trials against n. When the last part of each curve is flat and "
                    "inside a narrow band, more trials would not change the conclusion; a wide VaR band at the end "
                    "means the run is too short for that tail."),
    "conditional_holders": ("Contagion across holders",
                            "P(column holder loses | row holder loses), from the per-trial records: each row "
                            "conditions on the years in which that holder took a (gross) loss. The lift below each "
                            "value compares it with the column holder's unconditional probability; ×1 would mean "
                            "independent."),
    "conditional_avs": ("Contagion across AVSs",
                        "P(column AVS slashes | row AVS slashes) in the same simulated year: shared operators and "
                        "faulty slashers make AVS slashings co-occur."),
    "amplification": ("Cascade amplification",
                      "Total loss over the loss caused by the initiating fault, per initiating cause. ×1 means one "
                      "cause did all the damage; larger values mean other faults piled on in the same year."),
    "bad_debt_exceedance": ("Bad-debt exceedance per lending market",
                            "How likely is bad debt of at least x? Each curve gives, for an amount x of bad debt left "
                            "after the market's reserve, the share of simulated years with at least that much, in ETH "
                            "(left) and as a share of the market's debt (right); both axes logarithmic, shaded the 95% "
                            "band. Markets of one token share a colour. Where a curve crosses 5% is its VaR 95%; where "
                            "the right-hand curve crosses the 1% line is P(bad debt > 1% of debt)."),
    "price_paths": ("Price paths of the worst trials",
                    "Each token's pool price in the trials with its lowest prices (worst first), hour by hour from the "
                    "loss that started each market episode, with the NAV it traded against dashed in the same colour. "
                    "Where the price falls below NAV the market, not the loss, is doing the damage. The trials are "
                    "re-run from their seeds after the run (restake-sim run --price-paths K)."),
    "restaking_ratio": ("Restaking ratio",
                        "Stake each AVS can slash over TVL, per operator and per holder; the last column (their sum) "
                        "is the restaking ratio. Unique-stake (ELIP-002) allocations count allocation × stake, "
                        "shared-security protocols the whole stake."),
}


def _figure_html(rr: RunReport, name: str) -> str:
    if name not in rr.figures:
        return ""
    title, text = FIGURE_TEXT[name]
    return (f'<figure id="{rr.anchor}-{name}"><h3>{_e(title)}</h3><img src="{_e(rr.figures[name])}" '
            f'alt="{_e(title)}"><figcaption>{_e(text)}</figcaption></figure>')


def _check_html(rr: RunReport) -> str:
    r = rr.results
    if not r.has_records:
        return ""
    d = rr.mismatch
    order = max(v for k, v in d.items() if k.split(".")[1] not in RELATIVE_FIELDS)
    moments = max(v for k, v in d.items() if k.split(".")[1] in RELATIVE_FIELDS)
    if order == 0.0 and moments < 1e-9:
        return (f'<p class="ok">Statistics check: recomputed in Python from the {r.n_trials:,} per-trial records'
                f'{" and their weights (importance sampling)" if r.weighted else ""}, '
                f'every quantile, VaR, ES and probability equals the stored C++ summary exactly; means and standard '
                f'deviations agree to {moments:.1e} (relative; summation order differs). '
                f'Definitions: docs/statistics.md.</p>')
    return (f'<p class="note">Statistics check FAILED: the Python recomputation differs from the stored summary '
            f'(order statistics by up to {order:.3g}, moments by {moments:.3g} relative).</p>')


def _run_section(rr: RunReport, single: bool) -> str:
    r = rr.results
    parts = [f'<section id="{rr.anchor}"><h2>{"Results" if single else _e(rr.label)}</h2>', _meta_table(r),
             _cards(rr), _findings(rr)]
    if rr.skipped:
        why = ("This run was written with <code>--no-records</code>, so it has no per-trial data: "
               if not r.has_records else "")
        parts.append(f'<p class="note">{why}not shown: {_e("; ".join(rr.skipped))}. Everything below comes from '
                     f'the stored summary{" and the scenario" if "restaking_ratio" in rr.figures else ""}.</p>')
    parts.append("</section>")
    parts.append(f'<section id="{rr.anchor}-risk"><h2>Loss and yield</h2>')
    for name in ("loss_exceedance", "net_yield"):
        parts.append(_figure_html(rr, name))
    if r.has_records and r.weighted:
        how = ("Importance sampling: every figure weighs each trial by its likelihood ratio. Brackets: 95% confidence "
               "intervals (mean: normal, from the weighted trials; VaR and ES: batch means over 20 batches of "
               "trials).")
    elif r.has_records:
        how = ("Brackets: 95% confidence intervals (mean: normal; VaR: distribution-free order statistics; ES: "
               "asymptotic normal).")
    else:
        how = (f"Brackets: 95% confidence interval of the mean. Without per-trial records, VaR, ES and quantiles "
               f"come from a sketch within relative error {r.quantile_relative_error:g} of the exact values, and "
               f"have no confidence intervals.")
    parts.append(f"<h3>Loss per holder</h3><p class='small'>Share of the holder's initial value over the horizon, "
                 f"net of coverage. {how}</p>" + _loss_table(rr))
    parts.append("<h3>Net return per holder</h3>" + _return_table(r))
    parts.append(rv.amounts_html(r))
    parts.append(rv.thresholds_html(rr.thresholds))
    parts.append(rv.timing_html(r, rr.figures.get("first_loss_day")))
    parts.append("</section>")
    parts.append(f'<section id="{rr.anchor}-causes"><h2>Where losses come from</h2>')
    for name in ("loss_by_cause", "avs_holder"):
        parts.append(_figure_html(rr, name))
    parts.append("<h3>Mean loss by cause (gross, % of initial value)</h3>" + _cause_table(r))
    parts.append(_avs_pool_tables(r))
    parts.append(rv.contributions_html(r, {by: rr.figures[f"contributions_{by}"] for by in ("avs", "cause")
                                           if f"contributions_{by}" in rr.figures}))
    parts.append("</section>")
    parts.append(_markets_html(rr))
    parts.append(f'<section id="{rr.anchor}-contagion"><h2>Contagion</h2>')
    for name in ("conditional_holders", "conditional_avs", "amplification"):
        parts.append(_figure_html(rr, name))
    amp = rr.amplification
    if amp is not None:
        parts.append(_amplification_table(amp))
    parts.append(_figure_html(rr, "restaking_ratio"))
    parts.append(rv.concentration_html(r))
    parts.append("</section>")
    parts.append(f'<section id="{rr.anchor}-convergence"><h2>{"Convergence and checks" if r.has_records else "Data"}</h2>')
    parts.append(_figure_html(rr, "convergence"))
    parts.append(_check_html(rr))
    parts.append(f'<p class="small">Data: <a href="{_e(rr.folder)}/summary.csv">summary.csv</a> (one row per holder), '
                 f'<a href="{_e(rr.folder)}/loss_by_cause.csv">loss_by_cause.csv</a>, '
                 f'<a href="{_e(rr.folder)}/amounts.csv">amounts.csv</a>'
                 + (f', <a href="{_e(rr.folder)}/thresholds.csv">thresholds.csv</a>' if rr.thresholds is not None else "")
                 + (f', <a href="{_e(rr.folder)}/contributions.csv">contributions.csv</a>' if r.has_contributions else "")
                 + '.</p></section>')
    parts.append(f'<section id="{rr.anchor}-scenario"><h2>Scenario</h2><p class="small">The scenario file exactly as '
                 f'the run read it (stored in the results file). To reproduce: <code>restake-sim run '
                 f'{_e(r.scenario_path)} --trials {r.n_trials} --seed {r.seed}</code>.</p>'
                 f'<details><summary>show the scenario text ({len(r.scenario_text.splitlines())} lines)</summary>'
                 f'<pre>{_e(r.scenario_text)}</pre></details></section>')
    return "".join(parts)


def _diff_rows(name: str, diffs: list) -> list[list[str]]:
    rows = []
    for d in diffs:
        iv = d.interval
        ci = "—" if iv is None else _ci(iv.low, iv.high)
        delta = "—" if not (math.isfinite(d.first) and math.isfinite(d.second)) else \
            f"{'+' if d.second - d.first >= 0 else '−'}{_num(abs(d.second - d.first))}"
        rows.append([name, d.statistic, _num(d.first), _num(d.second), delta, ci])
    return rows


def _differences_html(reports: list[RunReport], pairs) -> str:
    """For each later run against the first: the holder pairs' differences with 95% intervals."""
    first = reports[0]
    parts = []
    for rr in reports[1:]:
        a, b = first.results, rr.results
        shared, why = cmp.shared_draws(a, b)
        matched = cmp.resolve_pairs(a, b, pairs)
        parts.append(f"<h3>{_e(rr.label)} − {_e(first.label)}</h3>")
        if shared:
            parts.append(f'<p class="ok">The runs share their draws (same seed {a.seed}, {a.n_trials:,} trials, same '
                         f'holders, operators, AVSs and pools{", same weights" if a.weighted else ""}): trial t is the '
                         f'same simulated year in both, so the differences are PAIRED, trial by trial.</p>')
        else:
            parts.append(f'<p class="note"><b>Warning: the runs do not share draws</b> ({_e(why)}), so the differences '
                         f'are between independent samples: the intervals are UNPAIRED (wider).</p>')
        if not matched:
            parts.append('<p class="note">The runs have no holder in common and no --pair was given, so there is '
                         'nothing to compare; pair holders with <code>--pair A=B</code>.</p>')
            continue
        rows = []
        for ha, hb in matched:
            name = _e(ha) if ha == hb else f"{_e(ha)} → {_e(hb)}"
            rows += _diff_rows(name, cmp.differences(a, a.holder_index(ha), b, b.holder_index(hb), shared))
        how = ("mean and P(loss &gt; x): normal intervals from the standard error of the "
               f"{'per-trial differences (paired)' if shared else 'two independent means (unpaired)'}; VaR 99% and "
               f"ES 99%: batch means over {cmp.BATCHES} consecutive batches of trials "
               f"({'per-batch differences, paired' if shared else 'the two runs’ batch errors combined, unpaired'}), "
               f"t interval; deterministic, no resampling." if a.has_records and b.has_records else
               "a run has no per-trial records: the mean's interval from the stored standard errors, no interval "
               "for VaR and ES.")
        parts.append(f'<p class="small">Loss as a share of the holder\'s initial value; difference = '
                     f'{_e(rr.label)} minus {_e(first.label)}, with its 95% interval. {how}</p>')
        parts.append(_table(["holder", "statistic", _e(first.label), _e(rr.label), "difference", "95% interval"],
                            rows, numeric_from=2))
        a.drop_cache()
        b.drop_cache()
    return "".join(parts)


def _scenario_diff_html(reports: list[RunReport]) -> str:
    first = reports[0]
    parts = ["<h3>Scenario differences</h3>"]
    for rr in reports[1:]:
        d = cmp.scenario_diff(first.results, rr.results, first.label, rr.label)
        parts.append(f'<p class="small">{_e(first.label)} → {_e(rr.label)}: '
                     + ("identical</p>" if d is None else f'</p><pre class="scenario-diff">{_e(d)}</pre>'))
    return "".join(parts)


def _comparison_section(reports: list[RunReport], out: Path, pairs=()) -> str:
    runs = [rr.results for rr in reports]
    labels = [rr.label for rr in reports]
    rows = [[f'<a href="#{rr.anchor}">{_e(rr.label)}</a>', _e(os.path.basename(rr.results.path)),
             f"{rr.results.n_trials:,}", str(rr.results.seed), f"{rr.results.horizon_days:g} d",
             _e(rr.results.program_version), "yes" if rr.results.has_records else "no"] for rr in reports]
    parts = ['<section id="compare"><h2>Comparison</h2>',
             _table(["run", "file", "trials", "seed", "horizon", "version", "records"], rows, numeric_from=2),
             '<h3>Differences</h3>', _differences_html(reports, pairs), _scenario_diff_html(reports),
             '</section><section id="compare-details"><h2>Details</h2>']
    panels = cmp.panels(runs, list(pairs))
    if panels:
        fig = plots.plot_exceedance_comparison(runs, labels, panels)
        _save(fig, out / "comparison_exceedance.png")
        parts.append('<figure><h3>Loss exceedance by run</h3><img src="comparison_exceedance.png" '
                     'alt="loss exceedance by run"><figcaption>Each panel is one --pair (A in the first run, B in the '
                     'others) or one holder present in every run; one line per run.</figcaption></figure>')
        metrics = (("mean loss", lambda r, i: r.summary.loss["mean"][i]),
                   ("VaR 99%", lambda r, i: r.summary.loss["var99"][i]),
                   ("ES 99%", lambda r, i: r.summary.loss["es99"][i]),
                   ("P(loss &gt; 0)", lambda r, i: r.summary.loss["p_loss"][i]),
                   ("mean net return", lambda r, i: r.summary.net_return["mean"][i]))
        header = ["holder", "statistic"] + [_e(lab) for lab in labels]
        rows = []
        for title, names in panels:
            for m_name, get in metrics:
                rows.append([_e(title), m_name] + [_num(get(r, r.holder_index(n))) for r, n in zip(runs, names)])
        parts.append("<h3>Key statistics by run</h3>" + _table(header, rows, numeric_from=2))
    else:
        parts.append('<p class="small">The runs have no holder of the same name in every run and no --pair was '
                     'given: no side-by-side figure.</p>')
    parts.append('<p class="small">Each run in full follows.</p></section>')
    return "".join(parts)


def _labels(runs: list[Results]) -> list[str]:
    labels = [r.scenario_name for r in runs]
    if len(set(labels)) < len(labels):
        labels = [f"{r.scenario_name} ({r.n_trials:,} trials, seed {r.seed})" for r in runs]
    if len(set(labels)) < len(labels):
        labels = [f"{lab} [{os.path.basename(r.path)}]" for lab, r in zip(labels, runs)]
    if len(set(labels)) < len(labels):
        labels = [f"{lab} #{i + 1}" for i, lab in enumerate(labels)]
    return labels


def write_report(paths: list, out_dir, title: str | None = None, pairs=None, progress: bool | None = None,
                 block: int | None = None, thresholds=None) -> Path:
    """Write the report of one or more results files into out_dir; returns the index.html path.
    pairs: [("A", "B"), ...] or ["A=B,C=D", ...]: holder A of the first file compared with holder B
    of each other file (besides the holders of the same name); an unknown name raises
    compare.PairError before anything is written. progress: print what is being computed, with the
    seconds elapsed, on stderr (default: when stderr is a terminal). block: trials read at a time
    (default: scan.block_trials). thresholds: losses x of P(loss >= x) to show (default: the run's
    --threshold, else risk_views.DEFAULT_THRESHOLDS)."""
    if not paths:
        raise ValueError("no results file given")
    progress = Progress(sys.stderr.isatty() if progress is None else progress)
    out = Path(out_dir)
    runs = [Results(p) for p in paths]
    try:
        pairs = [tuple(p) for p in pairs or []] if all(not isinstance(p, str) for p in pairs or []) else \
            cmp.parse_pairs(pairs)
        if pairs and len(runs) < 2:
            raise cmp.PairError("--pair needs two or more results files (it pairs the first file's holders with "
                                "the others')")
        for r in runs[1:]:
            cmp.resolve_pairs(runs[0], r, pairs)   # unknown names: an error before the folder is touched
        for r in runs:
            rv.check_thresholds(r, thresholds)     # likewise a --threshold the file cannot give
        out.mkdir(parents=True, exist_ok=True)
        single = len(runs) == 1
        reports = []
        for k, (r, label) in enumerate(zip(runs, _labels(runs))):
            rr = RunReport(r, label, f"run{k + 1}", "figures" if single else f"run{k + 1}")
            folder = out / rr.folder
            folder.mkdir(parents=True, exist_ok=True)
            plan = _figure_plan(rr, cg.world_of(r))
            figures = [f for f in plan if isinstance(f, _Figure)]
            early = _Drawing([f for f in figures if f.name in EARLY_FIGURES], folder, progress, label)
            background = None
            if r.has_records:
                progress(f"{label}: reading the per-trial records of {r.n_trials:,} trials")
                rr.scan = scan_records(r, block, progress)
                background = _Drawing([f for f in figures if f.name in BACKGROUND_FIGURES], folder, progress, label)
                progress(f"{label}: intervals and the statistics check")
                rr.scan.columns.presort([(h.index, b.index) for h, b in plots.yield_pairs(r)])
                rr.intervals = _intervals(r, rr.scan.columns)
                rr.mismatch = r.summary_mismatch(rr.scan.columns)
            if r.has_tokens or r.has_lending:
                progress(f"{label}: markets")
            rr.markets = _market_intervals(r)
            here = [f for f in figures if f.name not in EARLY_FIGURES + (BACKGROUND_FIGURES if background else ())]
            drawn = _draw(here, folder, progress, label)
            drawn.update(early.result())
            if background is not None:
                drawn.update(background.result())
            for f in plan:   # in the page's order
                if isinstance(f, str):
                    rr.skipped.append(f)
                elif drawn[f.name]:
                    rr.figures[f.name] = f"{rr.folder}/{f.name}.png"
                elif f.why_not:
                    rr.skipped.append(f.why_not)
            if rr.scan is not None:
                rr.spreads = _spreads(r, rr.scan.columns)
            rr.thresholds = rv.thresholds_frame(r, thresholds, rr.scan.columns if rr.scan is not None else None)
            rr.scan = None   # keep one run's records in memory at a time
            if r.has_contributions:
                for by in ("avs", "cause"):
                    fig = rv.plot_contributions(r, "es99", by)
                    _save(fig, folder / f"contributions_{by}.png")
                    import matplotlib.pyplot as plt
                    plt.close(fig)
                    rr.figures[f"contributions_{by}"] = f"{rr.folder}/contributions_{by}.png"
                rv.contributions_frame(r).to_csv(out / rr.folder / "contributions.csv", index=False)
            if rr.thresholds is not None:
                rr.thresholds.to_csv(out / rr.folder / "thresholds.csv", index=False)
            if (c := rv.concentration_frame(r)) is not None:
                c.to_csv(out / rr.folder / "concentration.csv")
            rv.amounts_frame(r).to_csv(out / rr.folder / "amounts.csv", index=False)
            if (fig := rv.plot_first_loss_day(r)) is not None:
                _save(fig, folder / "first_loss_day.png")
                import matplotlib.pyplot as plt
                plt.close(fig)
                rr.figures["first_loss_day"] = f"{rr.folder}/first_loss_day.png"
            if r.has_tokens:
                r.tokens_frame().to_csv(out / rr.folder / "tokens.csv")
            if r.has_lending:
                r.lending_frame().to_csv(out / rr.folder / "lending.csv")
            _summary_with_intervals(r, rr.intervals).to_csv(out / rr.folder / "summary.csv")
            r.loss_by_cause_frame().to_csv(out / rr.folder / "loss_by_cause.csv")
            r.drop_cache()  # keep one run's per-trial arrays in memory at a time
            reports.append(rr)
        if title is None:
            title = (f"restake-sim report: {runs[0].scenario_name}" if single else
                     f"restake-sim comparison: {', '.join(dict.fromkeys(r.scenario_name for r in runs))}")
        nav = []
        if not single:
            nav += ['<a href="#compare">Comparison</a>', '<a href="#compare-details">Details</a>']
            nav += [f'<a href="#{rr.anchor}">{_e(rr.label)}</a>' for rr in reports]
        else:
            a = reports[0].anchor
            nav = [f'<a href="#{a}">Summary</a>', f'<a href="#{a}-risk">Loss and yield</a>',
                   f'<a href="#{a}-causes">Causes</a>'] + \
                  ([f'<a href="#{a}-markets">Markets</a>'] if runs[0].has_tokens or runs[0].has_lending else []) + \
                  [f'<a href="#{a}-contagion">Contagion</a>',
                   f'<a href="#{a}-convergence">{"Convergence" if runs[0].has_records else "Checks"}</a>',
                   f'<a href="#{a}-scenario">Scenario</a>']
        r0 = runs[0]
        meta = (f"scenario {_e(r0.scenario_name)} · {r0.n_trials:,} trials"
                f"{' of importance sampling' if r0.weighted else ''} · seed {r0.seed} · "
                f"{r0.horizon_days:g}-day horizon · restake-sim {_e(r0.program_version)} ({_e(r0.git_commit[:12])})"
                if single else f"{len(runs)} runs")
        if not single:
            progress("comparison")
        body = ([_comparison_section(reports, out, pairs)] if not single else []) + \
               [_run_section(rr, single) for rr in reports]
        page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">'
                f'<title>{_e(title)}</title><style>{CSS}</style></head><body>'
                f'<header><h1>{_e(title)}</h1><div class="meta">{meta}</div></header>'
                f'<nav>{"".join(nav)}</nav><main>{"".join(body)}'
                f'<p class="small">Written by restake_analysis {__version__}. Losses and returns are shares of '
                f'each holder\'s initial value over the horizon; amounts are in each holder\'s, AVS\'s or '
                f'pool\'s own asset (ETH or BTC), in USD only at the scenario\'s prices. Statistics definitions: docs/statistics.md; file '
                f'layout: docs/output-format.md.</p></main></body></html>\n')
        index = out / "index.html"
        index.write_text(page, encoding="utf-8")
        progress("done")
        return index
    finally:
        for r in runs:
            r.close()
