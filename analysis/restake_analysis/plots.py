"""Figures of a results file. Each function returns a matplotlib Figure (not attached to pyplot,
so nothing global changes and any backend works; savefig writes PNG through Agg).

Losses and returns are fractions of the holder's initial value in the file and percent on the axes.
Amounts are labelled with their entity's asset (ETH or BTC), never added across assets.
Colours follow the holder's index in the file, so a holder has one colour in every figure.
"""
from __future__ import annotations

import math
import textwrap

import matplotlib

matplotlib.use("Agg", force=False)  # headless; harmless if a backend was already chosen
from matplotlib.colors import LogNorm, Normalize  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402
import numpy as np  # noqa: E402

from . import contagion as cg  # noqa: E402
from . import statistics as st  # noqa: E402
from .results import Results  # noqa: E402
from .scan import TrialColumns  # noqa: E402

HOLDER_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
                 "#17becf", "#bcbd22", "#7f7f7f")
CAUSE_COLORS = {"beacon_slashing": "#4c72b0", "avs_slashing": "#dd8452", "avs_faulty_slashing": "#c44e52",
                "contract": "#8172b3", "bridge": "#937860", "cascade_attack": "#55a868",
                "inactivity": "#8c8c8c", "key_compromise": "#da8bc3"}
CAUSE_LABELS = {"beacon_slashing": "beacon-chain slashing", "avs_slashing": "AVS slashing",
                "avs_faulty_slashing": "faulty AVS slashing", "contract": "contract failure",
                "bridge": "bridge failure", "cascade_attack": "cascade attack",
                "inactivity": "offline (inactivity)", "key_compromise": "stolen keys (drain)"}
LINESTYLES = ("-", "--", ":", "-.")
MIN_LOSS_SHOWN = 1e-5  # fraction of value: left edge of the loss axes (smaller losses are immaterial)


def holder_color(i: int) -> str:
    return HOLDER_COLORS[i % len(HOLDER_COLORS)]


def amount(v: float, asset: str, digits: int = 0) -> str:
    """An amount with its unit: 580,000 ETH, 1,250.5 BTC, $1.74B."""
    if asset == "USD":
        return usd(v)
    return f"{v:,.{digits}f} {asset}"


def usd(v: float) -> str:
    """A USD amount, short: $950, $12.3k, $1.74M, $2.05B ("n/a" if not finite)."""
    if not math.isfinite(v):
        return "n/a"
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= scale:
            return f"${v / scale:,.{2 if suffix != 'k' else 1}f}{suffix}"
    return f"${v:,.0f}"


def pct(v: float, digits: int = 3) -> str:
    """A fraction as percent with `digits` significant digits, for labels (0.144436 -> 14.4%)."""
    if not math.isfinite(v):
        return "n/a"
    if v == 0:
        return "0%"
    text = f"{100 * v:.{digits}g}"
    if "e" in text and abs(v) >= 0.01:  # 99.5 at 2 digits is "1e+02"
        text = f"{100 * v:.0f}"
    return f"{text}%"


def _tick_pct(v, _pos=None) -> str:
    """Tick label of a fraction as percent with just the digits it needs (0.001 -> 0.1%)."""
    if v == 0:
        return "0%"
    return f"{100 * v:.8f}".rstrip("0").rstrip(".") + "%"


PERCENT = FuncFormatter(_tick_pct)
COUNT = FuncFormatter(lambda v, _p: f"{v:,.0f}")


def _figure(w: float, h: float) -> Figure:
    return Figure(figsize=(w, h), dpi=110, layout="constrained")


def _caption(fig: Figure, text: str):
    """A note under the figure, wrapped to its width."""
    width = int(fig.get_figwidth() * 15)
    text = "\n".join(textwrap.wrap(text, width)).replace("$", r"\$")  # a dollar sign, not mathtext
    fig.supxlabel(text, fontsize=8, color="#555555", x=0.01, ha="left")


# --- loss exceedance ------------------------------------------------------------------------------


def exceedance_curve(x: np.ndarray, max_points: int = 4000, level: float = 0.95, w=None, presorted=None):
    """Empirical P(loss >= v) at the positive loss values v of the sample (or on a geometric grid
    of max_points values when there are more), with Wilson intervals. Returns (v, p, low, high).
    With the trials' weights `w` (a weighted run): P = (1/n) sum of w over x >= v, with the normal
    interval of that mean (the Wilson interval is for counts). `presorted`: (x ascending, its
    weights or None) if already at hand (scan.TrialColumns.sorted_loss)."""
    if presorted is not None:
        s, sw = presorted
    elif w is None:
        s = np.sort(np.asarray(x, dtype=np.float64))
    else:
        s, sw = st.sort_weighted(x, w)
    n = s.size
    pos = np.unique(s[s > 0.0])
    if pos.size > max_points:
        pos = np.unique(np.concatenate((np.geomspace(pos[0], pos[-1], max_points), pos[-1:])))
    first = np.searchsorted(s, pos, side="left")
    if w is None:
        k = n - first
        lo, hi = st.wilson_interval(k, n, level)
        return pos, k / n, lo, hi
    above = np.concatenate((np.cumsum(sw[::-1])[::-1], [0.0]))          # weight at or above each index
    above2 = np.concatenate((np.cumsum((sw * sw)[::-1])[::-1], [0.0]))
    p = above[first] / n
    se = np.sqrt(np.maximum(above2[first] / n - p * p, 0.0) / n)
    z = st._normal_quantile(0.5 + level / 2.0)
    return pos, p, np.maximum(p - z * se, 0.0), np.minimum(p + z * se, 1.0)


def _exceedance_axes(ax, n: int, floor: float | None = None):
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(floor if floor is not None else 0.5 / n, 1.0)
    ax.set_xlim(MIN_LOSS_SHOWN, 1.0)
    ax.xaxis.set_major_formatter(PERCENT)
    ax.yaxis.set_major_formatter(PERCENT)
    ax.grid(True, which="major", alpha=0.3)


def plot_loss_exceedance(r: Results, columns: TrialColumns | None = None) -> Figure:
    """Loss exceedance curve of each holder, log-log, with 95% Wilson bands. `columns`: the run's
    scan.TrialColumns if already at hand (else read whole from r)."""
    cols = columns if columns is not None else TrialColumns.of(r)
    n = cols.n
    fig = _figure(8.5, 5.6)
    ax = fig.add_subplot()
    floor = 0.5 / n
    for h in r.holders:
        c = holder_color(h.index)
        v, p, lo, hi = exceedance_curve(cols.loss(h.index), w=r.weight, presorted=cols.sorted_loss(h.index))
        if p.size and p.min() > 0:
            floor = min(floor, 0.5 * float(p.min()))
        if v.size == 0:
            ax.plot([], [], color=c, label=f"{h.name} ({h.kind}): no loss in {n:,} trials")
            continue
        ax.fill_between(v, np.maximum(lo, 0.2 * floor), hi, step="pre", color=c, alpha=0.18, linewidth=0)
        ax.plot(v, p, drawstyle="steps-pre", color=c, linewidth=1.6,
                label=f"{h.name} ({h.kind}): P(loss > 0) {pct(p[0])}, VaR 99% {pct(r.summary.loss['var99'][h.index])}")
    _exceedance_axes(ax, n, floor)
    for p_ref, text in ((0.01, "1 in 100 (VaR 99%)"), (0.001, "1 in 1,000")):
        if p_ref > 1.0 / n:
            ax.axhline(p_ref, color="#888888", linewidth=0.8, linestyle=":")
            ax.text(MIN_LOSS_SHOWN, p_ref, f" {text}", va="bottom", ha="left", fontsize=8, color="#555555")
    ax.set_xlabel("loss over the horizon, net of coverage (% of initial value, log scale)")
    ax.set_ylabel("probability that the loss is at least x (log scale)")
    ax.set_title(f"Loss exceedance per holder: {r.scenario_name}, {r.horizon_days:g}-day horizon")
    ax.legend(loc="lower left", fontsize=8)
    _caption(fig, f"{n:,} trials" + (f" of importance sampling (weighted; effective sample size "
                  f"{r.summary.weights['effective_sample_size']:,.0f}): shaded, the normal 95% band of each weighted "
                  f"probability." if r.weighted else ". Shaded: 95% Wilson confidence band of each probability.")
             + " Read across for the "
                  "loss exceeded with a given probability, up for how likely a loss of at least x is. Curves end "
                  "at the largest simulated loss; losses below 0.001% of value are left of the frame.")
    return fig


def plot_exceedance_comparison(runs: list[Results], labels: list[str], panels=None) -> Figure:
    """Loss exceedance across several runs: one panel per (title, [holder name in each run]) of
    compare.panels - each --pair's holders, then the holders present by name in every run - with
    one line per run. A run without records contributes its five stored quantiles as points."""
    if panels is None:
        panels = [(h, [h] * len(runs)) for h in runs[0].holder_names if all(h in r.holder_names for r in runs[1:])]
    cols = min(3, max(1, len(panels)))
    rows = max(1, math.ceil(len(panels) / cols))
    fig = _figure(4.8 * cols, 3.9 * rows + 0.8)
    axes = fig.subplots(rows, cols, squeeze=False)
    n_max = max(r.n_trials for r in runs)
    for i, (title, names) in enumerate(panels):
        ax = axes[i // cols][i % cols]
        for k, (r, label, name) in enumerate(zip(runs, labels, names)):
            h = r.holder_index(name)
            label = label if len(set(names)) == 1 else f"{label}: {name}"
            color = HOLDER_COLORS[k % len(HOLDER_COLORS)]
            if not r.has_records:
                q = r.summary.loss["quantiles"][h]
                ok = q > 0
                ax.plot(q[ok], (1.0 - r.summary.loss_levels)[ok], marker="o", linestyle="none", color=color,
                        label=f"{label} (stored quantiles)")
                continue
            v, p, lo, hi = exceedance_curve(r.loss_fraction[:, h], w=r.weight)
            ax.fill_between(v, np.maximum(lo, 0.1 / r.n_trials), hi, step="pre", color=color, alpha=0.15, linewidth=0)
            ax.plot(v, p, drawstyle="steps-pre", color=color, linestyle=LINESTYLES[k % 4], label=label)
        _exceedance_axes(ax, n_max)
        ax.set_title(title)
        ax.set_xlabel("loss, % of initial value (log)")
        ax.set_ylabel("P(loss ≥ x) (log)")
        ax.legend(fontsize=7, loc="lower left")
    for j in range(len(panels), rows * cols):
        axes[j // cols][j % cols].set_visible(False)
    fig.suptitle("Loss exceedance by run (each --pair, and holders present in every run)")
    _caption(fig, "Shaded: 95% Wilson bands. Same scenario and seed with more trials should overlap inside the bands.")
    return fig


# --- net yield ------------------------------------------------------------------------------------


def yield_pairs(r: Results) -> list:
    """(restaked holder, LST baseline) pairs of the same asset: a BTC restaker is not compared with
    an ETH baseline (different base yields, different units)."""
    return [(h, b) for b in r.holders_of_kind("lst") for h in r.holders
            if h.kind != "lst" and h.asset == b.asset]


STEP_POINTS = 4000  # points of a cumulative step curve drawn from a large sample (step_points)


def step_points(s: np.ndarray, p: np.ndarray, max_points: int = STEP_POINTS) -> np.ndarray:
    """Indices of the points of an ascending sample's cumulative step curve (s, p = P(X <= s)) to
    draw on a log-probability axis: every point up to max_points; beyond, ranks spaced geometrically
    from the lowest and points at geometrically spaced probabilities, each moved to the last of its
    ties, and the last point. The low ranks, the tail on a log axis, are kept one by one; above them
    consecutive kept points are less than 0.4% apart in probability (a fraction of a pixel on a log
    axis), so the curve drawn is the full one's, without millions of vertices to render."""
    m = s.size
    if m <= max_points:
        return np.arange(m)
    idx = np.round(np.geomspace(1, m, max_points)).astype(np.int64) - 1
    positive = p[p > 0.0]
    if positive.size:
        idx = np.concatenate((idx, np.searchsorted(p, np.geomspace(positive[0], p[-1], max_points))))
    idx = np.minimum(idx, m - 1)
    idx = np.searchsorted(s, s[idx], side="right") - 1   # the last of each tie: steps-post reaches its top
    return np.unique(np.append(idx, m - 1))


def plot_net_yield(r: Results, columns: TrialColumns | None = None) -> Figure | None:
    """Net-return distribution of each restaked holder (LRTs, native) against the LST baseline(s)
    of the same asset, and the paired per-trial spread (both see the same events and base APR in a
    trial). None if no restaked holder has an LST baseline in its asset. `columns`: the run's
    scan.TrialColumns if already at hand (else read whole from r)."""
    pairs = yield_pairs(r)
    if not pairs:
        return None
    restaked = list({h.index: h for h, _ in pairs}.values())
    base = list({b.index: b for _, b in pairs}.values())
    cols = columns if columns is not None else TrialColumns.of(r)
    n = cols.n
    w = r.weight  # a weighted run: densities, means and probabilities weigh each trial by it
    one = np.ones(n) if w is None else w

    def q(ordered, p):
        s, sw = ordered
        return st.quantile_sorted(s, p) if w is None else st.weighted_quantile_sorted(s, sw, p)

    def cumulative(ordered):
        """(x ascending, P(X <= x)) at each sorted value."""
        s, sw = ordered
        return s, (np.arange(1, n + 1) if sw is None else np.cumsum(sw)) / n
    fig = _figure(12.0, 9.0)
    axd = fig.subplot_mosaic([["body", "tail"], ["spread", "spread"]])
    ax_body, ax_tail, ax_spread = axd["body"], axd["tail"], axd["spread"]
    shown = restaked + base
    # Body: the typical year, linear density between the 5th percentile and the maximum.
    lo = min(q(cols.sorted_return(h.index), 0.05) for h in shown)
    hi = max(float(cols.sorted_return(h.index)[0][-1]) for h in shown)
    bins = np.linspace(lo, hi, 80)
    for h in shown:
        x = cols.net_return(h.index)
        style = dict(linestyle="--") if h.kind == "lst" else {}
        mean = float(np.mean(one * x))
        if w is None:   # the counts from the sorted returns, drawn as numpy.histogram would count x
            s = cols.sorted_return(h.index)[0]
            edges = np.searchsorted(s, bins, side="left")
            edges[-1] = np.searchsorted(s, bins[-1], side="right")   # the last bin holds its right edge
            x, counts = bins[:-1], np.diff(edges).astype(np.float64)
        else:
            counts = w
        ax_body.hist(x, bins=bins, weights=counts, density=True, histtype="step", linewidth=1.6,
                     color=holder_color(h.index), label=f"{h.name} ({h.kind}): mean {pct(mean)}", **style)
        ax_body.axvline(mean, color=holder_color(h.index), linewidth=0.8, alpha=0.7)
    ax_body.set_xlim(lo, hi)
    ax_body.set_ylim(0, ax_body.get_ylim()[1] * 1.3)  # room for the legend above the peaks
    ax_body.xaxis.set_major_formatter(PERCENT)
    ax_body.set_xlabel("net return over the horizon (% of initial value)")
    # A density over the return as a fraction is, read per percentage point, the % of trials.
    ax_body.set_ylabel("% of trials per percentage point of return")
    ax_body.set_title("Typical outcomes (thin lines: means)")
    ax_body.legend(fontsize=8, loc="upper left")
    # Left tail: P(return <= x) on a log scale.
    floor = 0.5 / n
    for h in shown:
        s, p = cumulative(cols.sorted_return(h.index))
        keep = p <= 0.5
        if keep.any():
            floor = min(floor, 0.5 * float(p[keep].min()))
        s, p = s[keep], p[keep]
        drawn = step_points(s, p)
        ax_tail.plot(s[drawn], p[drawn], drawstyle="steps-post", color=holder_color(h.index),
                     linestyle="--" if h.kind == "lst" else "-",
                     label=f"{h.name}: 1% quantile {pct(q(cols.sorted_return(h.index), 0.01))}")
    ax_tail.set_yscale("log")
    ax_tail.set_ylim(floor, 0.6)
    ax_tail.xaxis.set_major_formatter(PERCENT)
    ax_tail.yaxis.set_major_formatter(PERCENT)
    ax_tail.axvline(0.0, color="#888888", linewidth=0.8)
    ax_tail.set_xlabel("net return x (% of initial value)")
    ax_tail.set_ylabel("P(net return ≤ x) (log scale)")
    ax_tail.set_title("Bad years: the left tail")
    ax_tail.grid(True, alpha=0.3)
    ax_tail.legend(fontsize=8, loc="lower right")
    # Paired spread against each baseline.
    right = 0.02
    for b_i, b in enumerate(base):
        for h in [h for h, bb in pairs if bb.index == b.index]:
            raw = cols.spread(h.index, b.index)
            ordered = cols.sorted_spread(h.index, b.index)
            right = max(right, 1.5 * q(ordered, 0.9))
            median = q(ordered, 0.5)
            d, p = cumulative(ordered)
            drawn = step_points(d, p)
            ax_spread.plot(d[drawn], p[drawn], drawstyle="steps-post", color=holder_color(h.index),
                           linestyle=LINESTYLES[b_i % 4],
                           label=f"{h.name} − {b.name}: median {100 * median:+.2f} pp, "
                                 f"P(< 0) {100 * float(np.sum(one[raw < 0.0]) / n):.1f}%")
    ax_spread.set_yscale("log")
    ax_spread.set_ylim(floor, 1.0)
    ax_spread.axvline(0.0, color="#888888", linewidth=0.8)
    ax_spread.set_xscale("symlog", linthresh=0.01, linscale=2.0)
    ax_spread.set_xlim(right=right)  # the rare years the baseline does far worse sit at P ~ 1
    ax_spread.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: "0" if v == 0 else f"{100 * v:+g} pp"))
    ax_spread.yaxis.set_major_formatter(PERCENT)
    ax_spread.set_xlabel("spread s (percentage points; linear within ±1 pp)")
    ax_spread.set_ylabel("P(spread ≤ s) (log scale)")
    ax_spread.set_title("Restaked minus baseline in the same trial: how often does restaking do worse?")
    ax_spread.grid(True, alpha=0.3)
    ax_spread.legend(fontsize=8, loc="upper left")
    fig.suptitle(f"Net yield of restaked holders against the LST baseline (dashed): {r.scenario_name}")
    _caption(fig, f"{n:,} trials; net return = (rewards after fee − loss net of coverage) / initial value over "
                  f"{r.horizon_days:g} days. Left: trials between the 5th percentile and the maximum. Right: the "
                  "per-trial difference; both holders share the base APR and every event of a trial, so it isolates "
                  "what restaking adds (AVS rewards) and costs (AVS slashing, extra contracts).")
    return fig


# --- loss by cause --------------------------------------------------------------------------------


def tail_loss_by_cause(r: Results, share: float = 0.01) -> np.ndarray:
    """[H, C] gross loss by cause summed over each holder's worst `share` of trials (ranked by gross
    loss, ties in trial order; only trials with a loss), as a fraction of that tail's total.
    NaN rows: the holder never lost anything."""
    lbc = r.loss_by_cause
    gross = lbc.sum(axis=2)
    out = np.full((lbc.shape[1], lbc.shape[2]), np.nan)
    w = r.weight  # a weighted run: the worst trials carrying `share` of the n trials' weight, summed by weight
    k = max(1, math.ceil(share * gross.shape[0]))
    for h in range(lbc.shape[1]):
        order = np.argsort(-gross[:, h], kind="stable")
        if w is not None:
            reach = int(np.searchsorted(np.cumsum(w[order]), share * gross.shape[0])) + 1
            order = order[:max(1, min(reach, order.size))]
        else:
            order = order[:k]
        order = order[gross[order, h] > 0.0]
        if order.size:
            c = (lbc[order, h, :] * (w[order, None] if w is not None else 1.0)).sum(axis=0)
            out[h] = c / c.sum()
    return out


def plot_loss_by_cause(r: Results, tail: np.ndarray | None = None) -> Figure:
    """Mean gross loss by cause per holder (stacked bars, from /summary); with records also the
    cause mix of each holder's worst 1% of trials (`tail`: tail_loss_by_cause(r) if already at hand)."""
    causes = r.loss_causes
    names = [f"{h.name}\n({h.kind})" for h in r.holders]
    mean = r.summary.loss_by_cause_mean
    panels = 2 if r.has_records else 1
    fig = _figure(6.4 * panels + 1.0, 2.4 + 0.75 * len(r.holders))
    axes = fig.subplots(1, panels, squeeze=False)[0]
    y = np.arange(len(names))
    left = np.zeros(len(names))
    ax = axes[0]
    for c, cause in enumerate(causes):
        ax.barh(y, mean[:, c], left=left, color=CAUSE_COLORS.get(cause), label=CAUSE_LABELS.get(cause, cause),
                height=0.6)
        left += mean[:, c]
    for i in range(len(names)):
        covered = r.summary.covered_mean[i]
        ax.text(left[i], i, f"  {pct(left[i])}" + (f"\n  ({pct(left[i] - covered)} after coverage)" if covered > 0 else ""),
                va="center", fontsize=8)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xlim(0, max(left.max(), 1e-12) * 1.5)
    ax.xaxis.set_major_formatter(PERCENT)
    ax.set_xlabel("mean loss over the horizon, gross of coverage (% of initial value)")
    ax.set_title("Expected loss by cause")
    ax.legend(fontsize=8, loc="lower right")
    if r.has_records:
        tail = tail_loss_by_cause(r) if tail is None else tail
        ax2 = axes[1]
        left = np.zeros(len(names))
        for c, cause in enumerate(causes):
            vals = np.nan_to_num(tail[:, c])
            ax2.barh(y, vals, left=left, color=CAUSE_COLORS.get(cause), height=0.6)
            for i in range(len(names)):
                if vals[i] >= 0.07:
                    ax2.text(left[i] + vals[i] / 2, i, f"{100 * vals[i]:.0f}%", ha="center", va="center",
                             fontsize=8, color="white")
            left += vals
        for i in range(len(names)):
            if np.isnan(tail[i]).all():
                ax2.text(0.02, i, "no loss in any trial", va="center", fontsize=8)
        ax2.set_yticks(y, names)
        ax2.invert_yaxis()
        ax2.set_xlim(0, 1)
        ax2.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{100 * v:.0f}%"))
        ax2.set_xlabel("share of the gross loss summed over the holder's worst 1% of trials")
        ax2.set_title("What drives the tail (worst 1% of trials)")
    fig.suptitle(f"Where losses come from: {r.scenario_name}")
    return fig


# --- heatmaps -------------------------------------------------------------------------------------


def _heatmap(ax, m: np.ndarray, rows, cols, fmt, cmap="YlOrRd", norm=None, cbar_label="", fig=None,
             empty="—", cbar_format=None, blank_diagonal=False):
    """Annotated matrix. NaN cells are grey with `empty`; returns the AxesImage (its array is the
    plotted data)."""
    m = np.asarray(m, dtype=np.float64)
    shown = m.copy()
    if blank_diagonal:
        np.fill_diagonal(shown, np.nan)
    cm = matplotlib.colormaps[cmap].copy()
    cm.set_bad("#eeeeee")
    im = ax.imshow(np.ma.masked_invalid(shown), cmap=cm, norm=norm, aspect="auto")
    ax.set_xticks(np.arange(len(cols)), cols, rotation=25, ha="right")
    ax.set_yticks(np.arange(len(rows)), rows)
    ax.tick_params(length=0)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            v = shown[i, j]
            if blank_diagonal and i == j:
                text, color = "", "black"
            elif not np.isfinite(v):
                text, color = empty, "#777777"
            else:
                text = fmt(i, j, v)
                normed = im.norm(v)
                rgba = cm(normed) if np.isfinite(normed) else (1, 1, 1, 1)
                color = "white" if (0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2]) < 0.5 else "black"
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color=color)
    if fig is not None:
        cbar = fig.colorbar(im, ax=ax, label=cbar_label, shrink=0.85, format=cbar_format)
        if isinstance(norm, LogNorm) and cbar_format is not None:
            # Label the 2x and 5x minor ticks too: a log colour bar may span less than a decade.
            def minor(v, pos):
                lead = round(v / 10 ** math.floor(math.log10(v) + 1e-9), 6)
                return cbar_format(v, pos) if lead in (2.0, 5.0) else ""
            cbar.ax.yaxis.set_minor_formatter(FuncFormatter(minor))
    return im


def plot_avs_holder_matrix(r: Results, att: cg.AvsHolderLoss) -> Figure:
    """Expected loss of each holder from each AVS's slashing: exact from the file, or an attribution
    for older files (see contagion.py)."""
    A, H = att.loss_fraction.shape
    fig = _figure(3.2 + 1.7 * H + 1.2, 2.4 + 0.6 * A)
    ax = fig.add_subplot()
    m = np.where(att.exposure > 0, att.loss_fraction, np.nan)
    positive = m[np.isfinite(m) & (m > 0)]
    norm = LogNorm(positive.min(), positive.max()) if positive.size and positive.max() > positive.min() else None
    assets = att.holder_assets or r.holder_assets
    _heatmap(ax, m, att.avs, att.holders,
             lambda i, j, v: f"{pct(v, 2)}\n{amount(att.loss[i, j], assets[j], 1)}",
             norm=norm, fig=fig, cbar_label="expected loss, % of holder value (log colour)", cbar_format=PERCENT)
    ax.set_xlabel("holder")
    ax.set_ylabel("AVS whose slashing causes the loss")
    exact_file = att.method == "exact"
    ax.set_title("Expected loss by AVS and holder" + ("" if exact_file else " (attribution)"))
    if len(att.exact_share_by_asset) > 1:
        exact = ", ".join(f"{100 * v:.1f}% of the {a}" for a, v in att.exact_share_by_asset.items())
    else:
        exact = f"{100 * att.exact_share:.1f}% of the {next(iter(att.exact_share_by_asset), 'stake')}"
    how = ("per trial: exact in trials where one AVS slashed, fitted to both margins where several did "
           f"({exact} needed no apportioning)"
           if att.method == "per-trial" else
           "of each AVS's mean slashed stake, pro rata to slashable stake (no per-trial records)")
    unit = (f"in {assets[0]}" if len(set(assets)) == 1 else
            f"in the holder's asset ({', '.join(dict.fromkeys(assets))})")
    source = ("Exact: every AVS's slashing of every holder, summed over the trials by restake-sim"
              if exact_file else f"Attribution {how}")
    _caption(fig, f"{source}. Each cell: mean loss over the horizon as % of the holder's initial "
                  f"value, and {unit}. Grey '—': the AVS cannot slash that holder's stake.")
    return fig


def plot_conditional(mats: list[cg.ConditionalMatrix], titles: list[str], suptitle: str, basis: str = "") -> Figure:
    """P(column hit | row hit) matrices, with the lift over P(column hit) in each cell. `basis` says
    what P counts beside each row's P (e.g. "gross": before coverage, unlike the summary's P(loss))."""
    k = max(len(m.labels) for m in mats)
    fig = _figure(max(5.2, 2.2 + 1.3 * k) * len(mats) + 0.6, 2.0 + 0.75 * k)
    axes = fig.subplots(1, len(mats), squeeze=False)[0]
    for ax, m, title in zip(axes, mats, titles):
        rows = [f"{lab}\n(P = {pct(p, 2)}{', ' + basis if basis else ''})" for lab, p in zip(m.labels, m.p_hit)]

        def fmt(i, j, v, m=m):
            base = m.p_hit[j]
            lift = f"\n×{v / base:.1f}" if base > 0 else ""
            return f"{pct(v, 2)}{lift}"
        _heatmap(ax, m.matrix, rows, m.labels, fmt, cmap="Blues", norm=Normalize(0, 1), fig=fig,
                 empty="never hit", cbar_label="P(column hit | row hit)", cbar_format=PERCENT,
                 blank_diagonal=True)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("… then the probability that this one is hit too")
        ax.set_ylabel("if this one is hit (its own probability)")
    fig.suptitle(suptitle)
    _caption(fig, "Each cell: P(column hit | row hit) and, below it, the lift over the column's own probability "
                  "(×1.0: independent). Diagonal left blank.")
    return fig


def plot_amplification(amp: cg.Amplification) -> Figure:
    # Causes that initiated no trial's loss in any column would be rows of "no trials": left out, and named.
    kept = [i for i in range(len(amp.causes)) if np.isfinite(amp.by_cause[i]).any()]
    left_out = [CAUSE_LABELS.get(amp.causes[i], amp.causes[i]) for i in range(len(amp.causes)) if i not in kept]
    rows = [CAUSE_LABELS.get(amp.causes[i], amp.causes[i]) for i in kept] + ["all trials with a loss", "worst 1% of trials"]
    m = np.vstack([amp.by_cause[kept], amp.ratio_of_sums[None, :], amp.tail[None, :]])
    fig = _figure(3.4 + 1.5 * len(amp.labels), 2.4 + 0.5 * len(rows))
    ax = fig.add_subplot()
    top = max(1.5, float(np.nanmax(m)) if np.isfinite(m).any() else 1.5)
    _heatmap(ax, m, rows, amp.labels, lambda i, j, v: f"×{v:.2f}", cmap="Purples", norm=Normalize(1.0, top),
             fig=fig, empty="no trials", cbar_label="total loss / loss of the initiating cause")
    ax.axhline(len(kept) - 0.5, color="black", linewidth=1)
    ax.set_ylabel("trials whose initiating (largest) cause is …")
    ax.set_title("Cascade amplification: total loss over the loss of the initiating cause")
    if amp.note:
        agg = amp.note
    else:
        unit = amp.aggregates[0][1] if amp.aggregates else "ETH"
        agg = f"'all holders' adds the {unit} losses of every holder."
    _caption(fig, "×1.00: one cause did all the damage. Each cell is a ratio of sums over the trials of its row "
                  f"(loss-weighted). {agg} The loss ledger has no event times, so the largest cause of a trial "
                  "stands in for its first fault."
                  + (f" Left out, as no trial's loss started with them: {', '.join(left_out)}." if left_out else ""))
    return fig


def plot_restaking_ratio(rr: cg.RestakingRatio) -> Figure:
    ops_m = np.hstack([rr.operator_by_avs, rr.operator_ratio[:, None]])
    ho_m = np.hstack([rr.holder_by_avs, rr.holder_ratio[:, None]])
    cols = rr.avs + ["total =\nrestaking ratio"]
    fig = _figure(3.8 + 1.5 * len(cols), 3.0 + 0.55 * (len(rr.operators) + len(rr.holders)))
    ax1, ax2 = fig.subplots(2, 1, height_ratios=[max(1, len(rr.operators)), max(1, len(rr.holders))])
    vmax = max(1.0, float(np.nanmax(ops_m)) if ops_m.size else 1.0, float(np.nanmax(ho_m)) if ho_m.size else 1.0)
    norm = Normalize(0.0, vmax)
    op_assets = rr.operator_assets or ["ETH"] * len(rr.operators)
    ho_assets = rr.holder_assets or ["ETH"] * len(rr.holders)
    op_rows = [f"{o}\n({amount(rr.operator_tvl[i], op_assets[i])})" for i, o in enumerate(rr.operators)]
    ho_rows = [f"{h} ({k})\n({amount(rr.holder_value[i], ho_assets[i])})" for i, (h, k) in
               enumerate(zip(rr.holders, rr.holder_kinds))]

    def fmt(i, j, v):
        return "0" if v == 0 else f"{v:.2f}"
    _heatmap(ax1, ops_m, op_rows, cols, fmt, cmap="Greens", norm=norm, fig=fig, cbar_label="slashable stake / TVL")
    _heatmap(ax2, ho_m, ho_rows, cols, fmt, cmap="Greens", norm=norm, fig=fig, cbar_label="slashable stake / value")
    for ax in (ax1, ax2):
        ax.axvline(len(rr.avs) - 0.5, color="black", linewidth=1)
    ax1.set_title("Operators: stake securing each AVS / operator TVL")
    ax2.set_title("Holders: stake securing each AVS / holder value")
    _caption(fig, "Slashable stake = allocation × stake (unique-stake protocols) or the whole stake (shared). "
                  "Operator rows count holders' positions only; operator TVL is its own stake (validators × "
                  "effective balance, or its BTC) plus stake delegated to it from other operators' validators "
                  "(staked_with). Each row is in its own asset. A total above 1 means the same stake secures "
                  "several AVSs at once.")
    return fig


# --- convergence ----------------------------------------------------------------------------------


def convergence_grid(n: int, points: int = 60) -> np.ndarray:
    start = min(n, 100)
    return np.unique(np.round(np.geomspace(start, n, points)).astype(np.int64))


def running_estimates(x: np.ndarray, grid: np.ndarray, p: float = 0.99, level: float = 0.95,
                      support=(-math.inf, math.inf), w=None) -> dict:
    """Mean (with normal CI) and q_p (with order-statistic CI) of the first n trials, n in grid.
    Where the sample is too small for a quantile bound, the bound is the support's edge. With the
    trials' weights `w` (a weighted run): the mean of w x and the weighted q_p, whose interval is by
    batch means (statistics.weighted_batch_ci)."""
    x = np.asarray(x, dtype=np.float64)
    if w is not None:
        return _running_weighted(x, np.asarray(w, dtype=np.float64), grid, p, level, support)
    c1 = np.cumsum(x)
    c2 = np.cumsum(x * x)
    nn = grid.astype(np.float64)
    mean = c1[grid - 1] / nn
    var = np.maximum(c2[grid - 1] - nn * mean * mean, 0.0) / np.maximum(nn - 1.0, 1.0)
    z = st._normal_quantile(0.5 + level / 2.0)
    half = z * np.sqrt(var / nn)
    q, qlo, qhi = (np.empty(grid.size) for _ in range(3))
    for i, n in enumerate(grid):
        k = st.quantile_rank(int(n), p)
        l, u = st.quantile_ci_ranks(int(n), p, level)
        idx = sorted({k - 1} | ({l - 1} if l >= 1 else set()) | ({u - 1} if u <= n else set()))
        part = np.partition(x[:n], idx)
        q[i] = part[k - 1]
        qlo[i] = part[l - 1] if l >= 1 else support[0]
        qhi[i] = part[u - 1] if u <= n else support[1]
    return {"n": grid, "mean": mean, "mean_low": np.maximum(mean - half, support[0]),
            "mean_high": np.minimum(mean + half, support[1]), "q": q, "q_low": qlo, "q_high": qhi}


def _running_weighted(x, w, grid, p, level, support) -> dict:
    wx = w * x
    c1, c2 = np.cumsum(wx), np.cumsum(wx * wx)
    nn = grid.astype(np.float64)
    mean = c1[grid - 1] / nn
    var = np.maximum(c2[grid - 1] - nn * mean * mean, 0.0) / np.maximum(nn - 1.0, 1.0)
    half = st._normal_quantile(0.5 + level / 2.0) * np.sqrt(var / nn)
    q, qlo, qhi = (np.empty(grid.size) for _ in range(3))
    for i, n in enumerate(grid):
        ci = st.weighted_batch_ci(x[:n], w[:n], lambda s, sw: st.weighted_quantile_sorted(s, sw, p), level=level)
        q[i] = ci.estimate
        qlo[i] = max(ci.low, support[0])
        qhi[i] = min(ci.high, support[1])
    return {"n": grid, "mean": mean, "mean_low": np.maximum(mean - half, support[0]),
            "mean_high": np.minimum(mean + half, support[1]), "q": q, "q_low": qlo, "q_high": qhi}


def plot_convergence(r: Results, max_holders: int = 8, columns: TrialColumns | None = None) -> Figure:
    """Mean loss and VaR 99% of the first n trials against n, with 95% confidence bands; the
    dashed line is the full-run value stored in /summary. `columns`: the run's scan.TrialColumns
    if already at hand (else read whole from r)."""
    cols = columns if columns is not None else TrialColumns.of(r)
    holders = r.holders[:max_holders]
    grid = convergence_grid(cols.n)
    fig = _figure(11.0, 1.4 + 2.4 * len(holders))
    axes = fig.subplots(len(holders), 2, squeeze=False, sharex=True)
    for row, h in enumerate(holders):
        est = running_estimates(cols.loss(h.index), grid, support=(0.0, 1.0), w=r.weight)  # a loss is a share of value
        c = holder_color(h.index)
        for col, (key, stored, title) in enumerate((
                ("mean", r.summary.loss["mean"][h.index], "mean loss"),
                ("q", r.summary.loss["var99"][h.index], "VaR 99%"))):
            ax = axes[row][col]
            ax.fill_between(grid, est[f"{key}_low"], est[f"{key}_high"], color=c, alpha=0.2, linewidth=0,
                            label="95% confidence band")
            ax.plot(grid, est[key], color=c, linewidth=1.5, label="estimate from the first n trials")
            ax.axhline(stored, color="black", linestyle="--", linewidth=0.9, label="all trials (stored summary)")
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(COUNT)
            ax.yaxis.set_major_formatter(PERCENT)
            ax.set_title(f"{h.name}: {title} (all {r.n_trials:,} trials: {pct(stored)})", fontsize=10)
            ax.grid(True, alpha=0.3)
            late = grid >= grid[-1] / 30
            top = float(np.nanmax(np.concatenate([est[key][late], est[f"{key}_high"][late]])))
            if top > 0:
                ax.set_ylim(0, top * 1.15)
            if row == 0:
                ax.legend(fontsize=7, loc="lower right")
            if row == len(holders) - 1:
                ax.set_xlabel("number of trials n (log scale)")
            if col == 0:
                ax.set_ylabel("% of initial value")
    fig.suptitle(f"Convergence of the key estimates: {r.scenario_name}")
    note = ("Bands: normal interval of the mean; distribution-free order-statistic interval of VaR 99% "
            "(reaching 100% where the first n trials are too few to bound it).") if not r.weighted else (
            "Importance sampling: the weighted estimates; bands: normal interval of the mean, batch-means interval "
            "(20 batches) of VaR 99%.")
    if len(r.holders) > max_holders:
        note += f" First {max_holders} of {len(r.holders)} holders shown."
    _caption(fig, note)
    return fig


# --- markets --------------------------------------------------------------------------------------


def lending_without_bad_debt(r: Results) -> list[str]:
    """The lending markets with no bad debt in any trial (from the records)."""
    bad = r.trials("lending_bad_debt")
    return [name for m, name in enumerate(r.lending_names) if not np.any(bad[:, m] > 0.0)]


def plot_bad_debt_exceedance(r: Results) -> Figure | None:
    """P(bad debt >= x) per lending market, x in ETH (left) and as a share of the market's debt
    (right), log-log with 95% bands; a market with no bad debt in any trial is named in the
    caption, not drawn. None when no market has bad debt in any trial."""
    bad = r.trials("lending_bad_debt")
    n = bad.shape[0]
    quiet = lending_without_bad_debt(r)
    drawn = [m for m, name in enumerate(r.lending_names) if name not in quiet]
    if not drawn:
        return None
    fig = _figure(12.0, 5.4)
    axes = fig.subplots(1, 2)
    floor = 0.5 / n
    styles: dict[str, int] = {}
    for m in drawn:
        token = r.lending_tokens[m]
        color = HOLDER_COLORS[r.token_names.index(token) % len(HOLDER_COLORS)] if token in r.token_names \
            else HOLDER_COLORS[m % len(HOLDER_COLORS)]
        style = LINESTYLES[styles.setdefault(token, 0) % len(LINESTYLES)]
        styles[token] += 1
        debt = float(r.lending_debt_eth[m])
        v, p, lo, hi = exceedance_curve(bad[:, m], w=r.weight)
        floor = min(floor, 0.5 * float(p.min()))
        label = (f"{r.lending_names[m]}: P(bad debt > 0) {pct(r.summary.lending['p_bad_debt'][m])}, "
                 f"VaR 95% {r.summary.lending['bad_debt_var95'][m]:,.4g} ETH")
        for ax, scale in ((axes[0], 1.0), (axes[1], 1.0 / debt if debt > 0 else math.nan)):
            if not math.isfinite(scale):
                continue
            ax.fill_between(v * scale, np.maximum(lo, 0.2 * floor), hi, step="pre", color=color, alpha=0.15,
                            linewidth=0)
            ax.plot(v * scale, p, drawstyle="steps-pre", color=color, linestyle=style, linewidth=1.6,
                    label=label if ax is axes[0] else None)
    for ax in axes:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(floor, 1.0)
        ax.yaxis.set_major_formatter(PERCENT)
        ax.grid(True, which="major", alpha=0.3)
        if 0.05 > 1.0 / n:
            ax.axhline(0.05, color="#888888", linewidth=0.8, linestyle=":")
        ax.set_ylabel("probability that the bad debt is at least x (log scale)")
    axes[0].text(0.01, 0.05, " 1 in 20 (VaR 95%)", transform=axes[0].get_yaxis_transform(), va="bottom", ha="left",
                 fontsize=8, color="#555555")
    axes[1].axvline(0.01, color="#888888", linewidth=0.8, linestyle="--")
    axes[1].text(0.01, 0.97, " 1% of the debt", transform=axes[1].get_xaxis_transform(), va="top", ha="left",
                 fontsize=8, color="#555555")
    axes[1].xaxis.set_major_formatter(PERCENT)
    axes[0].set_xlabel("bad debt after the reserve, x (ETH, log scale)")
    axes[1].set_xlabel("bad debt after the reserve, x (% of the market's debt, log scale)")
    axes[0].set_title("in ETH")
    axes[1].set_title("as a share of the market's debt")
    axes[0].legend(loc="lower left", fontsize=7)
    fig.suptitle(f"Bad-debt exceedance per lending market: {r.scenario_name}, {r.horizon_days:g}-day horizon")
    note = f"{n:,} trials" + (" of importance sampling (weighted): shaded, the normal 95% band of each weighted "
                              "probability." if r.weighted else ". Shaded: 95% Wilson band of each probability.")
    note += " Where a curve crosses 1 in 20 is its VaR 95%; where the right panel's curve crosses 1% of the debt, " \
            "read P(bad debt > 1% of debt)."
    if quiet:
        note += f" No bad debt in any trial, so not drawn: {', '.join(quiet)}."
    _caption(fig, note)
    return fig
