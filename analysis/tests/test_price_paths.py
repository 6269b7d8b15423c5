"""The worst trials' price paths (/price_paths): Results.price_paths() and price_paths_figure."""
import shutil

import h5py
import numpy as np
import pytest

from conftest import REPO, simulate
from restake_analysis import Results
from restake_analysis.market_plots import price_paths_figure
from restake_analysis.results import ResultsError

MARKETS = REPO / "scenarios" / "lrt-markets.toml"
NO_TOKENS = REPO / "scenarios" / "steth.toml"
COLUMNS = ["token", "trial", "rank", "min_price", "episode", "day", "price", "nav"]


@pytest.fixture(scope="module")
def markets(tmp_path_factory):
    return simulate(tmp_path_factory.mktemp("paths") / "m.h5", MARKETS, "--trials", "1500", "--seed", "3",
                    "--price-paths", "4")


def test_the_paths_are_a_tidy_frame_of_each_tokens_worst_trials(markets):
    with Results(markets) as r:
        df = r.price_paths()
        lows = r.trials("token_min_price")
        assert r.has_price_paths
        assert list(df.columns) == COLUMNS
        assert set(df["token"].astype(str)) <= set(r.token_names)
        for k, token in enumerate(r.token_names):
            mine = df[df["token"].astype(str) == token]
            # The 4 lowest token_min_price of the records, ties by the lower trial: the ranks' trials.
            order = np.lexsort((np.arange(len(lows)), lows[:, k]))[:4]
            ranked = mine.groupby("rank")["trial"].first()
            assert all(ranked[rank] == order[rank] for rank in ranked.index)
            for (rank, trial), rows in mine.groupby(["rank", "trial"]):
                assert rows["min_price"].iloc[0] == lows[trial, k]
                assert rows["price"].min() == lows[trial, k]  # the path reaches the trial's low
                for _, ep in rows.groupby("episode"):
                    assert np.all(np.diff(ep["day"].to_numpy()) > 0)
            assert np.all(mine["nav"] > 0) and np.all(mine["nav"] <= 1)
        assert df["price"].min() < 0.99  # the worst trials do depeg


def test_without_tokens_or_with_no_paths_asked_the_frame_is_empty(tmp_path):
    for path, scenario, extra in ((tmp_path / "s.h5", NO_TOKENS, ()), (tmp_path / "z.h5", MARKETS, ("--price-paths", "0"))):
        simulate(path, scenario, "--trials", "200", *extra)
        with Results(path) as r:
            assert not r.has_price_paths
            df = r.price_paths()
            assert list(df.columns) == COLUMNS and len(df) == 0
            assert price_paths_figure(r) is None


def test_damaged_paths_are_refused_naming_the_dataset(markets, tmp_path):
    bad = tmp_path / "bad.h5"
    shutil.copy(markets, bad)
    with h5py.File(bad, "r+") as f:
        rank = f["price_paths/rank"][()]
        rank[0] = 4
        del f["price_paths/rank"]
        f["price_paths/rank"] = rank
    with Results(bad) as r, pytest.raises(ResultsError, match=r"/price_paths/rank\[0\] is 4, expected in \[0, 4\)"):
        r.price_paths()
    short = tmp_path / "short.h5"
    shutil.copy(markets, short)
    with h5py.File(short, "r+") as f:
        nav = f["price_paths/nav"][:-1]
        del f["price_paths/nav"]
        f["price_paths/nav"] = nav
    with Results(short) as r, pytest.raises(ResultsError, match=r"/price_paths/nav has shape"):
        r.price_paths()


def test_the_figure_has_a_panel_per_token_with_a_line_per_trial(markets):
    with Results(markets) as r:
        fig = price_paths_figure(r, max_trials=3)
        tokens = list(dict.fromkeys(r.price_paths()["token"].astype(str)))
    assert fig is not None
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == len(tokens)
    for ax, token in zip(panels, tokens):
        assert ax.get_title().startswith(token)
        assert 1 <= len(ax.get_legend().get_texts()) <= 3
    with Results(markets) as r:
        rel = price_paths_figure(r.price_paths(), max_trials=2, relative=True)
    ax = next(a for a in rel.axes if a.get_visible())
    assert ax.get_ylabel() == "price / NAV"
    assert all(np.all(line.get_ydata() <= 1.0 + 1e-9) for line in ax.get_lines())  # holders sell down to NAV each step
