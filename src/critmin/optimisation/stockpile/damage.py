"""Damage per tonne of unmet need, by material and sector (USD/t).

Order of precedence: ``materials.<m>.sectors.<k>.damage_usd_per_t`` in the config, then
``materials.<m>.damage_usd_per_t`` (every sector of the material), then the shipped table
``data/sector_damage.csv`` (value of the downstream output that a tonne of the material
completes, with its sources), then the stated assumption ``costs.damage_multiple x price``.
Every figure carries its basis, reported in the run's notes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

import pandas as pd

DAMAGE_TABLE = "sector_damage.csv"


@lru_cache(maxsize=1)
def damage_table() -> pd.DataFrame:
    """The shipped table of damage per tonne by commodity, stage and sector (USD/t)."""
    path = files("critmin.optimisation.stockpile") / "data" / DAMAGE_TABLE
    with path.open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle)


@dataclass(frozen=True)
class Damage:
    """Damage per tonne (USD/t) of one material in one sector, and where it comes from."""

    usd_per_t: float
    basis: str


def sector_damage(
    commodity: str | None,
    stage: str | None,
    sector: str,
    price_usd_per_t: float,
    damage_multiple: float,
    configured_sector: float | None = None,
    configured_material: float | None = None,
) -> Damage:
    """Damage of a tonne of ``stage`` unmet in ``sector`` (USD/t), by the precedence above."""
    if configured_sector is not None:
        return Damage(configured_sector, "config (sector)")
    if configured_material is not None:
        return Damage(configured_material, "config (material)")
    if commodity is not None and stage is not None:
        table = damage_table()
        rows = table[
            (table["commodity"] == commodity)
            & (table["stage"] == stage)
            & (table["sector"] == sector)
        ]
        if not rows.empty:
            row = rows.iloc[0]
            return Damage(
                float(row["damage_usd_per_t"]),
                f"{row['product']}: {row['product_value_usd']:,.0f} USD per unit / "
                f"{row['material_kg_per_unit']:g} kg ({row['value_source_title']}; "
                f"{row['intensity_source_title']})",
            )
    return Damage(
        damage_multiple * price_usd_per_t,
        f"assumption: {damage_multiple:g} x price (no value-added figure for this sector)",
    )
