"""The report reads the per-trial records in blocks of trials (scan.py, issue 15): every number it
takes from them equals the one computed from the whole arrays at once, whatever the block size."""
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO
from restake_analysis import Results
from restake_analysis import contagion as cg
from restake_analysis import plots
from restake_analysis import report
from restake_analysis import scan
from restake_analysis import statistics as st

# 20,000 trials in blocks of 777: 26 blocks, the last one short.
BLOCK = 777


def same(a, b):
    """Equal to the last bit, NaN equal to NaN."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    if a.dtype.kind == "f":
        assert np.array_equal(a, b, equal_nan=True)
    else:
        assert np.array_equal(a, b)


@pytest.mark.parametrize("key,processes", [("default", 1), ("default", 2), ("weighted", 1), ("weighted", 2),
                                           ("mixed", 1), ("two", 2)])
def test_the_scan_in_blocks_equals_the_whole_array_functions(files, key, processes):
    with Results(files[key]) as r:
        whole = {"tail": plots.tail_loss_by_cause(r), "amp": cg.cascade_amplification(r),
                 "any": cg.holder_conditional_loss(r), "material": cg.holder_conditional_loss(r, 0.01),
                 "avs": cg.avs_conditional_slashing(r), "intervals": report._intervals(r),
                 "mismatch": r.summary_mismatch(), "loss": r.loss_fraction.copy(), "ret": r.net_return.copy()}
        r.drop_cache()
        s = scan.scan_records(r, BLOCK, processes=processes)   # 2: the second half read by a forked process
        assert r._cache.keys() <= {"weight"}        # nothing read whole but the weights
        for h in range(len(r.holders)):
            same(s.columns.loss(h), whole["loss"][:, h])
            same(s.columns.net_return(h), whole["ret"][:, h])
        same(s.tail_causes, whole["tail"])
        for field in ("labels", "causes", "ratio_of_sums", "mean", "p_compound", "tail", "by_cause",
                      "trials_by_cause", "n_loss", "note"):
            same(getattr(s.amplification, field), getattr(whole["amp"], field))
        for key_, got in (("any", cg.holder_conditional_loss(r, hit=s.gross_hit)),
                          ("material", cg.holder_conditional_loss(r, 0.01, hit=s.gross_hit_material)),
                          ("avs", cg.avs_conditional_slashing(r, hit=s.avs_hit))):
            for field in ("labels", "matrix", "p_hit", "n_hit", "what"):
                same(getattr(got, field), getattr(whole[key_], field))
        intervals = report._intervals(r, s.columns)
        for h, by_stat in whole["intervals"].items():
            for stat, iv in by_stat.items():
                same([iv.estimate, iv.low, iv.high], [intervals[h][stat].estimate, intervals[h][stat].low,
                                                      intervals[h][stat].high])
        assert r.summary_mismatch(s.columns) == whole["mismatch"]


def test_a_report_read_in_blocks_is_the_report_read_at_once(files, tmp_path):
    for key in ("default", "weighted"):
        blocks = report.write_report([files[key]], tmp_path / key / "blocks", block=BLOCK)
        at_once = report.write_report([files[key]], tmp_path / key / "whole", block=10 ** 9)
        assert blocks.read_text() == at_once.read_text()
        for csv in ("summary.csv", "loss_by_cause.csv"):
            assert (blocks.parent / "figures" / csv).read_text() == (at_once.parent / "figures" / csv).read_text()


class _Ledger:
    """The little of Results tail_loss_by_cause reads."""
    def __init__(self, lbc, w):
        self.loss_by_cause, self.weight = lbc, w


@pytest.mark.parametrize("weighted", [False, True])
def test_worst_trials_kept_block_by_block_are_the_worst_of_the_whole_run_ties_in_trial_order(weighted):
    rng = np.random.default_rng(7)
    n, h, c = 5000, 3, 4
    # Losses on a coarse grid, so that many trials tie at the cut; a third of the trials lose nothing.
    lbc = np.round(rng.random((n, h, c)) * 3) / 3 * (rng.random((n, h, 1)) < 0.66)
    w = rng.exponential(1.0, n) if weighted else None
    expected = plots.tail_loss_by_cause(_Ledger(lbc, w))
    for block in (1, 64, 999, n):
        worst = [scan.WorstTrials(n, c, weighted) for _ in range(h)]
        for a in range(0, n, block):
            gross = lbc[a:a + block].sum(axis=2)
            for k in range(h):
                worst[k].add(gross[:, k], lbc[a:a + block, k, :], a, None if w is None else w[a:a + block])
        same(np.array([t.cause_mix() for t in worst]), expected)


def test_worst_first_is_the_stable_descending_order_cut_at_k():
    rng = np.random.default_rng(1)
    for n in (1, 7, 100, 3000):
        for t in (np.round(rng.random(n) * 4), rng.random(n)):
            for k in sorted({1, 2, n // 3 + 1, n}):
                same(cg.worst_first(t, k), np.argsort(-t, kind="stable")[:k])


def test_step_points_keep_the_low_tail_one_by_one_and_the_rest_below_a_pixel():
    rng = np.random.default_rng(2)
    n = 200_000
    s = np.sort(np.round(rng.normal(size=n), 3))          # ties: many trials per value
    p = np.arange(1, n + 1) / n
    idx = plots.step_points(s, p)
    assert idx.size <= 2 * plots.STEP_POINTS + 1 and idx[-1] == n - 1
    assert np.all(np.diff(idx) > 0)
    # Each kept point is the last of its ties, where the step curve reaches its top.
    assert np.all((idx == n - 1) | (s[np.minimum(idx + 1, n - 1)] > s[idx]))
    # The steps left out between two kept points (up to where the next one's ties start) rise by
    # less than 0.4% of the curve's value: a fraction of a pixel on a log axis.
    before_next = np.searchsorted(s, s[idx[1:]], side="left") - 1
    hidden_top = p[np.maximum(before_next, idx[:-1])]
    assert np.max(hidden_top / p[idx[:-1]]) < 1.004
    # The lowest ranks, the far tail, are every one of them drawn.
    lowest = np.unique(np.searchsorted(s, s[:20], side="right") - 1)
    assert np.array_equal(idx[:lowest.size], lowest)
    # Small samples are drawn whole.
    assert np.array_equal(plots.step_points(s[:1000], p[:1000]), np.arange(1000))


def _cli_report(files, out, *extra):
    return subprocess.run([sys.executable, "-m", "restake_analysis", "report", str(files["n1234"]), "-o", str(out),
                           *extra], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO / "analysis")})


def test_progress_lines_go_to_stderr_on_request_and_stdout_is_unchanged(files, tmp_path):
    quiet = _cli_report(files, tmp_path / "quiet")            # stderr is a pipe, not a terminal: no lines
    shown = _cli_report(files, tmp_path / "shown", "--progress")
    off = _cli_report(files, tmp_path / "off", "--quiet")
    for proc in (quiet, shown, off):
        assert proc.returncode == 0, proc.stderr
    assert quiet.stderr == "" and off.stderr == ""
    assert shown.stdout == quiet.stdout.replace("quiet", "shown")
    lines = shown.stderr.splitlines()
    assert lines and all(line.startswith("[") and " s] " in line for line in lines)
    assert any("reading the per-trial records of 1,234 trials" in line for line in lines)
    assert any("figure loss_exceedance" in line for line in lines) and lines[-1].endswith("done")


def test_sorting_the_nonzero_values_only_gives_numpys_sort_and_the_stable_weighted_order():
    rng = np.random.default_rng(3)
    for n in (0, 1, 10, 1000, 100_000):
        for share in (0.0, 0.1, 0.6, 1.0):       # share of nonzero values; ties among them too
            x = np.where(rng.random(n) < share, np.round(rng.normal(size=n), 2), 0.0)
            x[rng.random(n) < 0.01] = -0.0
            w = rng.exponential(size=n)
            for nan in (False, True):
                if nan:
                    x[::7] = np.nan
                same(scan.sort_sparse(x)[0], np.sort(x))
                for got, expected in zip(scan.sort_sparse(x, w), st.sort_weighted(x, w)):
                    same(got, expected)


def test_the_ledgers_from_the_rows_with_a_loss_are_those_from_every_row(files):
    """block_ledger_trials skips the rows of holders that lost nothing; a negative loss (never
    written, but not assumed away) sends a block the way of every row."""
    with Results(files["mixed"]) as r:
        groups, _ = cg.holder_aggregates(r)
        lbc = r.loss_by_cause[:3000].copy()
        for block in (lbc, np.where(np.arange(3000)[:, None, None] == 7, -lbc, lbc)):
            dense = cg.ledger_trials(cg.amplification_ledgers(r, block, groups), 100)
            sparse = cg.block_ledger_trials(r, block, groups, block.sum(axis=2), 100)
            assert len(dense) == len(sparse) == len(r.holders) + len(groups)
            for d, s in zip(dense, sparse):
                for a, b in zip(d, s):
                    same(a, b)
