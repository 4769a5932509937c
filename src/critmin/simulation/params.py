"""Default simulation parameters and base prices, read from ``parameters.yaml``.

Each parameter carries its value, unit and basis (source or stated assumption); the method
page ``docs/methods/simulation.md`` is written from the same file.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from critmin.data import tables
from critmin.errors import DataError, ScenarioError

PARAMETERS_FILE = Path(__file__).with_name("parameters.yaml")


@cache
def _raw() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(PARAMETERS_FILE.read_text(encoding="utf-8"))
    return data


@dataclass(frozen=True)
class Parameters:
    """Behavioural parameters of the market model (units in ``parameters.yaml``)."""

    demand_elasticity: float
    substitution_elasticity: float
    processing_elasticity: float
    supply_elasticity: float
    curtailment_elasticity: float
    utilisation: float
    recycling_elasticity: float
    inventory_months: float
    holding_cost: float
    inventory_release_slope: float
    rebuild_months: float
    stockpile_release_slope: float
    regions: int

    @property
    def final_elasticity(self) -> float:
        """Total short-run response of final demand: own-price plus substitution."""
        return self.demand_elasticity + self.substitution_elasticity

    def with_overrides(self, overrides: dict[str, float]) -> Parameters:
        """A copy with ``overrides`` applied; unknown names and bad ranges raise."""
        names = {f.name for f in fields(self)}
        for key in overrides:
            if key not in names:
                raise ScenarioError(
                    f"parameters.{key}: unknown parameter; valid: {', '.join(sorted(names))}"
                )
        result = replace(self, **overrides)  # type: ignore[arg-type]
        result.check()
        return result

    def check(self) -> None:
        """Signs and ranges that keep the equilibrium well defined."""
        rules = {
            "demand_elasticity": self.demand_elasticity < 0,
            "substitution_elasticity": self.substitution_elasticity <= 0,
            "processing_elasticity": self.processing_elasticity < 0,
            "supply_elasticity": self.supply_elasticity >= 0,
            "curtailment_elasticity": 0 <= self.curtailment_elasticity <= 1,
            "utilisation": 0 < self.utilisation <= 1,
            "recycling_elasticity": self.recycling_elasticity >= 0,
            "inventory_months": self.inventory_months >= 0,
            "holding_cost": self.holding_cost >= 0,
            "inventory_release_slope": self.inventory_release_slope > 0,
            "rebuild_months": self.rebuild_months >= 1,
            "stockpile_release_slope": self.stockpile_release_slope > 0,
            "regions": 2 <= self.regions <= 60,
        }
        for name, ok in rules.items():
            if not ok:
                raise ScenarioError(
                    f"parameters.{name}: value {getattr(self, name)} is out of range "
                    "(see docs/methods/simulation.md)"
                )


def default_parameters() -> Parameters:
    """The defaults of ``parameters.yaml``."""
    values = {k: v["value"] for k, v in _raw()["defaults"].items()}
    values["regions"] = int(values["regions"])
    return Parameters(**values)


def parameter_table() -> pd.DataFrame:
    """name, value, unit, basis for every default (for docs and manifests)."""
    rows = [{"name": k, **v} for k, v in _raw()["defaults"].items()]
    return pd.DataFrame(rows, columns=["name", "value", "unit", "basis"])


def base_price(commodity: str, stage: str) -> tuple[float, str]:
    """Base price of ``commodity`` at ``stage`` (USD per t of the stage unit) and its basis."""
    entries = _raw()["base_prices"].get(commodity, {})
    if stage not in entries:
        raise DataError(
            f"base price of {commodity}/{stage}: none in simulation/parameters.yaml; add a "
            "price_row or a derived entry"
        )
    entry = entries[stage]
    if "derived" in entry:
        upstream, _ = base_price(commodity, entry["derived"]["from"])
        return upstream * float(entry["derived"]["factor"]), str(entry["basis"])
    row = entry["price_row"]
    prices = tables.curated("prices")
    hits = prices[
        (prices["commodity"] == commodity)
        & (prices["specification"] == row["specification"])
        & (prices["year_num"] == row["year"])
        & prices["value_num"].notna()
    ]
    if hits.empty:
        raise DataError(f"base price of {commodity}/{stage}: no curated price row {row}")
    value = float(hits["value_num"].iloc[0])
    unit = str(hits["unit"].iloc[0])
    per_tonne = {"USD/kg": 1000.0, "USD/t": 1.0, "USD/lb": 2204.62262}
    if unit not in per_tonne:
        raise DataError(f"base price of {commodity}/{stage}: unit {unit!r} not convertible")
    return value * per_tonne[unit], str(entry["basis"])
