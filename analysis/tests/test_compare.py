"""Comparisons: --pair across names, paired differences for runs that share draws, the warning when
they do not, the scenario diff, and unknown pair names."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, TWO_BASELINES, simulate
from restake_analysis import Results
from restake_analysis import compare as cmp
from restake_analysis.report import write_report

CHANGED = TWO_BASELINES.replace("annual_fault_probability = 0.2\n", "annual_fault_probability = 0.3\n", 1)
assert CHANGED != TWO_BASELINES


def report_cli(*args):
    return subprocess.run([sys.executable, "-m", "restake_analysis", "report", *map(str, args)],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO / "analysis")})


def differences_block(page: str) -> str:
    return page[page.index('id="compare"'):page.index('id="compare-details"')]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The two-baselines world and the same world with op-a's fault probability raised, both with
    seed 3 and 4000 trials (shared draws); the changed world again with seed 4 (not shared); and the
    ether.fi scenario (other holder names)."""
    d = tmp_path_factory.mktemp("compare")
    (d / "base.toml").write_text(TWO_BASELINES)
    (d / "changed.toml").write_text(CHANGED)
    return {
        "base": simulate(d / "base.h5", d / "base.toml", "--trials", 4000, "--seed", 3),
        "changed": simulate(d / "changed.h5", d / "changed.toml", "--trials", 4000, "--seed", 3),
        "other_seed": simulate(d / "other-seed.h5", d / "changed.toml", "--trials", 4000, "--seed", 4),
        "etherfi": simulate(d / "etherfi.h5", REPO / "scenarios" / "etherfi.toml", "--trials", 3000, "--seed", 3),
    }


def test_parse_pairs_accepts_repeats_and_commas():
    assert cmp.parse_pairs(["a=b", "c=d, e = f"]) == [("a", "b"), ("c", "d"), ("e", "f")]
    with pytest.raises(cmp.PairError):
        cmp.parse_pairs(["a-b"])


def test_pair_matches_holders_of_different_names(runs, tmp_path):
    out = tmp_path / "rep"
    proc = report_cli(runs["base"], runs["etherfi"], "--pair", "lrt-x=weETH", "-o", out)
    assert proc.returncode == 0, proc.stderr
    block = differences_block((out / "index.html").read_text())
    assert "no holder in common" not in block
    rows = re.findall(r"<tr><td[^>]*>lrt-x → weETH</td><td[^>]*>([^<]+)</td>", block)
    assert rows == ["mean loss", "VaR 99%", "ES 99%", "P(loss &gt; 1%)", "P(loss &gt; 5%)", "P(loss &gt; 10%)"]
    # The numbers are the two holders' own: lrt-x's mean loss in the first file, weETH's in the second.
    with Results(runs["base"]) as a, Results(runs["etherfi"]) as b:
        d = cmp.differences(a, a.holder_index("lrt-x"), b, b.holder_index("weETH"), paired=False)[0]
        assert d.first == pytest.approx(a.summary.loss["mean"][a.holder_index("lrt-x")], rel=1e-9)
        assert d.second == pytest.approx(b.summary.loss["mean"][b.holder_index("weETH")], rel=1e-9)
    # Same-name pairs come on their own besides --pair: two-baselines against itself pairs every holder.
    with Results(runs["base"]) as a, Results(runs["changed"]) as b:
        got = cmp.resolve_pairs(a, b, [("lrt-x", "lst-one")])
        assert got[0] == ("lrt-x", "lst-one")
        assert sorted(got[1:]) == [("lrt-x", "lrt-x"), ("lst-one", "lst-one"), ("lst-two", "lst-two")]


def test_runs_sharing_draws_get_paired_intervals_narrower_than_unpaired(runs, tmp_path):
    with Results(runs["base"]) as a, Results(runs["changed"]) as b:
        shared, why = cmp.shared_draws(a, b)
        assert shared, why
        i = a.holder_index("lrt-x")
        paired = {d.statistic: d for d in cmp.differences(a, i, b, i, paired=True)}
        unpaired = {d.statistic: d for d in cmp.differences(a, i, b, i, paired=False)}
    assert paired["mean loss"].second > paired["mean loss"].first   # more faults, more loss
    for name in ("mean loss", "VaR 99%", "ES 99%", "P(loss &gt; 1%)"):
        p, u = paired[name].interval, unpaired[name].interval
        assert p.estimate == pytest.approx(u.estimate)
        assert p.high - p.low < 0.5 * (u.high - u.low), name
    page = write_report([runs["base"], runs["changed"]], tmp_path).read_text()
    block = differences_block(page)
    assert "share their draws" in block and "PAIRED" in block and "do not share draws" not in block


def test_different_seeds_warn_and_fall_back_to_unpaired(runs, tmp_path):
    page = write_report([runs["base"], runs["other_seed"]], tmp_path).read_text()
    block = differences_block(page)
    assert "Warning: the runs do not share draws" in block and "seeds differ (3 and 4)" in block
    assert "UNPAIRED" in block and "share their draws (" not in block
    with Results(runs["base"]) as a, Results(runs["other_seed"]) as b:
        assert cmp.shared_draws(a, b) == (False, "seeds differ (3 and 4)")


def test_scenario_diff_shows_the_changed_line(runs, tmp_path):
    page = write_report([runs["base"], runs["changed"]], tmp_path / "a").read_text()
    diff = re.search(r'<pre class="scenario-diff">(.*?)</pre>', differences_block(page), re.S).group(1)
    assert "\n-annual_fault_probability = 0.2\n" in diff and "\n+annual_fault_probability = 0.3\n" in diff
    assert sum(1 for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("---", "+++")) == 2
    same = write_report([runs["changed"], runs["other_seed"]], tmp_path / "b").read_text()
    assert "scenario-diff" not in same and re.search(r"Scenario differences</h3><p[^>]*>[^<]*: identical</p>", same)


def test_unknown_pair_name_is_an_error_naming_the_file_and_its_holders(runs, tmp_path):
    out = tmp_path / "rep"
    proc = report_cli(runs["base"], runs["etherfi"], "--pair", "lrt-x=ezETH", "-o", out)
    assert proc.returncode != 0
    assert "'ezETH'" in proc.stderr and str(runs["etherfi"]) in proc.stderr and "weETH" in proc.stderr
    assert not out.exists() or not any(out.iterdir())
    proc = report_cli(runs["base"], runs["etherfi"], "--pair", "nobody=weETH", "-o", out)
    assert proc.returncode != 0
    assert "'nobody'" in proc.stderr and str(runs["base"]) in proc.stderr
    assert all(h in proc.stderr for h in ("lst-one", "lrt-x", "lst-two"))
    assert not out.exists() or not any(out.iterdir())


def test_comparison_page_leads_with_differences_then_scenario_diff_then_details(runs, tmp_path):
    page = write_report([runs["base"], runs["changed"]], tmp_path).read_text()
    marks = ['id="compare"', "<h3>Differences</h3>", ">difference</th>", "Scenario differences",
             'id="compare-details"', "Key statistics by run", 'id="run1"', 'id="run2"']
    at = [page.index(m) for m in marks]
    assert at == sorted(at), dict(zip(marks, at))


def test_exceedance_figure_and_key_statistics_follow_the_pairs(runs, tmp_path):
    """--pair lrt-x=weETH: a panel whose first-run line is lrt-x's exceedance in the first file and
    whose second-run line is weETH's in the second - two holders no name matches - and the key
    statistics table shows the same two holders."""
    from restake_analysis import plots
    with Results(runs["base"]) as a, Results(runs["etherfi"]) as b:
        assert cmp.panels([a, b], []) == []   # no holder in common
        panels = cmp.panels([a, b], [("lrt-x", "weETH")])
        assert panels == [("lrt-x → weETH", ["lrt-x", "weETH"])]
        fig = plots.plot_exceedance_comparison([a, b], ["base", "etherfi"], panels)
        (ax,) = [x for x in fig.axes if x.get_visible()]
        assert ax.get_title() == "lrt-x → weETH"
        lines = ax.get_lines()
        assert [line.get_label() for line in lines] == ["base: lrt-x", "etherfi: weETH"]
        for line, r, name in zip(lines, (a, b), ("lrt-x", "weETH")):
            v, p, _, _ = plots.exceedance_curve(r.loss_fraction[:, r.holder_index(name)], w=r.weight)
            np.testing.assert_array_equal(line.get_xdata(), v)
            np.testing.assert_array_equal(line.get_ydata(), p)
        # Same-name holders come after the pairs; a pair of the same name is not shown twice.
        with Results(runs["changed"]) as c:
            got = cmp.panels([a, c], [("lrt-x", "lst-one"), ("lst-two", "lst-two")])
            assert got[:2] == [("lrt-x → lst-one", ["lrt-x", "lst-one"]), ("lst-two", ["lst-two", "lst-two"])]
            assert sorted(t for t, _ in got[2:]) == ["lrt-x", "lst-one"]
        with pytest.raises(cmp.PairError, match="ezETH"):
            cmp.panels([a, b], [("lrt-x", "ezETH")])
        mean_a = a.summary.loss["mean"][a.holder_index("lrt-x")]
        mean_b = b.summary.loss["mean"][b.holder_index("weETH")]
    page = write_report([runs["base"], runs["etherfi"]], tmp_path, pairs=["lrt-x=weETH"]).read_text()
    details = page[page.index('id="compare-details"'):page.index('id="run1"')]
    assert "comparison_exceedance.png" in details and (tmp_path / "comparison_exceedance.png").exists()
    row = re.search(r"<tr><td[^>]*>lrt-x → weETH</td><td[^>]*>mean loss</td>(.*?)</tr>", details).group(1)
    from restake_analysis.report import _num
    assert re.findall(r"<td[^>]*>([^<]+)</td>", row) == [_num(mean_a), _num(mean_b)]
