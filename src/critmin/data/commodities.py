"""The commodity catalogue: ids, World Mining Data sheets, stages, units and HS codes.

Read from ``catalog/commodities.yaml`` and validated with pydantic on first use.
"""

from __future__ import annotations

from functools import cache

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from critmin.data.paths import CATALOG_DIR
from critmin.errors import DataError, unknown_value

#: Stage ids in supply-chain order; a commodity's stages are a subsequence of these.
STAGE_ORDER: tuple[str, ...] = (
    "mining",
    "separation",
    "refining",
    "liquefaction",
    "metal",
    "high_purity",
    "magnet",
    "cathode",
    "cell",
)

#: The commodities the framework's analyses cover by default (summary, tests, benchmarks).
KEY_COMMODITIES: tuple[str, ...] = (
    "rare_earths",
    "lithium",
    "cobalt",
    "nickel",
    "graphite",
    "gallium",
    "germanium",
    "tungsten",
    "antimony",
    "natural_gas",
)


class Stage(BaseModel):
    """One supply-chain stage of a commodity."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    product: str
    unit: str = Field(description="unit of production at this stage, e.g. 't REO'")
    hs: tuple[int, ...] = Field(default=(), description="HS 1992 codes of this stage's trade")


class Commodity(BaseModel):
    """A commodity and its chain of stages."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    wmd_sheet: str | None = Field(
        description="World Mining Data sheet; None for a manufactured product (batteries)"
    )
    wmd_stage: str = Field(
        description="the stage WMD measures; without a sheet, the chain's first stage, which "
        "then takes all its figures from the chain tables"
    )
    stages: tuple[Stage, ...]

    @model_validator(mode="after")
    def _stages_are_ordered(self) -> Commodity:
        ids = [s.id for s in self.stages]
        unknown = [s for s in ids if s not in STAGE_ORDER]
        if unknown:
            raise ValueError(f"{self.id}: unknown stages {unknown}; valid: {list(STAGE_ORDER)}")
        if ids != sorted(ids, key=STAGE_ORDER.index):
            raise ValueError(f"{self.id}: stages {ids} are not in supply-chain order")
        if self.wmd_sheet is None and self.wmd_stage != ids[0]:
            raise ValueError(f"{self.id}: without a WMD sheet, wmd_stage is the first stage")
        if self.wmd_stage not in ids:
            raise ValueError(f"{self.id}: wmd_stage {self.wmd_stage!r} is not one of its stages")
        return self

    def stage(self, stage_id: str) -> Stage:
        for stage in self.stages:
            if stage.id == stage_id:
                return stage
        raise unknown_value(f"stage of {self.id}", stage_id, [s.id for s in self.stages])


@cache
def catalog() -> dict[str, Commodity]:
    """All commodities by id (cached)."""
    raw = yaml.safe_load((CATALOG_DIR / "commodities.yaml").read_text(encoding="utf-8"))
    try:
        items = [Commodity.model_validate(entry) for entry in raw]
    except ValueError as exc:
        raise DataError(f"catalog/commodities.yaml: {exc}") from exc
    by_id = {c.id: c for c in items}
    if len(by_id) != len(items):
        raise DataError("catalog/commodities.yaml: duplicate commodity ids")
    return by_id


def commodity(commodity_id: str) -> Commodity:
    """The catalogue entry for ``commodity_id``, or an error listing the valid ids."""
    table = catalog()
    if commodity_id not in table:
        raise unknown_value("commodity", commodity_id, table)
    return table[commodity_id]


def hs_stage_table() -> list[tuple[int, str, str]]:
    """(HS code, commodity id, stage id) for every HS code in the catalogue."""
    return [(hs, c.id, s.id) for c in catalog().values() for s in c.stages for hs in s.hs]
