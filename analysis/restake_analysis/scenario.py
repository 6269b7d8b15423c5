"""The parts of a scenario (docs/scenario-format.md) the analysis needs: who delegates how much to
which operator, through which protocol, and which AVSs each (operator, protocol) slot secures.
Read from the scenario text stored in the results file, parsed with tomllib; the simulator's
parser (sim/core/scenario.cpp) has already validated it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

DEFAULT_EFFECTIVE_BALANCE_ETH = 32.0


@dataclass(frozen=True)
class Position:
    operator: str
    protocol: str | None  # None: not restaked (LST positions)
    stake_eth: float


@dataclass(frozen=True)
class HolderSpec:
    name: str
    kind: str
    positions: tuple[Position, ...]

    @property
    def value_eth(self) -> float:
        return sum(p.stake_eth for p in self.positions)


@dataclass(frozen=True)
class AvsSpec:
    name: str
    protocol: str
    # operator -> slashable share of the slot: the ELIP-002 allocation (unique mode) or 1 (shared)
    weights: dict = field(default_factory=dict)


@dataclass(frozen=True)
class World:
    operator_stake_eth: dict       # operator -> validators x effective balance, ETH
    protocol_mode: dict            # protocol -> "unique" | "shared"
    avs: tuple[AvsSpec, ...]
    holders: tuple[HolderSpec, ...]  # in results order: lrt, lst, native

    @property
    def operator_names(self) -> list[str]:
        return list(self.operator_stake_eth)

    @property
    def avs_names(self) -> list[str]:
        return [a.name for a in self.avs]

    @property
    def holder_names(self) -> list[str]:
        return [h.name for h in self.holders]


def parse_world(scenario: dict) -> World:
    """World from a parsed scenario (tomllib dict)."""
    ops = {}
    for o in scenario.get("operator", []):
        if "stake_eth" in o:
            ops[o["name"]] = float(o["stake_eth"])
        else:
            ops[o["name"]] = float(o["validators"]) * float(o.get("effective_balance_eth", DEFAULT_EFFECTIVE_BALANCE_ETH))
    modes = {p["name"]: p["slashing_mode"] for p in scenario.get("protocol", [])}
    avs = []
    for a in scenario.get("avs", []):
        weights = {}
        for m in a.get("operators", []):
            if isinstance(m, str):
                weights[m] = 1.0
            else:
                weights[m["operator"]] = float(m.get("allocation", 1.0)) if modes.get(a["protocol"]) == "unique" else 1.0
        avs.append(AvsSpec(a["name"], a["protocol"], weights))
    holders = []
    for kind in ("lrt", "lst", "native"):
        for h in scenario.get(kind, []):
            default_protocol = h.get("protocol")
            positions = tuple(
                Position(p["operator"], None if kind == "lst" else p.get("protocol", default_protocol),
                         float(p["stake_eth"]))
                for p in h.get("positions", []))
            holders.append(HolderSpec(h["name"], kind, positions))
    return World(ops, modes, tuple(avs), tuple(holders))


def holder_avs_exposure_eth(world: World) -> np.ndarray:
    """[A, H] stake of each holder that each AVS can slash, ETH: for every restaked position on an
    operator that secures the AVS through the position's protocol, stake x allocation (unique mode)
    or the whole stake (shared mode). Summed over A it counts the same ETH once per AVS."""
    out = np.zeros((len(world.avs), len(world.holders)))
    for a, avs in enumerate(world.avs):
        for h, holder in enumerate(world.holders):
            for p in holder.positions:
                if p.protocol == avs.protocol and p.operator in avs.weights:
                    out[a, h] += p.stake_eth * avs.weights[p.operator]
    return out


def operator_avs_secured_eth(world: World) -> np.ndarray:
    """[O, A] restaked stake of each operator securing each AVS, ETH (holders' positions only:
    stake on the operator that no holder restakes is not described by the scenario)."""
    ops = world.operator_names
    out = np.zeros((len(ops), len(world.avs)))
    for a, avs in enumerate(world.avs):
        for holder in world.holders:
            for p in holder.positions:
                if p.protocol == avs.protocol and p.operator in avs.weights:
                    out[ops.index(p.operator), a] += p.stake_eth * avs.weights[p.operator]
    return out
