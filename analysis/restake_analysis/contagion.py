"""Contagion metrics: how far one fault spreads (conditional loss matrices), how much it compounds
(cascade amplification), how much the same stake is lent out (restaking ratio), and which AVS's
slashing lands on whom (AVS x holder attribution). Definitions: docs/statistics.md.

Amounts are in each entity's own asset (ETH or BTC): nothing here adds amounts of different assets.
Aggregates over holders are taken per asset, and across assets only in USD, where the scenario
gives every price needed ([prices_usd])."""
from __future__ import annotations

from dataclasses import dataclass, field

import math

import numpy as np

from .results import Results
from .scenario import World, holder_avs_exposure, operator_avs_secured, operator_tvl, parse_world


# --- conditional loss matrices --------------------------------------------------------------------


@dataclass
class ConditionalMatrix:
    labels: list[str]
    matrix: np.ndarray      # [K, K]: matrix[i, j] = P(j hit | i hit); NaN when i is never hit
    p_hit: np.ndarray       # [K] unconditional P(hit)
    n_hit: np.ndarray       # [K] trials in which each was hit
    threshold: float
    what: str               # what "hit" means, for captions


CONDITIONAL_BLOCK = 1 << 16  # trials per block of conditional_matrix's sums


def conditional_matrix(hit: np.ndarray, labels, threshold: float, what: str, w=None) -> ConditionalMatrix:
    """From a boolean [N, K] array of 'k was hit in trial t': P(j hit | i hit) = #(i and j) / #i.
    With the trials' weights `w` (a weighted run): sum w over (i and j) / sum w over i, and
    P(hit) = sum w over i / N; n_hit still counts trials."""
    n, k = hit.shape
    w = None if w is None else np.asarray(w, dtype=np.float64)
    joint = np.zeros((k, k))              # [K, K] trials (their weight) where both were hit
    # In blocks of trials, so the float copies stay small (a 2M x 18 hit array is 288 MB as
    # doubles). Counts are whole numbers, exact in any order; weights are summed block by block.
    for a in range(0, n, CONDITIONAL_BLOCK):
        h = hit[a:a + CONDITIONAL_BLOCK].astype(np.float64)
        hw = h if w is None else h * w[a:a + CONDITIONAL_BLOCK, None]
        joint += hw.T @ h
    mass = np.diag(joint).copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        m = joint / mass[:, None]
    m[mass == 0, :] = np.nan
    return ConditionalMatrix(list(labels), m, mass / n if n else mass,
                             np.count_nonzero(hit, axis=0).astype(np.int64), threshold, what)


def holder_conditional_loss(r: Results, threshold: float = 0.0, gross: bool = True,
                            hit: np.ndarray | None = None) -> ConditionalMatrix:
    """P(holder j loses more than `threshold` of its value | holder i does). Gross loss (before
    coverage) by default: the question is whether the fault reaches j, not who paid for it.
    `hit`: the [N, H] array loss > threshold if already at hand (the report's scan of the records)."""
    if hit is None:
        hit = (r.gross_loss if gross else r.loss_fraction) > threshold
    what = f"{'gross ' if gross else ''}loss > {threshold:g} of value" if threshold else \
           f"{'gross ' if gross else ''}loss > 0"
    return conditional_matrix(hit, r.holder_names, threshold, what, r.weight)


def avs_conditional_slashing(r: Results, hit: np.ndarray | None = None) -> ConditionalMatrix:
    """P(AVS b slashes holders' stake | AVS a does), from /trials/avs_stake_lost > 0 (`hit`, if
    already at hand)."""
    if hit is None:
        hit = r.avs_stake_lost > 0.0
    return conditional_matrix(hit, r.avs_names, 0.0, "slashed holders' stake > 0", r.weight)


# --- cascade amplification ------------------------------------------------------------------------


@dataclass
class Amplification:
    """Total loss over the loss of the initiating cause, per holder and for holders together.

    The loss-by-cause ledger has no event times, so the initiating ("first") fault of a trial is
    taken to be its largest cause: A = total gross loss / gross loss of the largest cause, >= 1,
    = 1 when one cause did all the damage, up to C when causes compound equally.

    The aggregates add the holders' losses in a common unit: "all holders" (in their asset) when
    every holder holds the same asset; otherwise one "all <asset> holders" per asset, and "all
    holders (USD)" when every asset held has a USD price (`note` says which and why)."""
    labels: list[str]              # holders, then the aggregates
    causes: list[str]
    ratio_of_sums: np.ndarray      # [K] sum of total / sum of direct over loss trials
    mean: np.ndarray               # [K] mean A over trials with a loss
    p_compound: np.ndarray         # [K] P(A > 1.01 | loss > 0): a second cause added > 1%
    tail: np.ndarray               # [K] ratio of sums over the worst 1% of loss trials by total loss
    by_cause: np.ndarray           # [C, K] ratio of sums over trials whose largest cause is c (NaN: none)
    trials_by_cause: np.ndarray    # [C, K] number of such trials
    n_loss: np.ndarray             # [K] trials with a loss
    aggregates: list = field(default_factory=list)  # (label, unit, holder indices) of each aggregate column
    note: str = ""                 # how holders of several assets were aggregated


def holder_aggregates(r: Results) -> tuple[list[tuple[str, str, list[int]]], str]:
    """The groups of holders whose amounts may be added: [(label, unit, holder indices)] and a note.
    One asset: ("all holders", asset). Several: one group per asset, plus all holders in USD when
    every asset held has a price; else a note that they are not added across assets."""
    assets = r.assets_held
    if len(assets) <= 1:
        return [("all holders", assets[0] if assets else "", list(range(len(r.holders))))], ""
    groups = [(f"all {a} holders", a, [h.index for h in r.holders if h.asset == a]) for a in assets]
    missing = [a for a in assets if not math.isfinite(r.usd_price(a))]
    if missing:
        note = (f"The holders hold {' and '.join(assets)}, and the scenario gives no USD price for "
                f"{' or '.join(missing)} ([prices_usd]): holders are aggregated per asset, not across assets.")
    else:
        groups.append(("all holders (USD)", "USD", list(range(len(r.holders)))))
        note = (f"The holders hold {' and '.join(assets)}: holders are aggregated per asset, and across assets "
                f"in USD at the scenario's prices ("
                + ", ".join(f"{a} ${r.usd_price(a):,.0f}" for a in assets) + ").")
    return groups, note


def amplification_ledgers(r: Results, loss_by_cause: np.ndarray, groups) -> list[np.ndarray]:
    """The loss ledgers of a block of trials' loss_by_cause [n, H, C], as arrays [n, k, C] of k
    ledgers each: the holders' (each in its asset), then the aggregates' of `groups`
    (holder_aggregates, each in its unit)."""
    amount = loss_by_cause * r.holder_value[None, :, None]     # [n, H, C] in each holder's asset
    every = list(range(amount.shape[1]))
    aggregates = []
    for _label, unit, members in groups:
        # In the holders' asset, amount's rows are the products the aggregate adds; in USD, new ones.
        if unit == "USD":
            rows = (loss_by_cause if list(members) == every else loss_by_cause[:, members, :]) \
                * r.holder_value_usd[members][None, :, None]
        else:
            rows = amount if list(members) == every else amount[:, members, :]
        aggregates.append(rows.sum(axis=1))
    return [amount, np.stack(aggregates, axis=1)] if aggregates else [amount]


def _largest_cause(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's largest cause's loss and the first cause to reach it (argmax), column by column:
    max and argmax along a short last axis cost a call per row."""
    direct = rows[:, 0].copy()
    for c in range(1, rows.shape[1]):
        np.maximum(direct, rows[:, c], out=direct)
    first = np.zeros(direct.size, dtype=np.int16)
    for c in range(rows.shape[1] - 1, -1, -1):
        first[rows[:, c] == direct] = c
    return direct, first


def ledger_trials(ledgers: list[np.ndarray], first_trial: int = 0) -> list[tuple[np.ndarray, ...]]:
    """For each ledger of a block (arrays [n, k, C] of k ledgers each, the block starting at trial
    `first_trial`), its trials with a loss: their indices, total loss, loss of the largest
    (initiating) cause and that cause. Computed row by row, so blocks of any size give the same
    values as the whole run at once."""
    out = []
    for block in ledgers:
        total = block.sum(axis=2)                            # [n, k]
        ledger, trial = np.nonzero(total.T > 0.0)            # by ledger, then trial
        direct, first = _largest_cause(block[trial, ledger])
        bounds = np.searchsorted(ledger, np.arange(block.shape[1] + 1))
        out += [(trial[a:b] + first_trial, total[trial[a:b], k], direct[a:b], first[a:b])
                for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:]))]
    return out


def block_ledger_trials(r: Results, loss_by_cause: np.ndarray, groups, gross: np.ndarray,
                        first_trial: int = 0) -> list[tuple[np.ndarray, ...]]:
    """ledger_trials(amplification_ledgers(r, loss_by_cause, groups), first_trial), the same values,
    from the rows with a loss only (gross [n, H]: loss_by_cause summed over causes): a holder's row
    of a trial in which it lost nothing is zeros, and zeros add nothing to an aggregate's sum
    (which adds the members in order). Losses by cause are never negative; a block with a negative
    one, or a NaN (a damaged file), takes the way of every row."""
    if (loss_by_cause < 0.0).any() or np.isnan(gross).any():
        return ledger_trials(amplification_ledgers(r, loss_by_cause, groups), first_trial)
    n, H, C = loss_by_cause.shape
    hit = gross > 0.0
    holder, trial = np.nonzero(hit.T)                        # by holder, then trial
    parts = [(holder, trial, loss_by_cause[trial, holder] * r.holder_value[holder][:, None], H)]
    for _label, unit, members in groups:
        scale = (r.holder_value_usd if unit == "USD" else r.holder_value)[members]
        member_hit = hit[:, members]
        lost = np.flatnonzero(member_hit.any(axis=1))
        row = np.full(n, -1, dtype=np.int64)
        row[lost] = np.arange(lost.size)
        rows = np.zeros((lost.size, C))
        for j, m in enumerate(members):
            t = np.flatnonzero(member_hit[:, j])
            rows[row[t]] += loss_by_cause[t, m, :] * scale[j]
        parts.append((np.zeros(lost.size, dtype=np.int64), lost, rows, 1))
    out = []
    for ledger, trial, rows, k in parts:
        total = rows.sum(axis=1)
        keep = np.flatnonzero(total > 0.0)
        ledger, trial, total = ledger[keep], trial[keep], total[keep]
        direct, first = _largest_cause(rows[keep])
        bounds = np.searchsorted(ledger, np.arange(k + 1))
        out += [(trial[a:b] + first_trial, total[a:b], direct[a:b], first[a:b])
                for a, b in zip(bounds[:-1], bounds[1:])]
    return out


def cascade_amplification(r: Results, compound_above: float = 1.01, tail_share: float = 0.01) -> Amplification:
    """A weighted run's trials are weighed by their likelihood ratios: sums are of w x, the mean and
    P(compound) are weighted, and the tail is the worst loss trials carrying `tail_share` of the loss
    trials' weight (at least one)."""
    groups, note = holder_aggregates(r)
    trials = ledger_trials(amplification_ledgers(r, r.loss_by_cause, groups))
    return amplification_of_trials(r, trials, groups, note, compound_above, tail_share)


def worst_first(t: np.ndarray, k: int) -> np.ndarray:
    """np.argsort(-t, kind="stable")[:k], the indices of the k largest values, largest first and
    ties in index order, without sorting all of t (a partition, then a sort of the k)."""
    if k >= t.size:
        return np.argsort(-t, kind="stable")
    cut = np.partition(t, t.size - k)[t.size - k]          # the k-th largest value
    above = np.flatnonzero(t > cut)
    ties = np.flatnonzero(t == cut)[:k - above.size]        # the first of the ties make up k
    chosen = np.concatenate((above, ties))
    return chosen[np.lexsort((chosen, -t[chosen]))]


def amplification_of_trials(r: Results, trials: list, groups, note: str, compound_above: float = 1.01,
                            tail_share: float = 0.01) -> Amplification:
    """cascade_amplification from each ledger's trials with a loss (ledger_trials over the whole run,
    in trial order): the report gathers them block by block (scan.py)."""
    weight = r.weight
    labels = r.holder_names + [g[0] for g in groups]
    C = len(r.loss_causes)
    K = len(trials)
    out = Amplification(labels, list(r.loss_causes), np.full(K, np.nan), np.full(K, np.nan),
                        np.full(K, np.nan), np.full(K, np.nan), np.full((C, K), np.nan),
                        np.zeros((C, K), dtype=np.int64), np.zeros(K, dtype=np.int64),
                        [(g[0], g[1], list(g[2])) for g in groups], note)
    for k, (hit, t, d, c) in enumerate(trials):
        out.n_loss[k] = int(hit.size)
        if not hit.size:
            continue
        a = t / d
        if weight is not None:
            w = weight[hit]
            out.ratio_of_sums[k] = (w * t).sum() / (w * d).sum()
            out.mean[k] = (w * a).sum() / w.sum()
            out.p_compound[k] = float(w[a > compound_above].sum() / w.sum())
            order = np.argsort(-t, kind="stable")
            reach = int(np.searchsorted(np.cumsum(w[order]), tail_share * w.sum())) + 1
            worst = order[:max(1, min(reach, t.size))]
            out.tail[k] = (w[worst] * t[worst]).sum() / (w[worst] * d[worst]).sum()
        else:
            out.ratio_of_sums[k] = t.sum() / d.sum()
            out.mean[k] = a.mean()
            out.p_compound[k] = float(np.mean(a > compound_above))
            worst = worst_first(t, max(1, int(np.ceil(tail_share * t.size))))
            out.tail[k] = t[worst].sum() / d[worst].sum()
        for cause in range(C):
            sel = c == cause
            out.trials_by_cause[cause, k] = int(sel.sum())
            if sel.any():
                out.by_cause[cause, k] = t[sel].sum() / d[sel].sum() if weight is None else \
                    (w[sel] * t[sel]).sum() / (w[sel] * d[sel]).sum()
    return out


# --- restaking ratio ------------------------------------------------------------------------------


@dataclass
class RestakingRatio:
    """Stake delegated to AVSs over TVL. Each cell is the stake an AVS can slash (allocation x stake
    in unique mode, the whole stake in shared mode) over the operator's or holder's value; the sum
    over AVSs is the restaking ratio (> 1: the same stake secures several AVSs at once). Ratios of
    amounts in one asset: an AVS is secured by one asset, that of its operators and holders."""
    avs: list[str]
    operators: list[str]
    operator_tvl: np.ndarray         # [O] in units of each operator's asset (scenario.operator_tvl)
    operator_by_avs: np.ndarray      # [O, A] fraction of operator TVL
    holders: list[str]
    holder_kinds: list[str]
    holder_value: np.ndarray         # [H] in units of each holder's asset
    holder_by_avs: np.ndarray        # [H, A] fraction of holder value
    operator_assets: list[str] = field(default_factory=list)
    holder_assets: list[str] = field(default_factory=list)
    avs_assets: list[str] = field(default_factory=list)

    @property
    def operator_ratio(self) -> np.ndarray:
        return self.operator_by_avs.sum(axis=1)

    @property
    def holder_ratio(self) -> np.ndarray:
        return self.holder_by_avs.sum(axis=1)


def restaking_ratio(world: World) -> RestakingRatio:
    tvl = operator_tvl(world)
    secured = operator_avs_secured(world)
    exposure = holder_avs_exposure(world)          # [A, H]
    value = np.array([h.value for h in world.holders])
    with np.errstate(invalid="ignore", divide="ignore"):
        op = np.where(tvl[:, None] > 0, secured / tvl[:, None], 0.0)
        ho = np.where(value[:, None] > 0, exposure.T / value[:, None], 0.0)
    return RestakingRatio(world.avs_names, world.operator_names, tvl, op, world.holder_names,
                          [h.kind for h in world.holders], value, ho,
                          [world.operator_asset.get(o, "ETH") for o in world.operator_names],
                          [h.asset for h in world.holders], [a.asset for a in world.avs])


def world_of(r: Results) -> World | None:
    """The scenario's world, checked against the file's holders (names, assets, values), AVSs (names,
    assets) and pools (names, assets); None if the scenario text does not parse or does not match."""
    if r.scenario is None:
        return None
    try:
        w = parse_world(r.scenario)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    if (w.holder_names != r.holder_names or w.avs_names != r.avs_names or w.pool_names != r.pool_names
            or [h.asset for h in w.holders] != r.holder_assets or [a.asset for a in w.avs] != r.avs_assets
            or [p.asset for p in w.pools] != r.pool_assets
            or not np.allclose([h.value for h in w.holders], r.holder_value, rtol=1e-12, atol=0.0)):
        return None
    return w


# --- AVS x holder expected loss (exact from the file, or an attribution for older files) ----------


@dataclass
class AvsHolderLoss:
    """Cells are in units of the holder's asset, which is the AVS's wherever the AVS can reach the
    holder (an AVS slashes only stake of its own asset)."""
    avs: list[str]
    holders: list[str]
    loss: np.ndarray            # [A, H] expected loss attributed to (AVS, holder) over the horizon, units of the asset
    loss_fraction: np.ndarray   # [A, H] the same over the holder's initial value
    exposure: np.ndarray        # [A, H] slashable stake (0: the AVS cannot reach the holder)
    method: str                 # "exact" (from the file), "per-trial" or "pro-rata" (attributions), "none" (no AVS)
    exact_share: float          # share of the attributed amount that needed no apportioning (see below)
    holder_assets: list[str] = field(default_factory=list)
    avs_assets: list[str] = field(default_factory=list)
    # asset -> share of that asset's attributed amount that needed no apportioning. exact_share is
    # the one value when one asset is attributed, the USD-weighted share across assets when all have
    # a price, else NaN (read this dict).
    exact_share_by_asset: dict = field(default_factory=dict)


def avs_holder_loss(r: Results, world: World, iterations: int = 200, exact: bool = True) -> AvsHolderLoss:
    """Expected AVS-slashing loss of each holder, split by AVS.

    * exact: files from restake-sim that keeps it have the [A, H] means themselves
      (/summary/avs_holder_loss_mean, summed exactly over the trials); used unless exact=False.

    Older files have each AVS's slashed
    stake per trial ([N, A]) and each holder's AVS-slashing loss per trial ([N, H], causes
    avs_slashing + avs_faulty_slashing) but not the [A, H] split. It is an attribution, made
    separately for each asset (an AVS slashes only stake of its own asset, so the AVSs and holders
    of one asset form a block of their own):

    * per-trial (records): in a trial where one AVS of the asset slashed, every holder's AVS loss
      is that AVS's (exact). In a trial where several did, the block is fitted to both margins by
      iterative proportional fitting, starting from the slashable stake (zero where the AVS cannot
      reach the holder), so rows sum to each AVS's loss and columns to each holder's.
    * pro-rata (no records): each AVS's mean slashed stake split over holders pro rata to their
      slashable stake.
    """
    exposure = holder_avs_exposure(world)
    value = r.holder_value
    A, H = exposure.shape
    exact_mean = r.summary.avs_holder_loss_mean
    if exact and exact_mean is not None and A > 0:
        amount = exact_mean * value[None, :]
        assets = sorted(set(r.avs_assets))
        return AvsHolderLoss(r.avs_names, r.holder_names, amount, exact_mean.copy(), exposure, "exact", 1.0,
                             holder_assets=r.holder_assets, avs_assets=list(r.avs_assets),
                             exact_share_by_asset={a: 1.0 for a in assets})
    assets = dict(holder_assets=r.holder_assets, avs_assets=list(r.avs_assets))
    if A == 0:
        z = np.zeros((0, H))
        return AvsHolderLoss([], r.holder_names, z, z, exposure, "none", 1.0, **assets)
    blocks = [(a, [k for k in range(A) if r.avs_assets[k] == a], [h for h in range(H) if r.holder_assets[h] == a])
              for a in dict.fromkeys(r.avs_assets)]
    if not r.has_records:
        share = np.divide(exposure, exposure.sum(axis=1, keepdims=True),
                          out=np.zeros_like(exposure), where=exposure.sum(axis=1, keepdims=True) > 0)
        amount = share * r.summary.avs_stake_lost_mean[:, None]
        return AvsHolderLoss(r.avs_names, r.holder_names, amount, amount / value[None, :], exposure, "pro-rata",
                             0.0, **assets, exact_share_by_asset={a: 0.0 for a, _, _ in blocks})

    causes = [r.loss_causes.index("avs_slashing"), r.loss_causes.index("avs_faulty_slashing")]
    y_all = r.loss_by_cause[:, :, causes].sum(axis=2) * value[None, :]  # [N, H] each holder's asset
    x_all = r.avs_stake_lost                                            # [N, A] each AVS's asset
    n = x_all.shape[0]
    weight = r.weight  # a weighted run: each trial's attribution counts w times
    total = np.zeros((A, H))
    by_asset, usd_exact, usd_all = {}, 0.0, 0.0
    for asset, rows_a, cols_a in blocks:
        x, y = x_all[:, rows_a], y_all[:, cols_a]
        e0 = exposure[np.ix_(rows_a, cols_a)]
        a_n, h_n = len(rows_a), len(cols_a)
        block = np.zeros((a_n, h_n))
        slashed = x > 0.0
        count = slashed.sum(axis=1)
        single = count == 1
        if single.any() and h_n:
            np.add.at(block, slashed[single].argmax(axis=1), y[single] if weight is None else y[single] * weight[single, None])
        exact = block.sum()
        start = np.where(e0 > 0, e0, 0.0)
        for t in np.flatnonzero(count > 1):
            m = start * slashed[t][:, None]
            for _ in range(iterations):
                rows = m.sum(axis=1)
                m *= np.divide(x[t], rows, out=np.zeros(a_n), where=rows > 0)[:, None]
                cols = m.sum(axis=0)
                m *= np.divide(y[t], cols, out=np.zeros(h_n), where=cols > 0)[None, :]
            block += m if weight is None else weight[t] * m  # columns match the holders' ledger exactly (last step)
        total[np.ix_(rows_a, cols_a)] = block
        attributed = block.sum()
        by_asset[asset] = float(exact / attributed) if attributed > 0 else 1.0
        usd_exact += exact * r.usd_price(asset)
        usd_all += attributed * r.usd_price(asset)
    if len(by_asset) == 1:
        share = next(iter(by_asset.values()))
    elif math.isfinite(usd_all):  # every asset priced: the USD-weighted share
        share = float(usd_exact / usd_all) if usd_all > 0 else 1.0
    else:
        share = math.nan
    amount = total / n
    return AvsHolderLoss(r.avs_names, r.holder_names, amount, amount / value[None, :], exposure, "per-trial",
                         share, **assets, exact_share_by_asset=by_asset)
