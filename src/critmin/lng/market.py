"""The base LNG market of one BACI year: regions, bilateral flows, unit values, voyages.

Regions are the importer studied, its suppliers with at least ``MIN_SHARE`` of its imports,
the largest importers and exporters of the world, every country a scenario names, and ``ROW``.
Flows are BACI tonnes per month (re-exports kept; a country's flow to itself dropped).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from critmin.errors import ScenarioError
from critmin.lng.data import (
    COMMODITY,
    DAYS_PER_MONTH,
    STAGE,
    lng_trade,
    parameters,
    voyage_days,
)

ROW = "ROW"
SECTOR = "gas_use"
"""The one sector of LNG's final use (power and city gas): ``demand_shock`` events name it
or ``all``."""
MIN_SHARE = 0.01  # suppliers of the importer kept as own regions
TOP_WORLD = 5  # largest importers and exporters kept as own regions
MONTHS_PER_YEAR = 12.0
Array = np.ndarray


@dataclass(frozen=True)
class LngMarket:
    """Base state; ``flows`` [exporter, importer] in t per month, unit values USD/t (CIF,
    importer-reported), ``spot_price`` the world mean unit value (USD/t), ``buyer_price`` each
    importer's mean unit value (USD/t: what a spot cargo costs it at price index 1),
    ``lag_months`` one-way voyage to the importer studied (months)."""

    year: int
    importer: str
    regions: list[str]
    flows: Array
    unit_value: Array
    spot_price: float
    buyer_price: Array
    lag_months: Array
    params: dict[str, float]

    @property
    def exports(self) -> Array:
        result: Array = self.flows.sum(1)
        return result

    @property
    def imports(self) -> Array:
        result: Array = self.flows.sum(0)
        return result

    @property
    def focus(self) -> int:
        return self.regions.index(self.importer)

    def region_index(self, country: str) -> int:
        """Region of ``country`` (``ROW`` if not kept)."""
        return self.regions.index(country) if country in self.regions else len(self.regions) - 1

    # what the scenario compiler (critmin.simulation.shocks) reads: one stage, one use
    commodity: ClassVar[str] = COMMODITY
    stages: ClassVar[list[str]] = [STAGE]
    sectors: ClassVar[list[str]] = [SECTOR]
    n_stages: ClassVar[int] = 1

    @property
    def n_regions(self) -> int:
        return len(self.regions)

    def stage_index(self, stage: str) -> int:
        return self.stages.index(stage)

    @property
    def final_demand(self) -> Array:
        """Base use [stage, region] (t/month): each region's LNG imports."""
        result: Array = self.imports[None, :]
        return result

    @property
    def derived(self) -> Array:
        """No later stage buys LNG: zeros [stage, region]."""
        return np.zeros((1, len(self.regions)))


def _regions(trade: pd.DataFrame, importer: str, keep: list[str]) -> list[str]:
    mine = trade[trade["importer"] == importer].groupby("exporter")["quantity_t"].sum()
    if mine.sum() <= 0:
        raise ScenarioError(f"lng.importer = {importer!r}: no LNG imports in BACI")
    suppliers = list(mine[mine / mine.sum() >= MIN_SHARE].index)
    top_imp = list(trade.groupby("importer")["quantity_t"].sum().nlargest(TOP_WORLD).index)
    top_exp = list(trade.groupby("exporter")["quantity_t"].sum().nlargest(TOP_WORLD).index)
    chosen = {importer, *suppliers, *top_imp, *top_exp, *keep} - {ROW}
    return [*sorted(chosen), ROW]


def build_market(
    year: int, importer: str, keep: list[str], overrides: dict[str, float]
) -> LngMarket:
    """Aggregate BACI LNG flows of ``year`` to regions; parameters with ``overrides``."""
    trade = lng_trade(year)
    regions = _regions(trade, importer, keep)
    idx = {c: k for k, c in enumerate(regions)}
    n = len(regions)
    exp = np.array([idx.get(c, n - 1) for c in trade["exporter"]])
    imp = np.array([idx.get(c, n - 1) for c in trade["importer"]])
    qty = np.zeros((n, n))
    val = np.zeros((n, n))
    np.add.at(qty, (exp, imp), trade["quantity_t"].to_numpy())
    np.add.at(val, (exp, imp), trade["value_usd"].to_numpy())
    spot = float(val.sum() / qty.sum())
    unit = np.divide(val, qty, out=np.full((n, n), spot), where=qty > 0)
    bought = qty.sum(0)
    buyer = np.divide(val.sum(0), bought, out=np.full(n, spot), where=bought > 0)
    lag = np.array([voyage_days(c) / DAYS_PER_MONTH for c in regions])
    lag[idx[importer]] = 0.0
    params = {k: float(v["value"]) for k, v in parameters().items()}
    params.update(overrides)
    return LngMarket(
        year=year,
        importer=importer,
        regions=regions,
        flows=qty / MONTHS_PER_YEAR,
        unit_value=unit,
        spot_price=spot,
        buyer_price=buyer,
        lag_months=lag,
        params=params,
    )
