"""The audit log: one entry per write, in the same transaction, hash-chained.

Entry ``seq`` (1, 2, 3 ... without gaps) carries ``hash = SHA-256(prev_hash | fields)``
where ``prev_hash`` is the hash of entry ``seq - 1`` (:data:`GENESIS` for the first). A row
changed after the fact no longer matches its hash; a row deleted leaves a gap in ``seq`` and
a broken link; rows cut off the end leave records whose last audited state is missing.
:func:`verify_audit` checks all three, and that every record in the tables is the state its
last audit entry says. Writers take the chain's head under a lock (SQLite: the database's
single writer; PostgreSQL: a transaction-level advisory lock), so the chain never forks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.orm import Session

from critmin.service.access import Actor
from critmin.service.ids import uuid7
from critmin.service.models import (
    AuditEntry,
    Base,
    Commitment,
    CommitmentEvent,
    FinancingDecision,
    Milestone,
    Party,
    Project,
    StockpileHolding,
    json_value,
)

GENESIS = "0" * 64
ADVISORY_LOCK_KEY = 0x6372_6974_6D69_6E  # "critmin": serialises PostgreSQL audit appends
# the tables whose rows must equal their last audited state (verify_audit)
AUDITED_TABLES: tuple[type[Base], ...] = (
    Party,
    Project,
    FinancingDecision,
    Milestone,
    Commitment,
    CommitmentEvent,
    StockpileHolding,
)
HASHED_FIELDS = (
    "seq",
    "id",
    "at",
    "user_name",
    "actor_party",
    "actor_role",
    "action",
    "entity",
    "entity_id",
    "owner_party",
    "visibility",
    "before",
    "after",
)


def canonical_time(value: dt.datetime) -> str:
    """A timestamp as the chain hashes it: UTC, ISO 8601, microseconds."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def entry_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """SHA-256 (hex) of the previous hash and the entry's :data:`HASHED_FIELDS`."""
    values = []
    for name in HASHED_FIELDS:
        value = fields[name]
        if isinstance(value, dt.datetime):
            value = canonical_time(value)
        values.append(json_value(value))
    payload = json.dumps([prev_hash, *values], ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("ascii")).hexdigest()


def _chain_head(session: Session) -> tuple[int, str]:
    """(seq, hash) of the newest entry, taking the append lock first on PostgreSQL."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    row = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    return (0, GENESIS) if row is None else (int(row.seq), str(row.hash))


def state_json(state: dict[str, Any] | None) -> str | None:
    """A record's state as the audit log stores it (sorted keys)."""
    return None if state is None else json.dumps(state, sort_keys=True)


def record_write(
    session: Session,
    actor: Actor,
    entity: str,
    entity_id: object,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> AuditEntry:
    """Add the audit entry of one write (create: no before; delete: no after) to ``session``.

    The entry is confidential to the record's owner when the record was confidential before
    or after the write, so the log never reveals another party's confidential record.
    """
    states = [state for state in (before, after) if state is not None]
    owner = str(states[-1].get("owner_party", actor.party))
    confidential = any(state.get("visibility") == "confidential" for state in states)
    action = "create" if before is None else "delete" if after is None else "update"
    seq, prev = _chain_head(session)
    fields: dict[str, Any] = {
        "seq": seq + 1,
        "id": uuid7(),
        "at": dt.datetime.now(dt.UTC),
        "user_name": actor.name,
        "actor_party": actor.party,
        "actor_role": actor.role,
        "action": action,
        "entity": entity,
        "entity_id": str(entity_id),
        "owner_party": owner,
        "visibility": "confidential" if confidential else "shared",
        "before": state_json(before),
        "after": state_json(after),
    }
    entry = AuditEntry(**fields, prev_hash=prev, hash=entry_hash(prev, fields))
    session.add(entry)  # the next entry's head query flushes it (autoflush)
    return entry


@dataclass
class AuditReport:
    """What :func:`verify_audit` found: the chain's length and head, and any problems."""

    entries: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    records: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the log and the tables are intact."""
        return not self.problems


def _check_chain(rows: Iterable[Any], report: AuditReport) -> dict[tuple[str, str], Any]:
    """Walk the chain in ``seq`` order; the last entry of every (entity, id)."""
    last: dict[tuple[str, str], Any] = {}
    expected_seq, prev = 1, GENESIS
    for row in rows:
        fields = dict(row._mapping)
        if fields["seq"] != expected_seq:
            report.problems.append(
                f"audit entries {expected_seq}..{fields['seq'] - 1} are missing (deleted)"
            )
        elif fields["prev_hash"] != prev:
            report.problems.append(f"audit entry {fields['seq']}: link to entry before broken")
        if entry_hash(fields["prev_hash"], fields) != fields["hash"]:
            report.problems.append(
                f"audit entry {fields['seq']} ({fields['entity']} {fields['entity_id']}, "
                f"{fields['action']}): contents changed after it was written"
            )
        expected_seq, prev = fields["seq"] + 1, fields["hash"]
        report.entries += 1
        report.head_seq, report.head_hash = fields["seq"], fields["hash"]
        last[(fields["entity"], fields["entity_id"])] = (fields["action"], fields["after"])
    return last


def _check_tables(
    connection: Connection, last: dict[tuple[str, str], Any], report: AuditReport
) -> None:
    """Every row of :data:`AUDITED_TABLES` equals its last audited state, and every record
    the log says exists does."""
    seen: set[tuple[str, str]] = set()
    for model in AUDITED_TABLES:
        table = Base.metadata.tables[model.__tablename__]
        key = next(iter(table.primary_key.columns))
        for row in connection.execute(select(table)):
            state = {name: json_value(value) for name, value in row._mapping.items()}
            ident = (table.name, str(state[key.name]))
            seen.add(ident)
            report.records += 1
            action, after = last.get(ident, (None, None))
            if action is None:
                report.problems.append(f"{table.name} {ident[1]}: no audit entry (inserted?)")
            elif action == "delete":
                report.problems.append(f"{table.name} {ident[1]}: audited as deleted")
            elif {k: json.loads(after).get(k) for k in state} != state:
                report.problems.append(
                    f"{table.name} {ident[1]}: differs from its last audited state (changed?)"
                )
    names = {model.__tablename__ for model in AUDITED_TABLES}
    for (entity, record_id), (action, _after) in last.items():
        if entity in names and action != "delete" and (entity, record_id) not in seen:
            report.problems.append(f"{entity} {record_id}: audited but missing (deleted?)")


def verify_audit(engine: Engine, anchors: Sequence[tuple[int, str]] = ()) -> AuditReport:
    """Check the audit chain and the tables against it; ``anchors`` are (seq, hash) pairs
    recorded earlier (e.g. printed by a previous run) that must still be in the chain."""
    report = AuditReport()
    table = AuditEntry.__table__
    with engine.connect() as connection:
        rows = connection.execution_options(yield_per=2000).execute(
            select(table).order_by(table.c.seq)
        )
        last = _check_chain(rows, report)
        for seq, digest in anchors:
            found = connection.scalar(select(table.c.hash).where(table.c.seq == seq))
            if found != digest:
                report.problems.append(
                    f"anchor {seq}:{digest[:12]}... is not in the chain (history rewritten)"
                )
        _check_tables(connection, last, report)
    return report
