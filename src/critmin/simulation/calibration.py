"""Base calibration of the market model from a :class:`SupplyNetwork` (one commodity chain).

Countries are aggregated to the largest producers and consumers plus ``ROW``. Base quantities
(t of the stage unit per month): production from the network, input purchases of the next
stage (its output / yield), final demand = what the chain does not process further, split by
country in proportion to apparent consumption (production + imports - exports, BACI
quantities) net of processing; base bilateral deliveries are fitted to those margins (RAS)
from the BACI pattern. See ``docs/methods/simulation.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from critmin.data import tables
from critmin.errors import DataError, ScenarioError
from critmin.network.supply_network import SupplyNetwork
from critmin.simulation.params import base_price

ROW = "ROW"
DIRECT_USE = "direct_use"
MONTHS_PER_YEAR = 12.0
Array = np.ndarray


@dataclass(frozen=True)
class Market:
    """The calibrated base state; arrays are [stage, region(, ...)] in t per month."""

    commodity: str
    stages: list[str]
    units: list[str]
    regions: list[str]
    sectors: list[str]
    production: Array
    capacity: Array
    final_demand: Array
    sector_split: Array
    derived: Array
    yields: Array
    recycling: Array
    flows: Array
    inventory: Array
    base_price: Array
    price_basis: list[str]
    year: int
    data_version: str
    notes: list[str] = field(default_factory=list)

    @property
    def n_stages(self) -> int:
        return len(self.stages)

    @property
    def n_regions(self) -> int:
        return len(self.regions)

    def region_index(self, country: str) -> int:
        """Index of ``country``'s region (``ROW`` for countries not kept)."""
        if country in self.regions:
            return self.regions.index(country)
        return self.regions.index(ROW)

    def stage_index(self, stage: str) -> int:
        return self.stages.index(stage)


def _ras(seed: Array, rows: Array, cols: Array, iterations: int = 500) -> Array:
    """Scale ``seed`` so that its row sums are ``rows`` and column sums ``cols``."""
    x = seed.copy()
    for _ in range(iterations):
        r = x.sum(1)
        x *= np.divide(rows, r, out=np.zeros_like(rows), where=r > 0)[:, None]
        c = x.sum(0)
        x *= np.divide(cols, c, out=np.zeros_like(cols), where=c > 0)[None, :]
        if np.allclose(x.sum(1), rows, rtol=1e-10, atol=1e-9):
            break
    result: Array = x
    return result


def _base_flows(supply: Array, use: Array, pattern: Array) -> Array:
    """Deliveries producer -> consumer: domestic first, the rest fitted to ``pattern``."""
    domestic = np.minimum(supply, use)
    exports = supply - domestic
    imports = use - domestic
    total = imports.sum()
    flows = np.diag(domestic)
    if total <= 0:
        return flows
    pooled = np.outer(exports, imports) / total
    seed = pattern + 1e-3 * pooled
    np.fill_diagonal(seed, 0.0)
    seed = np.where(pooled > 0, seed, 0.0)
    result: Array = flows + _ras(seed, exports, imports)
    return result


def _eol_rir(commodity: str) -> float:
    table = tables.commodities()
    rows = table.loc[table["commodity"] == commodity, "eol_rir"]
    value = float(rows.iloc[0]) if len(rows) else float("nan")
    return value if np.isfinite(value) and 0 <= value < 1 else 0.0


def _stage_price(ds: xr.Dataset, commodity: str, stage: str) -> tuple[float, str]:
    """The stage's base price (USD per t of the stage unit) and its basis: the network's
    cited price, else the chain's stated assumption (``parameters.yaml``)."""
    price = float(ds["price"].sel(stage=stage))
    if np.isfinite(price) and price > 0:
        source = str(ds["price_source"].sel(stage=stage).item()) if "price_source" in ds else ""
        grade = str(ds["price_grade"].sel(stage=stage).item()) if "price_grade" in ds else ""
        return price, f"network price ({grade}; source {source})"
    return base_price(commodity, stage)


def _with_cited(
    share: Array,
    weights: Array,
    cited: Array,
    agg: Array,
    final_world: float,
    stage: str,
    notes: list[str],
) -> Array:
    """One stage's split of world final use by region [R]: cited consumption where a source
    gives it, the rest of world final use split like ``share`` (derived) over the countries
    without a figure. Cited figures above world final use are scaled down to it."""
    known = np.isfinite(cited)
    if not known.any() or final_world <= 0:
        return share
    total = float(cited[known].sum())
    scale = min(1.0, final_world / total) if total > 0 else 1.0
    if scale < 1.0:
        notes.append(f"{stage}: cited final use ({total:,.0f} t/yr) scaled by {scale:.4f} to the "
                     f"chain's world final use ({final_world:,.0f} t/yr)")
    cited_r = (np.where(known, cited, 0.0) * scale) @ agg
    rest = max(final_world - cited_r.sum(), 0.0)
    free_w = np.where(known, 0.0, weights) @ agg
    if free_w.sum() > 0:
        rest_r = rest * free_w / free_w.sum()
    else:  # no derived weights for the others: the rest goes where the share puts it
        other = np.where(cited_r > 0, 0.0, share)
        rest_r = rest * other / other.sum() if other.sum() > 0 else np.zeros_like(share)
    notes.append(f"{stage}: final use of {int(known.sum())} countries from cited consumption")
    result: Array = (cited_r + rest_r) / final_world
    return result


def _capacity(
    ds: xr.Dataset, stages: list[str], agg: Array, q: Array, utilisation: float,
    notes: list[str],
) -> Array:
    """Capacity by stage and region (t/yr): cited capacity where the network has it (never
    below output), else output / ``utilisation`` (an assumption, noted)."""
    cap = ds["capacity"].sel(stage=stages).transpose("stage", "country").values
    cited = np.where(np.isfinite(cap), cap, 0.0) @ agg
    has = (np.isfinite(cap).astype(float) @ agg) > 0
    assumed = q / utilisation
    out = np.where(has, np.maximum(cited, q), assumed)
    if has.any():
        notes.append(f"capacity from cited figures in {int(has.sum())} stage-region cells, "
                     f"else output / {utilisation}")
    result: Array = out
    return result


def linked_segments(ds: xr.Dataset, stages: Sequence[str]) -> list[list[str]]:
    """``stages`` cut into runs whose consecutive stages a finite stage yield links."""
    segments = [[stages[0]]]
    for stage in stages[1:]:
        if np.isfinite(float(ds["stage_yield"].sel(stage=stage))):
            segments[-1].append(stage)
        else:
            segments.append([stage])
    return segments


def calibrate(
    network: SupplyNetwork,
    n_regions: int,
    utilisation: float,
    inventory_months: float,
    keep: Sequence[str] = (),
    final_use_shares: Mapping[str, Mapping[str, float]] | None = None,
    segment: str | None = None,
) -> Market:
    """The base market of the network's single commodity, with ``keep`` as own regions.

    ``final_use_shares`` (stage -> country -> share of world final use) replaces the
    calibrated split for the named countries; the other regions keep their proportions.
    The chain is the run of stages linked by yields that holds stage ``segment`` (default
    the first run).
    """
    if len(network.commodities) != 1:
        raise DataError(f"simulation: one commodity per run, got {network.commodities}")
    commodity = network.commodities[0]
    ds = network.ds.sel(commodity=commodity)
    world = ds["world_production"]
    stages = [s for s in network.stages_of(commodity) if np.isfinite(float(world.sel(stage=s)))]
    if not stages:
        raise DataError(f"simulation: {commodity} has no stage with known world output")
    countries = network.countries
    notes: list[str] = []
    # the chain runs along stages linked by a yield; a stage that is not (graphite anode:
    # mostly synthetic, not made from mined flake) starts a chain of its own
    segments = linked_segments(ds, stages)
    chosen_segment = next((g for g in segments if segment in g), segments[0])
    others = [s for s in stages if s not in chosen_segment]
    if others:
        notes.append(
            f"chain of {', '.join(chosen_segment)} only: no stage yield links it to "
            f"{', '.join(others)} in the network (a stage starts a chain of its own)"
        )
    stages = chosen_segment

    # a named country without a figure (NaN) is inside the stage's ROW remainder: 0 here
    prod = ds["production"].sel(stage=stages).fillna(0.0).transpose("stage", "country").values
    prices = [_stage_price(ds, commodity, s) for s in stages]
    value = (
        ds["trade_value"]
        .sel(stage=stages)
        .reindex(exporter=countries, importer=countries)
        .transpose("stage", "exporter", "importer")
        .values
    )
    quantity = (
        ds["trade_quantity"]
        .sel(stage=stages)
        .reindex(exporter=countries, importer=countries)
        .transpose("stage", "exporter", "importer")
        .values
    )
    # BACI gross weights mix compounds, ores and mislabelled lots; values converted at the
    # stage's base price give tonnes of the stage product (docs/methods/simulation.md). Where
    # a stage has no BACI values, cited customs flows are already in the stage unit.
    unit_price = np.array([p for p, _ in prices])
    has_value = np.array([bool(np.nansum(value[k]) > 0) for k in range(len(stages))])
    tq = np.where(
        has_value[:, None, None],
        np.nan_to_num(value) / unit_price[:, None, None],
        np.nan_to_num(quantity),
    )
    traded = [bool(tq[k].sum() > 0) for k in range(len(stages))]
    yields = np.array(
        [np.nan] + [float(ds["stage_yield"].sel(stage=s)) for s in stages[1:]],
        dtype=float,
    )

    apparent = prod + tq.sum(1) - tq.sum(2)
    need = np.zeros_like(prod)
    need[:-1] = prod[1:] / yields[1:, None]
    weights = np.where(np.array(traded)[:, None], apparent - need, 0.0)
    weights = np.clip(weights, 0.0, None)
    # cited final use by country (NaN: unknown, split from the derived weights below)
    cited = ds["consumption"].sel(stage=stages).transpose("stage", "country").values

    # regions: largest producers and final users at any stage, the alliance, `keep`
    world_out = prod.sum(1, keepdims=True)
    score = np.divide(prod, world_out, out=np.zeros_like(prod), where=world_out > 0).sum(0)
    wsum = weights.sum(1, keepdims=True)
    score += np.divide(weights, wsum, out=np.zeros_like(weights), where=wsum > 0).sum(0)
    known = np.nan_to_num(cited)
    ksum = known.sum(1, keepdims=True)
    score += np.divide(known, ksum, out=np.zeros_like(known), where=ksum > 0).sum(0)
    named = [c for shares in (final_use_shares or {}).values() for c in shares]
    forced = [c for c in [*network.alliance, *keep, *named] if c != ROW]
    order = [countries[i] for i in np.argsort(-score, kind="stable") if countries[i] != ROW]
    chosen: list[str] = []
    for c in [*forced, *order]:
        if c not in chosen and (c in forced or len(chosen) < n_regions - 1):
            chosen.append(c)
    regions = [*sorted(chosen), ROW]
    index = np.array([regions.index(c) if c in regions else len(regions) - 1 for c in countries])
    n_reg = len(regions)
    agg = np.zeros((len(countries), n_reg))
    agg[np.arange(len(countries)), index] = 1.0

    q = prod @ agg
    weights_r = weights @ agg
    pattern = np.einsum("sij,ia,jb->sab", tq, agg, agg)
    for s in range(len(stages)):
        np.fill_diagonal(pattern[s], 0.0)

    # consistent chain: a stage cannot process more than the stage before it produced
    for s in range(1, len(stages)):
        available = q[s - 1].sum()
        needed = q[s].sum() / yields[s]
        if needed > available > 0:
            q[s] *= available / needed
            notes.append(
                f"{stages[s]} output scaled by {available / needed:.6f} to what "
                f"{stages[s - 1]} supplies"
            )
    derived = np.zeros_like(q)
    derived[:-1] = q[1:] / yields[1:, None]
    final_world = q.sum(1) - derived.sum(1)

    share = np.zeros_like(q)
    traded_shares = [
        weights_r[s] / weights_r[s].sum() for s in range(len(stages)) if weights_r[s].sum() > 0
    ]
    for s in range(len(stages)):
        if weights_r[s].sum() > 0:
            share[s] = weights_r[s] / weights_r[s].sum()
        elif s == len(stages) - 1 and traded_shares:
            share[s] = np.mean(traded_shares, axis=0)
            notes.append(f"{stages[s]}: no trade data; final demand split like the traded stages")
        else:
            share[s] = q[s] / q[s].sum() if q[s].sum() > 0 else 1.0 / n_reg
            notes.append(f"{stages[s]}: no trade data; final use where produced")
    for s in range(len(stages)):
        share[s] = _with_cited(share[s], weights[s], cited[s], agg, final_world[s], stages[s],
                               notes)
    for stage, given in (final_use_shares or {}).items():
        if stage not in stages:
            raise ScenarioError(
                f"final_use_shares.{stage}: not a stage of {commodity}; valid: {', '.join(stages)}"
            )
        s = stages.index(stage)
        fixed = np.zeros(n_reg, dtype=bool)
        for country, fraction in given.items():
            fixed[regions.index(country)] = True
            share[s, regions.index(country)] = fraction
        total = float(sum(given.values()))
        rest = share[s, ~fixed].sum()
        share[s, ~fixed] *= (1.0 - total) / rest if rest > 0 else 0.0
        notes.append(f"{stage}: final-use shares of {', '.join(given)} set by the scenario")
    final = share * final_world[:, None]

    rir = _eol_rir(commodity)
    recycling = np.zeros_like(q)
    recycling[-1] = final[-1] * rir / (1.0 - rir)
    final[-1] += recycling[-1]

    sector_share = ds["sector_share"].to_series().dropna()
    sector_share = sector_share[sector_share > 0]
    end_sectors = [str(k) for k in sector_share.index] or ["all"]
    split_end = (
        np.asarray(sector_share / sector_share.sum(), dtype=float)
        if len(sector_share)
        else np.ones(1)
    )
    has_direct = bool(np.any(final[:-1] > 0))
    sectors = end_sectors + ([DIRECT_USE] if has_direct else [])
    split = np.zeros((len(stages), n_reg, len(sectors)))
    split[-1, :, : len(end_sectors)] = split_end
    if has_direct:
        split[:-1, :, -1] = 1.0

    flows = np.stack(
        [
            _base_flows(q[s] + recycling[s], final[s] + derived[s], pattern[s])
            for s in range(len(stages))
        ]
    )
    monthly = 1.0 / MONTHS_PER_YEAR
    q_m, final_m, derived_m = q * monthly, final * monthly, derived * monthly
    return Market(
        commodity=commodity,
        stages=stages,
        units=[str(ds["unit"].sel(stage=s).item()) for s in stages],
        regions=regions,
        sectors=sectors,
        production=q_m,
        capacity=_capacity(ds, stages, agg, q, utilisation, notes) * monthly,
        final_demand=final_m,
        sector_split=split,
        derived=derived_m,
        yields=yields,
        recycling=recycling * monthly,
        flows=flows * monthly,
        inventory=inventory_months * (final_m + derived_m),
        base_price=np.array([p for p, _ in prices]),
        price_basis=[b for _, b in prices],
        year=network.year,
        data_version=str(network.ds.attrs.get("data_version", "")),
        notes=notes,
    )


def market_frame(market: Market) -> xr.Dataset:
    """The base state as labelled arrays (t per month, USD/t)."""
    coords = {"stage": market.stages, "region": market.regions}
    return xr.Dataset(
        {
            "production": (("stage", "region"), market.production),
            "capacity": (("stage", "region"), market.capacity),
            "final_demand": (("stage", "region"), market.final_demand),
            "processing_demand": (("stage", "region"), market.derived),
            "recycling": (("stage", "region"), market.recycling),
            "inventory": (("stage", "region"), market.inventory),
            "base_price": (("stage",), market.base_price),
        },
        coords=coords,
    )
