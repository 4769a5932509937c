"""One value per concept: the headline figures several modules need, read from the network.

A module that needs world magnet output, the EV share of magnet use or China's share of
refined germanium calls :func:`fact` instead of keeping its own number; the value, unit,
grade, source and note then come from the one place the network takes them from (the chain
tables, World Mining Data). ``tests/test_one_value.py`` checks that the modules agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from critmin.errors import unknown_value


@dataclass(frozen=True)
class Concept:
    """Where a concept lives in the network: a variable at a commodity and stage (and a
    country or an end-use sector)."""

    description: str
    commodity: str
    stage: str
    variable: str  # world_production | share | sector_share
    country: str = ""
    sector: str = ""


@dataclass(frozen=True)
class Fact:
    """A concept's value in one year, with its unit, grade, source and note."""

    id: str
    year: int
    value: float
    unit: str
    grade: str
    source: str
    note: str


CONCEPTS: dict[str, Concept] = {
    "world_magnet_output": Concept(
        "world output of NdFeB permanent magnets", "rare_earths", "magnet", "world_production"
    ),
    "china_magnet_share": Concept(
        "China's share of world magnet output", "rare_earths", "magnet", "share", country="CHN"
    ),
    "china_separation_share": Concept(
        "China's share of world rare-earth separation",
        "rare_earths",
        "separation",
        "share",
        country="CHN",
    ),
    "ev_share_of_magnet_use": Concept(
        "EV traction motors' share of world magnet use",
        "rare_earths",
        "magnet",
        "sector_share",
        sector="ev_traction",
    ),
    "china_germanium_share": Concept(
        "China's share of world refined germanium", "germanium", "refining", "share", country="CHN"
    ),
    "china_gallium_share": Concept(
        "China's share of world primary gallium", "gallium", "refining", "share", country="CHN"
    ),
}


@cache
def fact(concept: str, year: int = 2024) -> Fact:
    """The value of ``concept`` (a key of :data:`CONCEPTS`) in ``year``; NaN with the reason
    in ``note`` where the network does not know it."""
    from critmin.network.build import load_network

    if concept not in CONCEPTS:
        raise unknown_value("concept", concept, CONCEPTS)
    spec = CONCEPTS[concept]
    ds = load_network(spec.commodity, year=year).ds.sel(commodity=spec.commodity)
    unit = str(ds["unit"].sel(stage=spec.stage).item())
    if spec.variable == "world_production":
        at = ds.sel(stage=spec.stage)
        return Fact(
            concept,
            year,
            float(at["world_production"]),
            unit,
            str(at["world_production_grade"].item()),
            str(at["world_production_source"].item()),
            str(at["basis"].item()),
        )
    if spec.variable == "share":
        at = ds.sel(stage=spec.stage, country=spec.country)
        return Fact(
            concept,
            year,
            float(at["share"]),
            "1",
            str(at["production_grade"].item()),
            str(at["production_source"].item()),
            str(at["production_note"].item()),
        )
    sectors = [str(s) for s in ds["sector"].values]
    if spec.sector not in sectors:
        note = f"the end-use split ({ds.attrs['sector_share_basis']}) has no sector {spec.sector}"
        return Fact(concept, year, np.nan, "1", "", "", note)
    share = float(ds["sector_share"].sel(sector=spec.sector))
    return Fact(concept, year, share, "1", "", "", str(ds.attrs["sector_share_basis"]))
