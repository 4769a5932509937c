"""``critmin db``: migrate, seed, export, import the registry database and create users."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from sqlalchemy import Engine

app = typer.Typer(
    help="The registry database: upgrade, seed, export, import, create-user.",
    no_args_is_help=True,
)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL: sqlite:///PATH or postgresql+psycopg://USER:PASS@HOST/DB "
        "(default: registry.sqlite in the user's data directory).",
    ),
]


def open_database(url: str | None) -> Engine:
    """The engine for ``--db`` (default: the embedded SQLite file), checked to connect."""
    from critmin.service.db import check_connection, make_engine

    return check_connection(make_engine(url))


@app.command()
def upgrade(db: DbOption = None) -> None:
    """Create or migrate the schema to the newest revision."""
    from critmin.service.migrate import current_revision, upgrade

    engine = open_database(db)
    upgrade(engine)
    Console().print(f"database at revision {current_revision(engine)}")


@app.command()
def seed(db: DbOption = None) -> None:
    """Add the parties, the framework's commitments and the curated projects (idempotent)."""
    from critmin.service.migrate import upgrade
    from critmin.service.seed import seed

    engine = open_database(db)
    upgrade(engine)
    counts = seed(engine)
    Console().print("added " + ", ".join(f"{n} {table}" for table, n in counts.items()))


@app.command("export")
def export_command(
    path: Annotated[Path, typer.Argument(help="JSON file to write.")], db: DbOption = None
) -> None:
    """Write every table (all parties: an operator's backup) to a JSON file."""
    from critmin.service.dump import export_database

    counts = export_database(open_database(db), path)
    Console().print(f"wrote {sum(counts.values())} rows to {path}")


@app.command("import")
def import_command(
    path: Annotated[Path, typer.Argument(help="JSON file from `critmin db export`.")],
    db: DbOption = None,
) -> None:
    """Load an export into an empty database (migrated first), all rows or none."""
    from critmin.service.dump import import_database
    from critmin.service.migrate import upgrade

    engine = open_database(db)
    upgrade(engine)
    counts = import_database(engine, path)
    Console().print(f"imported {sum(counts.values())} rows from {path}")


@app.command("create-user")
def create_user_command(
    name: Annotated[str, typer.Argument(help="User name (letters, digits, . @ - _).")],
    party: Annotated[str, typer.Option("--party", help="Party code, e.g. USA, JPN.")],
    role: Annotated[str, typer.Option("--role", help="admin, editor or viewer.")] = "viewer",
    db: DbOption = None,
) -> None:
    """Create a user and print their API token (shown once, stored hashed)."""
    from critmin.service.seed import create_user

    token = create_user(open_database(db), name, party.upper(), role)
    typer.echo(token)
