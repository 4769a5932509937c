"""``critmin backtest``: replay historical export-control episodes against observed data."""

from __future__ import annotations

from typing import Annotated

import typer

from critmin.cli.output import Format, render
from critmin.simulation.backtests import cross_validation, episode_names, run_backtest
from critmin.simulation.backtests.runner import episodes

TABLE_COLUMNS = ["target", "label", "observed", "model", "error", "relative_error"]


def backtest_command(
    name: Annotated[
        str,
        typer.Argument(help="Episode name, 'list' for the episodes, 'crossval' to fit and test."),
    ],
    approval_rate: Annotated[
        float | None,
        typer.Option("--approval-rate", help="Override every licence's approval rate (0-1)."),
    ] = None,
    leakage: Annotated[
        float | None, typer.Option("--leakage", help="Override every measure's leakage.")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
) -> None:
    """Replay episode NAME with its shipped rules: model beside observed, with the error."""
    if name == "list":
        specs = episodes()
        frame = __import__("pandas").DataFrame(
            [
                {
                    "name": n,
                    "title": specs[n]["title"],
                    "rules": ", ".join(specs[n]["rules"]),
                    "start": specs[n]["start"],
                    "months": specs[n]["months"],
                    "targets": len(specs[n]["targets"]),
                }
                for n in episode_names()
            ]
        )
        render(frame, fmt, title="backtests")
        return
    if name == "crossval":
        render(
            cross_validation(),
            fmt,
            title="approval rate fitted on one episode, tested on the others",
            meta={"error": "mean absolute relative error over the episode's targets"},
        )
        return
    for value, label in ((approval_rate, "--approval-rate"), (leakage, "--leakage")):
        if value is not None and not 0.0 <= value <= (1.0 if label == "--approval-rate" else 5.0):
            from critmin.errors import InputError

            raise InputError(f"{label} {value}: out of range")
    frame = run_backtest(name, approval_rate=approval_rate, leakage=leakage)
    spec = episodes()[name]
    render(
        frame,
        fmt,
        title=f"backtest {name}: {spec['title']}",
        meta={
            "rules": ", ".join(spec["rules"]),
            "parameters": "rule-file defaults"
            if approval_rate is None and leakage is None
            else f"approval_rate={approval_rate}, leakage={leakage}",
            "error": "model - observed; relative_error = model / observed - 1",
            "caveat": spec.get("caveat", ""),
        },
        table_columns=TABLE_COLUMNS,
    )
