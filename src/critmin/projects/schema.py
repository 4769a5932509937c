"""The project schema: one validated row of the pipeline (pydantic).

Units: ``capacity`` in ``capacity_unit`` per year (the stage unit of critmin where possible:
t REO, t NdFeB, t LCE, t Ga ...), ``capex`` in ``capex_currency`` (nominal), ``expected_start``
the calendar year of first production. ``products`` is the element basket a project yields,
``name:t_per_year`` pairs separated by ``;`` (e.g. ``ndpr:6000;dy:240;tb:66``), only where a
source gives it. Unknown fields stay empty (None), never zero.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

STATUSES = ("operating", "construction", "development", "uncertain", "cancelled")
INSTRUMENTS = ("grant", "loan", "equity", "offtake", "price_floor")
STAGES = ("mining", "separation", "refining", "metal", "magnet")


def empty_to_none(value: Any) -> Any:
    """Blank cells (None, '', NaN) are unknown: None."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str) and not value.strip():
        return None
    return value


def parse_products(text: str | None) -> dict[str, float]:
    """``'ndpr:6000;dy:240'`` -> ``{'ndpr': 6000.0, 'dy': 240.0}`` (t/yr); ValueError if bad."""
    text = empty_to_none(text)
    if text is None:
        return {}
    basket: dict[str, float] = {}
    for part in str(text).split(";"):
        name, sep, amount = part.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"products item {part!r}: expected name:t_per_year")
        value = float(amount)
        if value < 0 or math.isnan(value):
            raise ValueError(f"products item {part!r}: amount must be >= 0")
        basket[name.strip().lower()] = value
    return basket


class BlankIsNone(BaseModel):
    """A row model whose blank cells (None, '', NaN) are unknown: None."""

    @model_validator(mode="before")
    @classmethod
    def _blanks(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: empty_to_none(v) for k, v in data.items()}
        return data


class Project(BlankIsNone):
    """One project at one commodity and stage, with a source for its facts."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    project_id: str = Field(min_length=1, pattern=r"^[a-z0-9_]+$")
    project: str = Field(min_length=1)
    sponsors: str | None = None
    country: str = Field(pattern=r"^[A-Z]{3}$")
    location: str | None = None
    commodity: str = Field(min_length=1)
    stage: str
    product: str | None = None
    capacity: float | None = Field(default=None, ge=0)
    capacity_unit: str | None = None
    products: str | None = None
    capex: float | None = Field(default=None, ge=0)
    capex_currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    expected_start: int | None = Field(default=None, ge=1900, le=2100)
    status: str
    financing_to_date: str | None = None
    source_url: str = Field(pattern=r"^https?://")
    source_title: str = Field(min_length=1)
    financing_source_url: str | None = Field(default=None, pattern=r"^https?://")
    financing_source_title: str | None = None
    note: str | None = None
    confidence: str | None = None

    @field_validator("expected_start", mode="before")
    @classmethod
    def _year(cls, value: Any) -> Any:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    @field_validator("stage")
    @classmethod
    def _stage(cls, value: str) -> str:
        if value not in STAGES:
            raise ValueError(f"unknown stage; valid: {', '.join(STAGES)}")
        return value

    @field_validator("status")
    @classmethod
    def _status(cls, value: str) -> str:
        if value not in STATUSES:
            raise ValueError(f"unknown status; valid: {', '.join(STATUSES)}")
        return value

    @field_validator("products")
    @classmethod
    def _products(cls, value: str | None) -> str | None:
        parse_products(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Project:
        if self.capex is not None and self.capex_currency is None:
            raise ValueError("capex_currency: required when capex is given")
        if self.capacity is not None and self.capacity_unit is None:
            raise ValueError("capacity_unit: required when capacity is given")
        return self

    def basket(self) -> dict[str, float]:
        """The element basket, t/yr by product (empty when no source gives it)."""
        return parse_products(self.products)

    def check_start(self, as_of: date) -> None:
        """ValueError when the start lies before ``as_of`` and the project is not operating."""
        if (
            self.expected_start is not None
            and self.expected_start < as_of.year
            and self.status != "operating"
        ):
            raise ValueError(
                f"expected_start = {self.expected_start}: before {as_of.isoformat()} but status "
                f"is {self.status!r} (only 'operating' projects may have started)"
            )
