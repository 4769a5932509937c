"""Schema migrations (Alembic) run from Python: upgrade to a revision, report the current one."""

from __future__ import annotations

import re
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from critmin.errors import InputError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database at ``engine`` up to ``revision`` (default: the newest)."""
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision shipped with this version of critmin."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "critmin ships at least one migration"
    return head


# what the application's PostgreSQL role may do, table by table: the audit log only grows
APP_PRIVILEGES = {
    "alembic_version": "SELECT",
    "parties": "SELECT, INSERT",
    "users": "SELECT, INSERT, UPDATE",
    "api_tokens": "SELECT, INSERT, UPDATE",
    "projects": "SELECT, INSERT, UPDATE, DELETE",
    "financing_decisions": "SELECT, INSERT, UPDATE, DELETE",
    "milestones": "SELECT, INSERT, UPDATE, DELETE",
    "commitments": "SELECT, INSERT, UPDATE, DELETE",
    "commitment_events": "SELECT, INSERT, UPDATE, DELETE",
    "stockpile_holdings": "SELECT, INSERT, UPDATE, DELETE",
    "audit_log": "SELECT, INSERT",
}


def grant_app_role(engine: Engine, role: str) -> None:
    """Give the PostgreSQL role ``role`` (which ``critmin serve`` connects as) exactly
    :data:`APP_PRIVILEGES`, run as the migration role that owns the tables. The app's role
    can then add to the audit log but not change, delete or truncate it, nor drop its
    triggers (only the owner can)."""
    if engine.dialect.name != "postgresql":
        raise InputError("granting an application role is for PostgreSQL databases only")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise InputError(f"role {role!r} is not a plain PostgreSQL role name ([a-z_][a-z0-9_]*)")
    with engine.begin() as connection:
        exists = connection.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
        if not exists:
            raise InputError(f"PostgreSQL role {role!r} does not exist: create it first")
        connection.execute(text(f'GRANT USAGE ON SCHEMA public TO "{role}"'))
        for table, privileges in APP_PRIVILEGES.items():
            connection.execute(text(f'REVOKE ALL ON "{table}" FROM "{role}"'))
            connection.execute(text(f'GRANT {privileges} ON "{table}" TO "{role}"'))
