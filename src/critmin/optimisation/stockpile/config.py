"""The stockpile configuration file: allies, materials, costs, risk and scenario source.

Validated with pydantic at the boundary; every error is one :class:`ScenarioError` naming the
file, the field path, the value and the reason. Units: tonnes (t) of the material's stage unit,
USD, years for cost rates, months for the second stage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from critmin.config_files import read_yaml
from critmin.errors import ScenarioError, field_path, scenario_error

Arrangement = Literal["alone", "joint", "rule"]

# Defaults, with their reasoning in docs/methods/stockpile.md (section "Defaults").
CAPITAL_COST_RATE = 0.05  # per year: a long-run government borrowing rate, about 4-5 % nominal
HOLDING_COST_RATE = 0.02  # per year, share of price: warehousing, insurance, rotation
RELEASE_RATE = 0.25  # share of a holding that can be released per month (4 months to empty)
TRANSFER_COST_USD_PER_T = 2_000.0  # freight, insurance and handling between allies


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SectorConfig(_Strict):
    """One sector using a material in explicit scenarios: its share of the material's
    shortfall and its damage per tonne unmet (scenarios from the market model take both
    from the market)."""

    share: float | None = Field(default=None, ge=0, le=1)
    damage_usd_per_t: float | None = Field(default=None, gt=0)


class MaterialConfig(_Strict):
    """One stockpiled material. ``stage`` is its stage in the simulation engine's chain.

    Explicit scenarios only: ``damage_usd_per_t`` applies to every sector; ``sectors`` sets
    shares and damages per sector (USD per tonne unmet)."""

    stage: str | None = None
    price_usd_per_t: float | None = Field(default=None, gt=0)
    damage_usd_per_t: float | None = Field(default=None, gt=0)
    sectors: dict[str, SectorConfig] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _shares(self) -> MaterialConfig:
        shares = [s.share for s in self.sectors.values()]
        given = [s for s in shares if s is not None]
        if given and len(given) != len(shares):
            raise ValueError("sectors: give a share for every sector or for none")
        if given and abs(sum(given) - 1.0) > 1e-6:
            raise ValueError(f"sectors: shares sum to {sum(given):.6f}, not 1")
        return self


class AllyConfig(_Strict):
    """One ally: optional budget for new holdings (USD), existing holdings (floors, t), caps
    (t) and base consumption (t/year, overrides the engine's)."""

    acquisition_budget_usd: float | None = Field(default=None, ge=0)
    existing_t: dict[str, float] = Field(default_factory=dict)
    max_t: dict[str, float] = Field(default_factory=dict)
    consumption_t_per_year: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _non_negative(self) -> AllyConfig:
        for name in ("existing_t", "max_t", "consumption_t_per_year"):
            for material, value in getattr(self, name).items():
                if value < 0:
                    raise ValueError(f"{name}.{material} = {value}: must be >= 0")
        return self


class CostConfig(_Strict):
    """Cost rates (per year) and second-stage limits."""

    capital_cost_rate: float = Field(default=CAPITAL_COST_RATE, ge=0, le=1)
    holding_cost_rate: float = Field(default=HOLDING_COST_RATE, ge=0, le=1)
    release_rate: float = Field(default=RELEASE_RATE, gt=0, le=1)
    transfer_cost_usd_per_t: float = Field(default=TRANSFER_COST_USD_PER_T, ge=0)
    transfer_capacity_t_per_month: float | None = Field(default=None, ge=0)
    acquisition_months: float | None = Field(default=None, gt=0)
    """Months over which new stock is bought: buying raises the world price of the stage
    (engine scenarios; ``docs/methods/stockpile.md`` section 2.4); none: the base price."""


class RiskConfig(_Strict):
    """CVaR of the second-stage cost at level ``cvar_alpha``, weighted by ``risk_weight``."""

    cvar_alpha: float = Field(default=0.95, gt=0, lt=1)
    risk_weight: float = Field(default=0.0, ge=0)


class EngineScenarios(_Strict):
    """Scenarios sampled by the simulation engine from a scenario file, reduced to ``k``."""

    source: Literal["engine"] = "engine"
    file: Path
    samples: int = Field(default=200, ge=1, le=5_000)
    seed: int = Field(default=0, ge=0)
    k: int = Field(default=20, ge=1)
    price_response: bool = True
    """A release lowers the price at the ally's use node (convex loss curves,
    ``docs/methods/stockpile.md`` section 2.2); false: the average damage per tonne."""


class ExplicitScenario(_Strict):
    """A scenario given by hand: probability and monthly shortfall (t) per ally and material."""

    probability: float = Field(gt=0, le=1)
    shortfall_t: dict[str, dict[str, list[float]]]


class ExplicitScenarios(_Strict):
    source: Literal["explicit"] = "explicit"
    cases: list[ExplicitScenario] = Field(min_length=1)


class StockpileConfig(_Strict):
    """The whole stockpile problem (see ``docs/methods/stockpile.md``)."""

    name: str = Field(min_length=1)
    description: str = ""
    allies: dict[str, AllyConfig] = Field(min_length=1)
    materials: dict[str, MaterialConfig] = Field(min_length=1)
    costs: CostConfig = CostConfig()
    risk: RiskConfig = RiskConfig()
    arrangement: Arrangement = "joint"
    rule_days: float | None = Field(default=None, ge=0)
    scenarios: EngineScenarios | ExplicitScenarios = Field(discriminator="source")

    @model_validator(mode="after")
    def _known_names(self) -> StockpileConfig:
        for ally, spec in self.allies.items():
            if len(ally) != 3 or not ally.isupper():
                raise ValueError(f"allies.{ally}: an ally is an ISO 3166 alpha-3 code")
            for name in ("existing_t", "max_t", "consumption_t_per_year"):
                for material in getattr(spec, name):
                    if material not in self.materials:
                        raise ValueError(
                            f"allies.{ally}.{name}.{material}: unknown material; "
                            f"valid: {', '.join(self.materials)}"
                        )
            for material, floor in spec.existing_t.items():
                cap = spec.max_t.get(material)
                if cap is not None and cap < floor:
                    raise ValueError(
                        f"allies.{ally}.max_t.{material} = {cap}: below existing_t {floor}"
                    )
        if isinstance(self.scenarios, ExplicitScenarios):
            total = sum(case.probability for case in self.scenarios.cases)
            if abs(total - 1.0) > 1e-6:
                raise ValueError(f"scenarios.cases: probabilities sum to {total:.6f}, not 1")
            for i, case in enumerate(self.scenarios.cases):
                for ally, by_material in case.shortfall_t.items():
                    if ally not in self.allies:
                        raise ValueError(f"scenarios.cases[{i}].shortfall_t.{ally}: not an ally")
                    for material, path in by_material.items():
                        if material not in self.materials:
                            raise ValueError(
                                f"scenarios.cases[{i}].shortfall_t.{ally}.{material}: "
                                "unknown material"
                            )
                        if any(v < 0 for v in path):
                            raise ValueError(
                                f"scenarios.cases[{i}].shortfall_t.{ally}.{material}: "
                                "shortfalls must be >= 0"
                            )
        return self


def _location(loc: tuple[Any, ...]) -> str:
    return field_path(loc, skip=frozenset({"engine", "explicit"}))


def parse_config(raw: object, origin: str = "config") -> StockpileConfig:
    """Validate a parsed YAML mapping; one :class:`ScenarioError` naming field and reason."""
    if not isinstance(raw, dict):
        raise ScenarioError(f"{origin}: expected a YAML mapping with name, allies, materials")
    try:
        return StockpileConfig.model_validate(raw)
    except ValidationError as exc:
        raise scenario_error(exc, origin, _location) from None


def load_config(path: Path | str) -> StockpileConfig:
    """Read and validate a stockpile YAML file; a relative scenario ``file`` is resolved
    against the config's folder."""
    path = Path(path)
    raw = read_yaml(path, "stockpile config")
    config = parse_config(raw, str(path))
    if isinstance(config.scenarios, EngineScenarios) and not config.scenarios.file.is_absolute():
        resolved = (path.parent / config.scenarios.file).resolve()
        config = config.model_copy(
            update={"scenarios": config.scenarios.model_copy(update={"file": resolved})}
        )
    return config
