"""Database URLs, engines and sessions (SQLite by default, PostgreSQL for deployments).

Engines hide SQL parameters in their errors and logs (``hide_parameters``), so a failing
statement never writes record contents to a log.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from critmin.errors import DataError, InputError

SQLITE_BUSY_TIMEOUT_MS = 10_000
WRITE_OPTION = "critmin_write"


def default_url() -> str:
    """The embedded database: ``registry.sqlite`` in the user's data directory (created,
    readable by the user only)."""
    import platformdirs

    folder = Path(platformdirs.user_data_dir("critmin", appauthor=False))
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'registry.sqlite'}"


def create_private(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (its mode is then left alone).

    SQLite gives its ``-wal`` and ``-shm`` files the database file's mode, so creating the
    file first keeps all three private to the user whatever the umask.
    """
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Every SQLite connection: WAL journal, foreign keys enforced, full fsync on commit."""
    dbapi_connection.isolation_level = None  # transactions begin in _sqlite_begin
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    """Begin; a writing session takes the write lock at once (``BEGIN IMMEDIATE``) so it
    waits for other writers instead of failing when its read snapshot turns stale."""
    immediate = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str | None = None) -> Engine:
    """An engine for ``url`` (default: :func:`default_url`); only SQLite and PostgreSQL."""
    url = url or default_url()
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 10},
            pool_size=8,
            hide_parameters=True,
        )
        database = engine.url.database
        if database and database != ":memory:" and Path(database).parent.is_dir():
            create_private(Path(database))
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if url.startswith("postgresql"):
        return create_engine(
            url, pool_size=8, max_overflow=8, pool_pre_ping=True, hide_parameters=True
        )
    raise InputError(
        f"database URL {url.split(':', 1)[0]!r} is not supported: use sqlite:///PATH "
        "or postgresql+psycopg://USER:PASSWORD@HOST/DB"
    )


def check_connection(engine: Engine) -> Engine:
    """``engine``, once a connection works; a :class:`DataError` naming the URL otherwise."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DataError(f"database {engine.url!r}: cannot connect ({reason})") from None
    return engine


@dataclass(frozen=True)
class Sessions:
    """Session factories: ``read`` for queries, ``write`` for transactions that write."""

    read: sessionmaker[Session]
    write: sessionmaker[Session]


def sessions_for(engine: Engine) -> Sessions:
    """Read and write session factories on ``engine`` (loaded attributes kept after commit)."""
    writer = engine.execution_options(**{WRITE_OPTION: True})
    return Sessions(
        read=sessionmaker(engine, expire_on_commit=False),
        write=sessionmaker(writer, expire_on_commit=False),
    )


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Session]:
    """A writing session whose work commits on success and rolls back on any error."""
    with sessions_for(engine).write() as session, session.begin():
        yield session
