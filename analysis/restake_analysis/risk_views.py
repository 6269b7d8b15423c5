"""The report's views of a holder's risk beyond the loss table: amounts in the holder's asset and in
USD, P(loss >= x) at thresholds with intervals, the concentration of each book, and the risk
contributions (Euler allocation) of causes, AVSs and operators to ES 99% and VaR 99%.

Each view is a table (HTML and a CSV frame) and, for the contributions, a figure. The numbers come
from the results file: what the run stored (run --threshold, run --contributions, the
concentration every run stores), or, for thresholds the report is asked for, the per-trial records.
"""
from __future__ import annotations

import html
import math

import numpy as np

from .results import Results, ResultsError
from .statistics import Z95

# The report's thresholds when neither the run nor the command line named any: a lending analyst's
# usual liquidation buffers.
DEFAULT_THRESHOLDS = (0.01, 0.05, 0.10, 0.25)


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def _pct(x: float, digits: int = 3) -> str:
    return f"{100.0 * x:.{digits}g}%" if math.isfinite(x) else "n/a"


def _usd(x: float) -> str:
    if not math.isfinite(x):
        return "-"
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= scale:
            return f"${x / scale:.2f}{suffix}"
    return f"${x:.0f}"


def _table(headers, rows) -> str:
    head = "".join(f'<th class="{"num" if i else ""}">{h}</th>' for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f'<td class="{"num" if i else ""}">{c}</td>' for i, c in enumerate(row)) + "</tr>"
                   for row in rows)
    return f'<div class="tablewrap"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


# --- thresholds ------------------------------------------------------------------------------------

def exceedance(loss: np.ndarray, w: np.ndarray | None, x: float) -> tuple[float, float, float, float]:
    """P(loss >= x) from a sample (weights w, or None), its standard error and 95% interval: Wilson's
    score interval in plain Monte Carlo, p +/- 1.96 se (at least 0) with weights - as the simulator
    computes them (sim/stats/statistics.cpp, exceedance_estimate)."""
    n = len(loss)
    hit = loss >= x
    ww = np.ones(n) if w is None else w
    s1, s2 = float(ww[hit].sum()), float((ww[hit] ** 2).sum())
    p = s1 / n
    var = max(0.0, (s2 - n * p * p) / (n - 1)) if n > 1 else 0.0
    se = math.sqrt(var / n)
    if w is not None:
        return p, se, max(0.0, p - Z95 * se), p + Z95 * se
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return p, se, 0.0 if p == 0 else max(0.0, centre - half), 1.0 if p == 1 else min(1.0, centre + half)


def check_thresholds(r: Results, asked) -> None:
    """Raise ResultsError when `asked` (the report's --threshold; None: not given) can be had neither
    from the run's stored thresholds nor from its records - as `restake-sim summary --threshold`
    refuses such a file - so the report stops before it writes anything."""
    if asked is None or r.has_records:
        return
    stored = [float(x) for x in r.thresholds] if r.has_thresholds else []
    if [float(x) for x in asked] == stored:
        return
    given = (f"only at the thresholds its run was given ({', '.join(_pct(x) for x in stored)})" if stored else
             "only at thresholds its run was given, and it was given none (run --threshold)")
    raise ResultsError(f"{r.path}: --threshold {','.join(_pct(float(x)) for x in asked)}: the file has no per-trial "
                       f"records (a run with --no-records), so P(loss >= x) can be had {given}")


def thresholds_frame(r: Results, asked=None, columns=None):
    """P(loss >= x) per holder and threshold: the run's (run --threshold) when `asked` is None or
    the same, else computed from the records at `asked` (DEFAULT_THRESHOLDS when None). Columns:
    holder, threshold, p, stderr, ci_low, ci_high. None when `asked` is None and the file has
    neither stored thresholds nor records; ResultsError (check_thresholds) when `asked` cannot be
    had. `columns`: the report's scan.TrialColumns, read already (else read here)."""
    import pandas as pd
    check_thresholds(r, asked)
    stored = list(r.thresholds) if r.has_thresholds else []
    rows = []
    if stored and (asked is None or list(asked) == stored):
        loss = r.summary.loss
        for h in r.holders:
            for k, x in enumerate(stored):
                rows.append((h.name, x, loss["p_exceed"][h.index, k], loss["p_exceed_stderr"][h.index, k],
                             loss["p_exceed_ci_low"][h.index, k], loss["p_exceed_ci_high"][h.index, k]))
    elif r.has_records:
        if columns is None:
            from .scan import TrialColumns
            columns = TrialColumns.of(r)
        w = columns.weight
        for h in r.holders:
            column = columns.loss(h.index)
            for x in (asked or DEFAULT_THRESHOLDS):
                rows.append((h.name, float(x), *exceedance(column, w, float(x))))
    else:
        return None
    df = pd.DataFrame(rows, columns=["holder", "threshold", "p", "stderr", "ci_low", "ci_high"])
    df.attrs["unit"] = "probability; threshold: fraction of initial value"
    return df


def thresholds_html(df) -> str:
    if df is None:
        return ('<p class="small">P(loss &ge; x): this run has no per-trial records (<code>--no-records</code>) '
                'and stored no thresholds (<code>run --threshold</code>), so there is nothing to show.</p>')
    xs = list(dict.fromkeys(df["threshold"]))
    rows = []
    for name, g in df.groupby("holder", sort=False):
        cells = [f'{_pct(p)} <span class="ci">[{_pct(lo)}, {_pct(hi)}]</span>'
                 for p, lo, hi in zip(g["p"], g["ci_low"], g["ci_high"])]
        rows.append([_e(name)] + cells)
    return ("<h3>P(loss &ge; x) at thresholds</h3><p class='small'>How often the loss net of coverage reaches each "
            "threshold (a lending market's liquidation buffer, say), with its 95% interval (Wilson's; normal with "
            "weights). Ask for others with <code>--threshold</code>.</p>"
            + _table(["holder"] + [f"x = {_pct(x)}" for x in xs], rows))


# --- amounts ---------------------------------------------------------------------------------------

def amounts_frame(r: Results):
    """Mean loss, VaR 99% and ES 99% as amounts in each holder's asset, and in USD where priced."""
    import pandas as pd
    loss = r.summary.loss
    rows = []
    for h in r.holders:
        for metric in ("mean", "var99", "es99"):
            share = float(loss[metric][h.index])
            rows.append((h.name, metric, share, h.asset, share * h.value, share * h.value * h.usd_price))
    return pd.DataFrame(rows, columns=["holder", "metric", "fraction", "asset", "amount", "amount_usd"])


def amounts_html(r: Results) -> str:
    df = amounts_frame(r)
    priced = bool(np.isfinite(df["amount_usd"]).any())
    headers = ["holder", "mean loss", "VaR 99%", "ES 99%"] + (["mean USD", "VaR 99% USD", "ES 99% USD"] if priced else [])
    rows = []
    for name, g in df.groupby("holder", sort=False):
        g = g.set_index("metric")
        row = [_e(name)] + [f"{g.loc[m, 'amount']:,.1f} {g.loc[m, 'asset']}" for m in ("mean", "var99", "es99")]
        if priced:
            row += [_usd(g.loc[m, "amount_usd"]) for m in ("mean", "var99", "es99")]
        rows.append(row)
    note = "" if priced else " The scenario gives no USD price (<code>[prices_usd]</code>), so no USD columns."
    return (f"<h3>Loss amounts</h3><p class='small'>The same losses in each holder's asset, and in USD at the "
            f"scenario's price.{note}</p>" + _table(headers, rows))


# --- concentration ---------------------------------------------------------------------------------

def concentration_frame(r: Results):
    import pandas as pd
    f = r._file
    if "summary/concentration" not in f:  # files written before it
        return None
    g = f["summary/concentration"]
    return pd.DataFrame({k: g[k][()] for k in ("hhi_operators", "hhi_avs", "restaked_share", "restaking_ratio")},
                        index=pd.Index(r.holder_names, name="holder"))


def concentration_html(r: Results) -> str:
    df = concentration_frame(r)
    if df is None:
        return ""
    def hhi(x: float) -> str:  # 0: a holder with no positions (no stake to concentrate)
        return f"{x:.3f} (~{1 / x:.1f} equal)" if x > 0 else "-"
    rows = [[_e(name), hhi(c.hhi_operators), hhi(c.hhi_avs), f"{100 * c.restaked_share:.1f}%",
             f"{c.restaking_ratio:.2f}x"] for name, c in df.iterrows()]
    return ("<h3>Concentration of each book</h3><p class='small'>Herfindahl index of the holder's stake over "
            "operators and of its exposure (stake &times; allocation) over AVSs, with the number of equal shares "
            "it amounts to (&ldquo;-&rdquo;: no positions); the share restaked; and the restaking ratio, its stake "
            "&times; the magnitude allocated to each AVS, summed, over its value.</p>"
            + _table(["holder", "HHI operators", "HHI AVSs", "restaked", "restaking ratio"], rows))


# --- contributions ---------------------------------------------------------------------------------

def contributions_frame(r: Results):
    """Every contribution in long form: holder, statistic, by, contributor, value."""
    import pandas as pd
    if not r.has_contributions:
        return None
    frames = []
    for stat in ("es99", "var99"):
        for by in ("cause", "avs", "operator"):
            df = r.contributions_frame(stat, by).rename_axis("contributor").reset_index()
            long = df.melt(id_vars="contributor", var_name="holder", value_name="value")
            long["statistic"], long["by"] = stat, by
            frames.append(long)
    return pd.concat(frames, ignore_index=True)[["holder", "statistic", "by", "contributor", "value"]]


def plot_contributions(r: Results, statistic: str = "es99", by: str = "avs", top: int = 8):
    """A horizontal stacked bar per holder: its ES 99% (or VaR 99%) split into the `top` largest
    contributors (by their largest share in any holder), the rest summed, and coverage below 0."""
    import matplotlib.pyplot as plt
    df = r.contributions_frame(statistic, by)
    cover = df.loc["coverage"] if "coverage" in df.index else None
    parts = df.drop(index="coverage", errors="ignore")
    parts = parts.loc[(parts != 0).any(axis=1)]
    order = parts.abs().max(axis=1).sort_values(ascending=False).index
    shown, rest = list(order[:top]), list(order[top:])
    fig, ax = plt.subplots(figsize=(9, 0.6 * len(r.holders) + 1.8))
    y = np.arange(len(r.holders))
    left = np.zeros(len(r.holders))
    colours = plt.get_cmap("tab10")
    for k, name in enumerate(shown):
        v = 100 * parts.loc[name].to_numpy()
        ax.barh(y, v, left=left, color=colours(k % 10), label=str(name))
        left += v
    if rest:
        v = 100 * parts.loc[rest].sum(axis=0).to_numpy()
        ax.barh(y, v, left=left, color="0.7", label=f"{len(rest)} others")
    if cover is not None and (cover != 0).any():
        ax.barh(y, 100 * cover.to_numpy(), color="0.3", label="coverage paid back")
    total = 100 * r.contributions_frame(statistic, "total").to_numpy()
    ax.plot(total, y, "k|", markersize=14, label=f"{'ES' if statistic == 'es99' else 'VaR'} 99%")
    ax.set_yticks(y, r.holder_names)
    ax.invert_yaxis()
    label = "ES 99%" if statistic == "es99" else "VaR 99%"
    ax.set_xlabel(f"contribution to {label} (% of initial value)")
    ax.set_title(f"What each holder's {label} comes from, by {'AVS' if by == 'avs' else by}")
    ax.axvline(0, color="k", lw=0.5)
    ax.legend(fontsize=8, loc="lower right", ncol=2)
    fig.tight_layout()
    return fig


def contributions_html(r: Results, figure_paths: dict) -> str:
    """The section's text and tables; `figure_paths`: by -> relative PNG path of plot_contributions."""
    if not r.has_contributions:
        return ('<p class="small">Risk contributions (which AVSs, operators and causes the tail comes from): run with '
                '<code>--contributions</code>.</p>')
    parts = ["<h3>Risk contributions</h3><p class='small'>Euler allocation: each contributor's part of a holder's "
             "loss, averaged over the trials the ES 99% rests on (or around the VaR 99%), so the parts add up to the "
             "statistic; coverage is negative. docs/statistics.md.</p>"]
    for by, path in figure_paths.items():
        parts.append(f'<figure><img src="{_e(path)}" alt="contributions by {by}"></figure>')
    es, var = r.contributions_frame("es99", "avs"), r.contributions_frame("var99", "avs")
    keep = es.index[(es != 0).any(axis=1) | (var != 0).any(axis=1)]
    rows = [[_e(name)] + [f"{100 * es.loc[name, h]:.3f}% / {100 * var.loc[name, h]:.3f}%" for h in r.holder_names]
            for name in keep]
    parts.append("<p class='small'>By AVS: contribution to ES 99% / VaR 99%, % of initial value.</p>"
                 + _table(["AVS"] + [_e(h) for h in r.holder_names], rows))
    return "".join(parts)


# --- timing ----------------------------------------------------------------------------------------

def timing_frame(r: Results):
    """Per holder: the mean day of the first loss (over trials with a loss), and the largest loss
    within any 7 days (mean and VaR 99%) beside the whole horizon's VaR 99%. None for files written
    before these existed."""
    import pandas as pd
    f = r._file
    if "summary/timing" not in f:
        return None
    g = f["summary/timing"]
    df = pd.DataFrame({k: g[k][()] for k in ("first_loss_day_mean", "loss_7d_mean", "loss_7d_var99")},
                      index=pd.Index(r.holder_names, name="holder"))
    df["var99"] = r.summary.loss["var99"]
    return df


def plot_first_loss_day(r: Results, block: int | None = None):
    """Per holder, the share of trials whose first loss came by each day (weighted in a weighted run);
    None without records or without any loss. The days are read once, in blocks of `block` trials
    (scan.finite_by_column), keeping only the trials with a loss."""
    import matplotlib.pyplot as plt
    from .scan import finite_by_column
    f = r._file
    if not r.has_records or "trials/first_loss_day" not in f:
        return None
    w = r.trials("weight") if r.weighted else None
    n = f["trials/first_loss_day"].shape[0]
    fig, ax = plt.subplots(figsize=(8, 4))
    drawn = False
    for h, (trials, day) in zip(r.holders, finite_by_column(r, "first_loss_day", block)):
        if not day.size:
            continue
        order = np.argsort(day, kind="stable")
        x = day[order]
        weights = np.ones(day.size) if w is None else w[trials][order]
        ax.step(x, 100 * np.cumsum(weights) / n, where="post", label=h.name)
        drawn = True
    if not drawn:
        plt.close(fig)
        return None
    ax.set_xlabel("day of the first loss (days from the start)")
    ax.set_ylabel("% of trials with a loss by then")
    ax.set_title("When each holder's first loss comes")
    ax.set_xlim(0, r.horizon_days)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    return fig


def timing_html(r: Results, figure_path: str | None) -> str:
    df = timing_frame(r)
    if df is None:
        return ""
    rows = [[_e(name), f"{t.first_loss_day_mean:.1f}" if math.isfinite(t.first_loss_day_mean) else "-",
             _pct(t.loss_7d_mean), _pct(t.loss_7d_var99), _pct(t.var99)] for name, t in df.iterrows()]
    figure = f'<figure><img src="{_e(figure_path)}" alt="first loss day"></figure>' if figure_path else ""
    return ("<h3>When losses come</h3><p class='small'>A lending market liquidates within days: the largest loss "
            "within any 7 days (net of coverage) beside the loss over the whole horizon. When the two VaRs are close, "
            "the tail's losses come at once.</p>" + figure
            + _table(["holder", "first loss day (mean)", "7-day loss: mean", "7-day loss: VaR 99%", "horizon VaR 99%"],
                     rows))
