"""The parts of a scenario (docs/scenario-format.md) the analysis needs: who delegates how much to
which operator, through which protocol, in which asset, and which AVSs each (operator, protocol)
slot secures. Read from the scenario text stored in the results file, parsed with tomllib; the
simulator's parser (sim/io/scenario.cpp) has already validated it, so this one only reads (it
raises KeyError / TypeError / ValueError on what it cannot read, and ignores tables it does not
need: [simulation], [ethereum], [[group]], [[contract]], [stress], ...).

Assets: an operator stakes "ETH" (validators, or stake_eth) or "BTC" (asset = "BTC", stake_btc:
Babylon finality providers). A position, a holder and an AVS are in the asset of their operators;
a pool is in the asset of its balance key (balance_eth or balance_btc). Amounts below are in units
of their entity's asset.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

DEFAULT_EFFECTIVE_BALANCE_ETH = 32.0
ASSETS = ("ETH", "BTC")


@dataclass(frozen=True)
class Position:
    operator: str          # delegated to: its AVSs can slash the position
    protocol: str | None   # None: not restaked (LST positions)
    stake: float           # in units of asset
    asset: str = "ETH"
    staked_with: str | None = None  # whose validators hold the stake, if not `operator`

    @property
    def validator_operator(self) -> str:
        return self.staked_with or self.operator


@dataclass(frozen=True)
class HolderSpec:
    name: str
    kind: str
    positions: tuple[Position, ...]
    asset: str = "ETH"

    @property
    def value(self) -> float:
        """Initial value in units of asset: the sum of the positions' stakes."""
        return sum(p.stake for p in self.positions)


@dataclass(frozen=True)
class AvsSpec:
    name: str
    protocol: str
    # operator -> slashable share of the slot: the ELIP-002 allocation (unique mode) or 1 (shared)
    weights: dict = field(default_factory=dict)
    asset: str = "ETH"  # of the stake securing it (all its operators stake one asset)


@dataclass(frozen=True)
class PoolSpec:
    name: str
    asset: str
    balance: float          # in units of asset
    covers: tuple[str, ...]
    holders: tuple[str, ...]    # covered holders (default: every holder of the pool's asset)
    operators: tuple[str, ...]  # empty: losses from any operator; else a bond for these only


@dataclass(frozen=True)
class World:
    operator_stake: dict           # operator -> its own stake: validators x effective balance (ETH) or stake_btc
    protocol_mode: dict            # protocol -> "unique" | "shared"
    avs: tuple[AvsSpec, ...]
    holders: tuple[HolderSpec, ...]  # in results order: lrt, lst, native
    operator_asset: dict = field(default_factory=dict)  # operator -> "ETH" | "BTC"
    pools: tuple[PoolSpec, ...] = ()
    prices_usd: dict = field(default_factory=dict)      # asset -> USD per unit, as given in [prices_usd]

    @property
    def operator_names(self) -> list[str]:
        return list(self.operator_stake)

    @property
    def avs_names(self) -> list[str]:
        return [a.name for a in self.avs]

    @property
    def holder_names(self) -> list[str]:
        return [h.name for h in self.holders]

    @property
    def pool_names(self) -> list[str]:
        return [p.name for p in self.pools]


def _asset(value) -> str:
    if value not in ASSETS:
        raise ValueError(f"unknown asset {value!r}")
    return value


def _amount(table: dict, stem: str, asset: str | None) -> tuple[float, str]:
    """`<stem>_eth` or `<stem>_btc` (exactly one), checked against the asset expected, if known."""
    given = [(a, table[f"{stem}_{a.lower()}"]) for a in ASSETS if f"{stem}_{a.lower()}" in table]
    if len(given) != 1:
        raise KeyError(f"expected one of {', '.join(f'{stem}_{a.lower()}' for a in ASSETS)}")
    a, v = given[0]
    if asset is not None and a != asset:
        raise ValueError(f"{stem}_{a.lower()} given for an entity in {asset}")
    return float(v), a


def parse_world(scenario: dict) -> World:
    """World from a parsed scenario (tomllib dict)."""
    ops, op_asset = {}, {}
    for o in scenario.get("operator", []):
        asset = _asset(o.get("asset", "ETH"))
        if asset == "BTC":
            ops[o["name"]] = float(o["stake_btc"])
        elif "stake_eth" in o:
            ops[o["name"]] = float(o["stake_eth"])
        else:
            ops[o["name"]] = float(o["validators"]) * float(o.get("effective_balance_eth", DEFAULT_EFFECTIVE_BALANCE_ETH))
        op_asset[o["name"]] = asset
    modes = {p["name"]: p["slashing_mode"] for p in scenario.get("protocol", [])}
    avs = []
    for a in scenario.get("avs", []):
        weights = {}
        for m in a.get("operators", []):
            if isinstance(m, str):
                weights[m] = 1.0
            else:
                weights[m["operator"]] = float(m.get("allocation", 1.0)) if modes.get(a["protocol"]) == "unique" else 1.0
        assets = {op_asset[o] for o in weights}
        if len(assets) > 1:
            raise ValueError(f"AVS {a['name']!r} is secured by several assets")
        avs.append(AvsSpec(a["name"], a["protocol"], weights, assets.pop() if assets else "ETH"))
    holders = []
    for kind in ("lrt", "lst", "native"):
        for h in scenario.get(kind, []):
            default_protocol = h.get("protocol")
            positions = []
            for p in h.get("positions", []):
                asset = op_asset[p["operator"]]
                stake, _ = _amount(p, "stake", asset)
                with_ = p.get("staked_with")
                if with_ is not None and op_asset[with_] != asset:
                    raise ValueError(f"position staked with {with_!r} in another asset")
                positions.append(Position(p["operator"], None if kind == "lst" else p.get("protocol", default_protocol),
                                          stake, asset, with_))
            assets = {p.asset for p in positions}
            if len(assets) > 1:
                raise ValueError(f"holder {h['name']!r} holds several assets")
            holders.append(HolderSpec(h["name"], kind, tuple(positions), assets.pop() if assets else "ETH"))
    pools = []
    for p in scenario.get("pool", []):
        balance, asset = _amount(p, "balance", None)
        covered = tuple(p["holders"]) if "holders" in p else tuple(h.name for h in holders if h.asset == asset)
        pools.append(PoolSpec(p["name"], asset, balance, tuple(p.get("covers", ())), covered,
                              tuple(p.get("operators", ()))))
    prices = {_asset(a): float(v) for a, v in (scenario.get("prices_usd") or {}).items()}
    return World(ops, modes, tuple(avs), tuple(holders), op_asset, tuple(pools), prices)


def holder_avs_exposure(world: World) -> np.ndarray:
    """[A, H] stake of each holder that each AVS can slash, in units of the holder's (= the AVS's)
    asset: for every restaked position delegated to an operator that secures the AVS through the
    position's protocol, stake x allocation (unique mode) or the whole stake (shared mode). Summed
    over A it counts the same stake for each AVS that can slash it (x its allocation in unique mode).
    An AVS reaches only holders of its own asset."""
    out = np.zeros((len(world.avs), len(world.holders)))
    for a, avs in enumerate(world.avs):
        for h, holder in enumerate(world.holders):
            for p in holder.positions:
                if p.protocol == avs.protocol and p.operator in avs.weights:
                    out[a, h] += p.stake * avs.weights[p.operator]
    return out


def operator_tvl(world: World) -> np.ndarray:
    """[O] stake each operator is responsible for, in units of its asset: its own stake (validators x
    effective balance, or stake_btc) plus stake delegated to it that sits in another operator's
    validators (positions with staked_with, e.g. stETH restaked with an EigenLayer operator)."""
    tvl = dict(world.operator_stake)
    for holder in world.holders:
        for p in holder.positions:
            if p.staked_with is not None and p.staked_with != p.operator:
                tvl[p.operator] += p.stake
    return np.array([tvl[o] for o in world.operator_names])


def operator_avs_secured(world: World) -> np.ndarray:
    """[O, A] restaked stake delegated to each operator that secures each AVS, in units of the
    operator's asset (holders' positions only: stake on the operator that no holder restakes is not
    described by the scenario)."""
    ops = world.operator_names
    out = np.zeros((len(ops), len(world.avs)))
    for a, avs in enumerate(world.avs):
        for holder in world.holders:
            for p in holder.positions:
                if p.protocol == avs.protocol and p.operator in avs.weights:
                    out[ops.index(p.operator), a] += p.stake * avs.weights[p.operator]
    return out
