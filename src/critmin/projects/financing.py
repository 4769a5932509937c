"""Financing already committed to the pipeline's projects, and the assumed effect of support.

``data/financing.csv``: one row per commitment (loan, grant, equity, offtake ...) with the
provider and its country, the amount in its currency (empty when not published), its status
and a source. Status: ``committed`` (closed or final), ``conditional`` (conditional approval,
letter of intent), ``non_binding`` (letter of interest), ``contingent`` (drawn only on cost
overruns). ``data/additionality.csv``: per project status, the probability of success
without and with support (with an interval) and the delay without support, with their basis
(assumptions; see docs/methods/portfolio.md).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Literal, get_args

import pandas as pd
from pydantic import ConfigDict, Field, ValidationError

from critmin.errors import DataError
from critmin.projects.schema import STATUSES, BlankIsNone

FinancingStatus = Literal["committed", "conditional", "non_binding", "contingent"]
FINANCING_STATUSES: tuple[str, ...] = get_args(FinancingStatus)
COUNTED_DEFAULT = ("committed", "conditional")  # counted against a project's capex


class Financing(BlankIsNone):
    """One financing commitment to one project."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    project_id: str = Field(pattern=r"^[a-z0-9_]+$")
    provider: str = Field(min_length=1)
    provider_country: str = Field(pattern=r"^[A-Z]{3}$")
    instrument: Literal["grant", "loan", "equity", "offtake", "price_floor"]
    amount: float | None = Field(default=None, ge=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    status: FinancingStatus
    year: int = Field(ge=1990, le=2100)
    source_url: str = Field(pattern=r"^https?://")
    source_title: str = Field(min_length=1)
    grade: str
    note: str | None = None



def _read(name: str) -> pd.DataFrame:
    path = files("critmin.projects") / "data" / name
    with path.open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle, dtype=str, keep_default_na=False)


@cache
def load_financing() -> pd.DataFrame:
    """Every cited financing commitment (one row each; ``amount`` NaN where unpublished)."""
    from critmin.projects.pipeline import load_projects

    raw = _read("financing.csv")
    known = set(load_projects()["project_id"])
    rows = []
    for i, record in enumerate(raw.to_dict(orient="records")):
        try:
            item = Financing.model_validate(record)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise DataError(f"financing.csv: row {i + 1}: {field}: {first['msg']}") from None
        if item.project_id not in known:
            raise DataError(
                f"financing.csv: row {i + 1}: project_id = {item.project_id!r}: not in the pipeline"
            )
        rows.append(item.model_dump())
    frame = pd.DataFrame(rows, columns=list(Financing.model_fields))
    frame["amount"] = frame["amount"].astype("float64")
    return frame


@cache
def additionality() -> pd.DataFrame:
    """Per project status: probability of success without and with support (and its interval),
    delay without support (years, and its interval), grade, basis and source."""
    frame = _read("additionality.csv").set_index("status")
    numeric = [c for c in frame.columns if c.startswith(("probability", "delay"))]
    frame[numeric] = frame[numeric].astype(float)
    unknown = sorted(set(frame.index) - set(STATUSES))
    if unknown:
        raise DataError(f"additionality.csv: status = {unknown[0]!r}: not a project status")
    return frame
