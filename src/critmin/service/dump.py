"""Whole-database export and import (JSON), for backups and moving between databases.

The dump holds every row of every table, ids included, and the schema revision; importing
it into an empty database at the same revision restores it exactly (the audit chain
included). This is an operator's tool (the CLI): it bypasses party isolation, unlike the
API's per-party CSV export, so the file is created readable by its owner only.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Date, DateTime, Engine, Uuid, func, select

from critmin.errors import DataError
from critmin.service.migrate import current_revision
from critmin.service.models import Base, json_value

FORMAT = "critmin-registry-dump/1"


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by the user only (mode 0600, also when the file
    existed before): a dump holds every party's confidential records."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def export_database(engine: Engine, path: Path) -> dict[str, int]:
    """Write every table to ``path`` as JSON; the row counts per table."""
    tables: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            rows = connection.execute(select(table).order_by(*table.primary_key.columns))
            tables[table.name] = [
                {key: json_value(value) for key, value in row._mapping.items()} for row in rows
            ]
    dump = {"format": FORMAT, "revision": current_revision(engine), "tables": tables}
    write_private(path, json.dumps(dump, indent=1, sort_keys=True))
    return {name: len(rows) for name, rows in tables.items()}


def _decode(table_name: str, row: dict[str, Any]) -> dict[str, Any]:
    table = Base.metadata.tables[table_name]
    out = {}
    for key, value in row.items():
        if key not in table.columns:
            raise DataError(f"dump table {table_name}: unknown column {key!r}")
        kind = table.columns[key].type
        if value is not None and isinstance(kind, DateTime):
            value = dt.datetime.fromisoformat(value)
        elif value is not None and isinstance(kind, Date):
            value = dt.date.fromisoformat(value)
        elif value is not None and isinstance(kind, Uuid):
            value = uuid.UUID(value)
        out[key] = value
    return out


def import_database(engine: Engine, path: Path) -> dict[str, int]:
    """Load a dump into ``engine``'s empty database (same revision), all or nothing."""
    try:
        dump = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"dump {path}: cannot read it as JSON ({exc})") from exc
    if not isinstance(dump, dict) or dump.get("format") != FORMAT:
        raise DataError(f"dump {path}: field 'format' is not {FORMAT!r}")
    revision = current_revision(engine)
    if dump.get("revision") != revision:
        raise DataError(
            f"dump {path}: field 'revision' is {dump.get('revision')!r} but the database is at "
            f"{revision!r}; run `critmin db upgrade` on both first"
        )
    counts: dict[str, int] = {}
    with engine.begin() as connection:
        for table in Base.metadata.sorted_tables:
            if connection.scalar(select(func.count()).select_from(table)):
                raise DataError(
                    f"database table {table.name} is not empty: import needs an empty one"
                )
            rows = [_decode(table.name, row) for row in dump["tables"].get(table.name, [])]
            if rows:
                connection.execute(table.insert(), rows)
            counts[table.name] = len(rows)
    return counts
