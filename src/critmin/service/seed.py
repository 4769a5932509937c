"""Seed data: the parties, every commitment of the framework text with its source and
deadline, the public follow-up found for them, and the curated projects located in a
party's country.

The records live in ``seed_data/*.csv`` (each commitment and event cites its source and
URL) and in the curated project list of :mod:`critmin.data`. Seed records are shared and
``entered_by: framework``; the audit log names ``critmin-seed`` as their author.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from critmin.service.access import Actor
from critmin.service.audit import record_write
from critmin.service.db import write_transaction
from critmin.service.models import (
    COMMODITY_LEN,
    FRAMEWORK,
    Commitment,
    CommitmentEvent,
    Party,
    Project,
    as_dict,
)

SEED_DIR = Path(__file__).resolve().parent / "seed_data"
SEEDER_NAME = "critmin-seed"


def _seeder(party: str) -> Actor:
    """The audit log's author of seed records: the seed step, for the framework."""
    return Actor(user_id=None, name=SEEDER_NAME, party=party, role=FRAMEWORK)


def _rows(name: str) -> list[dict[str, str]]:
    with (SEED_DIR / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _date(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _add(session: Session, record: Any, party: str) -> None:
    session.add(record)
    session.flush()
    record_write(session, _seeder(party), record.__tablename__, record.id, None, as_dict(record))


def _seed_parties(session: Session) -> int:
    added = 0
    for row in _rows("parties"):
        if session.get(Party, row["code"]) is None:
            party = Party(**row)
            session.add(party)
            session.flush()
            after = {**as_dict(party), "visibility": "shared", "owner_party": party.code}
            record_write(session, _seeder(party.code), "parties", party.code, None, after)
            added += 1
    return added


def _find_commitment(session: Session, party: str, text: str) -> Commitment | None:
    return session.scalars(
        select(Commitment).where(Commitment.party_code == party, Commitment.text == text)
    ).first()


def _seed_commitments(session: Session) -> tuple[int, dict[tuple[str, str], Commitment]]:
    """Add missing commitments; a seed record of an earlier critmin (``previous_text``)
    is brought up to date instead, in place and audited. The commitments by (key, party)."""
    added = 0
    by_key = {}
    for row in _rows("commitments"):
        party = row["party_code"]
        values = {
            "text": row["text"],
            "deadline": _date(row["deadline"]),
            "source_url": row["source_url"],
            "source_title": row["source_title"],
        }
        record = _find_commitment(session, party, row["text"])
        if record is None and row["previous_text"]:
            record = _find_commitment(session, party, row["previous_text"])
            if record is not None:
                before = as_dict(record)
                for name, value in values.items():
                    setattr(record, name, value)
                session.flush()
                record_write(
                    session, _seeder(party), "commitments", record.id, before, as_dict(record)
                )
        if record is None:
            record = Commitment(
                party_code=party,
                owner_party=party,
                visibility="shared",
                entered_by=FRAMEWORK,
                **values,
            )
            _add(session, record, party)
            added += 1
        by_key[(row["key"], party)] = record
    return added, by_key


def _seed_events(session: Session, commitments: dict[tuple[str, str], Commitment]) -> int:
    added = 0
    for row in _rows("commitment_events"):
        party = row["party_code"]
        commitment = commitments[(row["commitment_key"], party)]
        occurred = dt.date.fromisoformat(row["occurred_on"])
        exists = session.scalar(
            select(CommitmentEvent.id).where(
                CommitmentEvent.commitment_id == commitment.id,
                CommitmentEvent.occurred_on == occurred,
                CommitmentEvent.text == row["text"],
            )
        )
        if exists is not None:
            continue
        event = CommitmentEvent(
            commitment_id=commitment.id,
            occurred_on=occurred,
            text=row["text"],
            source_url=row["source_url"],
            source_title=row["source_title"],
            owner_party=party,
            visibility="shared",
            entered_by=FRAMEWORK,
        )
        _add(session, event, party)
        added += 1
    return added


def _seed_projects(session: Session) -> int:
    """Shared projects from the curated list whose country is a party, owned by that party."""
    from critmin.data.tables import curated

    parties = set(session.scalars(select(Party.code)))
    known = set(
        session.scalars(select(Project.curated_name).where(Project.curated_name.is_not(None)))
    )
    added = 0
    for row in curated("projects").itertuples(index=False):
        country = str(row.country_iso3)
        if country not in parties or row.project in known:
            continue
        record = Project(
            name=str(row.project),
            country_iso3=country,
            stage=str(row.stage),
            commodity=(
                str(row.commodity)
                if isinstance(row.commodity, str)
                else f"unknown (curated list: product {row.product})"[:COMMODITY_LEN]
            ),
            status=str(row.status) if isinstance(row.status, str) else "",
            curated_name=str(row.project),
            owner_party=country,
            visibility="shared",
            entered_by=FRAMEWORK,
        )
        _add(session, record, country)
        known.add(str(row.project))
        added += 1
    return added


def seed(engine: Engine) -> dict[str, int]:
    """Add whatever seed records are missing (idempotent); the counts added per table."""
    with write_transaction(engine) as session:
        counts = {"parties": _seed_parties(session)}
        counts["commitments"], by_key = _seed_commitments(session)
        counts["commitment events"] = _seed_events(session, by_key)
        counts["projects"] = _seed_projects(session)
    return counts
