"""Differences between two runs, holder by holder: which holders to pair, whether the runs share
their random draws (then the differences are paired, trial by trial), and the differences with
95% intervals.

Shared draws: two runs drew the same random numbers in the same trials when they have the same
seed, the same number of trials, the same world structure (the same holder, AVS and pool names in
the same order, and the same operator names in the stored scenario texts) and the same weights
(both plain Monte Carlo, or both importance-sampled with equal per-trial weights). Then trial t of
one run and trial t of the other are the same simulated year under the two parameterisations, and
the difference of a statistic is estimated from the per-trial pairs (common random numbers). In
every other case the runs are independent samples and the intervals are unpaired."""
from __future__ import annotations

import difflib
import math
import tomllib
from dataclasses import dataclass

import numpy as np

from . import statistics as st
from .results import Results, ResultsError

BATCHES = 20                     # batch means for VaR and ES differences (deterministic: no seed)
THRESHOLDS = (0.01, 0.05, 0.10)  # P(loss > x)


class PairError(ResultsError):
    """A --pair names a holder the file does not have."""


def parse_pairs(specs) -> list[tuple[str, str]]:
    """["A=B", "C=D,E=F"] -> [("A", "B"), ("C", "D"), ("E", "F")]."""
    pairs = []
    for spec in specs or []:
        for item in str(spec).split(","):
            item = item.strip()
            if not item:
                continue
            a, sep, b = item.partition("=")
            if not sep or not a.strip() or not b.strip():
                raise PairError(f"--pair {item!r}: expected HOLDER_IN_FIRST_FILE=HOLDER_IN_SECOND_FILE")
            pairs.append((a.strip(), b.strip()))
    return pairs


def resolve_pairs(first: Results, other: Results, pairs) -> list[tuple[str, str]]:
    """The holder pairs compared between `first` and `other`: every --pair (checked: an unknown name
    raises PairError naming the file and its holders), then the holders of the same name."""
    for a, b in pairs:
        for name, r in ((a, first), (b, other)):
            if name not in r.holder_names:
                raise PairError(f"--pair {a}={b}: no holder {name!r} in {r.path}; its holders: "
                                f"{', '.join(r.holder_names)}")
    out = list(dict.fromkeys(pairs))
    out += [(h, h) for h in first.holder_names if h in other.holder_names and (h, h) not in out]
    return out


def panels(runs: list[Results], pairs) -> list[tuple[str, list[str]]]:
    """The holders shown side by side across runs (the comparison's exceedance figure and key
    statistics): each --pair first (holder A in the first run, holder B in every later one; the
    names checked as resolve_pairs does), then each holder present by name in every run. Each panel
    is (title, [holder name in each run])."""
    out = []
    for r in runs[1:]:
        resolve_pairs(runs[0], r, pairs)   # an unknown name: PairError naming the file
    for a, b in dict.fromkeys(pairs):
        out.append((a if a == b else f"{a} → {b}", [a] + [b] * (len(runs) - 1)))
    for h in runs[0].holder_names:
        if all(h in r.holder_names for r in runs[1:]) and (h, h) not in pairs:
            out.append((h, [h] * len(runs)))
    return out


def _operator_names(r: Results) -> list[str] | None:
    try:
        doc = tomllib.loads(r.scenario_text)
    except (tomllib.TOMLDecodeError, TypeError):
        return None
    return [str(o.get("name")) for o in doc.get("operator", []) if isinstance(o, dict)]


def shared_draws(a: Results, b: Results) -> tuple[bool, str]:
    """(True, "") when the runs share their draws (module docstring), else (False, why not)."""
    why = []
    if a.seed != b.seed:
        why.append(f"seeds differ ({a.seed} and {b.seed})")
    if a.n_trials != b.n_trials:
        why.append(f"trial counts differ ({a.n_trials:,} and {b.n_trials:,})")
    for what, x, y in (("holders", a.holder_names, b.holder_names), ("AVSs", a.avs_names, b.avs_names),
                       ("pools", a.pool_names, b.pool_names), ("operators", _operator_names(a), _operator_names(b))):
        if x != y:
            why.append(f"the {what} differ")
    if not (a.has_records and b.has_records):
        why.append("a run has no per-trial records (--no-records)")
    elif a.weighted != b.weighted:
        why.append("one run is importance-sampled and the other is not")
    elif a.weighted and not why and not np.array_equal(a.weight, b.weight):
        why.append("the importance-sampling weights differ")
    return (not why), "; ".join(why)


@dataclass
class Difference:
    statistic: str
    first: float
    second: float
    interval: st.Interval | None   # of second - first; None: no interval (no records)


def _stat_functions():
    var = lambda s, w: st.weighted_quantile_sorted(s, w, 0.99)          # noqa: E731
    es = lambda s, w: st.weighted_expected_shortfall_sorted(s, w, 0.99)  # noqa: E731
    return var, es


def _batches(x, w, statistic) -> np.ndarray:
    return np.array([statistic(*st.sort_weighted(bx, bw))
                     for bx, bw in zip(np.array_split(x, BATCHES), np.array_split(w, BATCHES))])


def _interval(estimate: float, se: float, z: float) -> st.Interval:
    if not math.isfinite(se):
        return st.Interval(estimate, -math.inf, math.inf)
    return st.Interval(estimate, estimate - z * se, estimate + z * se)


def differences(a: Results, ia: int, b: Results, ib: int, paired: bool) -> list[Difference]:
    """Second minus first for holder ia of `a` and holder ib of `b`: mean loss, VaR 99%, ES 99% and
    P(loss > x), each with a 95% interval, paired (per-trial differences) or unpaired."""
    if not (a.has_records and b.has_records):
        # From the stored summaries: the mean's interval from the stored standard errors only.
        sa, sb = a.summary.loss, b.summary.loss
        se = math.hypot(sa["stderr"][ia], sb["stderr"][ib])
        d = float(sb["mean"][ib] - sa["mean"][ia])
        return [Difference("mean loss", float(sa["mean"][ia]), float(sb["mean"][ib]), _interval(d, se, st.Z95)),
                Difference("VaR 99%", float(sa["var99"][ia]), float(sb["var99"][ib]), None),
                Difference("ES 99%", float(sa["es99"][ia]), float(sb["es99"][ib]), None)]
    x = np.asarray(a.loss_fraction[:, ia], dtype=np.float64)
    y = np.asarray(b.loss_fraction[:, ib], dtype=np.float64)
    wx = a.weight if a.weight is not None else np.ones_like(x)
    wy = b.weight if b.weight is not None else np.ones_like(y)
    var, es = _stat_functions()
    t = st._t_quantile(0.975, BATCHES - 1)
    out = []

    def mean_parts(v, w):  # per-trial contributions whose average is the (weighted) mean
        return w * v / w.mean()

    def se_of(c):
        return float(c.std(ddof=1) / math.sqrt(c.size)) if c.size > 1 else math.nan

    # mean loss, and P(loss > x): averages of per-trial values
    cols = [("mean loss", lambda v: v)] + [(f"P(loss &gt; {100 * x:g}%)", lambda v, x=x: (v > x).astype(np.float64))
                                          for x in THRESHOLDS]
    for name, f in cols:
        cx, cy = mean_parts(f(x), wx), mean_parts(f(y), wy)
        mx, my = float(cx.mean()), float(cy.mean())
        se = se_of(cy - cx) if paired else math.hypot(se_of(cx), se_of(cy))
        out.append(Difference(name, mx, my, _interval(my - mx, se, st.Z95)))
    # VaR and ES: batch means over BATCHES consecutive batches of trials
    for name, f in (("VaR 99%", var), ("ES 99%", es)):
        fx, fy = f(*st.sort_weighted(x, wx)), f(*st.sort_weighted(y, wy))
        if min(x.size, y.size) < 2 * BATCHES:
            se = math.nan
        else:
            bx, by = _batches(x, wx, f), _batches(y, wy, f)
            se = (float((by - bx).std(ddof=1)) / math.sqrt(BATCHES) if paired else
                  math.hypot(float(bx.std(ddof=1)), float(by.std(ddof=1))) / math.sqrt(BATCHES))
        out.append(Difference(name, fx, fy, _interval(fy - fx, se, t)))
    order = ["mean loss", "VaR 99%", "ES 99%"] + [c[0] for c in cols[1:]]
    return sorted(out, key=lambda d: order.index(d.statistic))


def scenario_diff(a: Results, b: Results, first_label: str, second_label: str, max_lines: int = 80) -> str | None:
    """A unified diff of the two stored scenario texts (None when identical), at most max_lines lines."""
    if a.scenario_text == b.scenario_text:
        return None
    lines = list(difflib.unified_diff(a.scenario_text.splitlines(), b.scenario_text.splitlines(),
                                      first_label, second_label, n=2, lineterm=""))
    if len(lines) > max_lines:
        lines = lines[:max_lines] + [f"... ({len(lines) - max_lines} more lines)"]
    return "\n".join(lines)
