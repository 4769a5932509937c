"""``critmin lng``: Japan's LNG suppliers, HHI, the monthly gap of a scenario, its cost, the
months storage bridges, and how the 2030 US volumes change each."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from critmin.cli.output import Format, render
from critmin.data import tables
from critmin.lng.api import compare_us_volumes
from critmin.lng.data import check_year, contracts, imports_by_source, routes
from critmin.lng.scenario import baseline_scenario, load_lng_scenario

DEFAULT_YEAR = 2024
MONTHLY_COLUMNS = [
    "variant",
    "month",
    "gap_share",
    "storage_days",
    "unserved_t",
    "price_index",
    "extra_cost_usd",
]


class View(StrEnum):
    summary = "summary"
    monthly = "monthly"
    suppliers = "suppliers"
    imports = "imports"
    contracts = "contracts"
    routes = "routes"


def lng_command(
    scenario: Annotated[
        Path | None, typer.Option("--scenario", help="LNG scenario YAML (examples/lng/).")
    ] = None,
    year: Annotated[
        int | None,
        typer.Option("--year", "-y", help="BACI base year (default: the scenario's, else 2024)."),
    ] = None,
    view: Annotated[
        View,
        typer.Option(
            "--view", help="summary, monthly, suppliers, imports (BACI 2018-Y), contracts, routes."
        ),
    ] = View.summary,
    engine: Annotated[
        str, typer.Option("--engine", "-e", help="compiled or exact (the same market core).")
    ] = "compiled",
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
) -> None:
    """Japan's LNG security: supplier shares, HHI, monthly gap, cost, storage, US volumes."""
    if year is not None:
        check_year(year)
    title = f"LNG: {{}} (JPN, {year or DEFAULT_YEAR})"
    if view in (View.imports, View.contracts, View.routes):
        if view is View.imports:
            table = imports_by_source("JPN", range(2018, (year or DEFAULT_YEAR) + 1))
        else:
            table = contracts() if view is View.contracts else routes()
        units = {
            View.imports: "quantity_t: t; value_usd: current USD; unit value USD/t; share 0-1",
            View.contracts: "volume_mtpa: Mt of LNG per year; start/end: calendar years",
            View.routes: "one-way days; freight_usd_per_t: charter and canal only",
        }
        render(
            table,
            fmt,
            title=title.format(view.value),
            meta={"units": units[view]},
            table_columns=None
            if view is View.imports
            else [
                "buyer",
                "seller",
                "project",
                "volume_mtpa",
                "start",
                "end",
                "status",
                "origin",
                "route",
                "one_way_days",
                "basis",
                "freight_usd_per_t",
            ],
        )
        return
    if scenario is None:
        spec = baseline_scenario(year=year or DEFAULT_YEAR)
    else:
        spec = load_lng_scenario(scenario)
        if year is not None:
            spec = spec.model_copy(update={"year": year})
    year = spec.year
    check_year(year)
    result = compare_us_volumes(spec, engine=engine)
    meta = {
        "scenario": spec.name,
        "importer": spec.lng.importer,
        "year": year,
        "engine": engine,
        "data_version": tables.manifest()["data_version"],
        "units": "t of LNG; shares 0-1; HHI 0-10,000; USD (extra versus the no-event "
        "baseline); price index 1 = mean BACI unit value of the year",
    }
    if view is View.summary:
        frame = result.summary()
        columns: list[str] | None = None
        if fmt is Format.table:
            # one row per measure, one column per variant: fits a terminal
            shown = frame.set_index("variant").T
            frame = shown.reset_index(names="measure").astype({v: object for v in shown})
    elif view is View.monthly:
        frame = result.monthly()
        columns = MONTHLY_COLUMNS
    else:
        frame = result.suppliers()
        columns = None
    render(
        frame,
        fmt,
        title=f"LNG: {spec.name} ({spec.lng.importer}, {year})",
        meta=meta,
        table_columns=columns,
    )
