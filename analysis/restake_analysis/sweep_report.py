"""A sweep file -> a report folder (index.html, PNG figures, CSV), and what it is made of: readable
labels for parameters and metrics, 95% bands, the sweep's line plots and heatmaps, and the reading
'what keeps VaR 99% under X' interpolated between the points.

    from restake_analysis.sweep_report import write_sweep_report, var_limit_crossings
    write_sweep_report("results/oracle-faults-vs-pool.h5", "report", var_limit=0.05)

Units: losses, returns and probabilities are fractions in the file and percent on the page. A band
is the 95% interval of the metric at each point: from the standard error the file stores (a mean's
+/- 1.96 se; a weighted sweep's VaR 99% and ES 99% +/- t(19) se by batch means), otherwise, for a
sweep run with --records, from each point's trials (the distribution-free order-statistic interval
of a VaR, the Manistre-Hancock interval of an ES); without either there is no band.
"""
from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=False)
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402
import numpy as np  # noqa: E402

from . import __version__  # noqa: E402
from . import statistics as st  # noqa: E402
from .plots import HOLDER_COLORS, LINESTYLES, PERCENT, holder_color, pct  # noqa: E402
from .sweep import Sweep  # noqa: E402

Z95 = 1.959963984540054
BATCHES = 20  # the simulator's batch-means batches (docs/statistics.md)

# metric -> (words, kind): kind "fraction" (share of initial value), "probability", or "" (as stored)
METRICS = {
    "loss/mean": ("Mean loss", "fraction"),
    "loss/stderr": ("Standard error of the mean loss", "fraction"),
    "loss/sd": ("Standard deviation of the loss", "fraction"),
    "loss/p_loss": ("P(loss > 0)", "probability"),
    "loss/var95": ("VaR 95%", "fraction"),
    "loss/var99": ("VaR 99%", "fraction"),
    "loss/es95": ("ES 95%", "fraction"),
    "loss/es99": ("ES 99%", "fraction"),
    "net_return/mean": ("Mean net return", "fraction"),
    "net_return/p_negative": ("P(net return < 0)", "probability"),
    "covered_mean": ("Mean loss paid by coverage", "fraction"),
    "loss_at_market/mean": ("Mean loss at market", "fraction"),
    "loss_at_market/var99": ("VaR 99% at market", "fraction"),
    "loss_at_market/es99": ("ES 99% at market", "fraction"),
    "loss/tail_ess99": ("Effective sample size beyond VaR 99%", ""),
}
REPORT_METRICS = ("loss/var99", "loss/es99", "loss/mean", "loss/p_loss", "net_return/mean")

# The last key of a path -> its unit: (unit shown, scale from the stored value). Probabilities,
# fractions, shares and rates of return are shown in percent.
_PERCENT_KEYS = re.compile(r"(probability|fraction|allocation|share|apr|magnitude|fee|ratio|threshold|discount|"
                           r"haircut|ltv|bonus|defensive)")


def parameter_unit(path: str) -> tuple[str, float]:
    """(unit, scale): the unit a parameter is shown in and the factor from its stored value."""
    key = split_path(path)[-1].lower()
    for suffix, unit in (("_eth", "ETH"), ("_btc", "BTC"), ("_usd", "USD"), ("_days", "days"), ("_hours", "hours"),
                         ("_epochs", "epochs"), ("_years", "years")):
        if key.endswith(suffix):
            return unit, 1.0
    if key in ("validators", "count") or key.endswith("_count"):
        return "", 1.0
    if _PERCENT_KEYS.search(key):
        return "%", 100.0
    return "", 1.0


def split_path(path: str) -> list[str]:
    """A sweep path's segments: dots outside quotes separate them; [i] stays with its segment."""
    return [s.strip('"') for s in re.findall(r'"[^"]*"(?:\[\d+\])?|[^.]+', path)]


def parameter_label(path: str, kind: str = "number") -> str:
    """A parameter's name for people, with its unit: 'pool.lrt-coverage.balance_eth' ->
    'pool lrt-coverage: balance (ETH)', 'avs.oracle.slashing.wrong-price.annual_probability' ->
    'avs oracle, slashing wrong-price: annual probability (%)'."""
    seg = split_path(path)
    key = seg[-1]
    unit, _ = parameter_unit(path) if kind == "number" else ("", 1.0)
    words = key
    for suffix in ("_eth", "_btc", "_usd", "_days", "_hours", "_epochs", "_years"):
        if unit and words.lower().endswith(suffix):
            words = words[: -len(suffix)]
    words = words.replace("_", " ")
    context = seg[:-1]
    pairs = [" ".join(context[i:i + 2]) for i in range(0, len(context), 2)]
    label = (", ".join(pairs) + ": " if pairs else "") + words
    return f"{label} ({unit})" if unit else label


def metric_label(metric: str) -> str:
    """'loss/var99' -> 'VaR 99% (% of initial value)'."""
    words, kind = METRICS.get(metric, (metric, ""))
    if kind == "fraction":
        return f"{words} (% of initial value)"
    if kind == "probability":
        return f"{words} (%)"
    return words


def metric_in_percent(metric: str) -> bool:
    return METRICS.get(metric, (metric, ""))[1] in ("fraction", "probability")


def value_text(v: float, path: str, kind: str = "number") -> str:
    """A parameter value as a plain number in its unit: 0.02154 -> '2.154%', 1e4 -> '10,000 ETH'."""
    unit, scale = parameter_unit(path) if kind == "number" else ("", 1.0)
    if not math.isfinite(v):
        return "-∞" if v < 0 else "+∞"
    x = v * scale
    if x == 0:
        text = "0"
    elif float(x).is_integer() and abs(x) < 1e15:
        text = f"{x:,.0f}"
    else:
        text = np.format_float_positional(x, precision=4, unique=True, fractional=False, trim="-")
        if abs(x) >= 1000:
            text = f"{x:,.1f}".rstrip("0").rstrip(".")
    if unit == "%":
        return text + "%"
    return f"{text} {unit}" if unit else text


class SweepReportError(ValueError):
    """A request the sweep cannot answer (a bad --var-limit, an unknown parameter)."""


def is_sweep_file(path) -> bool:
    """Whether path is an HDF5 file whose file_type says sweep (False for anything else)."""
    import h5py
    try:
        with h5py.File(path, "r") as f:
            v = f.attrs.get("file_type", "")
    except OSError:
        return False
    return (v.decode() if isinstance(v, bytes) else str(v)) == "restake-sim sweep"


# --- bands --------------------------------------------------------------------------------------


def _t95(dof: int) -> float:
    return st._t_quantile(0.975, dof)


def metric_band(s: Sweep, metric: str, holder: str | int) -> tuple[np.ndarray, np.ndarray] | None:
    """The 95% interval of a metric at every point, (low [P], high [P]), or None when the file has
    neither a stored standard error for it nor the per-trial records it can be computed from.
    Kept on the Sweep, so the page's plots and tables compute each band once."""
    cache = s.__dict__.setdefault("_bands", {})
    key = (metric, s._holder(holder))
    if key not in cache:
        cache[key] = _metric_band(s, metric, holder)
    return cache[key]


def _metric_band(s: Sweep, metric: str, holder: str | int) -> tuple[np.ndarray, np.ndarray] | None:
    y = s.metric(metric, holder)
    stored = {"loss/mean": ("loss/stderr", Z95), "net_return/mean": ("net_return/stderr", Z95),
              "loss/var99": ("loss/var99_stderr", _t95(BATCHES - 1)),
              "loss/es99": ("loss/es99_stderr", _t95(BATCHES - 1))}.get(metric)
    if stored and "summary/" + stored[0] in s._f and s.trials > 1:
        se = s.metric(stored[0], holder)
        if np.all(np.isfinite(se)):
            return y - stored[1] * se, y + stored[1] * se
    level = {"loss/var95": 0.95, "loss/var99": 0.99, "loss/es95": 0.95, "loss/es99": 0.99}.get(metric)
    if level is None and metric != "loss/p_loss":
        return None
    if s.weighted or "trials/loss_fraction" not in s._f:
        return None
    h = s._holder(holder)
    ds = s._f["trials/loss_fraction"]
    low, high = np.empty(s.points), np.empty(s.points)
    for p in range(s.points):
        x = ds[p, :, h]
        if metric == "loss/p_loss":
            lo, hi = st.wilson_interval(np.count_nonzero(x > 0), x.size)
            low[p], high[p] = float(lo), float(hi)
            continue
        srt = np.sort(x)
        ci = st.quantile_ci_sorted(srt, level) if metric.startswith("loss/var") else \
            st.expected_shortfall_ci_sorted(srt, level)
        low[p], high[p] = ci.low, ci.high
    return low, high


# --- what keeps a metric under a limit ------------------------------------------------------------


@dataclass
class Crossing:
    """Where a curve y(x), linear between adjacent points, is at or under a limit.
    kind: 'always' (every point under), 'never' (no point under), 'from' (under for x >= x, the
    curve falls through the limit), 'up_to' (under for x <= x, it rises through it), or 'several'
    (it crosses more than once: `crossings`). low, high: the same reading of the band's two curves,
    an interval for x; -inf / +inf where a band curve does not cross within the swept range."""
    kind: str
    x: float = math.nan
    low: float = math.nan
    high: float = math.nan
    crossings: list = field(default_factory=list)


def _crossings(x: np.ndarray, y: np.ndarray, limit: float) -> list[tuple[float, str]]:
    """Every x where the piecewise-linear y crosses the limit, with 'down' (into y <= limit) or 'up'."""
    under = y <= limit
    out = []
    for i in range(len(x) - 1):
        if under[i] == under[i + 1]:
            continue
        t = (limit - y[i]) / (y[i + 1] - y[i])
        out.append((float(x[i] + t * (x[i + 1] - x[i])), "down" if under[i + 1] else "up"))
    return out


def crossing(x, y, limit: float, low=None, high=None) -> Crossing:
    """Where y(x) (x ascending, y linear between the points) is at or under `limit`; with the band
    (low, high) of y, the interval of that x: where the band's upper and lower curves cross."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.ndim != 1 or x.size != y.size or x.size == 0:
        raise ValueError("crossing: x and y need one value per point")
    if np.any(np.diff(x) <= 0):
        raise ValueError("crossing: x must be strictly ascending")
    under = y <= limit
    if under.all():
        return Crossing("always")
    if not under.any():
        return Crossing("never")
    found = _crossings(x, y, limit)
    if len(found) > 1:
        return Crossing("several", crossings=found)
    where, direction = found[0]
    c = Crossing("from" if direction == "down" else "up_to", where)
    if low is None or high is None:
        return c
    ends = []
    for curve in (np.asarray(low, dtype=float), np.asarray(high, dtype=float)):
        k = _crossings(x, curve, limit)
        if k:
            ends.extend(v for v, _ in k)
        elif (curve <= limit).all():   # under everywhere: the bound lies on the favourable side
            ends.append(-math.inf if c.kind == "from" else math.inf)
        else:                          # never under: the bound lies beyond the range, on the other side
            ends.append(math.inf if c.kind == "from" else -math.inf)
    c.low, c.high = min(ends), max(ends)
    return c


@dataclass
class LimitReading:
    holder: str
    condition: str            # the other parameter's value this reading holds at ('' for a 1-D sweep)
    crossing: Crossing
    band: bool                # whether the interval comes from a band
    nearest: tuple = (math.nan, math.nan)  # (x, y) of the point nearest the limit: the lowest y, or the highest if all under


def var_limit_crossings(s: Sweep, limit: float, metric: str = "loss/var99", x: str | None = None) -> \
        tuple[str, list[LimitReading]]:
    """(x parameter, readings): per holder (and per value of a second grid parameter), where the
    metric interpolated along x is at or under `limit`. x: the first numeric parameter that varies
    unless given. A zip sweep reads along x with the points in x's order; a grid of two parameters
    gives one reading per value of the other."""
    numeric = [p for p in s.parameters if not s.is_categorical(p) and np.unique(s.parameter_values(p)).size > 1]
    if x is None:
        if not numeric:
            raise ValueError("no numeric parameter varies: nothing to interpolate along")
        x = numeric[0]
    elif x not in numeric:
        raise ValueError(f"{x}: not a numeric parameter that varies in this sweep")
    xs = s.parameter_values(x)
    others = [p for p in s.parameters if p != x and np.unique(s.parameter_values(p)).size > 1]
    if s.mode == "zip" or not others:
        groups = [("", np.arange(s.points))]
    elif len(others) == 1 and s.mode == "grid":
        o = others[0]
        ov, labels = s.parameter_values(o), s.parameter_labels(o)
        kind = s.kinds[s.parameters.index(o)]
        groups = [(f"{parameter_label(o, kind)} = {value_text(v, o, kind) if kind == 'number' else labels[list(ov).index(v)]}",
                   np.flatnonzero(ov == v)) for v in dict.fromkeys(ov)]
    else:
        raise ValueError(f"{len(others) + 1} parameters vary: the reading needs a 1-D sweep, a zip sweep or a grid of two")
    readings = []
    for h in s.holder_names:
        y = s.metric(metric, h)
        band = metric_band(s, metric, h)
        for condition, idx in groups:
            order = idx[np.argsort(xs[idx], kind="stable")]
            if np.unique(xs[order]).size != order.size:
                raise ValueError(f"{x} repeats a value within a curve: no single curve to interpolate")
            lo, hi = (band[0][order], band[1][order]) if band is not None else (None, None)
            c = crossing(xs[order], y[order], limit, lo, hi)
            k = order[np.argmax(y[order])] if c.kind == "always" else order[np.argmin(y[order])]
            readings.append(LimitReading(h, condition, c, band is not None, (float(xs[k]), float(y[k]))))
    return x, readings


def reading_text(r: LimitReading, x: str, limit: float, metric: str = "loss/var99") -> str:
    """A reading in words: 'at or under 5% from 1,500 ETH (95%: 1,250 ETH to 1,750 ETH)'."""
    words = METRICS.get(metric, (metric, ""))[0]
    c = r.crossing
    v = lambda z: value_text(z, x)  # noqa: E731
    near = f" ({'highest' if c.kind == 'always' else 'lowest'} {pct(r.nearest[1])} at {v(r.nearest[0])})" \
        if math.isfinite(r.nearest[1]) else ""
    if c.kind == "always":
        return f"{words} is at or under {pct(limit)} at every swept value{near}"
    if c.kind == "never":
        return f"{words} is above {pct(limit)} at every swept value{near}"
    if c.kind == "several":
        return (f"{words} crosses {pct(limit)} {len(c.crossings)} times, at "
                + ", ".join(f"{v(z)} ({'down' if d == 'down' else 'up'})" for z, d in c.crossings))
    side = "from" if c.kind == "from" else "up to"
    text = f"{words} at or under {pct(limit)} {side} {v(c.x)}"
    if r.band:
        lo = v(c.low) if math.isfinite(c.low) else "below the swept range"
        hi = v(c.high) if math.isfinite(c.high) else "beyond the swept range"
        text += f" (95% interval {lo} to {hi})"
    else:
        text += " (no interval: the file has no standard error of this metric and no per-trial records)"
    return text


def parse_limit(text: str) -> float:
    """'5%' -> 0.05, '0.05' -> 0.05; a limit outside (0, 1] is refused."""
    t = text.strip()
    try:
        v = float(t[:-1]) / 100.0 if t.endswith("%") else float(t)
    except ValueError:
        raise SweepReportError(f"--var-limit: expected a share such as 5% or 0.05, got {text!r}") from None
    if not (0.0 < v <= 1.0):
        raise SweepReportError(f"--var-limit: expected a share in (0, 100%], got {text!r}")
    return v


# --- figures ------------------------------------------------------------------------------------


def _x_axis(ax, s: Sweep, x: str, log_x: bool):
    kind = s.kinds[s.parameters.index(x)]
    if kind != "number":
        ticks = dict(zip(s.parameter_values(x), s.parameter_labels(x)))
        ax.set_xticks(sorted(ticks), [ticks[t] for t in sorted(ticks)])
    else:
        if log_x:
            ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: value_text(v / parameter_unit(x)[1], x).split(" ")[0]))
    ax.set_xlabel(parameter_label(x, kind))


def _x_values(s: Sweep, x: str) -> np.ndarray:
    kind = s.kinds[s.parameters.index(x)]
    return s.parameter_values(x) * (parameter_unit(x)[1] if kind == "number" else 1.0)


def _y_scale(metric: str) -> float:
    return 100.0 if metric_in_percent(metric) else 1.0


def plot_metric(s: Sweep, x: str, metric: str = "loss/var99", holders: list[str] | None = None,
                by: str | None = None, log_x: bool = False, bands: bool = True) -> Figure:
    """A metric against parameter x in percent, with its 95% band where there is one. Without `by`:
    one line per holder. With `by` (a second parameter of the grid): one panel per holder and one
    line per value of `by`, with a legend. Other parameters that vary draw as markers only."""
    holders = holders or s.holder_names
    xs, xv = s.parameter_values(x), _x_values(s, x)
    scale = _y_scale(metric)
    others = [p for p in s.parameters if p not in (x, by) and np.unique(s.parameter_values(p)).size > 1]
    joined = not others or s.mode == "zip"   # a zip's points form one curve, whatever else moves with x
    if by is None:
        fig = Figure(figsize=(8.0, 4.6), layout="constrained")
        ax = fig.subplots()
        axes = {h: ax for h in holders}
    else:
        n = len(holders)
        cols = min(3, n)
        rows = math.ceil(n / cols)
        fig = Figure(figsize=(4.2 * cols, 3.4 * rows + 0.6), layout="constrained")
        grid = np.atleast_1d(fig.subplots(rows, cols, squeeze=False, sharex=True)).ravel()
        for a in grid[n:]:
            a.set_visible(False)
        axes = dict(zip(holders, grid))
    for hi, h in enumerate(holders):
        ax = axes[h]
        y = s.metric(metric, h) * scale
        band = metric_band(s, metric, h) if bands else None
        if by is None:
            curves = [(h, np.arange(s.points), holder_color(s.holder_names.index(h)), "-")]
        else:
            bv, blabels = s.parameter_values(by), s.parameter_labels(by)
            kind = s.kinds[s.parameters.index(by)]
            curves = [(value_text(v, by, kind) if kind == "number" else blabels[list(bv).index(v)],
                       np.flatnonzero(bv == v), HOLDER_COLORS[k % len(HOLDER_COLORS)], LINESTYLES[k % len(LINESTYLES)])
                      for k, v in enumerate(dict.fromkeys(bv))]
        for label, idx, color, style in curves:
            order = idx[np.argsort(xs[idx], kind="stable")]
            ax.plot(xv[order], y[order], marker="o", linestyle=style if joined else "none", color=color, label=label,
                    markersize=4)
            if band is not None:
                ax.fill_between(xv[order], band[0][order] * scale, band[1][order] * scale, color=color, alpha=0.18,
                                linewidth=0)
        if metric_in_percent(metric):
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.8f}".rstrip("0").rstrip(".") + "%"))
        _x_axis(ax, s, x, log_x)
        ax.grid(alpha=0.3)
        if by is not None:
            ax.set_title(h, fontsize=10)
            ax.set_ylabel(metric_label(metric) if hi % 3 == 0 else "", fontsize=9)
            ax.set_xlabel(parameter_label(x, s.kinds[s.parameters.index(x)]) if hi >= len(holders) - 3 else "",
                          fontsize=9)
    if by is None:
        ax = axes[holders[0]]
        ax.set_ylabel(metric_label(metric))
        ax.set_title(f"{METRICS.get(metric, (metric,))[0]} of each holder", fontsize=11)
        ax.legend(fontsize=8)
    else:
        kind = s.kinds[s.parameters.index(by)]
        # On the first panel (matplotlib 3.6, Debian 12, cannot place a figure legend outside the panels).
        axes[holders[0]].legend(title=parameter_label(by, kind), fontsize=7, title_fontsize=7)
        fig.suptitle(f"{METRICS.get(metric, (metric,))[0]} of each holder, one line per value of {parameter_label(by, kind)}",
                     fontsize=11)
    return fig


def plot_heatmap(s: Sweep, x: str, y: str, metric: str = "loss/var99", holder: str | int = 0) -> Figure:
    """A metric of one holder over a grid of two parameters (cell [i, j]: y value i, x value j),
    ticks as plain numbers in the parameters' units, cells in percent."""
    xs, ys, m = s.grid(x, y, metric, holder)
    scale = _y_scale(metric)
    fig = Figure(figsize=(8.0, 5.6), layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(m * scale, origin="lower", aspect="auto", cmap="YlOrRd")

    def tick_labels(parameter, values):
        kind = s.kinds[s.parameters.index(parameter)]
        if kind == "number":
            return [value_text(v, parameter) for v in values]
        names = dict(zip(s.parameter_values(parameter), s.parameter_labels(parameter)))
        return [names[v] for v in values]
    ax.set_xticks(range(xs.size), tick_labels(x, xs), rotation=45 if xs.size > 6 else 0, ha="right" if xs.size > 6 else "center")
    ax.set_yticks(range(ys.size), tick_labels(y, ys))
    for i in range(ys.size):
        for j in range(xs.size):
            ax.text(j, i, pct(m[i, j]) if metric_in_percent(metric) else f"{m[i, j]:.3g}", ha="center", va="center",
                    fontsize=7)
    ax.set_xlabel(parameter_label(x, s.kinds[s.parameters.index(x)]))
    ax.set_ylabel(parameter_label(y, s.kinds[s.parameters.index(y)]))
    name = s.holder_names[holder] if isinstance(holder, int) else holder
    ax.set_title(f"{METRICS.get(metric, (metric,))[0]} of {name}", fontsize=11)
    cb = fig.colorbar(im, ax=ax)
    cb.set_label(metric_label(metric))
    if metric_in_percent(metric):
        cb.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.8f}".rstrip("0").rstrip(".") + "%"))
    return fig


# --- the page -----------------------------------------------------------------------------------

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 0;
       color: #1d2330; background: #f6f7f9; line-height: 1.45; }
header { background: #1d2330; color: #fff; padding: 18px 32px; }
header h1 { margin: 0 0 4px 0; font-size: 24px; } header .meta { color: #c9cfdb; font-size: 14px; }
main { max-width: 1280px; margin: 0 auto; padding: 8px 32px 48px 32px; }
section { background: #fff; border: 1px solid #dde1e8; border-radius: 8px; padding: 16px 24px; margin: 20px 0; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0 12px 0; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e4e7ec; } th { background: #eef1f5; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.ci { color: #6a7080; font-size: 12px; } figure img { max-width: 100%; border: 1px solid #e4e7ec; }
figcaption { font-size: 14px; color: #3b4252; max-width: 980px; } .small { font-size: 13px; color: #556; }
details summary { cursor: pointer; font-weight: 600; } .tablewrap { overflow-x: auto; }
"""


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def _table(headers, rows, numeric_from=1) -> str:
    head = "".join(f'<th class="{"num" if i >= numeric_from else ""}">{_e(h)}</th>' for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f'<td class="{"num" if i >= numeric_from else ""}">{c}</td>' for i, c in enumerate(r))
                   + "</tr>" for r in rows)
    return f'<div class="tablewrap"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _with_band(v: float, band, p: int) -> str:
    if band is None or not (math.isfinite(band[0][p]) or math.isfinite(band[1][p])):
        return _e(pct(v))
    lo = pct(band[0][p]) if math.isfinite(band[0][p]) else "−∞"
    hi = pct(band[1][p]) if math.isfinite(band[1][p]) else "+∞"
    return f'{_e(pct(v))} <span class="ci">[{_e(lo)}, {_e(hi)}]</span>'


def point_name(s: Sweep, p: int) -> str:
    """Point p as 'parameter label = value, ...' in readable units."""
    parts = []
    for k, path in enumerate(s.parameters):
        kind = s.kinds[k]
        text = value_text(float(s.values[p, k]), path) if kind == "number" else s.parameter_labels(path)[p]
        parts.append(f"{parameter_label(path, kind)} = {text}")
    return ", ".join(parts)


def points_frame(s: Sweep):
    """One row per point and holder: the parameters' values, then each summary metric (fractions)."""
    import pandas as pd
    rows = []
    metrics = [m for m in ("loss/mean", "loss/stderr", "loss/p_loss", "loss/var95", "loss/var99", "loss/es95",
                           "loss/es99", "net_return/mean", "net_return/stderr", "covered_mean") if "summary/" + m in s._f]
    data = {m: s._f["summary/" + m][()] for m in metrics}
    for p in range(s.points):
        for h, name in enumerate(s.holder_names):
            row = {"point": p}
            for k, path in enumerate(s.parameters):
                row[path] = s.values[p, k] if s.kinds[k] == "number" else s.parameter_labels(path)[p]
            row["holder"] = name
            row.update({m: float(data[m][p, h]) for m in metrics})
            rows.append(row)
    return pd.DataFrame(rows)


def write_sweep_report(path, out_dir, title: str | None = None, var_limit: float | None = None,
                       x: str | None = None) -> Path:
    """Write the report of a sweep file into out_dir; returns index.html. var_limit: a share (0.05)
    for the 'what keeps VaR 99% under X' reading along x (default: the first numeric parameter that
    varies)."""
    out = Path(out_dir)
    with Sweep(path) as s:
        if x is not None and x not in s.parameters:
            raise SweepReportError(f"--along: no parameter {x!r} (parameters: {', '.join(s.parameters)})")
        out.mkdir(parents=True, exist_ok=True)
        (out / "figures").mkdir(exist_ok=True)
        varying = [p for p in s.parameters if np.unique(s.parameter_values(p)).size > 1]
        numeric = [p for p in varying if not s.is_categorical(p)]
        xp = x or (numeric[0] if numeric else (varying[0] if varying else s.parameters[0]))
        others = [p for p in varying if p != xp]
        by = others[0] if s.mode == "grid" and len(others) == 1 else None
        # A parameter over two decades or more (a logspace) reads better on a log axis.
        xv = s.parameter_values(xp)
        log_x = not s.is_categorical(xp) and bool(np.all(xv > 0)) and xv.max() / xv.min() >= 100
        figures = []
        for metric in REPORT_METRICS:
            if "summary/" + metric not in s._f:
                continue
            fig = plot_metric(s, xp, metric, by=by, log_x=log_x)
            name = f"figures/{metric.replace('/', '_')}.png"
            fig.savefig(out / name, dpi=110)
            figures.append((name, f"{metric_label(metric)} against {parameter_label(xp, s.kinds[s.parameters.index(xp)])}"
                                  + (f", one panel per holder and one line per value of {parameter_label(by)}" if by else
                                     ", one line per holder")
                                  + ("; x on a log scale" if log_x else "")
                                  + ("; shaded: the 95% interval of each point's value"
                                     if any(metric_band(s, metric, h) is not None for h in s.holder_names) else
                                     "; no band: the file stores no standard error of this metric and no per-trial "
                                     "records to compute an interval from")))
        if by is not None and s.mode == "grid":
            for h in s.holder_names:
                try:
                    fig = plot_heatmap(s, xp, by, "loss/var99", h)
                except ValueError:
                    break
                name = f"figures/heatmap_var99_{re.sub(r'[^A-Za-z0-9_.-]', '_', h)}.png"
                fig.savefig(out / name, dpi=110)
                figures.append((name, f"VaR 99% of {h} over the grid"))
        points_frame(s).to_csv(out / "points.csv", index=False)

        sections = []
        prm_rows = []
        for k, p in enumerate(s.parameters):
            vals = list(dict.fromkeys(s.parameter_labels(p) if s.kinds[k] != "number"
                                      else [value_text(v, p) for v in s.parameter_values(p)]))
            prm_rows.append([_e(parameter_label(p, s.kinds[k])), f"<code>{_e(p)}</code>", _e(s.kinds[k]),
                             _e(", ".join(vals[:12]) + (f", … ({len(vals)} values)" if len(vals) > 12 else ""))])
        sections.append('<section id="parameters"><h2>Parameters</h2>'
                        + _table(["parameter", "path", "kind", "values"], prm_rows, numeric_from=9) + "</section>")
        if var_limit is not None:
            sections.append(_limit_section(s, var_limit, x))
        figs = "".join(f'<figure><img src="{_e(n)}" alt="{_e(c)}"><figcaption>{_e(c)}</figcaption></figure>'
                       for n, c in figures)
        sections.append(f'<section id="plots"><h2>Plots</h2>{figs}</section>')
        sections.append(_points_section(s))
        if title is None:
            title = f"restake-sim sweep: {_attr(s, 'scenario_name')}"
        meta = (f"{s.mode} sweep · {s.points} points × {s.trials:,} trials"
                f"{' of importance sampling' if s.weighted else ''} · seed {s.seed} · common random numbers · "
                f"restake-sim {_e(_attr(s, 'program_version'))}")
        page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
                f'<style>{_CSS}</style></head><body><header><h1>{_e(title)}</h1><div class="meta">{meta}</div></header>'
                f'<main>{"".join(sections)}<p class="small">Written by restake_analysis {__version__}. Losses are '
                f'shares of each holder\'s initial value over the horizon; the same seed and per-trial random streams '
                f'at every point, so differences between points are the parameters\' effect. Intervals: 95%, from the '
                f'file\'s standard errors, or from the per-trial records (docs/sweeps.md, "Report").</p>'
                f'</main></body></html>\n')
        index = out / "index.html"
        index.write_text(page, encoding="utf-8")
        return index


def _attr(s: Sweep, name: str) -> str:
    v = s._f.attrs.get(name, "")
    return v.decode() if isinstance(v, bytes) else str(v)


def _limit_section(s: Sweep, limit: float, x: str | None) -> str:
    try:
        xp, readings = var_limit_crossings(s, limit, x=x)
    except ValueError as e:
        return (f'<section id="limit"><h2>What keeps VaR 99% under {_e(pct(limit))}</h2>'
                f'<p class="note">{_e(e)}</p></section>')
    kind = s.kinds[s.parameters.index(xp)]
    rows = [[_e(r.holder)] + ([_e(r.condition)] if any(q.condition for q in readings) else [])
            + [_e(reading_text(r, xp, limit))] for r in readings]
    head = ["holder"] + (["at"] if any(q.condition for q in readings) else []) + ["reading"]
    return (f'<section id="limit"><h2>What keeps VaR 99% under {_e(pct(limit))}</h2>'
            f'<p>Along {_e(parameter_label(xp, kind))}, VaR 99% interpolated linearly between adjacent points; the '
            f'interval is where the 95% band\'s lower and upper curves cross the limit (the smallest pool or the largest '
            f'allocation that keeps the tail under it).</p>' + _table(head, rows, numeric_from=9) + "</section>")


def _points_section(s: Sweep) -> str:
    metrics = [m for m in ("loss/p_loss", "loss/mean", "loss/var99", "loss/es99", "net_return/mean")
               if "summary/" + m in s._f]
    bands = {(m, h): metric_band(s, m, h) for m in metrics for h in s.holder_names}
    values = {m: s._f["summary/" + m][()] for m in metrics}
    parts = []
    for p in range(s.points):
        rows = [[_e(h)] + [_with_band(float(values[m][p, hi]), bands[(m, h)], p) for m in metrics]
                for hi, h in enumerate(s.holder_names)]
        parts.append(f'<details{" open" if s.points <= 4 else ""}><summary>Point {p + 1} of {s.points}: '
                     f'{_e(point_name(s, p))}</summary>'
                     + _table(["holder"] + [METRICS[m][0] for m in metrics], rows) + "</details>")
    return (f'<section id="points"><h2>Each point</h2><p class="small">Losses in % of initial value, '
            f'with their 95% interval where there is one; all numbers in points.csv (fractions).</p>'
            + "".join(parts) + "</section>")
