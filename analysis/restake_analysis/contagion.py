"""Contagion metrics: how far one fault spreads (conditional loss matrices), how much it compounds
(cascade amplification), how much the same ETH is lent out (restaking ratio), and which AVS's
slashing lands on whom (AVS x holder attribution). Definitions: docs/statistics.md."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .results import Results
from .scenario import World, holder_avs_exposure_eth, operator_avs_secured_eth, parse_world


# --- conditional loss matrices --------------------------------------------------------------------


@dataclass
class ConditionalMatrix:
    labels: list[str]
    matrix: np.ndarray      # [K, K]: matrix[i, j] = P(j hit | i hit); NaN when i is never hit
    p_hit: np.ndarray       # [K] unconditional P(hit)
    n_hit: np.ndarray       # [K] trials in which each was hit
    threshold: float
    what: str               # what "hit" means, for captions


def conditional_matrix(hit: np.ndarray, labels, threshold: float, what: str) -> ConditionalMatrix:
    """From a boolean [N, K] array of 'k was hit in trial t': P(j hit | i hit) = #(i and j) / #i."""
    h = hit.astype(np.float64)
    joint = h.T @ h                       # [K, K] trials where both were hit
    n_hit = np.diag(joint).copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        m = joint / n_hit[:, None]
    m[n_hit == 0, :] = np.nan
    n = hit.shape[0]
    return ConditionalMatrix(list(labels), m, n_hit / n if n else n_hit, n_hit.astype(np.int64), threshold, what)


def holder_conditional_loss(r: Results, threshold: float = 0.0, gross: bool = True) -> ConditionalMatrix:
    """P(holder j loses more than `threshold` of its value | holder i does). Gross loss (before
    coverage) by default: the question is whether the fault reaches j, not who paid for it."""
    loss = r.gross_loss if gross else r.loss_fraction
    what = f"{'gross ' if gross else ''}loss > {threshold:g} of value" if threshold else \
           f"{'gross ' if gross else ''}loss > 0"
    return conditional_matrix(loss > threshold, r.holder_names, threshold, what)


def avs_conditional_slashing(r: Results) -> ConditionalMatrix:
    """P(AVS b slashes holders' stake | AVS a does), from /trials/avs_stake_lost_eth > 0."""
    return conditional_matrix(r.avs_stake_lost_eth > 0.0, r.avs_names, 0.0, "slashed holders' stake > 0")


# --- cascade amplification ------------------------------------------------------------------------


@dataclass
class Amplification:
    """Total loss over the loss of the initiating cause, per holder and for all holders together.

    The loss-by-cause ledger has no event times, so the initiating ("first") fault of a trial is
    taken to be its largest cause: A = total gross loss / gross loss of the largest cause, >= 1,
    = 1 when one cause did all the damage, up to C when causes compound equally."""
    labels: list[str]              # holders, then "all holders" (ETH-weighted)
    causes: list[str]
    ratio_of_sums: np.ndarray      # [K] sum of total / sum of direct over loss trials
    mean: np.ndarray               # [K] mean A over trials with a loss
    p_compound: np.ndarray         # [K] P(A > 1.01 | loss > 0): a second cause added > 1%
    tail: np.ndarray               # [K] ratio of sums over the worst 1% of loss trials by total loss
    by_cause: np.ndarray           # [C, K] ratio of sums over trials whose largest cause is c (NaN: none)
    trials_by_cause: np.ndarray    # [C, K] number of such trials
    n_loss: np.ndarray             # [K] trials with a loss


def cascade_amplification(r: Results, compound_above: float = 1.01, tail_share: float = 0.01) -> Amplification:
    eth = r.loss_by_cause * r.holder_value_eth[None, :, None]          # [N, H, C] ETH
    ledgers = [eth[:, h, :] for h in range(eth.shape[1])] + [eth.sum(axis=1)]
    labels = r.holder_names + ["all holders"]
    C = len(r.loss_causes)
    K = len(ledgers)
    out = Amplification(labels, list(r.loss_causes), np.full(K, np.nan), np.full(K, np.nan),
                        np.full(K, np.nan), np.full(K, np.nan), np.full((C, K), np.nan),
                        np.zeros((C, K), dtype=np.int64), np.zeros(K, dtype=np.int64))
    for k, ledger in enumerate(ledgers):
        total = ledger.sum(axis=1)
        direct = ledger.max(axis=1)
        first = ledger.argmax(axis=1)
        hit = total > 0.0
        out.n_loss[k] = int(hit.sum())
        if not hit.any():
            continue
        t, d, c = total[hit], direct[hit], first[hit]
        a = t / d
        out.ratio_of_sums[k] = t.sum() / d.sum()
        out.mean[k] = a.mean()
        out.p_compound[k] = float(np.mean(a > compound_above))
        worst = np.argsort(-t, kind="stable")[:max(1, int(np.ceil(tail_share * t.size)))]
        out.tail[k] = t[worst].sum() / d[worst].sum()
        for cause in range(C):
            sel = c == cause
            out.trials_by_cause[cause, k] = int(sel.sum())
            if sel.any():
                out.by_cause[cause, k] = t[sel].sum() / d[sel].sum()
    return out


# --- restaking ratio ------------------------------------------------------------------------------


@dataclass
class RestakingRatio:
    """Stake delegated to AVSs over TVL. Each cell is the stake an AVS can slash (allocation x stake
    in unique mode, the whole stake in shared mode) over the operator's or holder's value; the sum
    over AVSs is the restaking ratio (> 1: the same ETH secures several AVSs at once)."""
    avs: list[str]
    operators: list[str]
    operator_tvl_eth: np.ndarray     # [O]
    operator_by_avs: np.ndarray      # [O, A] fraction of operator TVL
    holders: list[str]
    holder_kinds: list[str]
    holder_value_eth: np.ndarray     # [H]
    holder_by_avs: np.ndarray        # [H, A] fraction of holder value

    @property
    def operator_ratio(self) -> np.ndarray:
        return self.operator_by_avs.sum(axis=1)

    @property
    def holder_ratio(self) -> np.ndarray:
        return self.holder_by_avs.sum(axis=1)


def restaking_ratio(world: World) -> RestakingRatio:
    tvl = np.array([world.operator_stake_eth[o] for o in world.operator_names])
    secured = operator_avs_secured_eth(world)
    exposure = holder_avs_exposure_eth(world)          # [A, H]
    value = np.array([h.value_eth for h in world.holders])
    with np.errstate(invalid="ignore", divide="ignore"):
        op = np.where(tvl[:, None] > 0, secured / tvl[:, None], 0.0)
        ho = np.where(value[:, None] > 0, exposure.T / value[:, None], 0.0)
    return RestakingRatio(world.avs_names, world.operator_names, tvl, op, world.holder_names,
                          [h.kind for h in world.holders], value, ho)


def world_of(r: Results) -> World | None:
    """The scenario's world, checked against the file's holder and AVS lists (None if the scenario
    text does not parse or does not match)."""
    if r.scenario is None:
        return None
    try:
        w = parse_world(r.scenario)
    except (KeyError, TypeError, ValueError):
        return None
    if w.holder_names != r.holder_names or w.avs_names != r.avs_names:
        return None
    return w


# --- AVS x holder expected loss (attribution) -----------------------------------------------------


@dataclass
class AvsHolderLoss:
    avs: list[str]
    holders: list[str]
    loss_eth: np.ndarray        # [A, H] expected loss attributed to (AVS, holder), ETH per run horizon
    loss_fraction: np.ndarray   # [A, H] the same over the holder's initial value
    exposure_eth: np.ndarray    # [A, H] slashable stake (0: the AVS cannot reach the holder)
    method: str                 # "per-trial" or "pro-rata"
    exact_share: float          # share of the attributed ETH that needed no apportioning


def avs_holder_loss(r: Results, world: World, iterations: int = 200) -> AvsHolderLoss:
    """Expected AVS-slashing loss of each holder, split by AVS. The file has each AVS's slashed
    stake per trial ([N, A]) and each holder's AVS-slashing loss per trial ([N, H], causes
    avs_slashing + avs_faulty_slashing) but not the [A, H] split. It is an attribution:

    * per-trial (records): in a trial where one AVS slashed, every holder's AVS loss is that AVS's
      (exact). In a trial where several did, the [A, H] table is fitted to both margins by
      iterative proportional fitting, starting from the slashable stake (zero where the AVS cannot
      reach the holder), so rows sum to each AVS's loss and columns to each holder's.
    * pro-rata (no records): each AVS's mean slashed stake split over holders pro rata to their
      slashable stake.
    """
    exposure = holder_avs_exposure_eth(world)
    value = r.holder_value_eth
    A, H = exposure.shape
    if A == 0:
        z = np.zeros((0, H))
        return AvsHolderLoss([], r.holder_names, z, z, exposure, "none", 1.0)
    if not r.has_records:
        share = np.divide(exposure, exposure.sum(axis=1, keepdims=True),
                          out=np.zeros_like(exposure), where=exposure.sum(axis=1, keepdims=True) > 0)
        eth = share * r.summary.avs_stake_lost_mean_eth[:, None]
        return AvsHolderLoss(r.avs_names, r.holder_names, eth, eth / value[None, :], exposure, "pro-rata", 0.0)

    causes = [r.loss_causes.index("avs_slashing"), r.loss_causes.index("avs_faulty_slashing")]
    y = r.loss_by_cause[:, :, causes].sum(axis=2) * value[None, :]     # [N, H] ETH
    x = r.avs_stake_lost_eth                                           # [N, A] ETH
    n = x.shape[0]
    slashed = x > 0.0
    count = slashed.sum(axis=1)
    total = np.zeros((A, H))
    single = count == 1
    if single.any():
        which = slashed[single].argmax(axis=1)
        np.add.at(total, which, y[single])
    exact = total.sum()
    mask = exposure > 0
    for t in np.flatnonzero(count > 1):
        m = np.where(mask, exposure, 0.0) * slashed[t][:, None]
        for _ in range(iterations):
            rows = m.sum(axis=1)
            m *= np.divide(x[t], rows, out=np.zeros(A), where=rows > 0)[:, None]
            cols = m.sum(axis=0)
            m *= np.divide(y[t], cols, out=np.zeros(H), where=cols > 0)[None, :]
        total += m  # columns match the holders' ledger exactly (last step); rows to convergence
    eth = total / n
    attributed = total.sum()
    return AvsHolderLoss(r.avs_names, r.holder_names, eth, eth / value[None, :], exposure, "per-trial",
                         float(exact / attributed) if attributed > 0 else 1.0)
