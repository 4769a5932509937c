"""opaque UUIDv7 ids, expiring and revocable tokens, per-party user names, authorship,
commitment outcomes and follow-up events, a hash-chained audit log

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 12:00:00

Every table but ``parties`` is rebuilt: integer ids (global sequences, whose gaps counted
other parties' hidden writes, and which SQLite reused after a delete) become UUIDv7, kept in
the old order; references and the ids inside the audit log's entries (``entity_id`` and the
``id``/``project_id``/``user_id`` of its before/after states) are rewritten to match, and the
states gain the new columns with their migrated values. Records get ``entered_by`` (their
owner); tokens an expiry :data:`TOKEN_DAYS` days from the upgrade; users may share a name
across parties; commitments get ``missed_on`` and a table of follow-up events. The audit
log gets ``seq`` (its old order), ``actor_role`` (empty for entries written before this
revision) and the hash chain, computed over the migrated entries; it stays append-only.
Downgrading is not supported: restore the backup taken before the upgrade.
"""

import datetime as dt
import json
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from critmin.service.audit import GENESIS, entry_hash
from critmin.service.ids import uuid7

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOKEN_DAYS = 90
OLD_TABLES = (
    "users",
    "api_tokens",
    "projects",
    "financing_decisions",
    "milestones",
    "commitments",
    "stockpile_holdings",
    "audit_log",
)
DROP_ORDER = (
    "milestones",
    "financing_decisions",
    "api_tokens",
    "users",
    "stockpile_holdings",
    "commitments",
    "projects",
    "audit_log",
)
OWNED = ("projects", "financing_decisions", "milestones", "commitments", "stockpile_holdings")
SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
)
POSTGRES_TRIGGERS = (
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
    "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    # TRUNCATE skips row triggers: refuse it too (the owner can still drop the trigger;
    # the application's role, which does not own the table, cannot)
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
)


def _reference(name: str, table: str, nullable: bool) -> sa.Column[Any]:
    """A UUID column referring to ``table.id`` (a referenced row cannot be deleted)."""
    return sa.Column(
        name, sa.Uuid(), sa.ForeignKey(f"{table}.id", ondelete="RESTRICT"), nullable=nullable
    )


def _text_columns() -> list[sa.Column[Any]]:
    """A commitment's or event's text and its source."""
    return [
        sa.Column("text", sa.String(4000), nullable=False),
        sa.Column("source_url", sa.String(500), nullable=False),
        sa.Column("source_title", sa.String(500), nullable=False),
    ]


def _owned_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("owner_party", sa.String(3), sa.ForeignKey("parties.code"), nullable=False),
        sa.Column("visibility", sa.String(12), nullable=False),
        sa.Column("entered_by", sa.String(12), nullable=False),
    ]


def _create_tables() -> dict[str, sa.Table]:
    """The schema at this revision (frozen here, not read from the models)."""
    tables = {}
    tables["users"] = op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("party_code", sa.String(3), sa.ForeignKey("parties.code"), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role IN ('admin', 'editor', 'viewer', 'framework')", name="ck_role"),
        sa.UniqueConstraint("party_code", "name", name="uq_users_party_name"),
    )
    tables["api_tokens"] = op.create_table(
        "api_tokens",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    tables["projects"] = op.create_table(
        "projects",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("country_iso3", sa.String(3), nullable=False),
        sa.Column("stage", sa.String(100), nullable=False),
        sa.Column("commodity", sa.String(100), nullable=False),
        sa.Column("status", sa.String(200), nullable=False),
        sa.Column("curated_name", sa.String(200), nullable=True),
        *_owned_columns(),
    )
    tables["financing_decisions"] = op.create_table(
        "financing_decisions",
        sa.Column("id", sa.Uuid(), primary_key=True),
        _reference("project_id", "projects", nullable=True),
        sa.Column("party_code", sa.String(3), sa.ForeignKey("parties.code"), nullable=False),
        sa.Column("instrument", sa.String(20), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        *_owned_columns(),
    )
    op.create_index("ix_financing_decisions_project_id", "financing_decisions", ["project_id"])
    tables["milestones"] = op.create_table(
        "milestones",
        sa.Column("id", sa.Uuid(), primary_key=True),
        _reference("project_id", "projects", nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("planned_on", sa.Date(), nullable=False),
        sa.Column("actual_on", sa.Date(), nullable=True),
        *_owned_columns(),
    )
    op.create_index("ix_milestones_project_id", "milestones", ["project_id"])
    tables["commitments"] = op.create_table(
        "commitments",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("party_code", sa.String(3), sa.ForeignKey("parties.code"), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("met_on", sa.Date(), nullable=True),
        sa.Column("missed_on", sa.Date(), nullable=True),
        *_text_columns(),
        *_owned_columns(),
    )
    op.create_index("ix_commitments_deadline", "commitments", ["deadline"])
    tables["commitment_events"] = op.create_table(
        "commitment_events",
        sa.Column("id", sa.Uuid(), primary_key=True),
        _reference("commitment_id", "commitments", nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        *_text_columns(),
        *_owned_columns(),
    )
    op.create_index("ix_commitment_events_commitment_id", "commitment_events", ["commitment_id"])
    tables["stockpile_holdings"] = op.create_table(
        "stockpile_holdings",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("party_code", sa.String(3), sa.ForeignKey("parties.code"), nullable=False),
        sa.Column("material", sa.String(100), nullable=False),
        sa.Column("tonnes", sa.Float(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        *_owned_columns(),
    )
    for name in (*OWNED, "commitment_events"):
        op.create_index(f"ix_{name}_owner_party", name, ["owner_party"])
    tables["audit_log"] = op.create_table(
        "audit_log",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("seq", sa.Integer(), nullable=False, unique=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_name", sa.String(100), nullable=False),
        sa.Column("actor_party", sa.String(3), nullable=False),
        sa.Column("actor_role", sa.String(10), nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("entity_id", sa.String(40), nullable=False),
        sa.Column("owner_party", sa.String(3), nullable=False),
        sa.Column("visibility", sa.String(12), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_log_entity", "audit_log", ["entity"])
    op.create_index("ix_audit_log_owner_party", "audit_log", ["owner_party"])
    return tables


class IdMap:
    """Old integer ids of one table -> new UUIDv7s, in the old order; an id met only in
    the audit log (a deleted record) gets a new UUID too, the same one every time."""

    def __init__(self, old_ids: list[int]) -> None:
        base = time.time_ns() // 1_000_000 - len(old_ids) - 1
        self.ids = {old: uuid7(base + i) for i, old in enumerate(sorted(old_ids))}

    def __call__(self, old: Any) -> uuid.UUID:
        key = int(old)
        if key not in self.ids:
            self.ids[key] = uuid7()
        return self.ids[key]


def _read(bind: sa.Connection) -> dict[str, list[dict[str, Any]]]:
    rows = {}
    for name in OLD_TABLES:
        table = sa.Table(name, sa.MetaData(), autoload_with=bind)
        rows[name] = [dict(row._mapping) for row in bind.execute(sa.select(table))]
    return rows


def _state(
    entity: str, raw: str | None, maps: dict[str, IdMap], entity_map: Callable[[Any], Any]
) -> str | None:
    """An audit before/after state with its ids mapped and the new columns added."""
    if raw is None:
        return None
    state = json.loads(raw)
    if state.get("id") is not None and entity in maps:
        state["id"] = str(entity_map(state["id"]))
    if state.get("project_id") is not None:
        state["project_id"] = str(maps["projects"](state["project_id"]))
    if state.get("user_id") is not None:
        state["user_id"] = str(maps["users"](state["user_id"]))
    if entity in OWNED:
        state.setdefault("entered_by", state.get("owner_party"))
    if entity == "commitments":
        state.setdefault("missed_on", None)
    if entity == "users":
        state.setdefault("disabled_at", None)
    return json.dumps(state, sort_keys=True)


def _audit_rows(old: list[dict[str, Any]], maps: dict[str, IdMap]) -> list[dict[str, Any]]:
    rows = []
    prev = GENESIS
    for seq, entry in enumerate(sorted(old, key=lambda e: e["id"]), start=1):
        entity = entry["entity"]
        mapper = maps["users"] if entity == "api_tokens" else maps.get(entity)
        entity_id = entry["entity_id"]
        if mapper is not None and str(entity_id).isdigit():
            entity_id = str(mapper(entity_id))
        at = entry["at"]
        if at.tzinfo is None:
            at = at.replace(tzinfo=dt.UTC)
        fields = {
            "seq": seq,
            "id": uuid7(int(at.timestamp() * 1000)),
            "at": at,
            "user_name": entry["user_name"],
            "actor_party": entry["actor_party"],
            "actor_role": "",
            "action": entry["action"],
            "entity": entity,
            "entity_id": entity_id,
            "owner_party": entry["owner_party"],
            "visibility": entry["visibility"],
            "before": _state(entity, entry["before"], maps, mapper or str),
            "after": _state(entity, entry["after"], maps, mapper or str),
        }
        digest = entry_hash(prev, fields)
        rows.append({**fields, "prev_hash": prev, "hash": digest})
        prev = digest
    return rows


def upgrade() -> None:
    """Rebuild every table but parties with UUIDv7 ids and the new columns."""
    bind = op.get_bind()
    old = _read(bind)
    maps = {name: IdMap([row["id"] for row in old[name]]) for name in OLD_TABLES[:-1]}
    if bind.dialect.name == "sqlite":
        op.execute("DROP TRIGGER audit_log_no_update")
        op.execute("DROP TRIGGER audit_log_no_delete")
    else:
        op.execute("DROP TRIGGER audit_log_no_change ON audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
    for name in DROP_ORDER:
        op.drop_table(name)
    tables = _create_tables()
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=TOKEN_DAYS)
    converted: dict[str, list[dict[str, Any]]] = {
        "users": [
            {**row, "id": maps["users"](row["id"]), "disabled_at": None} for row in old["users"]
        ],
        "api_tokens": [
            {
                **row,
                "id": maps["api_tokens"](row["id"]),
                "user_id": maps["users"](row["user_id"]),
                "kind": "api",
                "expires_at": expires,
                "revoked_at": None,
            }
            for row in old["api_tokens"]
        ],
    }
    for name in OWNED:
        rows = []
        for row in old[name]:
            new = {**row, "id": maps[name](row["id"]), "entered_by": row["owner_party"]}
            if row.get("project_id") is not None:
                new["project_id"] = maps["projects"](row["project_id"])
            if name == "commitments":
                new["missed_on"] = None
            rows.append(new)
        converted[name] = rows
    converted["audit_log"] = _audit_rows(old["audit_log"], maps)
    for name in ("users", "api_tokens", *OWNED, "audit_log"):
        if converted[name]:
            op.bulk_insert(tables[name], converted[name])
    for statement in SQLITE_TRIGGERS if bind.dialect.name == "sqlite" else POSTGRES_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    """Not supported: integer ids cannot be rebuilt from UUIDs."""
    raise NotImplementedError(
        "revision 0003 cannot be downgraded (ids are UUIDs now): restore the backup "
        "(`critmin db export`) taken before upgrading"
    )
