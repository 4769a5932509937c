"""API payloads (pydantic): validation at the boundary, one input and one output model each.

Codes are ISO 3166 alpha-3 (parties, countries) and ISO 4217 (currencies); amounts are in
the record's currency, stockpiles in tonnes (t). Text limits are the database's column
widths (:mod:`critmin.service.models`), so what validates here always fits. Ids are UUIDs.
A failed check answers 422 naming the field.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic.config import JsonDict

from critmin.service import models as m

NO_NUL = r"^[^\x00]*$"
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


Name = Annotated[str, StringConstraints(min_length=1, max_length=m.NAME_LEN, pattern=NO_NUL)]
Stage = Annotated[str, StringConstraints(min_length=1, max_length=m.STAGE_LEN, pattern=NO_NUL)]
Commodity = Annotated[
    str, StringConstraints(min_length=1, max_length=m.COMMODITY_LEN, pattern=NO_NUL)
]
Material = Annotated[
    str, StringConstraints(min_length=1, max_length=m.MATERIAL_LEN, pattern=NO_NUL)
]
Title = Annotated[str, StringConstraints(min_length=1, max_length=m.TITLE_LEN, pattern=NO_NUL)]
StatusText = Annotated[str, StringConstraints(max_length=m.STATUS_LEN, pattern=NO_NUL)]
ShortText = Annotated[str, StringConstraints(max_length=m.NAME_LEN, pattern=NO_NUL)]
Filter = Annotated[
    str, StringConstraints(min_length=1, max_length=m.NAME_LEN, pattern=NO_NUL)
]  # a query filter: empty is a mistake, not "match the empty string"


def _not_a_number(value: object) -> object:
    """A date comes as an ISO string (or a date): 0, 1700000000 or "1700000000" is refused,
    not read as Unix time."""
    if isinstance(value, int | float) or (
        isinstance(value, str) and not ISO_DATE.fullmatch(value)
    ):
        raise ValueError("a date is an ISO 8601 string, YYYY-MM-DD")
    return value


Day = Annotated[dt.date, BeforeValidator(_not_a_number)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=m.TEXT_LEN, pattern=NO_NUL)]
UrlText = Annotated[str, StringConstraints(max_length=m.URL_LEN, pattern=NO_NUL)]
UserName = Annotated[
    str, StringConstraints(min_length=1, max_length=m.USER_NAME_LEN, pattern=r"^[\w.@-]+$")
]
Iso3 = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Visibility = Literal["shared", "confidential"]
Role = Literal["admin", "editor", "viewer", "framework"]
Instrument = Literal["loan", "grant", "equity", "offtake", "guarantee", "price_floor", "other"]
CommitmentStatus = Literal["met", "late", "missed", "open", "no_record"]
RecordId = uuid.UUID
# strict: a JSON number only (true / false / "12" are refused, not read as 1 / 0 / 12)
Tonnes = Annotated[
    float, Field(ge=0, le=1e9, allow_inf_nan=False, strict=True, description="tonnes (t)")
]
Amount = Annotated[
    float,
    Field(ge=0, le=1e13, allow_inf_nan=False, strict=True, description="amount in `currency`"),
]

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
    """An error that is not a validation error (400, 401, 403, 404, 409, 413, 429, 503)."""

    detail: str


class PartyIn(Strict):
    """A party to the framework."""

    code: Iso3
    name: Name
    role_in_framework: Literal["framework", "partner"] = "partner"


class PartyOut(PartyIn):
    """A party as stored."""


class UserIn(Strict):
    """A user of the caller's party (names are unique within a party)."""

    name: UserName
    role: Role = "viewer"


class UserOut(UserIn):
    """A user as stored; ``disabled_at`` is set once the user is disabled."""

    id: uuid.UUID
    party_code: str
    disabled_at: dt.datetime | None = None


class TokenOut(BaseModel):
    """A new API token: shown once, stored only as its SHA-256; valid until ``expires_at``."""

    user_id: uuid.UUID
    token_id: uuid.UUID
    token: str
    expires_at: dt.datetime


class TokenInfo(BaseModel):
    """A credential's metadata (never the token itself)."""

    id: uuid.UUID
    kind: Literal["api", "session"]
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None


class SessionIn(Strict):
    """Sign-in to the dashboard with an API token (exchanged for a session cookie)."""

    token: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class SessionOut(BaseModel):
    """The signed-in user, the CSRF token to send as ``X-CSRF-Token`` on writes, and when
    the session ends."""

    user: UserOut
    csrf_token: str
    expires_at: dt.datetime


class _Authored(BaseModel):
    """Fields every stored record carries: id, owner and who entered it."""

    id: uuid.UUID
    owner_party: str
    entered_by: str


class ProjectIn(Strict):
    """A project of interest; ``curated_name`` names the curated project it is, if any."""

    name: Name
    country_iso3: Iso3
    stage: Stage
    commodity: Commodity
    status: StatusText = ""
    curated_name: Name | None = None
    visibility: Visibility = "shared"


class ProjectOut(ProjectIn, _Authored):
    """A project as stored."""


class FinancingIn(Strict):
    """A financing decision: ``party_code`` (default: the caller's party) commits
    ``amount`` ``currency`` by ``instrument``."""

    project_id: RecordId | None = None
    party_code: Iso3 | None = None
    instrument: Instrument
    amount: Amount
    currency: Iso3 = "USD"
    decided_on: Day
    visibility: Visibility = "shared"


class FinancingOut(FinancingIn, _Authored):
    """A financing decision as stored."""

    party_code: str


class MilestoneIn(Strict):
    """A project milestone: planned date, and actual date once reached."""

    project_id: RecordId
    title: Title
    planned_on: Day
    actual_on: Day | None = None
    visibility: Visibility = "shared"


class MilestoneOut(MilestoneIn, _Authored):
    """A milestone as stored."""


ONE_OUTCOME: JsonDict = {
    "not": {
        "properties": {"met_on": {"type": "string"}, "missed_on": {"type": "string"}},
        "required": ["met_on", "missed_on"],
    }
}


class CommitmentIn(Strict):
    """A commitment of ``party_code`` (default: the caller's party) and, once known, its
    outcome: ``met_on`` (fulfilled that day) or ``missed_on`` (recorded as not met), not
    both."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=ONE_OUTCOME)

    party_code: Iso3 | None = None
    text: LongText
    deadline: Day | None = None
    met_on: Day | None = None
    missed_on: Day | None = None
    source_url: UrlText = ""
    source_title: UrlText = ""
    visibility: Visibility = "shared"

    @model_validator(mode="after")
    def _one_outcome(self) -> CommitmentIn:
        if self.met_on is not None and self.missed_on is not None:
            raise ValueError("met_on and missed_on cannot both be set: the outcome is one")
        return self


class CommitmentOut(CommitmentIn, _Authored):
    """A commitment with its status today and days to its deadline (negative once past).

    Status: ``met`` (on or before the deadline), ``late`` (met after it), ``missed``
    (recorded as not met), ``open`` (no outcome yet, deadline ahead or none) or
    ``no_record`` (deadline passed and no outcome recorded: the registry does not know).
    """

    party_code: str
    status: CommitmentStatus
    days_to_deadline: int | None


class CommitmentEventIn(Strict):
    """Something that happened towards a commitment, with its source."""

    commitment_id: RecordId
    occurred_on: Day
    text: LongText
    source_url: UrlText = ""
    source_title: UrlText = ""
    visibility: Visibility = "shared"


class CommitmentEventOut(CommitmentEventIn, _Authored):
    """A follow-up event as stored."""


class StockpileIn(Strict):
    """``tonnes`` of ``material`` held by ``party_code`` (default: the caller's party)."""

    party_code: Iso3 | None = None
    material: Material
    tonnes: Tonnes
    as_of: Day
    visibility: Visibility = "shared"


class StockpileOut(StockpileIn, _Authored):
    """A stockpile holding as stored."""

    party_code: str


class AuditOut(BaseModel):
    """One audit entry: who (``user_name`` only within the caller's own party; other
    parties' entries show their party and role) changed which record when, with its JSON
    before and after."""

    id: uuid.UUID
    at: dt.datetime
    user_name: str | None
    actor_party: str
    actor_role: str
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
