"""Tidy pandas frames and xarray Datasets of results and sweep files.

After OpenMC's Tally.get_pandas_dataframe(): one row per estimate, with its standard error, its
95% interval and its unit, amounts beside fractions, and the run's provenance in `df.attrs`:

    with Results("results/default.h5") as r:
        df = r.estimates_frame()        # holder, metric, estimate, stderr, ci_low, ci_high, interval,
                                        # unit, asset, amount, amount_usd
        df.attrs["seed"], df.attrs["units"]["amount_usd"]
        ds = r.to_xarray()              # xarray.Dataset, dimensions named as the file names them

Intervals, from the stored summary (no per-trial data needed):
- a mean with a stored standard error (loss/mean, net_return/mean): estimate +/- 1.96 se ("normal");
- a probability of a plain run (p_loss, p_negative_return): standard error sqrt(p (1 - p) / n) and
  Wilson's interval, as the report ("wilson");
- VaR 99% and ES 99% of a weighted run: the stored batch-means standard errors
  (/summary/loss/var99_stderr, es99_stderr), estimate +/- t(0.975, 19) se over the 20 batches, as
  `restake-sim summary` prints them ("batch means");
- anything else has none (NaN, interval ""). With `intervals_from_records=True` a file with records
  also gets the report's intervals from the trials (restake_analysis.statistics): order-statistic
  intervals for a plain run's quantiles and VaR and a normal one for its ES, batch means for a
  weighted run's quantiles, VaR and ES, normal ones for the means without a stored error
  (covered_mean, loss by cause) and for a weighted run's probabilities.

xarray is a soft dependency (Debian's python3-xarray): it is imported only by to_xarray().
"""
from __future__ import annotations

import math

import h5py
import numpy as np

from . import statistics as st
from .results import DIMENSIONS, SCHEMA

# Student's t quantile at 0.975 with 19 degrees of freedom: the 95% interval of a batch-means
# estimate over the C++ summary's 20 batches (boost::math::students_t(19), as restake-sim prints it).
T19_975 = 2.093024054408263
FRACTION = "fraction of initial value"
PROBABILITY = "probability"
ESTIMATE_COLUMNS = ["estimate", "stderr", "ci_low", "ci_high", "interval", "unit", "asset", "amount", "amount_usd"]
UNITS_OF_COLUMNS = {
    "estimate": "the row's unit (column unit)",
    "stderr": "the row's unit (column unit)",
    "ci_low": "the row's unit (column unit)",
    "ci_high": "the row's unit (column unit)",
    "amount": "units of the row's asset (column asset): estimate x the holder's initial value; NaN unless "
              "the unit is a fraction of initial value",
    "amount_usd": "USD: amount x the asset's USD price; NaN without a price",
}
_SCHEMA_DIMS = {o["path"]: o["dims"] for o in SCHEMA["trial_records"] + SCHEMA["summaries"]}
_SCHEMA_UNITS = {o["path"]: o.get("unit", "") for o in SCHEMA["trial_records"] + SCHEMA["summaries"]}


def _need_pandas():
    import pandas as pd
    return pd


def _need_xarray():
    try:
        import xarray as xr
    except ImportError:
        raise ImportError("to_xarray() needs xarray, which is not installed: on Debian 12, "
                          "`apt-get install python3-xarray` (the frames and the rest of restake_analysis "
                          "work without it)") from None
    return xr


# --- the estimates of one run's summary -------------------------------------------------------------

def _metrics(levels_loss, levels_return, market: bool) -> list[tuple[str, str, int | None, str]]:
    """(metric, summary dataset, column of a level axis or None, unit): the metric names are the
    columns of Results.summary_frame()."""
    out = [("loss_mean", "loss/mean", None, FRACTION), ("loss_sd", "loss/sd", None, FRACTION),
           ("p_loss", "loss/p_loss", None, PROBABILITY)]
    out += [(k, f"loss/{k}", None, FRACTION) for k in ("var95", "var99", "es95", "es99")]
    out += [(f"loss_q{p:g}", "loss/quantiles", i, FRACTION) for i, p in enumerate(levels_loss)]
    out += [("return_mean", "net_return/mean", None, FRACTION), ("return_sd", "net_return/sd", None, FRACTION),
            ("p_negative_return", "net_return/p_negative", None, PROBABILITY)]
    out += [(f"return_q{p:g}", "net_return/quantiles", i, FRACTION) for i, p in enumerate(levels_return)]
    out.append(("covered_mean", "covered_mean", None, FRACTION))
    if market:
        out += [(f"loss_at_market_{k}", f"loss_at_market/{k}", None, FRACTION) for k in ("mean", "var95", "var99", "es99")]
    return out


def _stored_interval(get, path: str, h: int, x: float, n: int, weighted: bool):
    """(stderr, low, high, method) of one stored estimate from the stored summary alone."""
    if path in ("loss/mean", "net_return/mean"):
        se = float(get(path.replace("mean", "stderr"))[h])
        return se, x - st.Z95 * se, x + st.Z95 * se, "normal"
    if path in ("loss/p_loss", "net_return/p_negative") and not weighted:
        low, high = st.wilson_interval(round(x * n), n)
        return math.sqrt(x * (1.0 - x) / n), float(low), float(high), "wilson"
    if path in ("loss/var99", "loss/es99") and weighted:
        se = get(path + "_stderr")
        if se is not None and math.isfinite(float(se[h])):
            se = float(se[h])
            return se, x - T19_975 * se, x + T19_975 * se, "batch means"
    return math.nan, math.nan, math.nan, ""


def _record_interval(metric: str, column, estimate: float, x_sorted_cache, data, w, level_values):
    """(stderr, low, high, method) of one estimate from the per-trial data of one holder, as the
    report computes them (statistics.py): None when the records give none."""
    loss, ret, covered = data
    if metric == "covered_mean":
        iv = st.mean_ci(covered if w is None else w * covered)
        return (iv.high - iv.estimate) / st.Z95, iv.low, iv.high, "normal"
    if metric in ("p_loss", "p_negative_return") and w is not None:
        event = (loss > 0.0) if metric == "p_loss" else (ret < 0.0)
        iv = st.mean_ci(w * event)
        return (iv.high - iv.estimate) / st.Z95, iv.low, iv.high, "normal"
    p = None
    if metric in ("var95", "var99"):
        p, x, kind = float(metric[3:]) / 100.0, loss, "quantile"
    elif metric in ("es95", "es99"):
        p, x, kind = float(metric[2:]) / 100.0, loss, "es"
    elif metric.startswith("loss_q"):
        p, x, kind = level_values["loss"][column], loss, "quantile"
    elif metric.startswith("return_q"):
        p, x, kind = level_values["return"][column], ret, "quantile"
    if p is None:
        return None
    if w is None:
        s = x_sorted_cache(x is loss)
        iv = st.quantile_ci_sorted(s, p) if kind == "quantile" else st.expected_shortfall_ci_sorted(s, p)
        method = "order statistics" if kind == "quantile" else "normal"
        se = (iv.high - iv.estimate) / st.Z95 if kind == "es" else math.nan
        return se, iv.low, iv.high, method
    stat = (lambda s, sw: st.weighted_quantile_sorted(s, sw, p)) if kind == "quantile" else \
        (lambda s, sw: st.weighted_expected_shortfall_sorted(s, sw, p))
    se = st.batch_stderr(x, w, stat)  # weighted_batch_ci's interval, with its t quantile exact
    if not math.isfinite(se):
        return None  # under two trials a batch
    return se, estimate - T19_975 * se, estimate + T19_975 * se, "batch means"


def holder_estimate_rows(get, holder_names, values, assets, prices: dict, n: int, weighted: bool,
                         levels_loss, levels_return, records=None) -> list[dict]:
    """The rows of an estimates frame for one run (or one sweep point): `get(path)` returns the
    /summary dataset at `path` (holder axis first; None if absent), values/assets the holders'
    initial values and assets, prices asset -> USD. `records(h)` (optional) returns the holder's
    (loss, net_return, covered) columns and the weights, for intervals from the trials."""
    market = get("loss_at_market/mean") is not None
    rows = []
    for h, name in enumerate(holder_names):
        value, asset = float(values[h]), assets[h]
        price = prices.get(asset, math.nan)
        data = w = None
        sorted_cache = {}
        if records is not None:
            (data, w) = records(h)

            def x_sorted(is_loss, _d=data, _c=sorted_cache):
                key = "loss" if is_loss else "return"
                if key not in _c:
                    _c[key] = np.sort(_d[0] if is_loss else _d[1])
                return _c[key]
        for metric, path, column, unit in _metrics(levels_loss, levels_return, market):
            arr = get(path)
            x = float(arr[h] if column is None else arr[h, column])
            se, low, high, method = _stored_interval(get, path, h, x, n, weighted)
            if data is not None and not method:
                got = _record_interval(metric, column, x, x_sorted, data, w,
                                       {"loss": levels_loss, "return": levels_return})
                if got is not None:
                    se, low, high, method = got
            amount = x * value if unit == FRACTION else math.nan
            rows.append({"holder": name, "metric": metric, "estimate": x, "stderr": se, "ci_low": low, "ci_high": high,
                         "interval": method, "unit": unit, "asset": asset, "amount": amount,
                         "amount_usd": amount * price})
    return rows


def provenance(r) -> dict:
    """The attrs every frame of a results file carries."""
    return {"file": r.path, "scenario_name": r.scenario_name, "scenario": r.scenario_text, "seed": r.seed,
            "trials": r.n_trials, "horizon_days": r.horizon_days, "program_version": r.program_version,
            "git_commit": r.git_commit, "estimator": r.estimator, "usd_prices": dict(r.usd_prices)}


def _frame(rows: list[dict], columns: list[str], attrs: dict):
    pd = _need_pandas()
    df = pd.DataFrame(rows, columns=columns)
    df.attrs.update(attrs)
    return df


def estimates_frame(r, intervals_from_records: bool = False):
    """Results.estimates_frame: see there."""
    s = r.summary
    groups = {"loss": s.loss, "net_return": s.net_return, "loss_at_market": s.loss_at_market}

    def get(path):
        if "/" in path:
            g, k = path.split("/", 1)
            return (groups.get(g) or {}).get(k)
        return getattr(s, path)

    records = None
    if intervals_from_records:
        r._require_records("intervals from the records")
        loss, ret, cov, w = r.loss_fraction, r.net_return, r.covered_fraction, r.weight

        def records(h):
            return (loss[:, h], ret[:, h], cov[:, h]), w
    rows = holder_estimate_rows(get, r.holder_names, r.holder_value, r.holder_assets, r.usd_prices, r.n_trials,
                                r.weighted, s.loss_levels, s.return_levels, records)
    units = {m: u for m, _, _, u in _metrics(s.loss_levels, s.return_levels, s.loss_at_market is not None)}
    attrs = provenance(r) | {"units": dict(UNITS_OF_COLUMNS), "metric_units": units,
                             "intervals": "95%; method per row in column interval (restake_analysis.frames)"}
    return _frame(rows, ["holder", "metric"] + ESTIMATE_COLUMNS, attrs)


def cause_holder_frame(r, intervals_from_records: bool = False):
    """Results.cause_holder_frame: see there."""
    s = r.summary
    w = r.weight if intervals_from_records else None
    by_cause = r.loss_by_cause if intervals_from_records else None
    rows = []
    for h, holder in enumerate(r.holders):
        for c, cause in enumerate(r.loss_causes):
            x = float(s.loss_by_cause_mean[h, c])
            se = low = high = math.nan
            method = ""
            if by_cause is not None:
                col = by_cause[:, h, c]
                iv = st.mean_ci(col if w is None else w * col)
                se, low, high, method = (iv.high - iv.estimate) / st.Z95, iv.low, iv.high, "normal"
            amount = x * holder.value
            rows.append({"cause": cause, "holder": holder.name, "estimate": x, "stderr": se, "ci_low": low,
                         "ci_high": high, "interval": method, "unit": FRACTION, "asset": holder.asset,
                         "amount": amount, "amount_usd": amount * holder.usd_price})
    attrs = provenance(r) | {"units": dict(UNITS_OF_COLUMNS), "metric": "mean gross loss by cause (before coverage)"}
    return _frame(rows, ["cause", "holder"] + ESTIMATE_COLUMNS, attrs)


def avs_holder_frame(r):
    """Results.avs_holder_frame: see there."""
    from .results import ResultsError
    m = r.summary.avs_holder_loss_mean
    if m is None:
        raise ResultsError(f"{r.path}: no /summary/avs_holder_loss_mean (a file of an earlier restake-sim); "
                           f"contagion.avs_holder_loss attributes the AVSs' losses instead")
    rows = []
    for a, avs in enumerate(r.avs_names):
        for holder in r.holders:
            x = float(m[a, holder.index])
            amount = x * holder.value
            rows.append({"avs": avs, "holder": holder.name, "estimate": x, "stderr": math.nan, "ci_low": math.nan,
                         "ci_high": math.nan, "interval": "", "unit": FRACTION, "asset": holder.asset,
                         "amount": amount, "amount_usd": amount * holder.usd_price})
    attrs = provenance(r) | {"units": dict(UNITS_OF_COLUMNS),
                             "metric": "mean share of the holder's initial value taken by the AVS's slashings (gross)"}
    return _frame(rows, ["avs", "holder"] + ESTIMATE_COLUMNS, attrs)


def trials_long(r, names):
    """Results.trials_long: see there."""
    pd = _need_pandas()
    names = list(names)
    if not names:
        raise ValueError("trials_long needs at least one per-trial dataset name")
    dims = None
    for name in names:
        d = _SCHEMA_DIMS.get("trials/" + name)
        if d is None:
            raise KeyError(f"no per-trial dataset {name!r}")
        if dims is None:
            dims = d
        elif d != dims:
            raise ValueError(f"trials_long: {names[0]} has dimensions {dims}, {name} {d}; give datasets of one shape")
    arrays = [r.trials(n) for n in names]
    shape = arrays[0].shape
    labels = {"holder": r.holder_names, "avs": r.avs_names, "pool": r.pool_names, "cause": r.loss_causes,
              "token": r.token_names, "lending_market": r.lending_names}
    index = np.indices(shape).reshape(len(shape), -1)
    cols = {"trial": index[0]}
    for axis, d in enumerate(dims[1:], start=1):
        cols[d] = pd.Categorical.from_codes(index[axis], categories=labels[d])
    for n, x in zip(names, arrays):
        cols[n] = x.reshape(-1)
    if r.weighted and "weight" not in names:
        cols["weight"] = r.weight[index[0]]
    units = {n: _SCHEMA_UNITS["trials/" + n] for n in names} | ({"weight": "likelihood ratio"} if "weight" in cols else {})
    df = pd.DataFrame(cols)
    df.attrs.update(provenance(r) | {"units": units})
    return df


# --- sweeps ----------------------------------------------------------------------------------------

def parameter_columns(s) -> dict:
    """Each parameter's value at every point, [P]: numbers as numbers, booleans as booleans, strings
    as their text (without TOML quotes)."""
    out = {}
    for p, kind in zip(s.parameters, s.kinds):
        if kind == "boolean":
            out[p] = np.array([label == "true" for label in s.parameter_labels(p)])
        elif kind == "string":
            out[p] = np.array(s.parameter_labels(p), dtype=object)
        else:
            out[p] = s.parameter_values(p)
    return out


def sweep_estimates_frame(s):
    """Sweep.estimates_frame: see there."""
    f = s._f
    assets = [str(a) for a in f["holders/assets"].asstr()[()]]
    asset_names = [str(a) for a in f["assets/names"].asstr()[()]]
    values, prices = f["holders/value"][()], f["assets/usd_price"][()]
    levels_loss, levels_return = f["summary/loss/quantile_levels"][()], f["summary/net_return/quantile_levels"][()]
    params = parameter_columns(s)
    point_names = [str(x) for x in f["points/names"].asstr()[()]]
    cache = {}

    def dataset(path):
        if path not in cache:
            cache[path] = f["summary/" + path][()] if "summary/" + path in f else None
        return cache[path]

    rows = []
    for p in range(s.points):
        def get(path, _p=p):
            x = dataset(path)
            return None if x is None else x[_p]
        point_rows = holder_estimate_rows(get, s.holder_names, values[p], assets, dict(zip(asset_names, prices[p])),
                                          s.trials, s.weighted, levels_loss, levels_return)
        extra = {"point": p, "point_name": point_names[p]} | {k: v[p] for k, v in params.items()}
        rows += [extra | row for row in point_rows]
    attrs = {"file": s.path, "scenario_name": str(f.attrs["scenario_name"]), "scenario": str(f.attrs["scenario_text"]),
             "sweep": str(f.attrs["sweep_text"]), "seed": s.seed, "trials": s.trials, "mode": s.mode,
             "parameters": list(s.parameters), "program_version": str(f.attrs["program_version"]),
             "git_commit": str(f.attrs["git_commit"]), "units": dict(UNITS_OF_COLUMNS),
             "intervals": "95%; method per row in column interval (restake_analysis.frames)"}
    return _frame(rows, ["point", "point_name"] + list(s.parameters) + ["holder", "metric"] + ESTIMATE_COLUMNS, attrs)


# --- xarray ------------------------------------------------------------------------------------------

def _read(ds: h5py.Dataset):
    return ds.asstr()[()] if h5py.check_string_dtype(ds.dtype) is not None else ds[()]


def _variable(f: h5py.File, path: str, lead: list[str], where: str):
    """One dataset as an xarray Variable-to-be: (dims, data, attrs) with the dimension names the file
    labels its axes with (HDF5 DIMENSION_LABELS), checked against the schema; and the coordinates
    read from the dimension scales attached to its axes."""
    ds = f[path]
    dims = [d.label for d in ds.dims]
    expected = lead + _SCHEMA_DIMS[path]
    coords = {}
    if not any(dims):
        # written before restake-sim labelled its axes (the format version did not change): the
        # schema's dimensions, and the scale datasets it names
        dims = expected
        for dim in dims:
            scale = DIMENSIONS[dim]["scale"]
            if scale and scale in f:
                coords[dim] = _read(f[scale])
    elif dims != expected:
        raise ValueError(f"{where}: /{path} labels its axes {dims}, expected {expected} (docs/output-format.md)")
    else:
        for d, dim in zip(ds.dims, dims):
            if len(d) > 0:  # an attached dimension scale names the axis' entries
                coords[dim] = _read(d[0])
    attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in ds.attrs.items()
             if k in ("units",)}
    return dims, _read(ds), attrs, coords


def _variable_name(path: str, group: str) -> str:
    return path.removeprefix(group + "/").replace("/", "_")


def to_xarray(r, group: str = "summary"):
    """Results.to_xarray: see there."""
    xr = _need_xarray()
    if group not in ("summary", "trials"):
        raise ValueError(f"to_xarray: group is 'summary' or 'trials', not {group!r}")
    if group == "trials":
        r._require_records("to_xarray('trials')")
    f = r._file
    outputs = SCHEMA["summaries"] if group == "summary" else SCHEMA["trial_records"]
    data_vars, coords = {}, {}
    for o in outputs:
        if not r._present(o["path"]) or o["path"] not in f:
            continue  # absent from this run (weights, markets) or from files of earlier versions
        dims, data, attrs, c = _variable(f, o["path"], [], r.path)
        attrs["description"] = o.get("description", "")
        data_vars[_variable_name(o["path"], group)] = (dims, data, attrs)
        for k, v in c.items():
            coords.setdefault(k, v)
    if "trial" in {d for v in data_vars.values() for d in v[0]}:
        coords["trial"] = np.arange(r.n_trials)
    coords["holder_kind"] = ("holder", np.array(r.holder_kinds, dtype=object))
    coords["holder_asset"] = ("holder", np.array(r.holder_assets, dtype=object))
    coords["holder_value"] = ("holder", r.holder_value, {"units": "units of the holder's asset (holder_asset)"})
    coords["usd_price"] = ("asset", np.array([r.usd_prices[a] for a in r.asset_names]),
                           {"units": "USD per unit (NaN: not given)"})
    coords.setdefault("asset", np.array(r.asset_names, dtype=object))
    ds = xr.Dataset(data_vars, coords=coords)
    if "holder" not in ds.dims:
        ds = ds.drop_vars(["holder_kind", "holder_asset", "holder_value"])
    ds.attrs.update({k: v for k, v in provenance(r).items() if k != "usd_prices"})  # prices: coordinate usd_price
    return ds


def sweep_to_xarray(s, group: str = "summary"):
    """Sweep.to_xarray: see there."""
    xr = _need_xarray()
    if group not in ("summary", "trials"):
        raise ValueError(f"to_xarray: group is 'summary' or 'trials', not {group!r}")
    f = s._f
    if group == "trials" and "trials" not in f:
        from .results import NoRecordsError
        raise NoRecordsError(f"{s.path}: no /trials: the sweep was run without --records")
    outputs = SCHEMA["summaries"] if group == "summary" else SCHEMA["trial_records"]
    data_vars, coords = {}, {}
    for o in outputs:
        if o["path"] not in f:
            continue
        dims, data, attrs, c = _variable(f, o["path"], ["point"], s.path)
        attrs["description"] = o.get("description", "")
        data_vars[_variable_name(o["path"], group)] = (dims, data, attrs)
        for k, v in c.items():
            coords.setdefault(k, v)
    if "trial" in {d for v in data_vars.values() for d in v[0]}:
        coords["trial"] = np.arange(s.trials)
    for p, v in parameter_columns(s).items():
        coords[p] = ("point", v)
    coords["holder_value"] = (("point", "holder"), f["holders/value"][()],
                              {"units": "units of the holder's asset (holder_asset)"})
    coords["holder_asset"] = ("holder", np.array([str(a) for a in f["holders/assets"].asstr()[()]], dtype=object))
    coords["usd_price"] = (("point", "asset"), f["assets/usd_price"][()], {"units": "USD per unit (NaN: not given)"})
    coords.setdefault("asset", np.array([str(a) for a in f["assets/names"].asstr()[()]], dtype=object))
    ds = xr.Dataset(data_vars, coords=coords)
    ds.attrs.update({"file": s.path, "scenario_name": str(f.attrs["scenario_name"]), "seed": s.seed,
                     "trials": s.trials, "mode": s.mode, "parameters": list(s.parameters),
                     "program_version": str(f.attrs["program_version"]), "git_commit": str(f.attrs["git_commit"]),
                     "scenario": str(f.attrs["scenario_text"]), "sweep": str(f.attrs["sweep_text"])})
    return ds
