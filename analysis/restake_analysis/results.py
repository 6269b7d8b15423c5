"""Reader of restake-sim results files (docs/output-format.md, format_version 2).

    from restake_analysis import Results
    with Results("results/default.h5") as r:
        print(r.summary_frame())                 # pandas, one row per holder
        loss = r.loss_fraction                    # numpy [trials, holders]
        rs = loss[:, r.holder_index("rsETH-like")]

Like a Monte Carlo code's state-point reader, it checks what it opened (file type, format version,
completeness) before handing anything out, reads the small index and summary datasets at once, and
reads each per-trial array on first use (then keeps it: they are N x H doubles).

Amounts (holder values, AVS slashed stake, pool balances and payouts) are in each entity's own
asset, "ETH" or "BTC" (Holder.asset, avs_assets, pool_assets); never add amounts of different
assets. usd_price(asset) converts where the scenario gave a price ([prices_usd]), NaN otherwise.
"""
from __future__ import annotations

import json
import math
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

FILE_TYPE = "restake-sim results"
FORMAT_VERSION = 2
# The outputs as the simulator declares them (sim/io/schema.cpp; `restake-sim schema --json`
# writes this file, and a test checks it is current): path, named dimensions, unit, description.
SCHEMA = json.loads((Path(__file__).parent / "schema.json").read_text())
TRIAL_DATASETS = tuple(o["path"].removeprefix("trials/") for o in SCHEMA["trial_records"])
SUMMARY_DATASETS = tuple(o["path"].removeprefix("summary/") for o in SCHEMA["summaries"])
# Outputs only the files of weighted (importance-sampled) runs hold, e.g. "trials/weight".
WEIGHTED_ONLY = frozenset(o["path"] for o in SCHEMA["trial_records"] + SCHEMA["summaries"] if o["weighted_only"])
# What each output needs to exist: None (always), "weights", "tokens" or "lending_markets" (the
# market layer's outputs are only in the files of runs with a [[token]] / [[lending_market]]).
NEEDS = {o["path"]: o.get("needs") for o in SCHEMA["trial_records"] + SCHEMA["summaries"]}
DIMENSIONS = {d["name"]: d for d in SCHEMA["dimensions"]}
# Outputs that files of format version 2 written before them lack; a reader takes them as absent.
ADDED_LATER = frozenset(["summary/avs_holder_loss_mean", "trials/first_loss_day", "trials/loss_7d_max"]
                        + [o["path"] for o in SCHEMA["summaries"]
                           if o["path"].startswith(("summary/concentration/", "summary/timing/"))])
# The worst trials' price paths (/price_paths): dataset name -> its declared dimensions.
PRICE_PATH_DATASETS = {o["path"].removeprefix("price_paths/"): o["dims"] for o in SCHEMA.get("price_paths", [])}


class ResultsError(Exception):
    """The file cannot be read as restake-sim results."""


class FormatVersionError(ResultsError):
    """The file has a layout version this reader does not know."""


class NoRecordsError(ResultsError):
    """Per-trial data was requested from a file written with --no-records."""


# Summary fields the C++ and Python sums reach in another order: compared relatively.
RELATIVE_FIELDS = ("mean", "sd", "stderr", "var99_stderr", "es99_stderr")

@dataclass(frozen=True)
class Holder:
    index: int
    name: str
    kind: str    # "lrt" | "lst" | "native"
    asset: str   # "ETH" | "BTC": the unit of value (and of every amount of this holder)
    value: float  # initial value, in units of asset
    usd_price: float = math.nan  # USD per unit of asset; NaN if the scenario gives no price

    @property
    def value_usd(self) -> float:
        """Initial value in USD (NaN without a price)."""
        return self.value * self.usd_price


@dataclass(frozen=True)
class Tilt:
    """How a weighted run drew its trials (/tilt): each event source's label, the factor on its
    rate and the exponent of its sizes' tilt (1: the model's law), and the share of trials drawn at
    the model's own rates and sizes."""
    sources: list
    rate_factor: np.ndarray
    size_exponent: np.ndarray
    defensive: float

    def tilted(self) -> list[tuple[str, float, float]]:
        """The sources drawn at another rate or size law than the model's, with factor and exponent."""
        return [(s, float(f), float(b)) for s, f, b in zip(self.sources, self.rate_factor, self.size_exponent)
                if f != 1.0 or b != 1.0]


@dataclass
class Summary:
    """/summary as numpy arrays; the holder axis is Results.holders, the AVS axis avs_names."""
    loss: dict            # mean, sd, stderr, p_loss, var95, var99, es95, es99 [H]; quantiles [H, 5]
    loss_levels: np.ndarray
    net_return: dict      # mean, sd, stderr, p_negative [H]; quantiles [H, 5]
    return_levels: np.ndarray
    covered_mean: np.ndarray          # [H]
    loss_by_cause_mean: np.ndarray    # [H, C]
    avs_stake_lost_mean: np.ndarray   # [A] units of each AVS's asset (Results.avs_assets)
    avs_p_slashed: np.ndarray         # [A]
    pool_drawdown_mean: np.ndarray    # [P] units of each pool's asset (Results.pool_assets)
    pool_p_exhausted: np.ndarray      # [P]
    # [A, H] share of each holder's initial value lost to each AVS's slashings (gross), exact; None
    # in files written before restake-sim kept it (contagion.avs_holder_loss then attributes)
    avs_holder_loss_mean: np.ndarray | None = None
    # Weighted runs only: effective_sample_size and max_weight_share of all the trials (scalars);
    # None in plain Monte Carlo. Per holder, loss also holds tail_ess95/99, tail_max_weight_share95/99.
    weights: dict | None = None
    # Runs with tokens: /summary/token/* [K] (min_price_mean, min_price_p05, p_depeg,
    # depeg_days_mean, sold_mean) and /summary/loss_at_market/* [H] (mean, var95, var99, es99);
    # runs with lending markets: /summary/lending/* [L]. None otherwise.
    token: dict | None = None
    loss_at_market: dict | None = None
    lending: dict | None = None


def _strings(ds) -> list[str]:
    return [str(s) for s in ds.asstr()[()]]


def _attr_str(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Results:
    """An open restake-sim results file. Use as a context manager, or call close()."""

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        try:
            self._file = h5py.File(self.path, "r")
        except FileNotFoundError:
            raise ResultsError(f"{self.path}: no such file") from None
        except OSError as e:
            raise ResultsError(f"{self.path}: not an HDF5 file ({e})") from None
        try:
            self._check()
            self._read_index()
        except BaseException:
            self._file.close()
            raise
        self._cache: dict[str, np.ndarray] = {}
        self._scenario = None

    # --- opening ----------------------------------------------------------------------------------

    def _check(self):
        a = self._file.attrs
        file_type = _attr_str(a["file_type"]) if "file_type" in a else None
        if file_type != FILE_TYPE:
            raise ResultsError(f"{self.path}: not a restake-sim results file "
                               f"(root attribute file_type is {file_type!r}, expected {FILE_TYPE!r})")
        version = a.get("format_version")
        if version is None or int(version) != FORMAT_VERSION:
            raise FormatVersionError(
                f"{self.path}: results format_version {version}, but this reader understands only "
                f"format_version {FORMAT_VERSION} (docs/output-format.md). The file was written by "
                f"restake-sim {_attr_str(a.get('program_version', '?'))}; read it with the analysis "
                f"package of that version, or rerun the scenario with this one."
                + (" (format_version 1 files hold amounts in ETH only, written before holders could "
                   "hold BTC.)" if version is not None and int(version) == 1 else ""))
        if int(a.get("complete", 0)) != 1:
            raise ResultsError(f"{self.path}: incomplete run (complete = 0): the simulation was "
                               f"killed while writing, so there is no summary. Run it again.")

    def _read_index(self):
        f, a = self._file, self._file.attrs
        self.program_version = _attr_str(a["program_version"])
        self.git_commit = _attr_str(a["git_commit"])
        self.scenario_name = _attr_str(a["scenario_name"])
        self.scenario_path = _attr_str(a["scenario_path"])
        self.scenario_text = _attr_str(a["scenario_text"])
        self.created_utc = _attr_str(a["created_utc"])
        self.seed = int(a["seed"])
        self.n_trials = int(a["trials"])
        self.horizon_days = float(a["horizon_days"])
        self.has_records = int(a["records"]) == 1
        self.quantile_relative_error = float(a["quantile_relative_error"])
        # `weighted` is absent from a plain run's file: every trial weighs 1 there.
        self.weighted = "weighted" in a
        if self.weighted and int(a["weighted"]) != 1:
            raise ResultsError(f"{self.path}: root attribute weighted = {a['weighted']}, expected 1 "
                               f"(or no attribute: a plain run)")
        self.tilt = self._read_tilt() if self.weighted else None
        # The market layer's axes, only in files of runs that have them.
        self.has_tokens = "tokens/names" in f
        # run --threshold: P(loss >= x) at the thresholds in /summary/loss/thresholds.
        self.has_thresholds = "summary/loss/thresholds" in f
        self.thresholds = f["summary/loss/thresholds"][()] if self.has_thresholds else np.array([])
        # run --contributions: risk contributions on an operator axis (/operators/names).
        self.has_contributions = "summary/contributions" in f
        self.operator_names = _strings(f["operators/names"]) if self.has_contributions else []
        self.has_lending = "lending_markets/names" in f
        # The worst trials' price paths (run --price-paths), only in files of runs with a token.
        self.has_price_paths = "price_paths" in f

        self._check_shapes()
        self.loss_causes = _strings(f["loss_causes"])
        # /assets: every asset the program knows, with its USD price (NaN: the scenario gives none).
        self.asset_names = _strings(f["assets/names"])
        prices = f["assets/usd_price"][()]
        self.usd_prices = {a: float(p) for a, p in zip(self.asset_names, prices)}
        names, kinds = _strings(f["holders/names"]), _strings(f["holders/kinds"])
        assets, values = _strings(f["holders/assets"]), f["holders/value"][()]
        self.holders = [Holder(i, n, k, a, float(v), self.usd_price(a))
                        for i, (n, k, a, v) in enumerate(zip(names, kinds, assets, values))]
        self.avs_names = _strings(f["avs/names"])
        self.avs_assets = _strings(f["avs/assets"])
        self.pool_names = _strings(f["pools/names"])
        self.pool_assets = _strings(f["pools/assets"])
        self.pool_balance = f["pools/balance"][()]
        self.token_names = _strings(f["tokens/names"]) if self.has_tokens else []
        self.token_holders = _strings(f["tokens/holders"]) if self.has_tokens else []
        self.lending_names = _strings(f["lending_markets/names"]) if self.has_lending else []
        self.lending_tokens = _strings(f["lending_markets/tokens"]) if self.has_lending else []
        self.lending_debt_eth = f["lending_markets/debt_eth"][()] if self.has_lending else np.zeros(0)
        for what, got in (("holder", assets), ("AVS", self.avs_assets), ("pool", self.pool_assets)):
            unknown = sorted(set(got) - set(self.asset_names))
            if unknown:
                raise ResultsError(f"{self.path}: {what} asset {unknown[0]!r} is not in /assets/names "
                                   f"({', '.join(self.asset_names)})")

        # Every declared summary: those of /summary/loss and /summary/net_return as dicts, the
        # others as fields (avs_holder_loss_mean is absent from files of earlier versions).
        s = f["summary"]
        def group(name):
            return {k.removeprefix(name + "/"): s[k][()] for k in SUMMARY_DATASETS if k.startswith(name + "/")
                    and self._present("summary/" + k)}
        others = {k: s[k][()] for k in SUMMARY_DATASETS if "/" not in k and k in s
                  and ("summary/" + k) not in WEIGHTED_ONLY}
        self.summary = Summary(loss=group("loss"), loss_levels=s["loss/quantile_levels"][()],
                               net_return=group("net_return"), return_levels=s["net_return/quantile_levels"][()],
                               weights={k: float(v) for k, v in group("weights").items()} if self.weighted else None,
                               token=group("token") if self.has_tokens else None,
                               loss_at_market=group("loss_at_market") if self.has_tokens else None,
                               lending=group("lending") if self.has_lending else None,
                               **others)

    def _present(self, path: str) -> bool:
        """Whether this file's run has what output `path` needs (weights, tokens, lending markets)."""
        return {None: True, "weights": self.weighted, "tokens": self.has_tokens,
                "lending_markets": self.has_lending, "thresholds": self.has_thresholds,
                "contributions": self.has_contributions}[NEEDS[path]]

    def _check_shapes(self):
        # Every dataset against its declared axes before any is read: the axes' lengths come from
        # the datasets that name their entries (holders/names, ...), so a damaged or hostile file
        # whose datasets disagree is refused instead of read in part (zip stops at the shortest).
        f = self._file
        extent = {"trial": self.n_trials}
        optional = {"token": self.has_tokens, "lending_market": self.has_lending, "threshold": self.has_thresholds,
                    "operator": self.has_contributions}
        for d in DIMENSIONS.values():
            if d["scale"] and d["name"] != "point" and optional.get(d["name"], True):
                extent[d["name"]] = self._shape(d["scale"], None)[0]
        expected = {"holders/kinds": ["holder"], "holders/assets": ["holder"], "holders/value": ["holder"],
                    "avs/assets": ["avs"], "pools/assets": ["pool"], "pools/balance": ["pool"],
                    "assets/usd_price": ["asset"]}
        if self.has_tokens:
            expected["tokens/holders"] = ["token"]
        if self.has_lending:
            expected.update({"lending_markets/tokens": ["lending_market"], "lending_markets/debt_eth": ["lending_market"]})
        for o in SCHEMA["summaries"] + (SCHEMA["trial_records"] if self.has_records else []):
            if self._present(o["path"]):
                expected[o["path"]] = o["dims"]
            elif o["path"] in f:
                why = {"weights": "the file of a plain run (no root attribute weighted = 1)",
                       "tokens": "a file without /tokens/names", "lending_markets": "a file without /lending_markets/names",
                       "thresholds": "a file without /summary/loss/thresholds",
                       "contributions": "a file without /summary/contributions"}
                raise ResultsError(f"{self.path}: /{o['path']} in {why[NEEDS[o['path']]]}")
        for path, dims in expected.items():
            if path in f or path not in ADDED_LATER:  # absent from files of earlier versions
                self._shape(path, tuple(extent[d] for d in dims), dims)

    def _shape(self, path, expected, dims=None):
        f = self._file
        if path not in f or not isinstance(f[path], h5py.Dataset):
            raise ResultsError(f"{self.path}: no dataset /{path}")
        shape = f[path].shape
        if expected is None and (shape is None or len(shape) != 1):
            raise ResultsError(f"{self.path}: /{path} has shape {list(shape or ())}, expected one axis")
        if expected is not None and shape != expected:
            raise ResultsError(f"{self.path}: /{path} has shape {list(shape)}, expected {list(expected)} "
                               f"({', '.join(dims)})")
        return shape

    def _read_tilt(self) -> Tilt:
        f = self._file
        if "tilt" not in f:
            raise ResultsError(f"{self.path}: weighted = 1 but no /tilt")
        n = self._shape("tilt/sources", None)[0]
        values = {}
        for name in ("rate_factor", "size_exponent"):
            self._shape(f"tilt/{name}", (n,), ["source"])
            v = f[f"tilt/{name}"][()]
            bad = np.flatnonzero(~(np.isfinite(v) & (v > 0)))
            if bad.size:
                raise ResultsError(f"{self.path}: /tilt/{name}[{bad[0]}] is {v[bad[0]]}, expected finite and > 0")
            values[name] = v
        defensive = float(f["tilt"].attrs["defensive"])
        if not 0.0 <= defensive < 1.0:
            raise ResultsError(f"{self.path}: /tilt attribute defensive is {defensive}, expected in [0, 1)")
        return Tilt(_strings(f["tilt/sources"]), values["rate_factor"], values["size_exponent"], defensive)

    def close(self):
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return (f"<Results {self.path!r}: scenario {self.scenario_name!r}, {self.n_trials} trials, "
                f"seed {self.seed}, {len(self.holders)} holders, records={self.has_records}"
                f"{', weighted' if self.weighted else ''}>")

    # --- index ------------------------------------------------------------------------------------

    @property
    def holder_names(self) -> list[str]:
        return [h.name for h in self.holders]

    @property
    def holder_kinds(self) -> list[str]:
        return [h.kind for h in self.holders]

    @property
    def holder_assets(self) -> list[str]:
        return [h.asset for h in self.holders]

    @property
    def holder_value(self) -> np.ndarray:
        """[H] initial value, each in units of its holder's asset (holder_assets)."""
        return np.array([h.value for h in self.holders])

    @property
    def holder_value_usd(self) -> np.ndarray:
        """[H] initial value in USD; NaN for a holder whose asset has no price."""
        return np.array([h.value_usd for h in self.holders])

    def usd_price(self, asset: str) -> float:
        """USD per unit of `asset` from the scenario's [prices_usd]; NaN if it gives none."""
        return self.usd_prices.get(asset, math.nan)

    @property
    def assets_held(self) -> list[str]:
        """The assets of the holders, in /assets/names order (usually just ["ETH"])."""
        held = set(self.holder_assets)
        return [a for a in self.asset_names if a in held]

    def holder_index(self, name: str) -> int:
        for h in self.holders:
            if h.name == name:
                return h.index
        raise KeyError(f"no holder {name!r} in {self.path} (holders: {', '.join(self.holder_names)})")

    def holders_of_kind(self, kind: str) -> list[Holder]:
        return [h for h in self.holders if h.kind == kind]

    @property
    def label(self) -> str:
        """Short name of the run for legends: scenario name, trials and seed."""
        return f"{self.scenario_name} ({self.n_trials:,} trials, seed {self.seed})"

    @property
    def scenario(self) -> dict | None:
        """The scenario text parsed with tomllib (None if it does not parse)."""
        if self._scenario is None:
            try:
                self._scenario = tomllib.loads(self.scenario_text)
            except tomllib.TOMLDecodeError:
                self._scenario = {}
        return self._scenario or None

    # --- per-trial data ---------------------------------------------------------------------------

    def _require_records(self, what: str):
        if not self.has_records:
            raise NoRecordsError(
                f"{self.path}: {what} needs per-trial data, but this run was written with "
                f"--no-records (root attribute records = 0, no /trials group). Only /summary is "
                f"available (quantiles from a sketch, relative error {self.quantile_relative_error:g}); "
                f"rerun without --no-records for per-trial arrays.")

    def trials(self, name: str) -> np.ndarray:
        """Per-trial dataset /trials/NAME as a numpy array (read once, then cached)."""
        if name not in TRIAL_DATASETS:
            raise KeyError(f"no per-trial dataset {name!r}; there are {', '.join(TRIAL_DATASETS)}")
        self._require_records(f"/trials/{name}")
        if "trials/" + name in WEIGHTED_ONLY and not self.weighted:
            raise KeyError(f"{self.path}: no /trials/{name}: a plain run (every trial weighs 1)")
        if not self._present("trials/" + name):
            raise KeyError(f"{self.path}: no /trials/{name}: the run has no {NEEDS['trials/' + name].replace('_', ' ')}")
        if name not in self._cache:
            x = self._file["trials"][name][()]
            if name == "weight":
                bad = np.flatnonzero(~(np.isfinite(x) & (x >= 0)))
                if bad.size:
                    raise ResultsError(f"{self.path}: /trials/weight: trial {bad[0]} weighs {x[bad[0]]}, "
                                       f"expected a finite weight >= 0")
            self._cache[name] = x
        return self._cache[name]

    @property
    def weight(self) -> np.ndarray | None:
        """[N] each trial's weight, its likelihood ratio, in a weighted (importance-sampled) run;
        None in plain Monte Carlo, where every trial weighs 1. Every statistic of a weighted file
        must weigh the trials by it (restake_analysis.statistics takes it as `w`)."""
        return self.trials("weight") if self.weighted else None

    @property
    def tail(self) -> dict | None:
        """The target of a `run --tail` (/tail): holder, loss level x, quantile level (0 for a loss
        target), and the run's estimates there: probability P(loss >= x) and its standard error,
        and for a quantile target the quantile and its batch-means standard error (NaN without
        records). None for any other run."""
        if "tail" not in self._file:
            return None
        a = self._file["tail"].attrs
        keys = ("holder", "holder_name", "loss", "quantile_level", "probability", "probability_stderr", "quantile",
                "quantile_stderr")
        missing = [k for k in keys if k not in a]
        if missing:
            raise ResultsError(f"{self.path}: /tail lacks the attribute {missing[0]}")
        out = {k: a[k] for k in keys}
        out["holder"] = int(out["holder"])
        out["holder_name"] = out["holder_name"].decode() if isinstance(out["holder_name"], bytes) else str(out["holder_name"])
        if not 0 <= out["holder"] < len(self.holder_names):
            raise ResultsError(f"{self.path}: /tail attribute holder is {out['holder']}, expected one of the "
                               f"{len(self.holder_names)} holders")
        return out

    @property
    def estimator(self) -> str:
        """Which estimator produced the file's figures, as the reports say it."""
        return "importance sampling" if self.weighted else "plain Monte Carlo"

    @property
    def loss_fraction(self) -> np.ndarray:
        """[N, H] loss net of coverage, fraction of initial value."""
        return self.trials("loss_fraction")

    @property
    def net_return(self) -> np.ndarray:
        """[N, H] net return over the horizon, fraction of initial value."""
        return self.trials("net_return")

    @property
    def covered_fraction(self) -> np.ndarray:
        return self.trials("covered_fraction")

    @property
    def loss_by_cause(self) -> np.ndarray:
        """[N, H, C] gross loss by cause (axis C is loss_causes), fraction of initial value."""
        return self.trials("loss_by_cause")

    @property
    def avs_stake_lost(self) -> np.ndarray:
        """[N, A] holders' stake removed by each AVS's slashings, in units of the AVS's asset."""
        return self.trials("avs_stake_lost")

    @property
    def pool_drawdown(self) -> np.ndarray:
        """[N, P] paid out by each pool, in units of the pool's asset."""
        return self.trials("pool_drawdown")

    @property
    def gross_loss(self) -> np.ndarray:
        """[N, H] gross loss (before coverage): loss_by_cause summed over causes."""
        return self.loss_by_cause.sum(axis=2)

    def drop_cache(self):
        """Forget the per-trial arrays read so far (they are re-read on next use)."""
        self._cache.clear()

    # --- pandas -----------------------------------------------------------------------------------

    def summary_frame(self):
        """One row per holder: kind, asset, value (in units of asset), value_usd (NaN without a
        price) and every /summary statistic (fractions of initial value, probabilities), quantiles
        as columns like loss_q0.999 and return_q0.01."""
        import pandas as pd
        s = self.summary
        cols = {"kind": self.holder_kinds, "asset": self.holder_assets, "value": self.holder_value,
                "value_usd": self.holder_value_usd}
        for k in ("mean", "stderr", "sd", "p_loss", "var95", "var99", "es95", "es99"):
            cols[f"loss_{k}" if k in ("mean", "stderr", "sd") else k] = s.loss[k]
        for i, p in enumerate(s.loss_levels):
            cols[f"loss_q{p:g}"] = s.loss["quantiles"][:, i]
        for k in ("mean", "stderr", "sd", "p_negative"):
            cols[f"return_{k}" if k != "p_negative" else "p_negative_return"] = s.net_return[k]
        for i, p in enumerate(s.return_levels):
            cols[f"return_q{p:g}"] = s.net_return["quantiles"][:, i]
        cols["covered_mean"] = s.covered_mean
        if s.loss_at_market is not None:  # runs with tokens: the loss valued at market price
            for k in ("mean", "var95", "var99", "es99"):
                cols[f"loss_at_market_{k}"] = s.loss_at_market[k]
        df = pd.DataFrame(cols, index=pd.Index(self.holder_names, name="holder"))
        return df

    def loss_by_cause_frame(self):
        """Mean gross loss by cause: holders x causes, fraction of initial value."""
        import pandas as pd
        return pd.DataFrame(self.summary.loss_by_cause_mean,
                            index=pd.Index(self.holder_names, name="holder"),
                            columns=pd.Index(self.loss_causes, name="cause"))

    def _prices(self, assets: list[str]) -> np.ndarray:
        return np.array([self.usd_price(a) for a in assets], dtype=np.float64)

    def avs_frame(self):
        """One row per AVS: asset, mean holders' stake slashed (units of asset, and USD: NaN
        without a price), P(slashes holders' stake)."""
        import pandas as pd
        lost = self.summary.avs_stake_lost_mean
        return pd.DataFrame({"asset": self.avs_assets, "stake_lost_mean": lost,
                             "stake_lost_mean_usd": lost * self._prices(self.avs_assets),
                             "p_slashed": self.summary.avs_p_slashed},
                            index=pd.Index(self.avs_names, name="avs"))

    def pools_frame(self):
        """One row per pool: asset, balance and mean drawdown (units of asset, and USD: NaN
        without a price), P(exhausted)."""
        import pandas as pd
        price = self._prices(self.pool_assets)
        return pd.DataFrame({"asset": self.pool_assets, "balance": self.pool_balance,
                             "balance_usd": self.pool_balance * price,
                             "drawdown_mean": self.summary.pool_drawdown_mean,
                             "drawdown_mean_usd": self.summary.pool_drawdown_mean * price,
                             "p_exhausted": self.summary.pool_p_exhausted},
                            index=pd.Index(self.pool_names, name="pool"))

    def tokens_frame(self):
        """One row per token (empty without [[token]]): its holder and /summary/token/* - prices in
        ETH per token (1 at the start), P(depeg), mean depeg days, mean tokens sold."""
        import pandas as pd
        cols = {"holder": self.token_holders}
        cols.update({k: v for k, v in (self.summary.token or {}).items()})
        return pd.DataFrame(cols, index=pd.Index(self.token_names, name="token"))

    def lending_frame(self):
        """One row per lending market (empty without [[lending_market]]): its token, debt_eth and
        /summary/lending/* (bad debt in ETH, and in USD: NaN without an ETH price)."""
        import pandas as pd
        cols = {"token": self.lending_tokens, "debt_eth": self.lending_debt_eth}
        cols.update({k: v for k, v in (self.summary.lending or {}).items()})
        df = pd.DataFrame(cols, index=pd.Index(self.lending_names, name="lending_market"))
        if self.has_lending:
            eth = self.usd_price("ETH")
            df["bad_debt_mean_usd"] = df["bad_debt_mean"] * eth
            df["bad_debt_var95_usd"] = df["bad_debt_var95"] * eth
        return df

    def price_paths(self):
        """The price paths of each token's worst trials (/price_paths; docs/output-format.md) as a
        tidy pandas frame, a row per step of a market episode: token (name), trial (index), rank (0:
        the token's worst trial), min_price (the trial's lowest price, the ranking metric), episode
        (the token's episodes in the trial from 0), day (from the trial's start), price and nav (ETH
        per token). Rows in the order token, rank, episode, day. Empty, with these columns, for a
        file without price paths (no [[token]], or run with --price-paths 0)."""
        import pandas as pd
        columns = ["token", "trial", "rank", "min_price", "episode", "day", "price", "nav"]
        if not self.has_price_paths:
            return pd.DataFrame({c: [] for c in columns})
        f = self._file
        if not self.has_tokens:
            raise ResultsError(f"{self.path}: /price_paths in a file without /tokens/names")
        shapes = {}
        for name, dims in PRICE_PATH_DATASETS.items():
            path = "price_paths/" + name
            if path not in f or not isinstance(f[path], h5py.Dataset):
                raise ResultsError(f"{self.path}: no dataset /{path}")
            shapes[name] = f[path].shape
        k, worst = len(self.token_names), shapes["trial"][1] if len(shapes["trial"]) == 2 else -1
        extent = {"token": k, "worst": worst, "path_point": shapes["day"][0] if len(shapes["day"]) == 1 else -1}
        for name, dims in PRICE_PATH_DATASETS.items():
            expected = tuple(extent[d] for d in dims)
            if shapes[name] != expected:
                raise ResultsError(f"{self.path}: /price_paths/{name} has shape {list(shapes[name])}, expected "
                                   f"{list(expected)} ({', '.join(dims)})")
        g = f["price_paths"]
        token, rank = g["token"][()].astype(np.int64), g["rank"][()].astype(np.int64)
        for name, values, bound in (("token", token, k), ("rank", rank, worst)):
            bad = np.flatnonzero((values < 0) | (values >= bound))
            if bad.size:
                raise ResultsError(f"{self.path}: /price_paths/{name}[{bad[0]}] is {values[bad[0]]}, expected in [0, {bound})")
        trials, lows = g["trial"][()], g["min_price"][()]
        return pd.DataFrame({
            "token": pd.Categorical.from_codes(token, categories=self.token_names) if k else [],
            "trial": trials[token, rank].astype(np.int64),
            "rank": rank,
            "min_price": lows[token, rank],
            "episode": g["episode"][()].astype(np.int64),
            "day": g["day"][()],
            "price": g["price"][()],
            "nav": g["nav"][()],
        })

    def contributions_frame(self, statistic: str = "es99", by: str = "cause"):
        """Risk contributions (run --contributions) to each holder's ES 99% or VaR 99%, shares of its
        initial value: contributors as rows, holders as columns. `by` is "cause", "avs" or "operator",
        each with a row "coverage" (what pools paid back, <= 0) so a column adds up to the statistic;
        "avs" also has "(no AVS)" for the gross losses no AVS caused. "total": the statistic itself
        (a Series by holder)."""
        import pandas as pd
        if not self.has_contributions:
            raise ResultsError(f"{self.path}: no risk contributions (its run had no --contributions)")
        if statistic not in ("es99", "var99"):
            raise ValueError(f"statistic must be 'es99' or 'var99', got {statistic!r}")
        group = self._file["summary/contributions/" + statistic]
        if by == "total":
            return pd.Series(group["total"][()], index=self.holder_names, name=statistic)
        rows = {"cause": self.loss_causes, "avs": self.avs_names, "operator": self.operator_names}
        if by not in rows:
            raise ValueError(f"by must be 'cause', 'avs', 'operator' or 'total', got {by!r}")
        df = pd.DataFrame(group[by][()].T, index=list(rows[by]), columns=self.holder_names)
        if by == "avs":
            df.loc["(no AVS)"] = group["avs_other"][()]
        df.loc["coverage"] = group["coverage"][()]
        df.attrs.update(unit="fraction of initial value", statistic=statistic, by=by)
        return df

    def trials_frame(self, name: str = "loss_fraction"):
        """A per-trial dataset as a DataFrame indexed by trial: columns are holders (for [N, H]),
        AVSs, pools, or (holder, cause) pairs for loss_by_cause. For large runs prefer the numpy
        arrays (trials(), loss_fraction, ...): this copies them."""
        import pandas as pd
        x = self.trials(name)
        index = pd.RangeIndex(x.shape[0], name="trial")
        dims = next(o["dims"] for o in SCHEMA["trial_records"] if o["path"] == "trials/" + name)[1:]
        if not dims:  # [trial] (weight)
            return pd.DataFrame({name: x}, index=index)
        labels = {"holder": self.holder_names, "avs": self.avs_names, "pool": self.pool_names,
                  "cause": self.loss_causes, "token": self.token_names, "lending_market": self.lending_names}
        cols = pd.MultiIndex.from_product([labels[d] for d in dims], names=dims) if len(dims) > 1 \
            else pd.Index(labels[dims[0]], name=dims[0])
        return pd.DataFrame(x.reshape(x.shape[0], -1), index=index, columns=cols)

    # --- tidy frames and xarray (restake_analysis.frames) ----------------------------------------------

    def estimates_frame(self, intervals_from_records: bool = False):
        """Every per-holder estimate of /summary as a tidy pandas frame, one row per (holder,
        metric), as OpenMC's Tally.get_pandas_dataframe(): columns holder, metric (the column names
        of summary_frame: loss_mean, p_loss, var99, loss_q0.999, return_mean, covered_mean, ...),
        estimate, stderr, ci_low, ci_high (95%), interval (how it was computed: "normal",
        "wilson", "batch means", "order statistics", or "" for none), unit, asset, amount (estimate
        x the holder's initial value, in its asset, for fractions of value; NaN otherwise) and
        amount_usd (NaN without a price). df.attrs: units (of each column), metric_units, seed,
        trials, scenario (text), scenario_name, program_version, git_commit, estimator, file.
        Intervals come from the stored summary; intervals_from_records=True adds the report's
        intervals from the trials (order statistics, batch means) where the summary has none."""
        from .frames import estimates_frame
        return estimates_frame(self, intervals_from_records)

    def cause_holder_frame(self, intervals_from_records: bool = False):
        """Mean gross loss by cause (/summary/loss_by_cause_mean) as a tidy frame, one row per
        (cause, holder), with the columns and attrs of estimates_frame; the standard error and
        normal interval of each mean come from the trials (intervals_from_records=True; else NaN)."""
        from .frames import cause_holder_frame
        return cause_holder_frame(self, intervals_from_records)

    def avs_holder_frame(self):
        """The exact AVS x holder loss (/summary/avs_holder_loss_mean) as a tidy frame, one row per
        (avs, holder), with the columns and attrs of estimates_frame (no standard error: the file
        has no per-trial [N, A, H] data)."""
        from .frames import avs_holder_frame
        return avs_holder_frame(self)

    def trials_long(self, *names: str):
        """Per-trial records in long form: one row per trial and entry of the other axes, columns
        trial, the axes (holder, cause, avs, ...: categoricals) and one column per dataset named
        (all of one shape, e.g. trials_long("loss_fraction", "net_return")), plus weight in a
        weighted run. df.attrs: units of each data column and the run's provenance. Copies the data."""
        from .frames import trials_long
        return trials_long(self, names)

    def to_xarray(self, group: str = "summary"):
        """/summary (or group="trials": the per-trial records) as an xarray.Dataset: one variable per
        dataset (loss/mean -> loss_mean), dimensions named by the file's axis labels, coordinates
        read from its dimension scales (holder names, loss_quantile levels, ...), each variable's
        units and description as attributes, the run's provenance as the Dataset's. Needs xarray
        (Debian's python3-xarray); ImportError saying so without it."""
        from .frames import to_xarray
        return to_xarray(self, group)

    # --- statistics recomputed from the records -----------------------------------------------------

    def recompute_summary(self, columns=None) -> dict:
        """The order statistics, probabilities and moments of /summary recomputed in Python from
        /trials with restake_analysis.statistics (docs/statistics.md): {"loss": {...}, "net_return":
        {...}} with arrays over holders, in the layout of Summary.loss / Summary.net_return. A
        weighted run's trials are weighed by /trials/weight, and "weights" holds the run's effective
        sample size and largest weight's share, as /summary/weights. `columns`: this file's
        scan.TrialColumns if already at hand (the report's, read in blocks; their sorts are reused)."""
        from . import statistics as st
        from .scan import TrialColumns
        self._require_records("recomputing the summary")
        w = self.weight
        cols = columns if columns is not None else TrialColumns.of(self)
        out = {"loss": {}, "net_return": {}}
        for key, column, ordered, fn in (("loss", cols.loss, cols.sorted_loss, st.summarize_loss),
                                         ("net_return", cols.net_return, cols.sorted_return, st.summarize_return)):
            per_holder = [fn(column(h), w, presorted=ordered(h)) for h in range(len(self.holders))]
            for field in per_holder[0]:
                out[key][field] = np.array([d[field] for d in per_holder])
        if w is not None:
            ess, share = st.weight_spread(w)
            out["weights"] = {"effective_sample_size": ess, "max_weight_share": share}
        return out

    def summary_mismatch(self, columns=None) -> dict:
        """Largest differences between the stored C++ summary and the Python recomputation: order
        statistics, probabilities and weight diagnostics are compared exactly (NaN equals NaN),
        moments and batch-means standard errors relatively (they differ only in summation order).
        Returns {field: max difference}. `columns` as for recompute_summary."""
        mine = self.recompute_summary(columns)
        diff = {}
        groups = [("loss", self.summary.loss), ("net_return", self.summary.net_return)]
        if "weights" in mine:
            groups.append(("weights", self.summary.weights))
        for key, stored in groups:
            for field, value in mine[key].items():
                a, b = np.asarray(stored[field], dtype=np.float64), np.asarray(value, dtype=np.float64)
                d = np.where(np.isnan(a) & np.isnan(b), 0.0, np.abs(a - b))
                if field in RELATIVE_FIELDS:  # relative, and absolute below 1e-9 (an sd of equal values: 0 or 1e-21)
                    d = d / np.maximum(np.abs(a), 1e-9)
                diff[f"{key}.{field}"] = float(np.nanmax(np.where(np.isnan(d), np.inf, d))) if d.size else 0.0
        return diff
