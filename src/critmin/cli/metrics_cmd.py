"""``critmin metrics``, ``critmin geopolrisk`` and ``critmin gaps``: the criticality indicators.

JSON output is ``{"meta": {...}, "rows": [...]}``; the row keys are stable and documented
in ``docs/methods/metrics.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from critmin.analysis import (
    concentration,
    gap_analysis,
    geopolrisk,
    import_reliance,
    stage_output,
    stage_trade,
    supplier_concentration,
    supplier_mix,
    supply_risk,
    sweep,
)
from critmin.analysis.panel import production_years
from critmin.cli.output import Format, render
from critmin.data import tables
from critmin.data.commodities import KEY_COMMODITIES, catalog, commodity
from critmin.errors import InputError, unknown_value
from critmin.network.groups import check_country, load_groups, resolve_members

FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
AllOption = Annotated[
    bool, typer.Option("--all", help="Sweep every commodity x country x year into one table.")
]
CommoditiesOption = Annotated[
    list[str] | None, typer.Option("--commodity", "-c", help="Commodity (repeatable).")
]
GroupsFileOption = Annotated[
    Path | None, typer.Option("--groups", help="YAML file with more country groups.")
]


METRICS_TABLE = [
    "stage", "hhi", "top1_country", "top1_share", "top3_countries", "top3_share",
    "n_minus_1_residual", "world", "unit", "share_*", "import_reliance", "supplier_hhi",
    "top_supplier", "top_supplier_share", "figure_year", "grades", "sources",
]  # fmt: skip
GAPS_TABLE = [
    "commodity", "stage", "unit", "demand", "own_capacity", "friends_surplus", "gap",
    "gap_pct", "bottleneck", "projects_capacity", "gap_with_projects_pct", "sources",
]  # fmt: skip
SUPPLY_RISK_TABLE = [
    "region", "commodity", "stage", "hhi_wgi_global", "hhi_wgi_sourcing", "import_reliance",
    "eol_rir", "supply_risk", "sources",
]  # fmt: skip


def _members(name: str, groups_file: Path | None) -> tuple[str, ...]:
    return resolve_members(name, load_groups(groups_file))


def _meta(year: int | None, **extra: Any) -> dict[str, Any]:
    return {"year": year, "data_version": tables.manifest()["data_version"], **extra}


def metrics(
    commodity_id: Annotated[
        str | None, typer.Option("--commodity", "-c", help="Commodity id, e.g. rare_earths.")
    ] = None,
    stage: Annotated[
        str | None, typer.Option("--stage", "-s", help="Stage id (default: every stage).")
    ] = None,
    year: Annotated[int, typer.Option("--year", "-y", help="Calendar year.")] = 2024,
    importer: Annotated[
        str | None, typer.Option("--importer", "-i", help="ISO3 code: add its dependence.")
    ] = None,
    group: Annotated[
        list[str] | None,
        typer.Option("--group", "-g", help="Group or ISO3 whose share to report (repeatable)."),
    ] = None,
    groups_file: GroupsFileOption = None,
    sweep_all: AllOption = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Concentration (HHI, top-3, N-1, group shares) and, with --importer, dependence."""
    labels = group or ["US-JP"]
    groups = {"CHN": ("CHN",), **{label: _members(label, groups_file) for label in labels}}
    if sweep_all:
        render(sweep(groups=groups), fmt, "All indicators", _meta(None))
        return
    if commodity_id is None:
        raise InputError("--commodity: required unless --all is given")
    item = commodity(commodity_id)
    stages = [s.id for s in item.stages]
    if stage is not None and stage not in stages:
        raise unknown_value(f"stage of {commodity_id}", stage, stages)
    output = stage_output([commodity_id], [year])
    if stage is not None:
        output = output[output["stage"] == stage]
    table = concentration(output, groups)
    named = output[(output["country"] != "ROW") & (output["share"] > 0)]
    shares = {
        key: dict(zip(part["country"], part["share"].round(6), strict=True))
        for key, part in named.groupby("stage")
    }
    table["shares"] = table["stage"].map(shares)
    if importer is not None:
        code = check_country(importer.upper(), "importer")
        trade = stage_trade([commodity_id], [year])
        reliance = import_reliance(output, trade)
        mine = reliance[reliance["country"] == code].set_index("stage")
        if mine.empty or not (mine["imports"].fillna(0.0) > 0).any():
            raise InputError(
                f"importer {code}: no recorded imports of {commodity_id}"
                f"{' at stage ' + stage if stage else ''} in {year} (BACI)"
            )
        mix = supplier_mix(trade[trade["importer"] == code])
        suppliers = {
            key: dict(zip(part["exporter"], part["share_quantity"].round(6), strict=True))
            for key, part in mix.groupby("stage")
        }
        spread = supplier_concentration(mix).set_index("stage")
        table["importer"] = code
        for column in ("imports", "exports", "apparent_consumption", "import_reliance"):
            table[column] = table["stage"].map(mine[column])
        reliance_note = table["stage"].map(mine["note"]).fillna("")
        table["note"] = [
            "; ".join(p for p in (a, b) if p)
            for a, b in zip(table["note"], reliance_note, strict=True)
        ]
        for column in ("supplier_hhi", "top_supplier", "top_supplier_share"):
            table[column] = table["stage"].map(spread[column])
        table["suppliers"] = table["stage"].map(suppliers)
    else:
        table["import_reliance"] = float("nan")
    render(
        table,
        fmt,
        f"Concentration: {commodity_id} {year}",
        _meta(year, groups=labels),
        table_columns=METRICS_TABLE,
    )


def geopolrisk_command(
    commodity_id: Annotated[
        str | None, typer.Option("--commodity", "-c", help="Commodity id, e.g. cobalt.")
    ] = None,
    country: Annotated[
        str | None, typer.Option("--country", help="Importing country (ISO3) or group id.")
    ] = None,
    year: Annotated[int | None, typer.Option("--year", "-y", help="Calendar year.")] = None,
    groups_file: GroupsFileOption = None,
    sweep_all: AllOption = False,
    fmt: FormatOption = Format.table,
) -> None:
    """GeoPolRisk (geopolrisk-py 2.0.1 method): HHI, import risk, score and CF."""
    years = None if year is None else [year]
    if sweep_all:
        render(geopolrisk(years=years), fmt, "GeoPolRisk: all cases", _meta(year))
        return
    if commodity_id is None or country is None:
        raise InputError("--commodity and --country: both required unless --all is given")
    groups = load_groups(groups_file)
    if country in groups:
        label = country
        result = geopolrisk(
            [commodity_id], importers=[], years=years, groups={label: groups[label].members}
        )
    else:
        label = check_country(country.upper(), "country")
        result = geopolrisk([commodity_id], importers=[label], years=years)
    result = result[result["importer"] == label]
    if (result["imports_t"] <= 0).all():
        raise InputError(
            f"country {country}: no recorded imports of {commodity_id}"
            f"{' in ' + str(year) if year else ''} (BACI); GeoPolRisk needs imports"
        )
    render(result, fmt, f"GeoPolRisk: {commodity_id}, {country}", _meta(year))


def gaps(
    alliance: Annotated[str, typer.Option("--alliance", "-a", help="Alliance group.")] = "US-JP",
    friends: Annotated[
        str, typer.Option("--friends", help="Group of friendly partners (surplus counts).")
    ] = "MSP",
    year: Annotated[int, typer.Option("--year", "-y", help="Base year.")] = 2024,
    horizon: Annotated[
        int, typer.Option("--horizon", help="Count pipeline projects online by this year.")
    ] = 2030,
    commodity_ids: CommoditiesOption = None,
    groups_file: GroupsFileOption = None,
    sweep_all: AllOption = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Allied demand versus allied capacity per stage: gap, bottleneck, pipeline projects."""
    groups = load_groups(groups_file)
    members = resolve_members(alliance, groups)
    partners = resolve_members(friends, groups)
    if sweep_all:
        every = commodity_ids if commodity_ids else catalog()
        frames = [
            gap_analysis(members, partners, y, max(horizon, y), list(every))
            for y in production_years()
        ]
        render(
            pd.concat(frames, ignore_index=True), fmt, f"Gaps: {alliance}, all years", _meta(None)
        )
        return
    table = gap_analysis(members, partners, year, horizon, commodity_ids or None)
    bottlenecks = table[table["bottleneck"]]
    meta = _meta(
        year,
        alliance=alliance,
        members=list(members),
        friends=friends,
        horizon=horizon,
        bottlenecks={
            c: s for c, s in zip(bottlenecks["commodity"], bottlenecks["stage"], strict=True)
        },
    )
    render(table, fmt, f"Gaps: {alliance} {year} (projects by {horizon})", meta, GAPS_TABLE)


def supply_risk_command(
    region: Annotated[
        list[str] | None,
        typer.Option("--region", "-r", help="Country (ISO3) or group (repeatable)."),
    ] = None,
    year: Annotated[int, typer.Option("--year", "-y", help="Calendar year.")] = 2024,
    commodity_ids: CommoditiesOption = None,
    groups_file: GroupsFileOption = None,
    sweep_all: AllOption = False,
    fmt: FormatOption = Format.table,
) -> None:
    """EU-style supply-risk index with every input as a column (default: US-JP, USA, JPN)."""
    groups = load_groups(groups_file)
    labels = region or ["US-JP", "USA", "JPN"]
    regions = {label: resolve_members(label, groups) for label in labels}
    years = None if sweep_all else [year]
    ids = commodity_ids or (None if sweep_all else list(KEY_COMMODITIES))
    table = supply_risk(stage_output(ids, years), stage_trade(ids, years), regions)
    title = f"Supply risk: {', '.join(labels)}" + ("" if sweep_all else f" {year}")
    render(table, fmt, title, _meta(None if sweep_all else year), SUPPLY_RISK_TABLE)

