"""The portfolio configuration file: parties and budgets, instruments, window, objective.

Validated with pydantic at the boundary; every error is one :class:`ScenarioError` naming the
file, the field path, the value and the reason. Units: USD, years, months, tonnes per year of
the stage unit. Defaults marked *assumption* are modelling choices, documented in
``docs/methods/portfolio.md`` (section "Assumptions"), not facts from a source.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from critmin.config_files import read_yaml
from critmin.errors import ScenarioError, field_path, scenario_error
from critmin.projects import COUNTED_DEFAULT, FinancingStatus, additionality
from critmin.projects.schema import INSTRUMENTS, STAGES

Objective = Literal["shortfall", "china_share", "hhi"]
Instrument = Literal["grant", "loan", "equity", "offtake", "price_floor"]
FRAMEWORK_DATE = date(2025, 10, 28)  # US-Japan framework signed in Tokyo

# Assumptions (see docs/methods/portfolio.md): scoring of each instrument against a budget.
DEFAULT_INSTRUMENTS: dict[str, dict[str, float]] = {
    # budget USD per USD of support; share of a project's need one option may cover; months
    "grant": {"fiscal_cost_per_usd": 1.0, "max_share_of_need": 0.5, "months_to_close": 3},
    "loan": {"fiscal_cost_per_usd": 0.15, "max_share_of_need": 0.8, "months_to_close": 6},
    "equity": {"fiscal_cost_per_usd": 0.5, "max_share_of_need": 0.5, "months_to_close": 6},
    "offtake": {"fiscal_cost_per_usd": 0.3, "max_share_of_need": 0.5, "months_to_close": 4},
    "price_floor": {"fiscal_cost_per_usd": 0.4, "max_share_of_need": 0.5, "months_to_close": 4},
}
DEFAULT_LEAD_YEARS = {"construction": 1, "development": 3, "uncertain": 4}
DEFAULT_FX = {"USD": 1.0, "AUD": 0.65, "EUR": 1.08, "CAD": 0.73, "JPY": 0.0067}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InstrumentSpec(_Strict):
    """How one instrument scores against a budget, how much it may cover, how fast it closes."""

    fiscal_cost_per_usd: float = Field(ge=0, le=2)
    max_share_of_need: float = Field(gt=0, le=1)
    months_to_close: float = Field(ge=0)


class PartySpec(_Strict):
    """A financing party (e.g. ``USA``, ``JPN``): its budget (USD) and the instruments it uses."""

    budget_usd: float = Field(ge=0)
    instruments: list[Instrument] = Field(min_length=1)


class Target(_Strict):
    """A commodity stage whose China share or HHI the portfolio should lower."""

    commodity: str
    stage: str
    weight: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _stage(self) -> Target:
        if self.stage not in STAGES:
            raise ValueError(f"stage {self.stage!r}: valid stages are {', '.join(STAGES)}")
        return self


class GapItem(_Strict):
    """An allied shortfall to close: t over the disruption horizon at a stage (or one product
    of a stage's co-produced basket, e.g. ``dy``), valued at ``value_usd_per_t``."""

    commodity: str
    stage: str
    product: str | None = None
    shortfall_t: float = Field(ge=0)
    value_usd_per_t: float = Field(default=1.0, gt=0)
    horizon_months: int = Field(default=12, ge=1)


class ExplicitGaps(_Strict):
    source: Literal["explicit"] = "explicit"
    items: list[GapItem] = Field(min_length=1)


class SimulationGaps(_Strict):
    """Allied shortfall by stage from a disruption scenario: its central run (``samples: 0``)
    or an ensemble of ``samples`` sampled scenarios (equal weights)."""

    source: Literal["simulation"] = "simulation"
    scenario: Path
    samples: int = Field(default=0, ge=0, le=2000)
    seed: int = Field(default=0, ge=0)


def _by_status(column: str) -> dict[str, float]:
    """A column of the cited additionality assumptions (projects/data/additionality.csv)."""
    return {str(k): float(v) for k, v in additionality()[column].items()}


class Assumptions(_Strict):
    """Modelling assumptions (labelled as such in every output). Probabilities and delays by
    project status default to ``projects/data/additionality.csv`` (basis and source there)."""

    probability_of_success: dict[str, float] = Field(
        default_factory=lambda: _by_status("probability_without_support"),
        description="probability that a project delivers without the allies' support",
    )
    probability_with_support: dict[str, float] = Field(
        default_factory=lambda: _by_status("probability_with_support")
    )
    delay_without_support_years: dict[str, int] = Field(
        default_factory=lambda: {k: int(v) for k, v in
                                 _by_status("delay_without_support_years").items()}
    )  # fmt: skip
    lead_time_years: dict[str, int] = Field(default_factory=lambda: DEFAULT_LEAD_YEARS)
    ramp_up_years: int = Field(default=2, ge=1, le=10)
    need_share_of_capex: float = Field(default=0.5, gt=0, le=1)
    counted_financing: list[FinancingStatus] = Field(
        default_factory=lambda: [cast(FinancingStatus, s) for s in COUNTED_DEFAULT]
    )
    fx_usd_per_unit: dict[str, float] = Field(default_factory=lambda: DEFAULT_FX)

    @model_validator(mode="after")
    def _ranges(self) -> Assumptions:
        for name in ("probability_of_success", "probability_with_support"):
            for status, p in getattr(self, name).items():
                if not 0 < p <= 1:
                    raise ValueError(f"{name}.{status} = {p}: must lie in (0, 1]")
        for status, p in self.probability_with_support.items():
            base = self.probability_of_success.get(status)
            if base is not None and p < base:
                raise ValueError(
                    f"probability_with_support.{status} = {p}: below the probability without "
                    f"support ({base}); support cannot lower it"
                )
        for name in ("lead_time_years", "delay_without_support_years"):
            for status, years in getattr(self, name).items():
                if years < 0:
                    raise ValueError(f"{name}.{status} = {years}: must be >= 0")
        return self


class EngineCheck(_Strict):
    """Re-simulation of the chosen portfolio and of the no-support baseline through the
    market model: the disruption ``scenario`` (default: the gaps' scenario), ``samples``
    sampled scenarios (project success drawn in each), ``seed``."""

    scenario: Path | None = None
    samples: int = Field(default=200, ge=2, le=5000)
    seed: int = Field(default=0, ge=0)
    level: float = Field(default=0.9, gt=0, lt=1)


class PortfolioConfig(_Strict):
    """The whole portfolio problem (see ``docs/methods/portfolio.md``)."""

    name: str = Field(min_length=1)
    description: str = ""
    objective: Objective = "shortfall"
    decision_date: date = FRAMEWORK_DATE
    window_months: float = Field(default=6.0, gt=0, le=60)
    target_year: int = Field(default=2030, ge=2025, le=2060)
    base_year: int = Field(default=2024, ge=2018, le=2024)
    projects: list[str] | None = None
    extra_projects: Path | None = None
    parties: dict[str, PartySpec] = Field(min_length=1)
    instruments: dict[str, InstrumentSpec] = Field(
        default_factory=lambda: {k: InstrumentSpec(**v) for k, v in DEFAULT_INSTRUMENTS.items()}
    )
    max_country_share: float | None = Field(default=0.5, gt=0, le=1)
    targets: list[Target] = Field(default_factory=list)
    gaps: ExplicitGaps | SimulationGaps | None = Field(default=None, discriminator="source")
    assumptions: Assumptions = Field(default_factory=Assumptions)
    engine: EngineCheck | None = Field(default_factory=EngineCheck)
    frontier_points: int = Field(default=10, ge=0, le=100)
    mip_rel_gap: float = Field(default=0.0, ge=0, le=0.1)

    @model_validator(mode="before")
    @classmethod
    def _instrument_defaults(cls, data: Any) -> Any:
        """Instruments given in the file override the defaults one field at a time."""
        if isinstance(data, dict) and isinstance(data.get("instruments"), dict):
            merged: dict[str, Any] = {}
            for name, spec in data["instruments"].items():
                if name not in INSTRUMENTS:
                    raise ValueError(
                        f"instruments.{name}: unknown instrument; valid: {', '.join(INSTRUMENTS)}"
                    )
                merged[name] = {**DEFAULT_INSTRUMENTS[name], **(spec or {})}
            data = {**data, "instruments": {**DEFAULT_INSTRUMENTS, **merged}}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> PortfolioConfig:
        if self.objective == "shortfall" and self.gaps is None:
            raise ValueError("gaps: required for objective 'shortfall'")
        if self.objective in ("china_share", "hhi") and not self.targets:
            raise ValueError(f"targets: at least one required for objective {self.objective!r}")
        if self.objective == "hhi" and len(self.targets) != 1:
            raise ValueError("targets: objective 'hhi' takes exactly one commodity stage")
        if self.target_year < self.decision_date.year:
            raise ValueError(
                f"target_year = {self.target_year}: before the decision date {self.decision_date}"
            )
        for party in self.parties:
            if len(party) != 3 or not party.isupper():
                raise ValueError(f"parties.{party}: a party is an ISO 3166 alpha-3 code")
        return self


def _location(loc: tuple[Any, ...]) -> str:
    return field_path(loc, skip=frozenset({"explicit", "simulation"}))


def parse_config(raw: object, origin: str = "config") -> PortfolioConfig:
    """Validate a parsed YAML mapping; one :class:`ScenarioError` naming field and reason."""
    if not isinstance(raw, dict):
        raise ScenarioError(f"{origin}: expected a YAML mapping with name, parties, objective")
    try:
        return PortfolioConfig.model_validate(raw)
    except ValidationError as exc:
        raise scenario_error(exc, origin, _location) from None


def load_config(path: Path | str) -> PortfolioConfig:
    """Read and validate a portfolio YAML file; relative paths resolve against its folder."""
    path = Path(path)
    raw = read_yaml(path, "portfolio config")
    config = parse_config(raw, str(path))
    update: dict[str, Any] = {}
    if config.extra_projects is not None and not config.extra_projects.is_absolute():
        update["extra_projects"] = (path.parent / config.extra_projects).resolve()
    if isinstance(config.gaps, SimulationGaps) and not config.gaps.scenario.is_absolute():
        scenario = (path.parent / config.gaps.scenario).resolve()
        update["gaps"] = config.gaps.model_copy(update={"scenario": scenario})
    engine = config.engine
    if engine is not None and engine.scenario is not None and not engine.scenario.is_absolute():
        update["engine"] = engine.model_copy(
            update={"scenario": (path.parent / engine.scenario).resolve()}
        )
    return config.model_copy(update=update) if update else config
