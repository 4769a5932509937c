"""The ``critmin`` command: sub-commands are registered here; errors become one line, exit 2.

Every sub-command lives in its own ``critmin.cli.<name>_cmd`` module, imported only when that
command runs (or when its own ``--help`` is asked for): ``critmin --help`` and ``critmin
--version`` load Typer and Rich, not pandas, the engines or the registry's server packages.
The one-line summaries shown by ``critmin --help`` are kept in :data:`COMMANDS`; a test checks
that each equals the first line of its command's help.
"""

from __future__ import annotations

import importlib
import logging
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any, NamedTuple

import typer
from typer.core import TyperCommand, TyperGroup

from critmin.errors import CritminError


class Entry(NamedTuple):
    """Where a sub-command lives (``critmin.cli.<module>``, attribute) and its summary."""

    module: str
    attribute: str
    summary: str


# In the order ``critmin --help`` lists them. ``attribute`` is a function (a command) or a
# ``typer.Typer`` (a group of commands).
COMMANDS: dict[str, Entry] = {
    "report": Entry(
        "report_cmd",
        "report",
        "Write the alliance report (HTML) and a results folder with every number it shows.",
    ),
    "data": Entry(
        "data_cmd", "app", "The embedded reference data: list, sources, show, validate, build."
    ),
    "metrics": Entry(
        "metrics_cmd",
        "metrics",
        "Concentration (HHI, top-3, N-1, group shares) and, with --importer, dependence.",
    ),
    "geopolrisk": Entry(
        "metrics_cmd",
        "geopolrisk_command",
        "GeoPolRisk (geopolrisk-py 2.0.1 method): HHI, import risk, score and CF.",
    ),
    "gaps": Entry(
        "metrics_cmd",
        "gaps",
        "Allied demand versus allied capacity per stage: gap, bottleneck, pipeline projects.",
    ),
    "supply-risk": Entry(
        "metrics_cmd",
        "supply_risk_command",
        "EU-style supply-risk index with every input as a column (default: US-JP, USA, JPN).",
    ),
    "simulate": Entry(
        "simulate_cmd",
        "simulate_command",
        "Simulate SCENARIO: shortfall, prices and value at risk per country and stage.",
    ),
    "rules": Entry(
        "rules_cmd", "app", "Export-control rule files: check, compile to shocks, run."
    ),
    "backtest": Entry(
        "backtest_cmd",
        "backtest_command",
        "Replay episode NAME on its own world with held-out parameters, or print the scorecard.",
    ),
    "stockpile": Entry(
        "stockpile_cmd",
        "stockpile_command",
        "Size the allies' stockpile of CONFIG and compare alone, joint and the rule of thumb.",
    ),
    "portfolio": Entry(
        "portfolio_cmd",
        "portfolio_command",
        "Choose projects and instruments of CONFIG; frontier and marginal value of a dollar.",
    ),
    "pricefloor": Entry(
        "pricefloor_cmd",
        "pricefloor_command",
        "Value a price floor / contract for difference: expected cost and interval, P95, CVaR.",
    ),
    "projects": Entry(
        "projects_cmd",
        "projects_command",
        "List the project pipeline (sources in JSON/CSV); --file adds and validates your own.",
    ),
    "lng": Entry(
        "lng_cmd",
        "lng_command",
        "Japan's LNG security: supplier shares, HHI, monthly gap, cost, storage, US volumes.",
    ),
    "impact": Entry(
        "impact_cmd",
        "impact_command",
        "Output and value-added losses by industry and in GDP (USD), probability-weighted.",
    ),
    "serve": Entry(
        "serve_cmd",
        "serve",
        "Serve the registry API (/api, schema at /openapi.json) and dashboard (/dashboard/).",
    ),
    "db": Entry(
        "db_cmd",
        "app",
        "The registry database: upgrade, seed, export, import, users, tokens, audit.",
    ),
}

# Packages of the ``service`` extra: a command that needs one of them and finds it missing
# fails with one line naming the extra instead of a traceback.
SERVICE_PACKAGES = frozenset({"sqlalchemy", "alembic", "fastapi", "uvicorn", "psycopg"})
EXIT_USER_ERROR = 2


def load_command(name: str) -> Any:
    """The click command (or group) of sub-command ``name``: imports its module now."""
    entry = COMMANDS[name]
    target = getattr(importlib.import_module(f"critmin.cli.{entry.module}"), entry.attribute)
    if isinstance(target, typer.Typer):
        return typer.main.get_command(target)
    single = typer.Typer(add_completion=False)
    single.command(name)(target)
    return typer.main.get_command(single)


class _Deferred(TyperCommand):
    """Stands for a sub-command in ``critmin --help`` until the command itself is needed."""

    def __init__(self, name: str, summary: str) -> None:
        super().__init__(name, help=summary, short_help=summary)
        self._command: Any = None

    def load(self) -> Any:
        if self._command is None:
            self._command = load_command(str(self.name))
        return self._command


class LazyGroup(TyperGroup):
    """The root group: lists every command from :data:`COMMANDS` and imports one only when it
    is resolved (run, asked for its help, or walked by the docs)."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for name, entry in COMMANDS.items():
            self.commands[name] = _Deferred(name, entry.summary)
        self._listing = False

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = self.commands.get(cmd_name)
        if isinstance(command, _Deferred) and not self._listing:
            return command.load()
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True  # the summaries come from COMMANDS: nothing is imported
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


def _version(value: bool) -> None:
    if value:
        try:
            installed = version("critmin")
        except PackageNotFoundError:  # running from a source tree that was never installed
            installed = "unknown (not installed)"
        typer.echo(f"critmin {installed}")
        raise typer.Exit()


app = typer.Typer(
    name="critmin",
    cls=LazyGroup,
    help="Critical-minerals supply security: data, metrics, disruptions, stockpiles, projects.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print critmin's version and exit.",
            is_eager=True,
            callback=_version,
        ),
    ] = False,
) -> None:
    """The options every command shares (``--version``)."""


def _command_path() -> str:
    """``critmin`` and the (sub-)command words of this invocation, for the hint."""
    words = ["critmin"]
    command: Any = typer.main.get_command(app)
    for arg in sys.argv[1:]:
        if arg.startswith("-") or not hasattr(command, "commands") or arg not in command.commands:
            break
        words.append(arg)
        command = command.commands[arg]
        if isinstance(command, _Deferred):
            command = command.load()
    return " ".join(words)


def _fail(message: str, command: str) -> None:
    """One line on stderr: the error, then where to look; exit code 2."""
    from rich.console import Console
    from rich.markup import escape

    first = escape(" ".join(message.split()))  # "[service]" is text, not Rich markup
    Console(stderr=True).print(
        f"[bold red]error:[/bold red] {first} [dim](see `{command} --help`)[/dim]",
        highlight=False,
        soft_wrap=True,
    )
    sys.exit(EXIT_USER_ERROR)


def _missing_extra(exc: ModuleNotFoundError) -> str | None:
    """The one-line message for a server package of the ``service`` extra that is missing."""
    package = (exc.name or "").split(".")[0]
    if package not in SERVICE_PACKAGES:
        return None
    return (
        f"this command needs the registry's server packages ({package} is not installed): "
        "pip install 'critmin[service]'"
    )


def main() -> None:
    """Entry point: every :class:`CritminError` and every usage error (missing or unknown
    argument or option, bad value) becomes one line, ``error: ... (see `critmin X --help`)``,
    with exit code 2; so does a missing package of the ``service`` extra."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        code = app(standalone_mode=False)
    except CritminError as exc:
        _fail(str(exc), _command_path())
    except ModuleNotFoundError as exc:
        message = _missing_extra(exc)
        if message is None:
            raise
        _fail(message, _command_path())
    except Exception as exc:
        # click's errors (typer may vendor its own click, so match the interface, not the class)
        name = type(exc).__name__
        if name == "Abort":
            print("aborted", file=sys.stderr)
            sys.exit(1)
        if not (hasattr(exc, "format_message") and hasattr(exc, "exit_code")):
            raise
        if name == "NoArgsIsHelpError":  # a group named without a sub-command: its help
            print(exc.format_message())
            sys.exit(EXIT_USER_ERROR)
        _fail(exc.format_message(), _command_path())
    if isinstance(code, int) and code:
        sys.exit(code)
