"""``critmin projects``: the embedded project pipeline, plus a user file validated against it,
and the financing already committed to the projects (``--financing``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from critmin.cli.output import Format, render
from critmin.errors import InputError
from critmin.projects import EMBEDDED_AS_OF, load_financing, load_projects

TABLE_COLUMNS = ["project_id", "country", "commodity", "stage", "capacity", "capacity_unit",
                 "capex", "capex_currency", "expected_start", "status"]  # fmt: skip
FINANCING_COLUMNS = ["project_id", "provider", "provider_country", "instrument", "amount",
                     "currency", "status", "year"]  # fmt: skip


def projects_command(
    file: Annotated[
        Path | None, typer.Option("--file", help="Your projects, CSV or YAML (validated).")
    ] = None,
    commodity: Annotated[
        str | None, typer.Option("--commodity", "-c", help="Only this commodity.")
    ] = None,
    financing: Annotated[
        bool, typer.Option("--financing", help="List the financing committed to the projects.")
    ] = False,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
) -> None:
    """List the project pipeline (sources in JSON/CSV); --file adds and validates your own.

    --financing lists the cited commitments (loans, grants, equity) behind them."""
    frame = load_projects(file)
    if commodity is not None:
        known = sorted(set(frame["commodity"]))
        if commodity not in known:
            raise InputError(f"--commodity {commodity!r}: valid values are {', '.join(known)}")
        frame = frame[frame["commodity"] == commodity]
    meta = {"embedded facts as of": EMBEDDED_AS_OF.isoformat(), "projects": str(len(frame))}
    if financing:
        rows = load_financing()
        rows = rows[rows["project_id"].isin(frame["project_id"])]
        meta["commitments"] = str(len(rows))
        render(rows, fmt, title="Financing committed to the projects", meta=meta,
               table_columns=FINANCING_COLUMNS)  # fmt: skip
        return
    render(frame, fmt, title="Projects of interest (outside China)", meta=meta,
           table_columns=TABLE_COLUMNS)  # fmt: skip
