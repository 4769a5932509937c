"""Report settings: pydantic model read from an optional YAML file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from critmin.analysis.pricefloor.reference import term
from critmin.data.commodities import KEY_COMMODITIES
from critmin.errors import InputError


class PriceFloorSettings(BaseModel):
    """The price floor the report values (default: the DoD-MP Materials NdPr terms)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    commodity: Literal["ndpr_oxide", "lithium_carbonate"] = "ndpr_oxide"
    floor: float = Field(
        default_factory=lambda: float(term("dod_mp", "floor")),
        gt=0,
        description="floor price (USD/kg; USD/t Li2CO3); default the DoD-MP floor",
    )
    volume_tpa: float = Field(1000.0, gt=0, description="covered volume, t/yr (illustrative)")
    years: int = Field(
        default_factory=lambda: int(term("dod_mp", "years")),
        ge=1,
        le=30,
        description="term, years; default the DoD-MP term",
    )
    paths: int = Field(100_000, ge=1000, le=1_000_000, description="Monte Carlo paths")


class ReportConfig(BaseModel):
    """What the alliance report covers. Every field has a default; a YAML file overrides it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alliance: str = Field("US-JP", description="group id (groups.yaml) or ISO3 code")
    friends: str = Field("MSP", description="friendly partners whose surplus counts in gaps")
    year: int = Field(2024, description="base year (production data: 2018-2024)")
    horizon: int = Field(2030, description="pipeline projects online by this year count")
    commodities: tuple[str, ...] = Field(KEY_COMMODITIES, min_length=1)
    groups_file: Path | None = Field(None, description="YAML file with more country groups")
    scenarios: tuple[Path, ...] | None = Field(
        None,
        description="your scenario files, run as written (default: the shipped examples, "
        "instantiated for the alliance and year)",
    )
    samples: int = Field(
        200, ge=1, le=5000, description="ensemble draws per scenario with random inputs"
    )
    stockpile: Path | None = Field(
        None,
        description="your stockpile config (critmin stockpile format), run as written "
        "(default: the shipped examples/stockpile/us_japan_targeted_bans.yaml with the "
        "members as allies)",
    )
    portfolio: Path | None = Field(
        None,
        description="your portfolio config (critmin portfolio format), run as written "
        "(default: the shipped examples/portfolio/china_share_separation.yaml for the members "
        "it funds)",
    )
    budgets: dict[str, float] | None = Field(
        None,
        description="portfolio budget per party, USD (replaces or, with the shipped config, "
        "adds members' budgets)",
    )
    price_floor: PriceFloorSettings = Field(default_factory=PriceFloorSettings)
    lng_scenarios: tuple[Path, ...] | None = Field(
        None, description="LNG scenario files (default: the shipped examples/lng/*.yaml)"
    )
    seed: int = Field(0, ge=0, description="ensemble seed (same seed, same report)")


def load_config(path: Path | None, **overrides: object) -> ReportConfig:
    """Defaults, then the YAML file (if any), then explicit overrides (CLI options)."""
    raw: dict[str, object] = {}
    if path is not None:
        if not path.is_file():
            raise InputError(f"config {path}: file does not exist")
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise InputError(f"config {path}: not valid YAML ({exc})") from exc
        if not isinstance(loaded, dict):
            raise InputError(f"config {path}: expected a mapping of settings")
        raw.update(loaded)
    raw.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return ReportConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise InputError(
            f"config field {field!r}: {first['msg']} (got {first.get('input')!r})"
        ) from exc
