"""Export-control rule files: YAML that reads like the measures, validated with pydantic.

A rule file holds one government's measures. Each measure names the controlled elements and
products (including magnets that contain them), the kind (``licence``, ``quota``, ``ban``),
the destinations (``all`` or ISO3 codes and groups), the licence terms (processing time in
working days, approval rate), a de minimis content threshold for foreign-made goods, the
announcement date (if published before the start), start, suspension windows and expiry
dates, and leakage (exports above the legal flow through lax enforcement, smuggling and
third countries, as a share of the legal flow). Errors name the file, the field, the value
and the reason, on one line.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from critmin.config_files import read_yaml
from critmin.errors import CritminError, ScenarioError, field_path, scenario_error

RARE_EARTHS = (
    "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu",
    "Sc", "Y",
)  # fmt: skip
ELEMENTS = (*RARE_EARTHS, "NdPr", "Ga", "Ge", "Sb")
"""Element symbols a rule may name (``NdPr`` is the traded Nd-Pr oxide/metal)."""

PRODUCTS = ("ore", "compound", "oxide", "metal", "alloy", "magnet", "technology")
"""Product forms a rule may name; ``magnet`` means magnets containing the elements."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Model):
    """Where the measure is written down or reported."""

    url: str
    title: str


class Licence(_Model):
    """Licence terms: ``approval_rate`` of the controlled flow is approved after about
    ``processing_working_days``; approvals arrive evenly between ``1 - processing_spread`` and
    ``1 + processing_spread`` times that (default 0.5: assumption, the same for every
    measure — exporters do not all wait the typical time). ``held_share`` of the volume
    applied for is bought in China at filing and held until the decision (the licence
    pipeline, :mod:`critmin.simulation.rules.pipeline`; default 1: assumption)."""

    processing_working_days: float = Field(default=45.0, ge=0, le=720)
    processing_spread: float = Field(default=0.5, ge=0, le=1)
    approval_rate: float = 0.0
    held_share: float = Field(default=1.0, ge=0, le=1)
    basis: str = ""

    @field_validator("approval_rate")
    @classmethod
    def _rate(cls, value: float) -> float:
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"approval_rate must lie in [0, 1], got {value}")
        return value


class Quota(_Model):
    """An annual export quota (t) against the reference exports (t) it cuts."""

    tonnes_per_year: float = Field(ge=0)
    reference_tonnes_per_year: float = Field(gt=0)
    basis: str = ""


class Window(_Model):
    """A suspension: the measure is not applied from ``start`` to ``end`` (inclusive)."""

    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _order(self) -> Window:
        if self.end < self.start:
            raise ValueError(f"suspension end {self.end} is before its start {self.start}")
        return self


class Measure(_Model):
    """One measure of a rule file."""

    id: str
    kind: Literal["licence", "quota", "ban"]
    elements: list[str] = Field(min_length=1)
    products: list[str] = Field(min_length=1)
    destinations: list[str] | Literal["all"] = "all"
    destination_shares: dict[str, float] = Field(default_factory=dict)
    licence: Licence | None = None
    quota: Quota | None = None
    magnet_coverage: float | None = None
    de_minimis: float | None = None
    leakage: float = 0.0
    announced: dt.date | None = None
    start: dt.date
    suspended: list[Window] = Field(default_factory=list)
    expiry: dt.date | None = None
    note: str = ""

    @field_validator("elements")
    @classmethod
    def _elements(cls, value: list[str]) -> list[str]:
        for i, el in enumerate(value):
            if el not in ELEMENTS:
                raise ValueError(
                    f"elements[{i}] = {el!r}: unknown element; valid: {', '.join(ELEMENTS)}"
                )
        return value

    @field_validator("products")
    @classmethod
    def _products(cls, value: list[str]) -> list[str]:
        for i, p in enumerate(value):
            if p not in PRODUCTS:
                raise ValueError(
                    f"products[{i}] = {p!r}: unknown product; valid: {', '.join(PRODUCTS)}"
                )
        return value

    @field_validator("leakage")
    @classmethod
    def _leakage(cls, value: float) -> float:
        if not 0.0 <= value <= 5.0:
            raise ValueError(f"leakage must lie in [0, 5] (share of the legal flow), got {value}")
        return value

    @field_validator("de_minimis", "magnet_coverage")
    @classmethod
    def _share(cls, value: float | None) -> float | None:
        if value is not None and not 0.0 <= value <= 1.0:
            raise ValueError(f"must lie in [0, 1], got {value}")
        return value

    @field_validator("destination_shares")
    @classmethod
    def _shares(cls, value: dict[str, float]) -> dict[str, float]:
        for key, share in value.items():
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"share of {key} must lie in [0, 1], got {share}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Measure:
        if self.announced is not None and self.announced > self.start:
            raise ValueError(
                f"announced = {self.announced.isoformat()!r}: the announcement {self.announced} "
                f"is after the start {self.start}"
            )
        if self.expiry is not None and self.expiry < self.start:
            raise ValueError(
                f"expiry = {self.expiry.isoformat()!r}: expiry {self.expiry} is before start "
                f"{self.start}"
            )
        if self.kind == "licence" and self.licence is None:
            raise ValueError(
                "a licence measure needs licence: {processing_working_days, approval_rate}"
            )
        if self.kind == "quota" and self.quota is None:
            raise ValueError(
                "a quota measure needs quota: {tonnes_per_year, reference_tonnes_per_year}"
            )
        for i, window in enumerate(self.suspended):
            if window.start < self.start:
                raise ValueError(
                    f"suspended[{i}].start = {window.start.isoformat()!r}: the suspension "
                    f"begins before the measure's start {self.start}"
                )
        return self


class RuleFile(_Model):
    """A government's export-control measures with their sources."""

    name: str
    title: str
    issuer: str = "CHN"
    sources: list[Source] = Field(min_length=1)
    measures: list[Measure] = Field(min_length=1)


_OWN_PATH = re.compile(r"^[a-z_]+(\[\d+\])?(\.[a-z_]+)* = ")


def _location(loc: tuple[Any, ...]) -> str:
    return field_path(loc, skip=frozenset({"function-after"}), skip_prefixes=(), empty="(file)")


def parse_rules(raw: object, origin: str = "<rules>") -> RuleFile:
    """Validate a parsed rule file; the first problem becomes a one-line ScenarioError."""
    if not isinstance(raw, dict):
        raise ScenarioError(
            f"{origin}: a rule file is a mapping with name, title, sources, measures"
        )
    try:
        return RuleFile.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = str(err["msg"]).removeprefix("Value error, ")
        where = _location(tuple(err["loc"]))
        # checks across fields report their own field path and value
        if _OWN_PATH.match(msg):
            # a field validator's path already names the field: do not repeat it
            head = re.split(r"[\[.= ]", msg, maxsplit=1)[0]
            if where.endswith("." + head):
                where = where[: -len(head) - 1]
            raise ScenarioError(f"{origin}: {where}.{msg}") from None
        raise scenario_error(exc, origin, _location) from None


def load_rules(path: Path | str) -> RuleFile:
    """Read and validate a rule YAML file (a shipped name or a path)."""
    path = Path(path)
    if not path.is_file():
        shipped = RULES_DIR / f"{path.name}.yaml"
        if shipped.is_file():
            path = shipped
        else:
            raise ScenarioError(
                f"rule file {path}: does not exist (shipped: {', '.join(shipped_rules())})"
            )
    raw = read_yaml(path, "rule file")
    try:
        return parse_rules(raw, str(path))
    except CritminError:
        raise


RULES_DIR = Path(__file__).with_name("files")


def shipped_rules() -> list[str]:
    """Names of the rule files shipped in ``rules/files``."""
    return sorted(p.stem for p in RULES_DIR.glob("*.yaml"))
