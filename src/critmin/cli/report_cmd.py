"""``critmin report``: the alliance assessment as one self-contained HTML file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from critmin.report import build_report, load_config, results_folder
from critmin.report.summary import key_findings


def report(
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = Path(
        "report.html"
    ),
    alliance: Annotated[
        str | None, typer.Option("--alliance", "-a", help="Alliance group (default US-JP).")
    ] = None,
    year: Annotated[int | None, typer.Option("--year", "-y", help="Base year (2024).")] = None,
    config_file: Annotated[
        Path | None, typer.Option("--config", help="YAML settings (see docs/report.md).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary.")] = False,
) -> None:
    """Write the alliance report (HTML) and a results folder with every number it shows."""
    config = load_config(config_file, alliance=alliance, year=year)
    results = build_report(config, out, quiet=quiet)
    if quiet:
        return
    console = Console()
    console.print(f"[bold]{config.alliance} {config.year}: key findings[/bold]")
    for finding in key_findings(results):
        console.print(f"  • {finding.text} [dim](confidence: {finding.confidence})[/dim]",
                      highlight=False, markup=True)
    console.print(f"report: {out}\nresults: {results_folder(out)}/", highlight=False)
