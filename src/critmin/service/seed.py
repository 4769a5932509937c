"""Seed data: the parties, the framework's commitments from the source articles, and the
curated projects located in a party's country; plus creating users with tokens.

The figures live in ``seed_data/*.csv`` (commitments cite the article and its seed file; the
articles carry no URL) and in the curated project list of :mod:`critmin.data`.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from critmin.errors import InputError
from critmin.service.access import Actor
from critmin.service.audit import record_write
from critmin.service.auth import issue_token
from critmin.service.db import write_transaction
from critmin.service.models import Commitment, Party, Project, User, as_dict

SEED_DIR = Path(__file__).resolve().parent / "seed_data"
SEEDER_NAME = "critmin-seed"


def _seeder(party: str) -> Actor:
    """The audit log's author of seed records: the seed step, acting for the owner party."""
    return Actor(user_id=0, name=SEEDER_NAME, party=party, role="admin")


def _rows(name: str) -> list[dict[str, str]]:
    with (SEED_DIR / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


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


def _seed_commitments(session: Session) -> int:
    added = 0
    for row in _rows("commitments"):
        title = f"{row['source_title']} (seeds/{row['source_file']})"
        exists = session.scalar(
            select(Commitment.id).where(
                Commitment.party_code == row["party_code"], Commitment.text == row["text"]
            )
        )
        if exists is not None:
            continue
        record = Commitment(
            party_code=row["party_code"],
            text=row["text"],
            deadline=dt.date.fromisoformat(row["deadline"]) if row["deadline"] else None,
            source_url="",
            source_title=title,
            owner_party=row["party_code"],
            visibility="shared",
        )
        session.add(record)
        session.flush()
        record_write(
            session, _seeder(record.owner_party), "commitments", record.id, None, as_dict(record)
        )
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
            name=str(row.project)[:200],
            country_iso3=country,
            stage=str(row.stage)[:100],
            commodity=str(row.commodity)[:50],
            status=str(row.status)[:200] if isinstance(row.status, str) else "",
            curated_name=str(row.project),
            owner_party=country,
            visibility="shared",
        )
        session.add(record)
        session.flush()
        record_write(session, _seeder(country), "projects", record.id, None, as_dict(record))
        known.add(str(row.project))
        added += 1
    return added


def seed(engine: Engine) -> dict[str, int]:
    """Add whatever seed records are missing (idempotent); the counts added per table."""
    with write_transaction(engine) as session:
        counts = {"parties": _seed_parties(session)}
        counts["commitments"] = _seed_commitments(session)
        counts["projects"] = _seed_projects(session)
    return counts


def create_user(engine: Engine, name: str, party: str, role: str) -> str:
    """Create a user of ``party`` with ``role`` and return a new API token for them."""
    if role not in ("admin", "editor", "viewer"):
        raise InputError(f"role {role!r} is not one of admin, editor, viewer")
    with write_transaction(engine) as session:
        if session.get(Party, party) is None:
            raise InputError(f"party {party!r} does not exist: run `critmin db seed` first")
        if session.scalar(select(User.id).where(User.name == name)) is not None:
            raise InputError(f"user name {name!r} is taken")
        user = User(name=name, party_code=party, role=role)
        session.add(user)
        session.flush()
        actor = Actor(user_id=user.id, name="critmin-cli", party=party, role="admin")
        after = {**as_dict(user), "visibility": "confidential", "owner_party": party}
        record_write(session, actor, "users", user.id, None, after)
        return issue_token(session, user.id)
