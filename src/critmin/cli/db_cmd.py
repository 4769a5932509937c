"""``critmin db``: migrate, seed, export, import the registry database; manage users and
tokens; verify the audit log."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from critmin.errors import InputError

if TYPE_CHECKING:
    from sqlalchemy import Engine

app = typer.Typer(
    help="The registry database: upgrade, seed, export, import, users, tokens, audit.",
    no_args_is_help=True,
)

DATABASE_ENV = "CRITMIN_DATABASE_URL"
DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar=DATABASE_ENV,
        show_envvar=True,
        help="Database URL: sqlite:///PATH or postgresql+psycopg://USER:PASS@HOST/DB "
        "(default: registry.sqlite in the user's data directory). Prefer the environment "
        f"variable {DATABASE_ENV} for a URL with a password: options show in `ps`.",
    ),
]
PartyOption = Annotated[str, typer.Option("--party", help="Party code, e.g. USA, JPN.")]


def open_database(url: str | None) -> Engine:
    """The engine for ``--db`` (default: the embedded SQLite file), checked to connect."""
    from critmin.service.db import check_connection, make_engine

    return check_connection(make_engine(url))


@app.command()
def upgrade(
    db: DbOption = None,
    app_role: Annotated[
        str | None,
        typer.Option(
            "--app-role",
            help="PostgreSQL: the role `critmin serve` connects as; it gets exactly the "
            "privileges it needs (the audit log: SELECT and INSERT only).",
        ),
    ] = None,
) -> None:
    """Create or migrate the schema to the newest revision (as the role owning the tables)."""
    from critmin.service.migrate import current_revision, grant_app_role, upgrade

    engine = open_database(db)
    upgrade(engine)
    if app_role is not None:
        grant_app_role(engine, app_role)
    Console().print(f"database at revision {current_revision(engine)}")


@app.command()
def seed(db: DbOption = None) -> None:
    """Add the parties, the framework's commitments and their follow-up, and the curated
    projects (idempotent)."""
    from critmin.service.migrate import upgrade
    from critmin.service.seed import seed

    engine = open_database(db)
    upgrade(engine)
    counts = seed(engine)
    Console().print("added " + ", ".join(f"{n} {table}" for table, n in counts.items()))


@app.command("export")
def export_command(
    path: Annotated[Path, typer.Argument(help="JSON file to write (mode 0600).")],
    db: DbOption = None,
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
    party: PartyOption,
    role: Annotated[
        str, typer.Option("--role", help="viewer, editor, admin or framework.")
    ] = "viewer",
    days: Annotated[
        int, typer.Option("--days", min=1, max=3650, help="Days the token stays valid.")
    ] = 90,
    db: DbOption = None,
) -> None:
    """Create a user and print their API token (shown once, stored hashed, valid --days)."""
    from critmin.service.operator import create_user
    from critmin.service.settings import Settings

    settings = Settings(api_token_days=days)
    token = create_user(open_database(db), name, party.upper(), role, settings)
    typer.echo(token)


@app.command("revoke-token")
def revoke_token_command(
    token_id: Annotated[
        str | None, typer.Argument(help="The token's id (from GET /api/users/{id}/tokens).")
    ] = None,
    user: Annotated[
        str | None, typer.Option("--user", help="Revoke every token of this user (with --party).")
    ] = None,
    party: Annotated[str | None, typer.Option("--party", help="The user's party.")] = None,
    stdin: Annotated[
        bool, typer.Option("--stdin", help="Read the token's value from standard input.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Revoke a token (by id, or by its value on stdin) or all of a user's tokens; they stop
    working at once on every server process."""
    from critmin.service.operator import revoke_tokens

    engine = open_database(db)
    if user is not None:
        if party is None:
            raise InputError("--user needs --party (user names are unique within a party)")
        count = revoke_tokens(engine, user=(user, party.upper()))
    elif stdin:
        count = revoke_tokens(engine, token=sys.stdin.readline().strip())
    elif token_id is not None:
        try:
            ident = uuid.UUID(token_id)
        except ValueError:
            raise InputError(f"token id {token_id!r} is not a UUID") from None
        count = revoke_tokens(engine, token_id=ident)
    else:
        raise InputError("give a TOKEN_ID, --stdin, or --user NAME --party CODE")
    Console().print(f"revoked {count} token(s)")


@app.command("disable-user")
def disable_user_command(
    name: Annotated[str, typer.Argument(help="User name.")],
    party: PartyOption,
    db: DbOption = None,
) -> None:
    """Disable a user and revoke all their tokens and sessions, at once everywhere."""
    from critmin.service.operator import disable_user_named

    count = disable_user_named(open_database(db), name, party.upper())
    Console().print(f"disabled {name} ({party.upper()}); revoked {count} token(s)")


def _anchor(text: str) -> tuple[int, str]:
    seq, _, digest = text.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise InputError(f"anchor {text!r} is not SEQ:SHA256 as verify-audit prints it")
    return int(seq), digest


@app.command("verify-audit")
def verify_audit_command(
    anchor: Annotated[
        list[str] | None,
        typer.Option(
            "--anchor",
            help="SEQ:HASH printed by an earlier run (keep it outside the database); "
            "it must still be in the chain. Repeatable.",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Check the audit log's hash chain and that every record equals its last audited
    state; exit status 1 and the problems listed when anything was changed or deleted."""
    from critmin.service.audit import verify_audit

    anchors = [_anchor(text) for text in anchor or []]
    report = verify_audit(open_database(db), anchors)
    typer.echo(f"{report.entries} audit entries, {report.records} records checked")
    anchor_text = f"{report.head_seq}:{report.head_hash}"
    typer.echo(f"head {anchor_text}  (keep this anchor outside the database)")
    for problem in report.problems[:50]:
        typer.echo(f"problem: {problem}")
    if len(report.problems) > 50:
        typer.echo(f"... and {len(report.problems) - 50} more")
    if not report.ok:
        raise typer.Exit(1)
    typer.echo("audit log intact")
