"""The toy chain shipped with critmin (``data/toy_chain.yaml``): three regions, three stages,
round numbers, for docs, tests and first experiments with the market core."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

import numpy as np
import yaml

from critmin.market.chain import Base


@cache
def toy_data() -> dict[str, Any]:
    text = files("critmin.market").joinpath("data/toy_chain.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def toy_base(inventory_months: float = 0.0) -> Base:
    """The toy chain's base state (t/month, USD/t), working stocks of ``inventory_months``
    of use at every node with use."""
    d = toy_data()
    regions, stages = d["regions"], d["stages"]
    production = np.array(d["production"], dtype=float)
    final = np.array(d["final_demand"], dtype=float)
    yields = np.array([np.nan if y is None else y for y in d["yields"]], dtype=float)
    flows = np.zeros((len(stages), len(regions), len(regions)))
    for s, stage in enumerate(stages):
        for exporter, to in d["flows"].get(stage, {}).items():
            for importer, tonnes in to.items():
                flows[s, regions.index(exporter), regions.index(importer)] = tonnes
    processing = np.zeros_like(production)
    processing[:-1] = production[1:] / yields[1:, None]
    return Base(
        stages=list(stages),
        regions=list(regions),
        sectors=list(d["sectors"]),
        production=production,
        capacity=production / float(d["utilisation"]),
        final_demand=final,
        sector_split=np.ones((len(stages), len(regions), 1)),
        yields=yields,
        recycling=np.zeros_like(production),
        flows=flows,
        inventory=inventory_months * (final + processing),
        base_price=np.array(d["base_price"], dtype=float),
    )
