"""API payloads (pydantic): validation at the boundary, one input and one output model each.

Codes are ISO 3166 alpha-3 (parties, countries) and ISO 4217 (currencies); amounts are in
the record's currency, stockpiles in tonnes (t). A failed check answers 422 naming the field.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

NO_NUL = r"^[^\x00]*$"
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)]
ShortText = Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=4000, pattern=NO_NUL)]
UrlText = Annotated[str, StringConstraints(max_length=500, pattern=NO_NUL)]
Iso3 = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Visibility = Literal["shared", "confidential"]
Role = Literal["admin", "editor", "viewer"]
Instrument = Literal["loan", "grant", "equity", "offtake", "guarantee", "price_floor", "other"]
RecordId = Annotated[int, Field(ge=1, le=2_147_483_647)]
Tonnes = Annotated[float, Field(ge=0, le=1e9, description="tonnes (t)")]
Amount = Annotated[float, Field(ge=0, le=1e13, description="amount in `currency`")]

T = TypeVar("T")


class Strict(BaseModel):
    """Refuses unknown fields, so a misspelt field is an error and not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    """One page of a list: ``total`` counts every record the caller may see."""

    items: list[T]
    total: int
    limit: int
    offset: int


class ErrorOut(BaseModel):
    """An error that is not a validation error (401, 403, 404, 409)."""

    detail: str


class PartyIn(Strict):
    """A party to the framework."""

    code: Iso3
    name: Name
    role_in_framework: Literal["framework", "partner"] = "partner"


class PartyOut(PartyIn):
    """A party as stored."""


class UserIn(Strict):
    """A user of the caller's party."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[\w.@-]+$")]
    role: Role = "viewer"


class UserOut(UserIn):
    """A user as stored."""

    id: int
    party_code: str


class TokenOut(BaseModel):
    """A new API token: shown once, stored only as its SHA-256."""

    user_id: int
    token: str


class ProjectIn(Strict):
    """A project of interest; ``curated_name`` names the curated project it is, if any."""

    name: Name
    country_iso3: Iso3
    stage: Name
    commodity: Name
    status: ShortText = ""
    curated_name: Name | None = None
    visibility: Visibility = "shared"


class ProjectOut(ProjectIn):
    """A project as stored."""

    id: int
    owner_party: str


class FinancingIn(Strict):
    """A financing decision: ``party_code`` commits ``amount`` ``currency`` by ``instrument``."""

    project_id: RecordId | None = None
    party_code: Iso3
    instrument: Instrument
    amount: Amount
    currency: Iso3 = "USD"
    decided_on: dt.date
    visibility: Visibility = "shared"


class FinancingOut(FinancingIn):
    """A financing decision as stored."""

    id: int
    owner_party: str


class MilestoneIn(Strict):
    """A project milestone: planned date, and actual date once reached."""

    project_id: RecordId
    title: Name
    planned_on: dt.date
    actual_on: dt.date | None = None
    visibility: Visibility = "shared"


class MilestoneOut(MilestoneIn):
    """A milestone as stored."""

    id: int
    owner_party: str


class CommitmentIn(Strict):
    """A commitment of ``party_code``; ``met_on`` is the day it was fulfilled."""

    party_code: Iso3
    text: LongText
    deadline: dt.date | None = None
    met_on: dt.date | None = None
    source_url: UrlText = ""
    source_title: UrlText = ""
    visibility: Visibility = "shared"


class CommitmentOut(CommitmentIn):
    """A commitment with its status today and days to its deadline (negative once past)."""

    id: int
    owner_party: str
    status: Literal["met", "late", "on_track", "overdue"]
    days_to_deadline: int | None


class StockpileIn(Strict):
    """``tonnes`` of ``material`` held by ``party_code`` on ``as_of``."""

    party_code: Iso3
    material: Name
    tonnes: Tonnes
    as_of: dt.date
    visibility: Visibility = "shared"


class StockpileOut(StockpileIn):
    """A stockpile holding as stored."""

    id: int
    owner_party: str


class AuditOut(BaseModel):
    """One audit entry: who changed which record when, with its JSON before and after."""

    id: int
    at: dt.datetime
    user_name: str
    actor_party: str
    action: str
    entity: str
    entity_id: str
    owner_party: str
    visibility: str
    before: str | None
    after: str | None


class FinancingTotal(BaseModel):
    """Sum of the financing decisions the caller sees, per party, instrument and currency."""

    party_code: str
    instrument: str
    currency: str
    amount: float
    decisions: int
