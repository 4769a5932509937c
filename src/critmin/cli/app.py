"""The ``critmin`` command: sub-commands are registered here; errors become one line, exit 2."""

from __future__ import annotations

import logging
import sys

import typer
from rich.console import Console

from critmin.cli import (
    backtest_cmd,
    data_cmd,
    impact_cmd,
    lng_cmd,
    metrics_cmd,
    portfolio_cmd,
    pricefloor_cmd,
    projects_cmd,
    report_cmd,
    rules_cmd,
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
app.add_typer(rules_cmd.app, name="rules")
app.command("backtest")(backtest_cmd.backtest_command)
app.command("portfolio")(portfolio_cmd.portfolio_command)
app.command("pricefloor")(pricefloor_cmd.pricefloor_command)
app.command("projects")(projects_cmd.projects_command)
app.command("lng")(lng_cmd.lng_command)
app.command("impact")(impact_cmd.impact_command)

EXIT_USER_ERROR = 2


def _command_path() -> str:
    """``critmin`` and the (sub-)command words of this invocation, for the hint."""
    current = app
    words = ["critmin"]
    for arg in sys.argv[1:]:
        if arg.startswith("-"):
            break
        groups = {
            g.name: g.typer_instance
            for g in current.registered_groups
            if g.typer_instance is not None
        }
        commands = {c.name for c in current.registered_commands}
        if arg in groups:
            words.append(arg)
            current = groups[arg]
        elif arg in commands:
            words.append(arg)
            break
        else:
            break
    return " ".join(words)


def _fail(message: str, command: str) -> None:
    """One line on stderr: the error, then where to look; exit code 2."""
    first = " ".join(message.split())
    Console(stderr=True).print(
        f"[bold red]error:[/bold red] {first} [dim](see `{command} --help`)[/dim]",
        highlight=False,
        soft_wrap=True,
    )
    sys.exit(EXIT_USER_ERROR)


def main() -> None:
    """Entry point: every :class:`CritminError` and every usage error (missing or unknown
    argument or option, bad value) becomes one line, ``error: ... (see `critmin X --help`)``,
    with exit code 2."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        code = app(standalone_mode=False)
    except CritminError as exc:
        _fail(str(exc), _command_path())
    except Exception as exc:
        # click's errors (typer may vendor its own click, so match the interface, not the class)
        name = type(exc).__name__
        if name == "Abort":
            Console(stderr=True).print("aborted", highlight=False)
            sys.exit(1)
        if not (hasattr(exc, "format_message") and hasattr(exc, "exit_code")):
            raise
        if name == "NoArgsIsHelpError":  # a group named without a sub-command: its help
            print(exc.format_message())
            sys.exit(EXIT_USER_ERROR)
        _fail(exc.format_message(), _command_path())
    if isinstance(code, int) and code:
        sys.exit(code)
