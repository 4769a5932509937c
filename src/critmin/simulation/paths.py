"""Monthly paths of an ensemble: every sample month by month, and quantiles for fan charts.

``sample_paths`` runs ``samples`` draws of a scenario and keeps, per sample, month, stage and
country, the final use wanted at base prices, the consumption, the unmet need, the demand
given up and the price index (memory grows as samples x months x stages x regions: keep
``samples`` in the hundreds). ``ensemble_paths`` reduces the sample axis to quantiles, per
country and for groups of countries (their shortfall pooled before the quantiles are taken).
Both back-ends give the same paths; the compiled one is used.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from critmin.errors import InputError
from critmin.simulation.model import scenario_model
from critmin.simulation.runner import run_shocks
from critmin.simulation.scenario import Scenario
from critmin.simulation.shocks import build_shocks
from critmin.simulation.summary import Summary

QUANTILES = (0.05, 0.5, 0.95)
MAX_SAMPLES = 5_000
PATHS = ("reference", "consumption", "unmet_need", "demand_given_up", "price_index")


def sample_paths(
    scenario: Scenario, samples: int = 200, seed: int = 0, only: int | None = None
) -> xr.Dataset:
    """[sample, month, stage, country] paths of ``samples`` draws (same seed, same draws);
    with ``only``, that one draw alone (the same paths, without running the others).

    Quantities t/month of final use; ``shortfall`` = reference - consumption."""
    if not 1 <= samples <= MAX_SAMPLES:
        raise InputError(f"samples {samples}: keep it between 1 and {MAX_SAMPLES} for paths")
    if only is not None and not 0 <= only < samples:
        raise InputError(f"only {only}: a sample between 0 and {samples - 1}")
    model = scenario_model(scenario)
    market = model.market
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))
    shocks = build_shocks(scenario, market, samples, rng)
    kept = np.arange(samples)
    if only is not None:
        shocks, kept = shocks.subset(only, only + 1), kept[only : only + 1]
    shape = (kept.size, scenario.horizon.months, market.n_stages, market.n_regions)
    arrays = tuple(np.zeros(shape) for _ in PATHS)
    run_shocks(model, shocks, "compiled", Summary.zeros(kept.size, *shape[2:]), arrays)
    dims = ("sample", "month", "stage", "country")
    units = {"units": "t/month"}
    data = {name: (dims, value, units) for name, value in zip(PATHS, arrays, strict=True)}
    data["price_index"] = (dims, arrays[-1], {"units": "1 (base = 1)"})
    ds = xr.Dataset(
        data,
        coords={
            "sample": kept,
            "month": scenario.horizon.labels(),
            "stage": market.stages,
            "country": market.regions,
            "unit": ("stage", market.units),
        },
        attrs={"scenario": scenario.name, "samples": samples, "seed": seed},
    )
    # a region without a node at a stage has no price there (the kernel leaves those cells)
    absent = model.chain.layout.use_node < 0
    ds["price_index"] = ds["price_index"].where(~xr.DataArray(absent, dims=("stage", "country")))
    ds["shortfall"] = np.maximum(ds["reference"] - ds["consumption"], 0.0)
    ds["shortfall"].attrs["units"] = "t/month"
    return ds


def ensemble_paths(
    scenario: Scenario,
    samples: int = 200,
    seed: int = 0,
    groups: Mapping[str, Sequence[str]] | None = None,
    quantiles: Sequence[float] = QUANTILES,
) -> xr.Dataset:
    """Quantiles over ``samples`` draws of ``shortfall_share`` and ``price_index``.

    Dims: quantile, month, stage, country (countries of the model, then each group).
    ``shortfall_share`` = shortfall / final use wanted at base prices in that month (0-1; NaN
    where nothing is used); ``price_index`` = price / base price (a group's value is the
    reference-use-weighted mean of its members)."""
    paths = sample_paths(scenario, samples, seed)
    reference = paths["reference"].values
    short = paths["shortfall"].values
    price = paths["price_index"].values
    regions = [str(c) for c in paths["country"].values]
    columns_ref, columns_short, columns_price = [reference], [short], [price]
    labels = list(regions)
    for label, members in (groups or {}).items():
        index = [regions.index(m) for m in members if m in regions]
        if not index:
            continue
        ref = reference[..., index].sum(-1, keepdims=True)
        columns_ref.append(ref)
        columns_short.append(short[..., index].sum(-1, keepdims=True))
        weights = reference[..., index]
        total = weights.sum(-1, keepdims=True)
        mean_price = np.where(
            total > 0,
            (price[..., index] * weights).sum(-1, keepdims=True) / np.where(total > 0, total, 1),
            price[..., index].mean(-1, keepdims=True),
        )
        columns_price.append(mean_price)
        labels.append(label)
    ref_all = np.concatenate(columns_ref, -1)
    short_all = np.concatenate(columns_short, -1)
    price_all = np.concatenate(columns_price, -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(ref_all > 0, short_all / np.where(ref_all > 0, ref_all, 1.0), np.nan)
    q = np.asarray(quantiles, dtype=float)
    with warnings.catch_warnings():  # cells with no final use in any sample stay NaN
        warnings.filterwarnings("ignore", "All-NaN slice encountered", RuntimeWarning)
        share_q = np.nanquantile(share, q, axis=0)
    dims = ("quantile", "month", "stage", "country")
    coords = {
        "quantile": q,
        "month": paths["month"].values,
        "stage": paths["stage"].values,
        "country": labels,
    }
    return xr.Dataset(
        {
            "shortfall_share": (dims, share_q, {"units": "1"}),
            "price_index": (dims, np.quantile(price_all, q, axis=0), {"units": "1 (base = 1)"}),
        },
        coords=coords,
        attrs=dict(paths.attrs),
    )
