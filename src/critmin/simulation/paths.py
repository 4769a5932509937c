"""Monthly paths of an ensemble as quantiles: the data of fan charts.

``ensemble_paths`` samples a scenario, records every month of every sample (memory grows as
samples x months x stages x regions, so keep ``samples`` in the hundreds) and reduces the
scenario axis to quantiles of the shortfall share and the price index, per country and for
groups of countries (their shortfall pooled before the quantiles are taken).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from critmin.errors import InputError
from critmin.simulation.engine import simulate_arrays
from critmin.simulation.fast import clear_fast
from critmin.simulation.model import build_market, value_per_tonne
from critmin.simulation.scenario import Scenario
from critmin.simulation.shocks import build_shocks

QUANTILES = (0.05, 0.5, 0.95)
MAX_SAMPLES = 5_000


def ensemble_paths(
    scenario: Scenario,
    samples: int = 200,
    seed: int = 0,
    groups: Mapping[str, Sequence[str]] | None = None,
    quantiles: Sequence[float] = QUANTILES,
) -> xr.Dataset:
    """Quantiles over ``samples`` draws of ``shortfall_share`` and ``price_index``.

    Dims: quantile, month, stage, country (countries of the model, then each group).
    ``shortfall_share`` = unmet final use / final use wanted at base prices in that month
    (0-1; NaN where nothing is used); ``price_index`` = price / base price (the group value is
    the reference-use-weighted mean of its members).
    """
    if not 1 <= samples <= MAX_SAMPLES:
        raise InputError(f"samples {samples}: keep it between 1 and {MAX_SAMPLES} for paths")
    market = build_market(scenario)
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))
    shocks = build_shocks(scenario, market, samples, rng)
    _, trace = simulate_arrays(
        market, shocks, clear_fast, value_per_tonne(scenario, market), record=True
    )
    reference = trace.data["final_reference"]  # [n, month, stage, region] t/month
    unmet = np.maximum(reference - trace.data["final_use"], 0.0)
    price = trace.data["price"]
    regions = list(market.regions)
    columns_ref, columns_unmet, columns_price = [reference], [unmet], [price]
    labels = list(regions)
    for label, members in (groups or {}).items():
        index = [regions.index(m) for m in members if m in regions]
        if not index:
            continue
        ref = reference[..., index].sum(-1, keepdims=True)
        columns_ref.append(ref)
        columns_unmet.append(unmet[..., index].sum(-1, keepdims=True))
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
    unmet_all = np.concatenate(columns_unmet, -1)
    price_all = np.concatenate(columns_price, -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(ref_all > 0, unmet_all / np.where(ref_all > 0, ref_all, 1.0), np.nan)
    q = np.asarray(quantiles, dtype=float)
    with warnings.catch_warnings():  # cells with no final use in any sample stay NaN
        warnings.filterwarnings("ignore", "All-NaN slice encountered", RuntimeWarning)
        share_q = np.nanquantile(share, q, axis=0)
    dims = ("quantile", "month", "stage", "country")
    coords = {
        "quantile": q,
        "month": scenario.horizon.labels(),
        "stage": market.stages,
        "country": labels,
    }
    return xr.Dataset(
        {
            "shortfall_share": (dims, share_q, {"units": "1"}),
            "price_index": (dims, np.quantile(price_all, q, axis=0), {"units": "1 (base = 1)"}),
        },
        coords=coords,
        attrs={"scenario": scenario.name, "samples": samples, "seed": seed},
    )
