"""Reader and plots of restake-sim sweep files (docs/sweeps.md, format_version 1, or 2 with string or
boolean parameters).

    from restake_analysis import Sweep, plot_sweep_metric, plot_sweep_heatmap
    with Sweep("results/oracle-slash-rate.h5") as s:
        fig = plot_sweep_metric(s, s.parameters[0], "loss/mean")
        fig.savefig("loss-vs-rate.png")

Every point of a sweep was simulated with the same seed and the same per-trial random streams
(common random numbers), so the differences between points are the parameters' effect, not noise:
a curve over one parameter is smooth even at modest trial counts.
"""
from __future__ import annotations

import os
import tomllib

import h5py
import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402
import numpy as np  # noqa: E402

from .results import SCHEMA, FormatVersionError, ResultsError  # noqa: E402

SWEEP_FILE_TYPE = "restake-sim sweep"
SWEEP_FORMAT_VERSIONS = (1, 2)  # 2: some /points/values are label indices (string, boolean parameters)


def _attr_str(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _unquote(label: str) -> str:
    """A label as text: a TOML string decoded (escapes and all), anything else as written."""
    if label[:1] in ("\"", "'"):
        return tomllib.loads(f"v = {label}")["v"]
    return label


def _number_label(v: float) -> str:
    """A number as the C++ writes it into a scenario: whole values as integers, else shortest repr."""
    return str(int(v)) if float(v).is_integer() and abs(v) < 9.0e15 else repr(float(v))


class Sweep:
    """A sweep file: points x parameters, and every /summary dataset with a leading point axis."""

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        try:
            self._f = h5py.File(self.path, "r")
        except OSError as e:
            raise ResultsError(f"{self.path}: cannot open as HDF5: {e}") from e
        a = self._f.attrs
        if _attr_str(a.get("file_type", "")) != SWEEP_FILE_TYPE:
            self.close()
            raise ResultsError(f"{self.path}: not a restake-sim sweep file")
        if int(a["format_version"]) not in SWEEP_FORMAT_VERSIONS:
            self.close()
            raise FormatVersionError(f"{self.path}: sweep format version {int(a['format_version'])} "
                                     f"is not supported (this reader knows {SWEEP_FORMAT_VERSIONS})")
        if int(a["complete"]) != 1:
            self.close()
            raise ResultsError(f"{self.path}: incomplete sweep")
        f = self._f
        self.parameters: list[str] = [str(s) for s in f["points/parameters"].asstr()[()]]
        self.values: np.ndarray = f["points/values"][()]  # [P, K]; strings, booleans: label index
        if "labels" in f["points"]:
            # each value as written into the scenario (TOML: "0.01", "\"electra\"", "true"), [P, K]
            self.labels: np.ndarray = f["points/labels"].asstr()[()]
            self.kinds: list[str] = [str(s) for s in f["points/kinds"].asstr()[()]]
        else:  # written before strings and booleans could be swept: every parameter a number
            self.labels = np.array([[_number_label(v) for v in row] for row in self.values], dtype=object)
            self.kinds = ["number"] * len(self.parameters)
        self.holder_names: list[str] = [str(s) for s in f["holders/names"].asstr()[()]]
        # The market layer's entities: only in sweeps of a world with [[token]] / [[lending_market]].
        self.token_names: list[str] = [str(s) for s in f["tokens/names"].asstr()[()]] if "tokens" in f else []
        self.lending_names: list[str] = \
            [str(s) for s in f["lending_markets/names"].asstr()[()]] if "lending_markets" in f else []
        self.mode = _attr_str(a["mode"])
        self.seed = int(a["seed"])
        self.trials = int(a["trials"])
        # A weighted (importance-sampled) sweep: every point drawn with the one tilt in /tilt; its
        # summaries are weighted estimates, and summary/weights holds each point's effective sample size.
        self.weighted = "weighted" in a
        self.effective_sample_size = f["summary/weights/effective_sample_size"][()] if self.weighted else None

    def close(self):
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def points(self) -> int:
        return self.values.shape[0]

    def is_categorical(self, parameter: str) -> bool:
        """A string or boolean parameter (a fork, a slashing mode, a switch): its values are label indices."""
        return self.kinds[self._param(parameter)] != "number"

    def parameter_labels(self, parameter: str) -> list[str]:
        """The value of one parameter at every point as text, [P]: strings without their TOML quotes."""
        return [_unquote(str(v)) for v in self.labels[:, self._param(parameter)]]

    def parameter_values(self, parameter: str) -> np.ndarray:
        """The values of one parameter at every point, [P]."""
        return self.values[:, self._param(parameter)]

    def metric(self, name: str, holder: str | int = 0, quantile: int | None = None) -> np.ndarray:
        """A /summary dataset for one holder at every point, [P]: e.g. "loss/mean", "loss/es99",
        "net_return/mean", "covered_mean"; "loss/quantiles" needs the index of the level. The market
        layer's token and lending-market summaries ("token/p_depeg", "lending/bad_debt_var95") take
        the token's or the market's name (or index) in place of the holder."""
        ds = self._f["summary/" + name]
        if ds.ndim < 2 or ds.shape[0] != self.points:
            raise KeyError(f"{name}: not a per-point, per-holder summary")
        axis = next((o["dims"][0] for o in SCHEMA["summaries"] if o["path"] == "summary/" + name and o["dims"]), "holder")
        names = {"token": self.token_names, "lending_market": self.lending_names}.get(axis)
        if names is None:
            x = ds[()][:, self._holder(holder)]
        elif isinstance(holder, int):
            x = ds[()][:, holder]
        elif holder in names:
            x = ds[()][:, names.index(holder)]
        else:
            raise KeyError(f"no {axis.replace('_', ' ')} {holder!r} ({', '.join(names)})")
        if x.ndim == 2:
            if quantile is None:
                raise KeyError(f"{name} has a level axis: give quantile=<index>")
            x = x[:, quantile]
        return x

    def grid(self, x: str, y: str, metric: str, holder: str | int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x values, y values, metric [len(y), len(x)]) over a full grid of two parameters. Any other
        parameter must be constant (one value) across the points."""
        ix, iy = self._param(x), self._param(y)
        for k in range(len(self.parameters)):
            if k not in (ix, iy) and np.unique(self.values[:, k]).size > 1:
                raise ValueError(f"{self.parameters[k]} varies too: a heatmap needs the others fixed")
        xs, ys = np.unique(self.values[:, ix]), np.unique(self.values[:, iy])
        m = np.full((ys.size, xs.size), np.nan)
        v = self.metric(metric, holder)
        for p in range(self.points):
            m[np.searchsorted(ys, self.values[p, iy]), np.searchsorted(xs, self.values[p, ix])] = v[p]
        if np.isnan(m).any():
            raise ValueError(f"the points do not cover the full {xs.size} x {ys.size} grid of {x} and {y}")
        return xs, ys, m

    def estimates_frame(self):
        """Every per-holder estimate of every point as a tidy pandas frame, one row per (point,
        holder, metric): columns point, point_name, each parameter's value (numbers as numbers,
        strings and booleans as text), then those of Results.estimates_frame (intervals from the
        stored summaries; amounts at the point's holder values and prices). df.attrs: seed, trials,
        mode, parameters, scenario and sweep texts, program_version, units."""
        from .frames import sweep_estimates_frame
        return sweep_estimates_frame(self)

    def to_xarray(self, group: str = "summary"):
        """/summary (or group="trials", with --records) as an xarray.Dataset with a point dimension
        (coordinate: /points/names, its dimension scale) and each parameter as a coordinate along
        it; otherwise as Results.to_xarray. Needs xarray (Debian's python3-xarray)."""
        from .frames import sweep_to_xarray
        return sweep_to_xarray(self, group)

    def _param(self, parameter: str) -> int:
        try:
            return self.parameters.index(parameter)
        except ValueError:
            raise KeyError(f"no parameter {parameter!r} (parameters: {', '.join(self.parameters)})") from None

    def _holder(self, holder: str | int) -> int:
        if isinstance(holder, int):
            return holder
        try:
            return self.holder_names.index(holder)
        except ValueError:
            raise KeyError(f"no holder {holder!r} (holders: {', '.join(self.holder_names)})") from None


def plot_sweep_metric(s: Sweep, parameter: str, metric: str = "loss/mean",
                      holders: list[str] | None = None, log_x: bool = False, by: str | None = None) -> Figure:
    """A metric against one parameter in percent, with its 95% band where the file has one; one line
    per holder (all holders by default), or with `by` (a second grid parameter) one panel per holder
    and one line per value of `by`. Labels and units: sweep_report.plot_metric."""
    from .sweep_report import plot_metric
    return plot_metric(s, parameter, metric, holders, by=by, log_x=log_x)


def plot_sweep_heatmap(s: Sweep, x: str, y: str, metric: str = "loss/mean", holder: str | int = 0) -> Figure:
    """A metric of one holder over a grid of two parameters (cell [i, j]: y value i, x value j), ticks
    in the parameters' units, cells in percent: sweep_report.plot_heatmap."""
    from .sweep_report import plot_heatmap
    return plot_heatmap(s, x, y, metric, holder)
