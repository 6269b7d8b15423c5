"""Figures of the market layer (issue 11). Each function returns a matplotlib Figure (not attached
to pyplot), as in plots.py; the report's markets section can call them.

price_paths_figure: the price paths of each token's worst trials (/price_paths,
Results.price_paths()), in ETH per token against days since the episode's first loss, with the NAV
the market traded against.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg", force=False)  # headless; harmless if a backend was already chosen
from matplotlib.figure import Figure  # noqa: E402
import numpy as np  # noqa: E402

from .results import Results  # noqa: E402

TRIAL_COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
                "#17becf", "#bcbd22", "#7f7f7f")


def price_paths_figure(source, tokens: list[str] | None = None, max_trials: int = 5,
                       show_nav: bool = True, relative: bool = False) -> Figure | None:
    """One panel per token: the price paths of its `max_trials` worst trials (worst first, by the
    trial's lowest price), each episode from its first step (day 0: the loss that started it), the
    NAV dashed in the same colour. `source` is a Results or the frame Results.price_paths() returns;
    `tokens` picks and orders the panels (default: every token with a path). `relative`: the price
    over NAV instead (the depeg itself, apart from the write-down; no NAV line). None when there is no
    path to show (a run without tokens, --price-paths 0, or no episode in the worst trials)."""
    df = source.price_paths() if isinstance(source, Results) else source
    if df is None or len(df) == 0:
        return None
    names = [str(t) for t in (tokens if tokens is not None else list(dict.fromkeys(df["token"].astype(str))))]
    names = [t for t in names if (df["token"].astype(str) == t).any()]
    if not names:
        return None
    show_nav = show_nav and not relative
    cols = min(2, len(names))
    rows = -(-len(names) // cols)
    fig = Figure(figsize=(6.4 * cols, 3.6 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[len(names):]:
        ax.set_visible(False)
    for ax, token in zip(axes, names):
        mine = df[(df["token"].astype(str) == token) & (df["rank"] < max_trials)]
        for rank, trial_rows in mine.groupby("rank", sort=True):
            color = TRIAL_COLORS[int(rank) % len(TRIAL_COLORS)]
            first = trial_rows.iloc[0]
            label = f"trial {int(first['trial'])}: low {first['min_price']:.3f}"
            for _, ep in trial_rows.groupby("episode", sort=True):
                day = ep["day"].to_numpy()
                t = day - day[0]
                y = ep["price"].to_numpy() / ep["nav"].to_numpy() if relative else ep["price"].to_numpy()
                ax.step(t, y, where="post", color=color, lw=1.2, label=label)
                label = None  # one legend entry per trial
                if show_nav:
                    ax.step(t, ep["nav"].to_numpy(), where="post", color=color, lw=0.8, ls="--", alpha=0.7)
        ax.set_title(f"{token}: {mine['rank'].nunique()} worst trials by lowest price")
        ax.set_xlabel("days since the episode's first loss")
        ax.set_ylabel("price / NAV" if relative else "ETH per token")
        low = mine["price"] / mine["nav"] if relative else mine["price"]
        ax.set_ylim(bottom=max(0.0, float(np.nanmin(low)) - 0.05) if len(mine) else 0.0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small", title="solid: price, dashed: NAV" if show_nav else None, title_fontsize="small")
    return fig
