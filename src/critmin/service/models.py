"""The registry's tables as typed SQLAlchemy 2 ORM classes.

Every record a party enters (project, financing decision, milestone, commitment, stockpile
holding) has an ``owner_party`` (the party that entered it, ISO 3166 alpha-3) and a
``visibility``: ``shared`` (every party sees it) or ``confidential`` (only the owner does).
Amounts are in the record's ``currency`` (ISO 4217); stockpiles in tonnes (t).
"""

from __future__ import annotations

import datetime as dt
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
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

VISIBILITIES = ("shared", "confidential")
ROLES = ("admin", "editor", "viewer")
INSTRUMENTS = ("loan", "grant", "equity", "offtake", "guarantee", "price_floor", "other")


class Base(DeclarativeBase):
    """Base of every registry table."""


class Party(Base):
    """A government taking part in the framework (USA, JPN) or a partner (AUS, MYS, THA)."""

    __tablename__ = "parties"

    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role_in_framework: Mapped[str] = mapped_column(String(20), default="partner")


class User(Base):
    """A person acting for one party with one role (admin, editor or viewer)."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('admin', 'editor', 'viewer')", name="ck_role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    party_code: Mapped[str] = mapped_column(ForeignKey("parties.code"))
    role: Mapped[str] = mapped_column(String(10))


class ApiToken(Base):
    """A bearer token of a user, stored as the SHA-256 of the token (never the token)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class _Owned:
    """Columns every party-entered record has: owner and visibility."""

    owner_party: Mapped[str] = mapped_column(ForeignKey("parties.code"), index=True)
    visibility: Mapped[str] = mapped_column(String(12), default="shared")


class Project(_Owned, Base):
    """A project of interest; ``curated_name`` links to the curated project list."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    country_iso3: Mapped[str] = mapped_column(String(3))
    stage: Mapped[str] = mapped_column(String(100))
    commodity: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(200), default="")
    curated_name: Mapped[str | None] = mapped_column(String(200), nullable=True)


class FinancingDecision(_Owned, Base):
    """A financing decision by a party: instrument, amount (in ``currency``) and date."""

    __tablename__ = "financing_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    party_code: Mapped[str] = mapped_column(ForeignKey("parties.code"))
    instrument: Mapped[str] = mapped_column(String(20))
    amount: Mapped[float] = mapped_column(Float)
    currency: Mapped[str] = mapped_column(String(3))
    decided_on: Mapped[dt.date] = mapped_column(Date)


class Milestone(_Owned, Base):
    """A project milestone with its planned and (once reached) actual date."""

    __tablename__ = "milestones"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="RESTRICT"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    planned_on: Mapped[dt.date] = mapped_column(Date)
    actual_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)


class Commitment(_Owned, Base):
    """A commitment of a party with a deadline; ``met_on`` is set when it is fulfilled."""

    __tablename__ = "commitments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_code: Mapped[str] = mapped_column(ForeignKey("parties.code"))
    text: Mapped[str] = mapped_column(Text)
    deadline: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    met_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    source_url: Mapped[str] = mapped_column(String(500), default="")
    source_title: Mapped[str] = mapped_column(String(500), default="")


class StockpileHolding(_Owned, Base):
    """Tonnes (t) of a material a party holds in stock on a date."""

    __tablename__ = "stockpile_holdings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_code: Mapped[str] = mapped_column(ForeignKey("parties.code"))
    material: Mapped[str] = mapped_column(String(100))
    tonnes: Mapped[float] = mapped_column(Float)
    as_of: Mapped[dt.date] = mapped_column(Date)


class AuditEntry(Base):
    """One write: who, when, which record, and its JSON before and after (append-only).

    ``visibility`` is ``confidential`` when the record was confidential before or after the
    write, so the entry is shown only to ``owner_party``.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    user_name: Mapped[str] = mapped_column(String(100))
    actor_party: Mapped[str] = mapped_column(String(3))
    action: Mapped[str] = mapped_column(String(10))
    entity: Mapped[str] = mapped_column(String(40), index=True)
    entity_id: Mapped[str] = mapped_column(String(40))
    owner_party: Mapped[str] = mapped_column(String(3), index=True)
    visibility: Mapped[str] = mapped_column(String(12))
    before: Mapped[str | None] = mapped_column(Text, nullable=True)
    after: Mapped[str | None] = mapped_column(Text, nullable=True)


def as_dict(record: Base) -> dict[str, Any]:
    """A record's columns as a JSON-ready dict (dates as ISO strings, times in UTC).

    SQLite returns timestamps without their zone; they are written in UTC, so say so.
    """
    out: dict[str, Any] = {}
    for column in record.__table__.columns:
        value = getattr(record, column.key)
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        out[column.key] = value.isoformat() if isinstance(value, dt.date) else value
    return out
