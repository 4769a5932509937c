"""Behavioural parameters of the market model, read from ``parameters.yaml``.

Each parameter carries its value, unit, the low and high values of the sensitivity table and
its basis (a source, an estimate, or a stated assumption); the method page
``docs/methods/simulation.md`` is written from the same file.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from critmin.errors import ScenarioError

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
    supply_elasticity: float
    curtailment_elasticity: float
    utilisation: float
    recycling_elasticity: float
    inventory_months: float
    holding_cost: float
    inventory_release_slope: float
    rebuild_months: float
    expectation_weight: float
    precautionary_elasticity: float
    trade_elasticity: float
    reexport_leakage: float
    rationing_price_index: float
    protected_price_index: float
    restart_threshold: float
    restart_share: float
    restart_lead_months: float
    expansion_threshold: float
    expansion_share: float
    expansion_lead_months: float
    stockpile_release_slope: float
    regions: int

    @property
    def final_elasticity(self) -> float:
        """Short-run elasticity of final demand: own price plus substitution."""
        return self.demand_elasticity + self.substitution_elasticity

    def with_overrides(self, overrides: dict[str, float]) -> Parameters:
        """A copy with ``overrides`` applied; unknown names and bad ranges raise."""
        names = {f.name for f in fields(self)}
        for key in overrides:
            if key not in names:
                raise ScenarioError(
                    f"parameters.{key}: unknown parameter; valid: {', '.join(sorted(names))}"
                )
        values = dict(overrides)
        if "regions" in values:
            values["regions"] = int(values["regions"])
        result = replace(self, **values)  # type: ignore[arg-type]
        result.check()
        return result

    def check(self) -> None:
        """Signs and ranges that keep the equilibrium well defined."""
        rules = {
            "demand_elasticity": self.demand_elasticity < 0,
            "substitution_elasticity": self.substitution_elasticity <= 0,
            "supply_elasticity": self.supply_elasticity >= 0,
            "curtailment_elasticity": self.curtailment_elasticity >= 0,
            "utilisation": 0 < self.utilisation <= 1,
            "recycling_elasticity": self.recycling_elasticity >= 0,
            "inventory_months": self.inventory_months >= 0,
            "holding_cost": self.holding_cost >= 0,
            "inventory_release_slope": self.inventory_release_slope > 0,
            "rebuild_months": self.rebuild_months >= 1,
            "expectation_weight": 0 <= self.expectation_weight <= 1,
            "precautionary_elasticity": self.precautionary_elasticity >= 0,
            "trade_elasticity": self.trade_elasticity > 0,
            "reexport_leakage": 0 <= self.reexport_leakage <= 1,
            "rationing_price_index": self.rationing_price_index > 1,
            "protected_price_index": self.protected_price_index >= self.rationing_price_index,
            "restart_threshold": self.restart_threshold > 1,
            "restart_share": self.restart_share >= 0,
            "restart_lead_months": self.restart_lead_months >= 1,
            "expansion_threshold": self.expansion_threshold > 1,
            "expansion_share": self.expansion_share >= 0,
            "expansion_lead_months": self.expansion_lead_months >= 1,
            "stockpile_release_slope": self.stockpile_release_slope > 0,
            "regions": 2 <= self.regions <= 60,
        }
        for name, ok in rules.items():
            if not ok:
                raise ScenarioError(
                    f"parameters.{name}: value {getattr(self, name)} is out of range "
                    "(see docs/methods/simulation.md, section 4)"
                )


@cache
def default_parameters() -> Parameters:
    """The defaults of ``parameters.yaml``."""
    values = {k: v["value"] for k, v in _raw()["defaults"].items()}
    values["regions"] = int(values["regions"])
    return Parameters(**values)


def parameter_table() -> pd.DataFrame:
    """name, value, low, high, unit, basis for every default (docs, manifests, sensitivity)."""
    rows = [{"name": k, **v} for k, v in _raw()["defaults"].items()]
    return pd.DataFrame(rows, columns=["name", "value", "low", "high", "unit", "basis"])
