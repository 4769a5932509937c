"""Sectors of the second stage: how each ally's shortfall of a material splits by sector,
and the damage per tonne unmet in each (USD/t).

Shares: the config's ``materials.<m>.sectors.<k>.share`` when given, else the engine's base
split of final use at the material's stage (``Market.sector_split``: the last stage's
``sector_share`` of the network, earlier stages ``direct_use``), else one sector ``all``.
Damage: :func:`critmin.optimisation.stockpile.damage.sector_damage`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from critmin.errors import InputError
from critmin.optimisation.stockpile.config import StockpileConfig
from critmin.optimisation.stockpile.damage import sector_damage
from critmin.optimisation.stockpile.scenarios import ScenarioSet

ALL_SECTORS = "all"


@dataclass(frozen=True)
class Sectors:
    """``share`` [ally, material, sector] (sums to 1 over sectors where the material has
    any; 0 for sectors that do not use it); ``damage_usd_per_t`` [material, sector];
    ``basis`` one line per (material, sector) in use."""

    share: xr.DataArray
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
    """Shares and damages of ``config`` on the allies of ``scenarios`` (see module doc)."""
    allies = [str(a) for a in scenarios.shortfall["ally"].values]
    materials = list(config.materials)
    prices = _prices(config, scenarios)
    engine = scenarios.sector_share
    per_material: list[dict[str, np.ndarray]] = []  # sector -> share [ally]
    for m, spec in config.materials.items():
        given = {k: s.share for k, s in spec.sectors.items() if s.share is not None}
        if given:
            shares = {k: np.full(len(allies), float(v)) for k, v in given.items()}
        elif engine is not None:
            table = engine.sel(ally=allies, material=m)
            totals = table.sum("sector").values
            shares = {}
            for k in table["sector"].values:
                column = table.sel(sector=k).values
                if (column > 0).any():
                    shares[str(k)] = np.where(
                        totals > 0, column / np.where(totals > 0, totals, 1), 0
                    )
            if not shares:
                shares = {ALL_SECTORS: np.ones(len(allies))}
            # an ally with no base use of the material takes the others' mean split
            empty = totals <= 0
            if empty.any() and len(shares) > 0:
                mean = {
                    k: float(v[~empty].mean()) if (~empty).any() else 1 / len(shares)
                    for k, v in shares.items()
                }
                for k in shares:
                    shares[k] = np.where(empty, mean[k], shares[k])
            unknown = [k for k in spec.sectors if k not in shares]
            if unknown:
                raise InputError(
                    f"materials.{m}.sectors.{unknown[0]}: not a sector using this material; "
                    f"valid: {', '.join(shares)}"
                )
        else:
            if spec.sectors:
                raise InputError(
                    f"materials.{m}.sectors: give every sector's share (explicit scenarios "
                    "carry no sector split)"
                )
            shares = {ALL_SECTORS: np.ones(len(allies))}
        per_material.append(shares)
    names: list[str] = []
    for shares in per_material:
        names += [k for k in shares if k not in names]
    share = np.zeros((len(allies), len(materials), len(names)))
    damage = np.zeros((len(materials), len(names)))
    basis = []
    stages = {m: spec.stage or m for m, spec in config.materials.items()}
    for j, (m, spec) in enumerate(config.materials.items()):
        for k, name in enumerate(names):
            if name in per_material[j]:
                share[:, j, k] = per_material[j][name]
            sector_spec = spec.sectors.get(name)
            found = sector_damage(
                scenarios.commodity,
                stages[m],
                name,
                prices[j],
                config.costs.damage_multiple,
                None if sector_spec is None else sector_spec.damage_usd_per_t,
                spec.damage_usd_per_t,
            )
            damage[j, k] = found.usd_per_t
            if name in per_material[j]:
                basis.append(f"damage {m}/{name}: {found.usd_per_t:,.0f} USD/t ({found.basis})")
    return Sectors(
        share=xr.DataArray(
            share,
            dims=("ally", "material", "sector"),
            coords={"ally": allies, "material": materials, "sector": names},
        ),
        damage_usd_per_t=xr.DataArray(
            damage, dims=("material", "sector"), coords={"material": materials, "sector": names}
        ),
        basis=basis,
    )
