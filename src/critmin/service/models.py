"""The registry's tables as typed SQLAlchemy 2 ORM classes.

Every record a party enters (project, financing decision, milestone, commitment, follow-up
event, stockpile holding) has an ``owner_party`` (the party whose record it is, ISO 3166
alpha-3), a ``visibility`` (``shared``: every party sees it; ``confidential``: only the
owner does) and ``entered_by`` (the owner itself, or ``framework`` when a framework
administrator entered it for the framework as a whole). Ids are UUIDv7
(:mod:`critmin.service.ids`). Amounts are in the record's ``currency`` (ISO 4217);
stockpiles in tonnes (t).

The text-length constants below are the column widths; the API's limits
(:mod:`critmin.service.schemas`) are the same constants, so the database never sees a value
longer than its column.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from critmin.service.ids import uuid7

VISIBILITIES = ("shared", "confidential")
ROLES = ("admin", "editor", "viewer", "framework")
INSTRUMENTS = ("loan", "grant", "equity", "offtake", "guarantee", "price_floor", "other")
TOKEN_KINDS = ("api", "session")
FRAMEWORK = "framework"  # ``entered_by`` of records a framework administrator entered

# column widths (characters), shared with the API's validation
CODE_LEN = 3
NAME_LEN = 200
USER_NAME_LEN = 100
STAGE_LEN = 100
COMMODITY_LEN = 100
MATERIAL_LEN = 100
STATUS_LEN = 200
TITLE_LEN = 300
TEXT_LEN = 4000
URL_LEN = 500
ROLE_LEN = 10
ENTERED_BY_LEN = 12


class Base(DeclarativeBase):
    """Base of every registry table."""


class Party(Base):
    """A government taking part in the framework (USA, JPN) or a partner (AUS, MYS, THA)."""

    __tablename__ = "parties"

    code: Mapped[str] = mapped_column(String(CODE_LEN), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LEN))
    role_in_framework: Mapped[str] = mapped_column(String(20), default="partner")


class User(Base):
    """A person acting for one party with one role; names are unique within a party."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'editor', 'viewer', 'framework')", name="ck_role"),
        UniqueConstraint("party_code", "name", name="uq_users_party_name"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    name: Mapped[str] = mapped_column(String(USER_NAME_LEN))
    party_code: Mapped[str] = mapped_column(ForeignKey("parties.code"))
    role: Mapped[str] = mapped_column(String(ROLE_LEN))
    disabled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    """A bearer token (``api``) or dashboard session (``session``), stored as its SHA-256.

    A token is valid until ``expires_at`` unless ``revoked_at`` is set or its user is
    disabled; every request looks it up, so a revocation holds at once in every process.
    """

    __tablename__ = "api_tokens"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(10), default="api")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class _Owned:
    """Columns every party-entered record has: owner, visibility and who entered it."""

    owner_party: Mapped[str] = mapped_column(ForeignKey("parties.code"), index=True)
    visibility: Mapped[str] = mapped_column(String(12), default="shared")
    entered_by: Mapped[str] = mapped_column(String(ENTERED_BY_LEN))


class Project(_Owned, Base):
    """A project of interest; ``curated_name`` links to the curated project list."""

    __tablename__ = "projects"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    name: Mapped[str] = mapped_column(String(NAME_LEN))
    country_iso3: Mapped[str] = mapped_column(String(CODE_LEN))
    stage: Mapped[str] = mapped_column(String(STAGE_LEN))
    commodity: Mapped[str] = mapped_column(String(COMMODITY_LEN))
    status: Mapped[str] = mapped_column(String(STATUS_LEN), default="")
    curated_name: Mapped[str | None] = mapped_column(String(NAME_LEN), nullable=True)


class FinancingDecision(_Owned, Base):
    """A financing decision by a party: instrument, amount (in ``currency``) and date."""

    __tablename__ = "financing_decisions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    project_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("projects.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    party_code: Mapped[str] = mapped_column(ForeignKey("parties.code"))
    instrument: Mapped[str] = mapped_column(String(20))
    amount: Mapped[float] = mapped_column(Float)
    currency: Mapped[str] = mapped_column(String(CODE_LEN))
    decided_on: Mapped[dt.date] = mapped_column(Date)


class Milestone(_Owned, Base):
    """A project milestone with its planned and (once reached) actual date."""

    __tablename__ = "milestones"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="RESTRICT"), index=True
    )
    title: Mapped[str] = mapped_column(String(TITLE_LEN))
    planned_on: Mapped[dt.date] = mapped_column(Date)
    actual_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)


class Commitment(_Owned, Base):
    """A commitment of a party with a deadline and, once known, its outcome: ``met_on``
    (the day it was fulfilled) or ``missed_on`` (the day it was recorded as not met)."""

    __tablename__ = "commitments"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    party_code: Mapped[str] = mapped_column(ForeignKey("parties.code"))
    text: Mapped[str] = mapped_column(String(TEXT_LEN))
    deadline: Mapped[dt.date | None] = mapped_column(Date, nullable=True, index=True)
    met_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    missed_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    source_url: Mapped[str] = mapped_column(String(URL_LEN), default="")
    source_title: Mapped[str] = mapped_column(String(URL_LEN), default="")


class CommitmentEvent(_Owned, Base):
    """Something that happened towards a commitment (a meeting, a decision, a payment),
    with its date and source; it informs the outcome but does not set it."""

    __tablename__ = "commitment_events"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    commitment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("commitments.id", ondelete="RESTRICT"), index=True
    )
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(String(TEXT_LEN))
    source_url: Mapped[str] = mapped_column(String(URL_LEN), default="")
    source_title: Mapped[str] = mapped_column(String(URL_LEN), default="")


class StockpileHolding(_Owned, Base):
    """Tonnes (t) of a material a party holds in stock on a date."""

    __tablename__ = "stockpile_holdings"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    party_code: Mapped[str] = mapped_column(ForeignKey("parties.code"))
    material: Mapped[str] = mapped_column(String(MATERIAL_LEN))
    tonnes: Mapped[float] = mapped_column(Float)
    as_of: Mapped[dt.date] = mapped_column(Date)


class AuditEntry(Base):
    """One write: who (user, party, role), when, which record, its JSON before and after.

    Append-only (database triggers; on PostgreSQL the application's role may only insert)
    and hash-chained: ``hash`` is the SHA-256 of ``prev_hash`` and the entry's fields, and
    ``seq`` numbers the chain 1, 2, 3 ... without gaps (:mod:`critmin.service.audit`).
    ``seq`` and the hashes are never shown through the API: they would count other
    parties' hidden writes. ``visibility`` is ``confidential`` when the record was
    confidential before or after the write, so the entry is shown only to ``owner_party``.
    """

    __tablename__ = "audit_log"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    user_name: Mapped[str] = mapped_column(String(USER_NAME_LEN))
    actor_party: Mapped[str] = mapped_column(String(CODE_LEN))
    actor_role: Mapped[str] = mapped_column(String(ROLE_LEN))
    action: Mapped[str] = mapped_column(String(10))
    entity: Mapped[str] = mapped_column(String(40), index=True)
    entity_id: Mapped[str] = mapped_column(String(40))
    owner_party: Mapped[str] = mapped_column(String(CODE_LEN), index=True)
    visibility: Mapped[str] = mapped_column(String(12))
    before: Mapped[str | None] = mapped_column(Text, nullable=True)
    after: Mapped[str | None] = mapped_column(Text, nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


def json_value(value: Any) -> Any:
    """A column value as JSON: dates as ISO strings (times in UTC), UUIDs as strings.

    SQLite returns timestamps without their zone; they are written in UTC, so say so.
    """
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def as_dict(record: Base) -> dict[str, Any]:
    """A record's columns as a JSON-ready dict (:func:`json_value` of each)."""
    return {
        column.key: json_value(getattr(record, column.key)) for column in record.__table__.columns
    }
