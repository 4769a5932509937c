"""The ``critmin`` command: sub-commands are registered here; errors become one line, exit 2."""

from __future__ import annotations

import logging
import sys

import typer
from rich.console import Console

from critmin.cli import (
    data_cmd,
    metrics_cmd,
    portfolio_cmd,
    pricefloor_cmd,
    projects_cmd,
    report_cmd,
    serve_cmd,
    simulate_cmd,
    stockpile_cmd,
)
from critmin.errors import CritminError

app = typer.Typer(
    name="critmin",
    help="Critical-minerals supply security: data, metrics, disruptions, stockpiles, projects.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(data_cmd.app, name="data")
metrics_cmd.register(app)
app.command("report")(report_cmd.report)
app.command("simulate")(simulate_cmd.simulate_command)
serve_cmd.register(app)
app.command("stockpile")(stockpile_cmd.stockpile_command)
app.command("portfolio")(portfolio_cmd.portfolio_command)
app.command("pricefloor")(pricefloor_cmd.pricefloor_command)
app.command("projects")(projects_cmd.projects_command)

EXIT_USER_ERROR = 2


def main() -> None:
    """Entry point: run the app and turn every :class:`CritminError` into ``error: ...``."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except CritminError as exc:
        Console(stderr=True).print(
            f"[bold red]error:[/bold red] {exc}", highlight=False, soft_wrap=True
        )
        sys.exit(EXIT_USER_ERROR)
