"""The printed summary of a results file, as `restake-sim summary FILE` prints it.

`format_summary(r)` is a port of format_summary_table (sim/stats/summary.cpp), line for line, so
`restake-analysis summary FILE` and `restake-sim summary FILE` print the same text from the same
file: percentages with four decimals, the holders as rows of the loss table, the causes as rows
and the holders as columns of the cause table, amounts in the holder's asset (and USD where the
scenario prices it). A test compares the two outputs byte for byte; a change to one is a change to
both.
"""
from __future__ import annotations

import math

import numpy as np

from .frames import T19_975  # the 95% interval of a batch-means estimate over 20 batches
from .results import Results
from .statistics import Z95

BATCHES = 20  # the C++ summary's batch means (kBatches)


def _pct(x: float) -> str:
    return f"{100.0 * x:.4f}%"


def _usd(x: float) -> str:
    if x >= 1e9:
        return f"${x / 1e9:.2f}B"
    if x >= 1e6:
        return f"${x / 1e6:.2f}M"
    if x >= 1e3:
        return f"${x / 1e3:.1f}k"
    return f"${x:.0f}"


def _count(x: float) -> str:
    return f"{x:.1f}" if math.isfinite(x) else "n/a"


def _share(x: float) -> str:
    return f"{100.0 * x:.2f}%" if math.isfinite(x) else "n/a"


def _shortest(x: float) -> str:
    """A double as fmt's "{}" writes it: the shortest text that reads back, no ".0" on whole numbers."""
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


def _priced(price: float) -> bool:
    return price > 0  # NaN (no price) is not


def _tail_line(r: Results) -> str:
    t = r.tail
    holder = r.holder_names[t["holder"]]

    def interval(x, se, z, show):
        return f"{show(x)} (se {show(se)}, 95% CI {show(x - z * se)} to {show(x + z * se)})"

    def p(x):
        return f"{x:.4g}"

    out = (f"tail target, holder {holder}: P(loss >= {_pct(float(t['loss']))}) = "
           f"{interval(float(t['probability']), float(t['probability_stderr']), Z95, p)}")
    level = float(t["quantile_level"])
    if level > 0.0:
        q = float(t["quantile"])
        out += (f"; loss quantile {100.0 * level:g}% = {interval(q, float(t['quantile_stderr']), T19_975, _pct)}, "
                f"by batch means over {BATCHES} batches" if math.isfinite(q)
                else f"; loss quantile {100.0 * level:g}%: n/a without per-trial records")
    return out + "\n"


def _estimator_line(r: Results) -> str:
    w = r.summary.weights
    ess, share = w["effective_sample_size"], w["max_weight_share"]
    tilted = sum(1 for f, b in zip(r.tilt.rate_factor, r.tilt.size_exponent) if f != 1.0 or b != 1.0)
    return (f"estimator: importance sampling - {r.n_trials} trials weighted by their likelihood ratios, "
            f"effective sample size {_count(ess)} ({_share(ess / r.n_trials)} of the trials), largest single "
            f"weight {_share(share)} of the total; {tilted} of {len(r.tilt.rate_factor)} event sources tilted, "
            f"defensive share {_shortest(r.tilt.defensive)}\n")


def _markets_table(r: Results) -> str:
    s = r.summary
    out = "\nMarkets (prices in ETH per token, 1 at the start; bad debt in ETH after the reserve)\n"
    if r.token_names:
        out += (f"{'token':<16} {'holder':<16} {'mean min price':>14} {'min price q5%':>14} {'P(depeg)':>10} "
                f"{'mean depeg days':>15} {'mean sold':>14}\n")
        tk = s.token
        for k, (name, holder) in enumerate(zip(r.token_names, r.token_holders)):
            out += (f"{name:<16} {holder:<16} {tk['min_price_mean'][k]:>14.4f} {tk['min_price_p05'][k]:>14.4f} "
                    f"{_pct(tk['p_depeg'][k]):>10} {tk['depeg_days_mean'][k]:>15.3f} {tk['sold_mean'][k]:>14.1f}\n")
    if r.lending_names:
        ln = s.lending
        nw = max([14] + [len(n) for n in r.lending_names])
        tw = max([10] + [len(t) for t in r.lending_tokens])
        eth = r.usd_price("ETH")
        out += (f"\n{'lending market':<{nw}} {'token':<{tw}} {'P(bad>0)':>9} {'P(>1% debt)':>11} {'bad debt ETH':>12} "
                f"{'VaR95 ETH':>12} {'liq. mean':>11} {'liq. p95':>11}\n")
        for m, (name, token) in enumerate(zip(r.lending_names, r.lending_tokens)):
            out += (f"{name:<{nw}} {token:<{tw}} {_pct(ln['p_bad_debt'][m]):>9} {_pct(ln['p_bad_debt_1pct'][m]):>11} "
                    f"{ln['bad_debt_mean'][m]:>12.3f} {ln['bad_debt_var95'][m]:>12.3f} "
                    f"{ln['liquidated_mean'][m]:>11.2f} {ln['liquidated_p95'][m]:>11.2f}\n")
        if _priced(eth):
            out += f"\n{'lending market':<{nw}} {'debt USD':>14} {'bad debt USD':>14} {'VaR95 USD':>14}\n"
            for m, name in enumerate(r.lending_names):
                out += (f"{name:<{nw}} {_usd(r.lending_debt_eth[m] * eth):>14} {_usd(ln['bad_debt_mean'][m] * eth):>14} "
                        f"{_usd(ln['bad_debt_var95'][m] * eth):>14}\n")
    if r.token_names:
        out += (f"\n{'holder':<16} {'token':<16} {'mean loss NAV':>13} {'mean at market':>14} {'VaR 99% NAV':>12} "
                f"{'VaR 99% market':>14} {'ES 99% NAV':>12} {'ES 99% market':>14}\n")
        loss, market = s.loss, s.loss_at_market
        for name, holder in zip(r.token_names, r.token_holders):
            for h in r.holders:
                if h.name == holder:
                    i = h.index
                    out += (f"{h.name:<16} {name:<16} {_pct(loss['mean'][i]):>13} {_pct(market['mean'][i]):>14} "
                            f"{_pct(loss['var99'][i]):>12} {_pct(market['var99'][i]):>14} {_pct(loss['es99'][i]):>12} "
                            f"{_pct(market['es99'][i]):>14}\n")
    return out


TABLE_WIDTH = 120  # kTableWidth


def holder_groups(names: list[str], first: int, width: int) -> list[tuple[int, int]]:
    """The holders [start, stop) of each table of holder columns: a first column `first` wide, then
    1 + max(len(name), 9) per holder, within `width` (0: all in one) - holder_groups in C++."""
    groups, start = [], 0
    while start < len(names):
        stop, used = start, first
        while stop < len(names):
            column = 1 + max(len(names[stop]), 9)
            if width > 0 and stop > start and used + column > width:
                break
            used += column
            stop += 1
        groups.append((start, stop))
        start = stop
    return groups


def format_summary(r: Results, width: int = TABLE_WIDTH) -> str:
    """The summary of `r` as `restake-sim summary` prints it (format_summary_table in C++); width 0:
    the tables of holder columns in one piece (--wide)."""
    s, loss, ret = r.summary, r.summary.loss, r.summary.net_return
    out = (f"scenario {r.scenario_name} | {r.n_trials} trials | seed {r.seed} | horizon {_shortest(r.horizon_days)} "
           f"days | restake-sim {r.program_version} ({r.git_commit[:12]})\n\n")
    tail = r.tail
    if r.weighted:
        out += _estimator_line(r) + ("" if tail else "\n")
    if tail:
        out += _tail_line(r) + "\n"
    nw = max([16] + [len(h.name) for h in r.holders])
    priced = any(_priced(h.usd_price) for h in r.holders)
    spread = r.n_trials > 1  # one trial has no spread: its standard error is "n/a", not 0
    q999 = int(np.flatnonzero(s.loss_levels == 0.999)[0])
    q01 = int(np.flatnonzero(s.return_levels == 0.01)[0])
    out += "Loss (share of initial value, net of coverage) and net return over the horizon\n"
    out += (f"{'holder':<{nw}} {'kind':<6} {'value':>14} {'P(loss>0)':>9} {'mean loss':>9} {'+/- se':>9} "
            f"{'VaR 99%':>9} {'ES 99%':>9} {'q99.9':>9} {'net ret':>9} {'net ret q1%':>11}\n")
    for h in r.holders:
        i = h.index
        se = _pct(loss["stderr"][i]) if spread else "n/a"
        out += (f"{h.name:<{nw}} {h.kind:<6} {h.value:>10.1f} {h.asset:<3} {_pct(loss['p_loss'][i]):>9} "
                f"{_pct(loss['mean'][i]):>9} {se:>9} {_pct(loss['var99'][i]):>9} {_pct(loss['es99'][i]):>9} "
                f"{_pct(loss['quantiles'][i, q999]):>9} {_pct(ret['mean'][i]):>9} {_pct(ret['quantiles'][i, q01]):>11}\n")
    if priced:
        out += "\nLoss amounts (in the holder's asset; in USD at the scenario's price)\n"
        out += (f"{'holder':<{nw}} {'mean loss':>16} {'VaR 99%':>16} {'ES 99%':>16} {'mean USD':>11} "
                f"{'VaR 99% USD':>11} {'ES 99% USD':>11}\n")
        for h in r.holders:
            i = h.index
            def amount(share):
                return f"{share * h.value:.1f} {h.asset}"
            def in_usd(share):
                return _usd(share * h.value * h.usd_price) if _priced(h.usd_price) else "-"
            out += (f"{h.name:<{nw}} {amount(loss['mean'][i]):>16} {amount(loss['var99'][i]):>16} "
                    f"{amount(loss['es99'][i]):>16} {in_usd(loss['mean'][i]):>11} {in_usd(loss['var99'][i]):>11} "
                    f"{in_usd(loss['es99'][i]):>11}\n")
    if r.has_thresholds:
        def short(x):
            return f"{100.0 * x:.3g}"
        out += "\nP(loss >= x), net of coverage, with its 95% interval (%)\n"
        xs = list(r.thresholds)
        per = len(xs) if width == 0 else max(1, (width - nw) // 23 if width > nw else 0)  # 23 columns a threshold
        for start in range(0, len(xs), per):
            ks = range(start, min(len(xs), start + per))
            if start > 0:
                out += "\n"
            out += f"{'holder':<{nw}}" + "".join(f" {'x = ' + short(xs[k]) + '%':>22}" for k in ks) + "\n"
            for h in r.holders:
                i = h.index
                cells = [f"{short(loss['p_exceed'][i][k])} [{short(loss['p_exceed_ci_low'][i][k])}, "
                         f"{short(loss['p_exceed_ci_high'][i][k])}]" for k in ks]
                out += f"{h.name:<{nw}}" + "".join(f" {c:>22}" for c in cells) + "\n"
    if "summary/timing" in r._file:  # files written before these have neither
        out += _timing_table(r, nw, loss)
    if "summary/concentration" in r._file:
        out += _concentration_table(r, nw)
    out += "\nMean loss by cause (gross, before coverage; causes with a loss)\n"
    by_cause = s.loss_by_cause_mean
    for g, (start, stop) in enumerate(holder_groups([h.name for h in r.holders], 20, width)):
        group = r.holders[start:stop]
        widths = {h.index: max(len(h.name), 9) for h in group}
        if g > 0:
            out += "\n"
        out += f"{'cause':<20}" + "".join(f" {h.name:>{widths[h.index]}}" for h in group) + "\n"
        for c, cause in enumerate(r.loss_causes):
            if not np.any(by_cause[:, c] > 0.0):  # over every holder: each table has the same rows
                continue
            out += f"{cause:<20}" + "".join(f" {_pct(by_cause[h.index, c]):>{widths[h.index]}}" for h in group) + "\n"
        out += f"{'covered':<20}" + "".join(f" {_pct(s.covered_mean[h.index]):>{widths[h.index]}}" for h in group) + "\n"
    if r.avs_names:
        out += f"\n{'AVS':<20} {'mean stake slashed':>26} {'P(slash)':>12}\n"
        for a, (name, asset) in enumerate(zip(r.avs_names, r.avs_assets)):
            out += f"{name:<20} {s.avs_stake_lost_mean[a]:>22.3f} {asset:<3} {_pct(s.avs_p_slashed[a]):>12}\n"
    if r.pool_names:
        out += f"\n{'pool':<20} {'balance':>18} {'mean drawdown':>18} {'P(exhausted)':>14}\n"
        for p, (name, asset) in enumerate(zip(r.pool_names, r.pool_assets)):
            out += (f"{name:<20} {r.pool_balance[p]:>14.1f} {asset:<3} {s.pool_drawdown_mean[p]:>14.3f} {asset:<3} "
                    f"{_pct(s.pool_p_exhausted[p]):>14}\n")
    if r.token_names or r.lending_names:
        out += _markets_table(r)
    if r.weighted:
        out += ("\nTrials beyond each VaR (importance sampling): effective sample size, and the largest weight's share "
                "of their weight; standard errors of VaR 99% and ES 99% by batch means (20 batches; 95% CI +/- 2.093 se)\n")
        out += (f"{'holder':<16} {'ESS > VaR 95%':>16} {'max w share':>16} {'ESS > VaR 99%':>16} {'max w share':>16} "
                f"{'VaR 99% se':>14} {'ES 99% se':>14}\n")
        def se(x):
            return _pct(x) if math.isfinite(x) else "n/a"
        for h in r.holders:
            i = h.index
            out += (f"{h.name:<16} {_count(loss['tail_ess95'][i]):>16} {_share(loss['tail_max_weight_share95'][i]):>16} "
                    f"{_count(loss['tail_ess99'][i]):>16} {_share(loss['tail_max_weight_share99'][i]):>16} "
                    f"{se(loss['var99_stderr'][i]):>14} {se(loss['es99_stderr'][i]):>14}\n")
    return out


def _timing_table(r: Results, nw: int, loss) -> str:
    t = {k: r._file["summary/timing/" + k][()] for k in ("first_loss_day_mean", "loss_7d_mean", "loss_7d_var99")}
    out = "\nWhen losses come: the first loss's day (mean over trials with a loss), the largest loss within 7 days\n"
    out += f"{'holder':<{nw}} {'first loss day':>15} {'7-day loss mean':>16} {'7-day loss VaR99':>16} {'VaR 99%':>12}\n"
    for h in r.holders:
        i = h.index
        day = f"{t['first_loss_day_mean'][i]:.1f}" if math.isfinite(t["first_loss_day_mean"][i]) else "-"
        out += (f"{h.name:<{nw}} {day:>15} {_pct(t['loss_7d_mean'][i]):>16} {_pct(t['loss_7d_var99'][i]):>16} "
                f"{_pct(loss['var99'][i]):>12}\n")
    return out


def _concentration_table(r: Results, nw: int) -> str:
    c = {k: r._file["summary/concentration/" + k][()] for k in ("hhi_operators", "hhi_avs", "restaked_share", "restaking_ratio")}
    out = "\nConcentration: Herfindahl index of stake over operators and of exposure over AVSs (1/k: k equal shares)\n"
    out += f"{'holder':<{nw}} {'HHI operators':>14} {'HHI AVSs':>10} {'restaked':>9} {'restaking ratio':>15}\n"
    for h in r.holders:
        i = h.index
        avs = f"{c['hhi_avs'][i]:.4f}" if c["hhi_avs"][i] > 0.0 else "-"
        restaked = f"{100.0 * c['restaked_share'][i]:.1f}%"
        out += (f"{h.name:<{nw}} {c['hhi_operators'][i]:>14.4f} {avs:>10} {restaked:>9} "
                f"{c['restaking_ratio'][i]:>14.2f}x\n")
    return out
