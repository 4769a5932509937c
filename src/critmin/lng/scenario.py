"""LNG scenario files: a :class:`~critmin.simulation.scenario.Scenario` (the one file format
of every engine) on ``commodity: natural_gas`` with an optional ``lng:`` section.

The events are the minerals model's (``outage``, ``export_control``, ``capacity_addition``,
``stockpile_release`` with rule ``even``, ``demand_shock``), all at stage ``liquefaction``.
The ``lng:`` section names the importer studied, new term contracts and parameter overrides::

    lng:
      importer: JPN
      contracts:
        - {name: JERA Rio Grande T5, seller: USA, volume_mtpa: 2.0, start: 2030-01,
           capacity_event: us_new_trains}
      parameters: {storage_days: 20}
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from critmin.config_files import read_yaml
from critmin.errors import ScenarioError, scenario_error
from critmin.lng.data import COMMODITY, STAGE, parameters
from critmin.simulation.scenario import Month, Scenario, _location, _month


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Contract(_Model):
    """A term contract added by the scenario: ``volume_mtpa`` (Mt per year) from ``seller``
    to ``buyer`` between ``start`` and ``end`` (months; ``end`` excluded, None = open).
    ``capacity_event`` names a ``capacity_addition`` event that serves it (deliveries are
    capped by that event's ramped capacity); ``route`` picks a voyage in ``routes.csv``
    (e.g. ``USA-AK``), default the seller's."""

    name: str
    seller: str
    buyer: str = "JPN"
    volume_mtpa: float = Field(ge=0)
    start: Month = 1.0
    end: Month | None = None
    capacity_event: str | None = None
    route: str | None = None
    us_2030: bool = False

    _s = field_validator("start")(_month)

    @field_validator("end")
    @classmethod
    def _end(cls, value: Month | None) -> Month | None:
        return None if value is None else _month(value)


class LngSettings(_Model):
    """The ``lng:`` section: importer studied, added contracts, parameter overrides."""

    importer: str = "JPN"
    contracts: list[Contract] = Field(default_factory=list)
    parameters: dict[str, float] = Field(default_factory=dict)

    @field_validator("parameters")
    @classmethod
    def _known(cls, value: dict[str, float]) -> dict[str, float]:
        known = parameters()
        for name, number in value.items():
            if name not in known:
                raise ValueError(f"{name}: unknown LNG parameter; valid: {', '.join(known)}")
            if name in ("contracted_share",) and not 0.0 <= number <= 1.0:
                raise ValueError(f"{name} = {number}: must lie in [0, 1]")
            if name != "demand_elasticity" and number < 0:
                raise ValueError(f"{name} = {number}: must be >= 0")
        if value.get("demand_elasticity", -0.1) >= 0:
            raise ValueError("demand_elasticity must be < 0")
        return value


class LngScenario(Scenario):
    """A scenario file of the LNG market: the shared scenario fields (events compiled by the
    same compiler as the minerals', ``critmin.simulation.shocks``) plus the ``lng:`` section."""

    commodity: str = COMMODITY
    lng: LngSettings = LngSettings()


def parse_lng_scenario(raw: object, origin: str = "scenario") -> LngScenario:
    """Validate a parsed YAML mapping; one :class:`ScenarioError` naming field and reason."""
    if not isinstance(raw, dict):
        raise ScenarioError(f"{origin}: expected a YAML mapping with name, commodity, events")
    try:
        scenario = LngScenario.model_validate(raw)
    except ValidationError as exc:
        raise scenario_error(exc, origin, _location) from None
    if scenario.commodity != COMMODITY:
        raise ScenarioError(
            f"{origin}: commodity = {scenario.commodity!r}: an LNG scenario is on {COMMODITY}"
        )
    for k, event in enumerate(scenario.events):
        stages = getattr(event, "stages", None) or [getattr(event, "stage", STAGE)]
        for stage in stages:
            if stage != STAGE:
                raise ScenarioError(
                    f"{origin}: events[{k}].stage = {stage!r}: LNG events act on {STAGE}"
                )
        if getattr(event, "rule", "even") != "even":
            raise ScenarioError(
                f"{origin}: events[{k}].rule = 'on_price': the LNG model releases strategic "
                "stocks with rule even only"
            )
    names = {e.name for e in scenario.events if e.name}
    for k, c in enumerate(scenario.lng.contracts):
        if c.capacity_event is not None and c.capacity_event not in names:
            raise ScenarioError(
                f"{origin}: lng.contracts[{k}].capacity_event = {c.capacity_event!r}: no event "
                f"has that name; named events: {', '.join(sorted(names)) or 'none'}"
            )
    return scenario


def load_lng_scenario(path: Path | str) -> LngScenario:
    """Read and validate an LNG scenario YAML file."""
    path = Path(path)
    raw = read_yaml(path, "scenario file")
    return parse_lng_scenario(raw, str(path))


def baseline_scenario(year: int = 2024, start: str = "2026-01", months: int = 72) -> LngScenario:
    """No events, no added contracts: the base state held for ``months`` (to the end of 2031,
    so that the 2030 US volumes show when added)."""
    return parse_lng_scenario(
        {
            "name": "baseline",
            "commodity": COMMODITY,
            "year": year,
            "horizon": {"start": start, "months": months},
        }
    )
