"""Scenario files: YAML validated with pydantic, errors that name the field and the reason.

A scenario names a commodity chain, an alliance, a horizon and a list of events
(``export_control``, ``outage``, ``demand_shock``, ``capacity_addition``,
``stockpile_release``). Months are counted from 1 (the first month of the horizon) or given as
``"YYYY-MM"``. Every numeric field may be a distribution (see :mod:`distributions`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from critmin.config_files import read_yaml
from critmin.errors import CritminError, ScenarioError, field_path, scenario_error
from critmin.simulation.distributions import Number, support

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _in_range(value: Number, low: float, high: float, what: str) -> Number:
    lo, hi = support(value)
    if lo < low or hi > high:
        shown = value if isinstance(value, int | float) else f"a distribution on [{lo}, {hi}]"
        raise ValueError(f"{what} must lie in [{low}, {high}], got {shown}")
    return value


def _fraction(value: Number) -> Number:
    return _in_range(value, 0.0, 1.0, "a fraction")


def _non_negative(value: Number) -> Number:
    return _in_range(value, 0.0, float("inf"), "a non-negative number")


Month = Number | str


def _month(value: Month) -> Month:
    if isinstance(value, str):
        if not _MONTH.match(value):
            raise ValueError(f"a month is a number >= 1 or 'YYYY-MM', got {value!r}")
        return value
    return _in_range(value, 1.0, float("inf"), "a month (1 = first month of the horizon)")


class Horizon(_Model):
    """First calendar month (``YYYY-MM``) and number of months simulated."""

    start: str = "2026-01"
    months: int = Field(default=24, ge=1, le=240)

    @field_validator("start")
    @classmethod
    def _start(cls, value: str) -> str:
        match = _MONTH.match(value)
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise ValueError(f"start must be 'YYYY-MM', got {value!r}")
        return value

    def index(self, month: Month) -> Number:
        """Month number (1-based) of ``month``; numbers pass through. A ``YYYY-MM`` before
        the horizon's start gives a number below 1: an event that began earlier (a control
        already in force, capacity already ramping)."""
        if not isinstance(month, str):
            return month
        y0, m0 = (int(x) for x in self.start.split("-"))
        y1, m1 = (int(x) for x in month.split("-"))
        return float((y1 - y0) * 12 + (m1 - m0) + 1)

    def labels(self) -> list[str]:
        """``YYYY-MM`` of every month of the horizon."""
        y0, m0 = (int(x) for x in self.start.split("-"))
        out = []
        for k in range(self.months):
            total = m0 - 1 + k
            out.append(f"{y0 + total // 12:04d}-{total % 12 + 1:02d}")
        return out


class Licensing(_Model):
    """After ``after_months`` of a control, ``pass_fraction`` of the blocked flow is licensed."""

    after_months: Number = Field(default=3.0)
    pass_fraction: Number = Field(default=0.5)

    _f = field_validator("pass_fraction")(_fraction)
    _n = field_validator("after_months")(_non_negative)


class _Event(_Model):
    name: str | None = None
    occurs: Number = Field(default=1.0, description="1 = happens; a bernoulli for ensembles")

    _o = field_validator("occurs")(_fraction)


class ExportControl(_Event):
    """``origin`` (country or group) blocks ``fraction`` of its exports at ``stages``."""

    type: Literal["export_control"]
    origin: str
    stages: list[str] = Field(min_length=1)
    destinations: list[str] | Literal["all"]
    fraction: Number
    start: Month = 1.0
    duration: Number
    licensing: Licensing | None = None

    _f = field_validator("fraction")(_fraction)
    _s = field_validator("start")(_month)
    _d = field_validator("duration")(_non_negative)


class Outage(_Event):
    """``fraction`` of the capacity of ``country`` at ``stage`` is lost for ``duration`` months."""

    type: Literal["outage"]
    country: str
    stage: str
    fraction: Number
    start: Month = 1.0
    duration: Number

    _f = field_validator("fraction")(_fraction)
    _s = field_validator("start")(_month)
    _d = field_validator("duration")(_non_negative)


class DemandShock(_Event):
    """Demand of ``sector`` in ``country`` (country, group or ``all``) changes by ``change``."""

    type: Literal["demand_shock"]
    country: str
    sector: str = "all"
    change: Number
    start: Month = 1.0
    duration: Number | None = None

    _s = field_validator("start")(_month)

    @field_validator("change")
    @classmethod
    def _change(cls, value: Number) -> Number:
        return _in_range(value, -1.0, 10.0, "a relative demand change")

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: Number | None) -> Number | None:
        return None if value is None else _non_negative(value)


class CapacityAddition(_Event):
    """New capacity of ``tonnes_per_year`` at ``country``/``stage`` from ``online``, ramped."""

    type: Literal["capacity_addition"]
    country: str
    stage: str
    tonnes_per_year: Number
    online: Month = 1.0
    ramp_months: Number = 12.0

    _t = field_validator("tonnes_per_year", "ramp_months")(_non_negative)
    _s = field_validator("online")(_month)


class StockpileRelease(_Event):
    """``holder`` releases up to ``tonnes`` of its stockpile at ``stage``.

    ``rule: even`` spreads the tonnes over ``duration`` months from ``start``; ``rule: on_price``
    holds them from ``start`` and releases when the price index exceeds ``trigger``.
    """

    type: Literal["stockpile_release"]
    holder: str
    commodity: str
    stage: str
    tonnes: Number
    rule: Literal["even", "on_price"] = "even"
    start: Month = 1.0
    duration: Number = 12.0
    trigger: float = Field(default=1.2, gt=0)

    _t = field_validator("tonnes")(_non_negative)
    _s = field_validator("start")(_month)
    _d = field_validator("duration")(_non_negative)


Event = Annotated[
    ExportControl | Outage | DemandShock | CapacityAddition | StockpileRelease,
    Field(discriminator="type"),
]


class Scenario(_Model):
    """A scenario file: what happens to which chain, over which horizon."""

    name: str
    description: str = ""
    commodity: str
    year: int = 2024
    alliance: str = "US-JP"
    horizon: Horizon = Horizon()
    events: list[Event] = Field(default_factory=list)
    parameters: dict[str, float] = Field(default_factory=dict)
    value_added_usd_per_t: dict[str, float] = Field(
        default_factory=dict,
        description="USD per tonne: the value of a tonne of use to the sector, its rationing "
        "price (default: rationing_price_index x the stage's base price)",
    )
    protected_sectors: list[str] = Field(
        default_factory=list,
        description="sectors served first (defence...): they ration at protected_price_index",
    )
    final_use_shares: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="stage -> country -> share of world final use (replaces the calibration)",
    )

    @field_validator("final_use_shares")
    @classmethod
    def _shares(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for stage, given in value.items():
            for country, share in given.items():
                if not 0.0 <= share <= 1.0:
                    raise ValueError(f"{stage}.{country} = {share}: a share must lie in [0, 1]")
            if sum(given.values()) > 1.0 + 1e-9:
                raise ValueError(f"{stage}: shares sum to {sum(given.values()):.3f} > 1")
        return value


# pydantic's labels for the event and distribution union members
_UNION_LABELS = frozenset(
    {
        "export_control",
        "outage",
        "demand_shock",
        "capacity_addition",
        "stockpile_release",
        "uniform",
        "triangular",
        "lognormal",
        "bernoulli",
        "float",
    }
)


def _location(loc: tuple[Any, ...]) -> str:
    return field_path(
        loc,
        skip=_UNION_LABELS,
        skip_prefixes=("function-", "tagged-union", "literal"),
        empty="scenario",
    )


def parse_scenario(raw: object, origin: str = "scenario") -> Scenario:
    """Validate a parsed YAML mapping; one :class:`ScenarioError` naming field and reason."""
    if not isinstance(raw, dict):
        raise ScenarioError(f"{origin}: expected a YAML mapping with name, commodity, events")
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        raise scenario_error(exc, origin, _location) from None


def load_scenario(path: Path | str) -> Scenario:
    """Read and validate a scenario YAML file."""
    path = Path(path)
    raw = read_yaml(path, "scenario file")
    try:
        return parse_scenario(raw, str(path))
    except CritminError:
        raise
