"""Sectors of the second stage: each ally's shortfall of a material by sector, and the damage
of a tonne short in each (USD/t).

**Scenarios from the market model** carry both (``ScenarioSet.sector_shortfall`` and
``damage_usd_per_t``): each sector's shortfall and its value lost per tonne short on the
market's own demand curves (``critmin.market.damage``), month by month and scenario by
scenario, so the stockpile's damage is the market's. A sector's value of use is set where the
market reads it, in the scenario file (``value_added_usd_per_t``, ``protected_sectors``,
``parameters.rationing_price_index``); a damage or share in the stockpile config would be a
second definition and is refused.

**Explicit scenarios** (given by hand) have no market: the config's
``materials.<m>.sectors.<k>.share`` splits the shortfall (else one sector ``all``), and the
damage is ``materials.<m>.sectors.<k>.damage_usd_per_t``, else
``materials.<m>.damage_usd_per_t``, else the market model's value of a rationed tonne at its
default rationing price (``rationing_price_index`` x price).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from critmin.errors import InputError
from critmin.market.params import default_parameters
from critmin.optimisation.stockpile.config import StockpileConfig
from critmin.optimisation.stockpile.scenarios import ScenarioSet

ALL_SECTORS = "all"


@dataclass(frozen=True)
class Sectors:
    """``share`` [ally, material, sector] (the base split of use, summing to 1 over sectors
    where the material has any); ``bound`` [scenario, month, ally, material, sector] each
    sector's shortfall (t/month); ``damage_usd_per_t`` [material, sector] or [scenario,
    month, ally, material, sector] (USD per tonne short); ``basis`` one line per (material,
    sector) in use."""

    share: xr.DataArray
    bound: xr.DataArray
    damage_usd_per_t: xr.DataArray
    basis: list[str]

    @property
    def used(self) -> xr.DataArray:
        """[material, sector]: True where some ally has a positive share."""
        return (self.share > 0).any("ally")


def _prices(config: StockpileConfig, scenarios: ScenarioSet) -> list[float]:
    prices = []
    for m, spec in config.materials.items():
        if spec.price_usd_per_t is not None:
            prices.append(spec.price_usd_per_t)
        elif scenarios.price_usd_per_t is not None:
            prices.append(float(scenarios.price_usd_per_t.sel(material=m)))
        else:
            raise InputError(f"materials.{m}.price_usd_per_t: required (no engine base price)")
    return prices


def resolve_sectors(config: StockpileConfig, scenarios: ScenarioSet) -> Sectors:
    """Shares, shortfalls and damages of ``config`` on ``scenarios`` (see module doc)."""
    if scenarios.damage_usd_per_t is not None:
        return _market_sectors(config, scenarios)
    return _explicit_sectors(config, scenarios)


def _market_sectors(config: StockpileConfig, scenarios: ScenarioSet) -> Sectors:
    """The market model's sector shortfalls and damages (scenarios from the engine)."""
    for m, spec in config.materials.items():
        given = [f"materials.{m}.damage_usd_per_t"] if spec.damage_usd_per_t is not None else []
        given += [f"materials.{m}.sectors.{k}" for k in spec.sectors]
        if given:
            raise InputError(
                f"{given[0]}: scenarios from the market model take each sector's shortfall and "
                "damage from the market's demand curves (one definition); set the sector's "
                "value in the scenario file (value_added_usd_per_t, protected_sectors or "
                "parameters.rationing_price_index) so that the market uses it too"
            )
    assert scenarios.sector_shortfall is not None
    assert scenarios.damage_usd_per_t is not None
    assert scenarios.sector_share is not None
    assert scenarios.rationed_usd_per_t is not None
    bound = scenarios.sector_shortfall.transpose("scenario", "month", "ally", "material", "sector")
    damage = scenarios.damage_usd_per_t.transpose(*bound.dims)
    p = scenarios.probability
    short = (bound.sum("month") * p).sum("scenario").sum("ally")  # [material, sector] t
    value = ((damage * bound).sum("month") * p).sum("scenario").sum("ally")
    share = scenarios.sector_share
    used = (share > 0).any("ally")
    rationed = scenarios.rationed_usd_per_t.max("ally")
    eta = scenarios.elasticity
    basis = []
    for m in share["material"].values:
        for k in share["sector"].values:
            if not bool(used.sel(material=m, sector=k)):
                continue
            tonnes = float(short.sel(material=m, sector=k))
            mean = float(value.sel(material=m, sector=k)) / tonnes if tonnes > 0 else np.nan
            shown = f"{mean:,.0f} USD per tonne short on average" if tonnes > 0 else "never short"
            basis.append(
                f"damage {m}/{k}: market model: {shown} (buyers' surplus lost on the sector's "
                f"demand curve, elasticity {eta:g}: assumption, the market's demand_elasticity "
                "+ substitution_elasticity), "
                f"{float(rationed.sel(material=m, sector=k)):,.0f} USD per rationed tonne "
                "(its rationing price: the scenario's value_added_usd_per_t where given, else "
                "the market's protected_price_index or rationing_price_index x price)"
            )
    basis.append(_price_response_basis(scenarios, damage * bound))
    return Sectors(share=share, bound=bound, damage_usd_per_t=damage, basis=basis)


def _price_response_basis(scenarios: ScenarioSet, value: xr.DataArray) -> str:
    """One note: how a release is valued (the convex curve and its stated gap, or the
    average damage per tonne)."""
    if scenarios.curve_gap_usd is None or scenarios.curve_width is None:
        return (
            "price response: off (scenarios.price_response = false, or the mean-value "
            "problem): a released tonne saves the scenario-month's average damage per tonne"
        )
    lost = value.sum("sector")
    p = scenarios.probability
    share = float((scenarios.curve_gap_usd * p).sum() / max(float((lost * p).sum()), 1e-300))
    worst = float((scenarios.curve_gap_usd / lost.where(lost > 0)).max())
    if scenarios.release_effect is not None:
        first = scenarios.release_effect.sel(tranche=1, drop=True)
        market = (
            "; market-consistent: a released tonne covers the release effect the market "
            f"measured (theta from {float(first.min()):.3f} to {float(first.max()):.3f}; "
            "docs/methods/stockpile.md, section 2.5)"
        )
    else:
        market = (
            ". In the market a released tonne partly displaces the ally's imports and lowers "
            "other countries' prices, so where trade can redirect the LP overstates what a "
            "release saves: --through-market measures the saving the market realises and "
            "--market-consistent calibrates the plan to it (docs/methods/stockpile.md, "
            "sections 2.3 and 2.5)"
        )
    return (
        "price response: a release lowers the price at the ally's use node along its "
        "buyers' demand curves, other countries and trade held fixed (partial equilibrium); "
        f"the loss of the shortfall left is convex in {scenarios.curve_width.sizes['piece']} "
        "pieces (the lower convex envelope of the market's loss), exact with no release; its "
        f"gap below the market's loss is at most {worst:.1%} of a month's value lost "
        f"({share:.2%} of the expected value lost){market}"
    )


def _explicit_sectors(config: StockpileConfig, scenarios: ScenarioSet) -> Sectors:
    """Shares and damages of hand-given cases (config, else the market's default value of a
    rationed tonne)."""
    allies = [str(a) for a in scenarios.shortfall["ally"].values]
    materials = list(config.materials)
    prices = _prices(config, scenarios)
    multiple = default_parameters().rationing_price_index
    per_material: list[dict[str, float]] = []
    for m, spec in config.materials.items():
        given = {k: s.share for k, s in spec.sectors.items() if s.share is not None}
        if not given and spec.sectors:
            raise InputError(
                f"materials.{m}.sectors: give every sector's share (explicit scenarios carry "
                "no sector split)"
            )
        per_material.append({k: float(v) for k, v in given.items()} or {ALL_SECTORS: 1.0})
    names: list[str] = []
    for shares in per_material:
        names += [k for k in shares if k not in names]
    share = np.zeros((len(allies), len(materials), len(names)))
    damage = np.zeros((len(materials), len(names)))
    basis = []
    for j, (m, spec) in enumerate(config.materials.items()):
        for k, name in enumerate(names):
            if name not in per_material[j]:
                continue
            share[:, j, k] = per_material[j][name]
            sector_spec = spec.sectors.get(name)
            if sector_spec is not None and sector_spec.damage_usd_per_t is not None:
                damage[j, k], why = sector_spec.damage_usd_per_t, "config (sector)"
            elif spec.damage_usd_per_t is not None:
                damage[j, k], why = spec.damage_usd_per_t, "config (material)"
            else:
                damage[j, k] = multiple * prices[j]
                why = (
                    f"market model: a rationed tonne at the default rationing price, {multiple:g} "
                    "x price (assumption: the market's rationing_price_index)"
                )
            basis.append(f"damage {m}/{name}: {damage[j, k]:,.0f} USD/t ({why})")
    share_da = xr.DataArray(
        share,
        dims=("ally", "material", "sector"),
        coords={"ally": allies, "material": materials, "sector": names},
    )
    bound = (scenarios.shortfall * share_da).transpose(
        "scenario", "month", "ally", "material", "sector"
    )
    return Sectors(
        share=share_da,
        bound=bound,
        damage_usd_per_t=xr.DataArray(
            damage, dims=("material", "sector"), coords={"material": materials, "sector": names}
        ),
        basis=basis,
    )
