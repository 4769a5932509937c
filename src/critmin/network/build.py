"""Build a :class:`SupplyNetwork` from the embedded data: ``load_network``.

Every variable of :mod:`critmin.network.schema` is filled here from one place: stage
production from :func:`critmin.network.stages.chain_figures`, capacity, consumption and
prices from the chain tables, trade from BACI (or cited flows where BACI has none), end-use
splits from the chain tables (else the older curated demand table), groups from
``groups.yaml``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from critmin.data import tables
from critmin.data.commodities import STAGE_ORDER, Commodity, commodity
from critmin.errors import InputError
from critmin.network import schema
from critmin.network.groups import load_groups, resolve_members
from critmin.network.stages import (
    WORLD,
    StageFigures,
    chain_figures,
    chain_variable,
    pick_year,
    stage_yields,
)
from critmin.network.supply_network import SupplyNetwork
from critmin.network.trade import stage_trade_arrays

_SLUG = re.compile(r"[^a-z0-9]+")


def available_years() -> tuple[int, ...]:
    """Years with World Mining Data production (every network needs them)."""
    return tuple(sorted(int(y) for y in tables.production()["year"].unique()))


def _check_year(year: int) -> int:
    years = available_years()
    if year not in years:
        raise InputError(
            f"year {year} is not available: production data cover {years[0]}-{years[-1]}"
        )
    return year


def _sector_id(label: str) -> str:
    head = re.sub(r"\(.*?\)", "", str(label)).strip().lower()
    return _SLUG.sub("_", head).strip("_")


def _legacy_sector_shares(item: Commodity) -> tuple[pd.Series, str]:
    """End-use shares from the older curated demand table: the latest global split."""
    demand = tables.curated("demand_by_sector")
    rows = demand[
        (demand["commodity"] == item.id)
        & demand["unit"].astype(str).str.startswith("% of")
        & demand["data_type"].isin(["reported", "reported_estimate", "derived"])
        & demand["value_num"].notna()
        & demand["year_num"].notna()
        & ~demand["sector"].astype(str).str.contains(r"\+|total", regex=True)
    ]
    if rows.empty:
        return pd.Series(dtype=float), ""
    rows = rows.assign(is_global=rows["scope"].eq("global"))
    best = rows.sort_values(["is_global", "year_num"], ascending=False)
    first = best.iloc[0]
    split = rows[
        (rows["scope"] == first["scope"])
        & (rows["material"] == first["material"])
        & (rows["year_num"] == first["year_num"])
    ]
    shares = split.groupby(split["sector"].map(_sector_id))["value_num"].sum() / 100.0
    basis = (
        f"{first['scope']} {first['material']} {int(first['year_num'])} ({first['source_title']})"
    )
    return shares, basis


def _sector_shares(item: Commodity, year: int) -> tuple[pd.Series, str]:
    """The global end-use split of the chain's last stage that has one (chain tables first)."""
    sectors = tables.sectors()
    rows = sectors[(sectors["commodity"] == item.id) & (sectors["country"] == WORLD)]
    rows = rows[rows["value"].notna()]
    for stage in reversed([s.id for s in item.stages]):
        at = rows[rows["stage"] == stage]
        if at.empty:
            continue
        used = pick_year(at["year"], year)
        split = at[at["year"] == used]
        sources = ", ".join(sorted(set(split["source_id"])))
        return split.set_index("sector")["value"].astype(float), f"{stage} {used} ({sources})"
    return _legacy_sector_shares(item)


def _country_sector(ids: Sequence[str], year: int) -> pd.Series:
    """Country splits of consumption by sector: (commodity, stage, country, sector) -> share."""
    sectors = tables.sectors()
    rows = sectors[
        sectors["commodity"].isin(ids) & (sectors["country"] != WORLD) & sectors["value"].notna()
    ]
    frames = []
    for _, part in rows.groupby(["commodity", "stage", "country"]):
        frames.append(part[part["year"] == pick_year(part["year"], year)])
    if not frames:
        return pd.Series(dtype=float)
    chosen = pd.concat(frames)
    return chosen.set_index(["commodity", "stage", "country", "sector"])["value"].astype(float)


def _recipes(items: Sequence[Commodity], year: int) -> pd.DataFrame:
    """Stage inputs: the chain tables' recipes, and 1 / yield for single-input stages."""
    recipes = tables.recipes()
    rows = recipes[recipes["commodity"].isin([i.id for i in items]) & recipes["value"].notna()]
    frames = []
    for _, part in rows.groupby(["commodity", "stage"]):
        frames.append(part[part["year"] == pick_year(part["year"], year)])
    cited = (
        pd.concat(frames)[["commodity", "stage", "in_commodity", "in_stage", "value"]]
        if frames
        else pd.DataFrame(columns=["commodity", "stage", "in_commodity", "in_stage", "value"])
    )
    multi = set(zip(cited["commodity"], cited["stage"], strict=True))
    single = []
    for item in items:
        order = [s.id for s in item.stages]
        yields = stage_yields(item.id)["value"].astype(float)
        for up, stage in itertools.pairwise(order):
            if (item.id, stage) not in multi and stage in yields.index:
                single.append((item.id, stage, item.id, up, 1.0 / float(yields[stage])))
    single_frame = pd.DataFrame(single, columns=list(cited.columns))
    return pd.concat([cited, single_frame], ignore_index=True)


def _stage_frame(
    figures: Mapping[str, Mapping[str, StageFigures]], countries: list[str]
) -> pd.DataFrame:
    """One row per (commodity, stage, country) with data: value, grade, source, note."""
    rows = []
    for c, stages in figures.items():
        for s, f in stages.items():
            shares = f.share
            for country in countries:
                value, note = f.known(country)
                share = (
                    float(shares[country])
                    if country in shares.index
                    else 0.0
                    if f.complete
                    else np.nan
                )
                if country in f.figures.index:
                    grade = str(f.figures.at[country, "grade"])
                    source = str(f.figures.at[country, "source"])
                elif np.isfinite(value):  # a complete stage: not a producer
                    grade, source = f.world_grade or "derived", f.world_source
                else:
                    grade, source = "", ""
                grade = grade if np.isfinite(value) else ""
                named = country in f.figures.index
                rows.append((c, s, country, value, share, grade, source, note, named))
    columns = ["commodity", "stage", "country", "value", "share", "grade", "source", "note"]
    return pd.DataFrame(rows, columns=[*columns, "named"])


def _variable_frame(items: Sequence[Commodity], variable: str, year: int) -> pd.DataFrame:
    """Capacity or consumption rows of the chain tables, named countries and ROW."""
    frames = []
    for item in items:
        for stage in item.stages:
            table = chain_variable(item.id, stage.id, variable, year)
            table = table[table.index != WORLD]
            if not table.empty:
                frames.append(table.reset_index().assign(commodity=item.id, stage=stage.id))
    if not frames:
        return pd.DataFrame(columns=["commodity", "stage", "country", "value", "grade", "source"])
    return pd.concat(frames, ignore_index=True)


def load_network(
    commodities: str | Sequence[str],
    year: int = 2024,
    alliance: str = "US-JP",
    groups_file: Path | None = None,
) -> SupplyNetwork:
    """The supply network of one or more commodities in ``year``.

    Parameters
    ----------
    commodities : a commodity id ("rare_earths") or a list of ids; a multi-commodity network
        (``["lithium", "nickel", "cobalt", "manganese", "batteries"]``) links its chains
        through ``recipe``.
    year : calendar year; World Mining Data covers 2018-2024. A stage figure of another year
        stands in where the year has none (recorded in ``figure_year`` and the notes).
    alliance : a group id (``US-JP``, ``US-JP-AU``, ``G7``, ``EU27``, ``MSP``, ``CHN`` or one
        of ``groups_file``) or an ISO3 code.

    Notes
    -----
    The variables, their units and meanings are in :mod:`critmin.network.schema`
    (``docs/conventions.md``).
    """
    ids = [commodities] if isinstance(commodities, str) else list(commodities)
    if not ids:
        raise InputError("commodities: give at least one commodity id")
    items = [commodity(c) for c in ids]
    _check_year(year)
    groups = load_groups(groups_file)
    members = resolve_members(alliance, groups)

    figures = {item.id: chain_figures(item.id, year) for item in items}
    capacity = _variable_frame(items, "capacity", year)
    consumption = _variable_frame(items, "consumption", year)
    trade = stage_trade_arrays(items, year)
    country_sector = _country_sector(ids, year)

    stage_labels = [s for s in STAGE_ORDER if any(s in [x.id for x in i.stages] for i in items)]
    named = {str(c) for f in figures.values() for s in f.values() for c in s.figures.index}
    countries = sorted(
        named
        | set(capacity["country"])
        | set(consumption["country"])
        | set(trade.countries)
        | set(members)
        | {str(c[2]) for c in country_sector.index}
    )
    index = pd.MultiIndex.from_product([ids, stage_labels], names=["commodity", "stage"])
    full = {"commodity": ids, "stage": stage_labels, "country": countries}

    def by_stage(values: Mapping[tuple[str, str], object], fill: object) -> xr.DataArray:
        series = pd.Series([values.get(k, fill) for k in index], index=index)
        return xr.DataArray.from_series(series)

    def by_country(frame: pd.DataFrame, column: str, fill: object) -> xr.DataArray:
        if frame.empty:
            return xr.DataArray(
                np.full((len(ids), len(stage_labels), len(countries)), fill, dtype=object),
                coords=full,
                dims=("commodity", "stage", "country"),
            )
        keyed = frame.set_index(["commodity", "stage", "country"])[column]
        array = xr.DataArray.from_series(keyed).reindex(full)
        return array.fillna(fill) if fill is not np.nan else array

    stage_frame = _stage_frame(figures, countries)
    production = by_country(stage_frame, "value", np.nan).astype(float)
    world = by_stage(
        {(c, s): f.world for c, st in figures.items() for s, f in st.items()}, np.nan
    ).astype(float)
    share = by_country(stage_frame, "share", np.nan).astype(float)

    prices = {}
    for item in items:
        for stage in item.stages:
            table = chain_variable(item.id, stage.id, "price", year)
            if WORLD in table.index:
                prices[(item.id, stage.id)] = table.loc[WORLD]
    yields, yield_units = {}, {}
    for item in items:
        table = stage_yields(item.id)
        for stage, value, unit in zip(table.index, table["value"], table["unit"], strict=True):
            yields[(item.id, str(stage))] = float(value)
            yield_units[(item.id, str(stage))] = str(unit)

    recipe = _recipes(items, year)
    in_commodities = sorted(set(recipe["in_commodity"]) | set(ids), key=lambda c: (c not in ids, c))
    in_stages = [s for s in STAGE_ORDER if s in set(recipe["in_stage"]) | set(stage_labels)]
    recipe_keys = ["commodity", "stage", "in_commodity", "in_stage"]
    recipe_array = (
        xr.DataArray.from_series(recipe.set_index(recipe_keys)["value"].astype(float)).reindex(
            commodity=ids, stage=stage_labels, in_commodity=in_commodities, in_stage=in_stages
        )
        if not recipe.empty
        else xr.DataArray(
            np.full((len(ids), len(stage_labels), len(in_commodities), len(in_stages)), np.nan),
            coords={"commodity": ids, "stage": stage_labels, "in_commodity": in_commodities,
                    "in_stage": in_stages},
            dims=("commodity", "stage", "in_commodity", "in_stage"),
        )
    )  # fmt: skip

    sector_rows: dict[tuple[str, str], float] = {}
    sector_basis: dict[str, str] = {}
    for item in items:
        shares, basis = _sector_shares(item, year)
        sector_basis[item.id] = basis
        sector_rows.update({(item.id, str(sector)): float(v) for sector, v in shares.items()})
    sectors = sorted({s for _, s in sector_rows} | {str(k[3]) for k in country_sector.index}) or [
        "all"
    ]
    sector_share = xr.DataArray(
        [[sector_rows.get((c, s), np.nan) for s in sectors] for c in ids],
        coords={"commodity": ids, "sector": sectors},
        dims=("commodity", "sector"),
    )
    consumption_sector = (
        xr.DataArray.from_series(country_sector).reindex(
            commodity=ids, stage=stage_labels, country=countries, sector=sectors
        )
        if not country_sector.empty
        else xr.DataArray(
            np.full((len(ids), len(stage_labels), len(countries), len(sectors)), np.nan),
            coords={**full, "sector": sectors},
            dims=("commodity", "stage", "country", "sector"),
        )
    )

    group_ids = list(groups)
    member = xr.DataArray(
        [[c in groups[g].members for c in countries] for g in group_ids],
        coords={"group": group_ids, "country": countries},
        dims=("group", "country"),
    )
    present = {(c, s.id): True for c in ids for s in commodity(c).stages}
    stage_of = {(c, s): f for c, st in figures.items() for s, f in st.items()}

    def meta(name: str, getter: object, fill: object) -> xr.DataArray:
        values = {k: getter(f) for k, f in stage_of.items()}  # type: ignore[operator]
        return by_stage(values, fill)

    price_value = by_stage({k: v["value"] for k, v in prices.items()}, np.nan).astype(float)
    variables: dict[str, xr.DataArray] = {
        "production": production,
        "production_grade": by_country(stage_frame, "grade", ""),
        "production_source": by_country(stage_frame, "source", ""),
        "production_note": by_country(stage_frame, "note", ""),
        "named": by_country(stage_frame, "named", False).astype(bool),
        "share": share,
        "world_production": world,
        "world_production_grade": meta("grade", lambda f: f.world_grade, ""),
        "world_production_source": meta("source", lambda f: f.world_source, ""),
        "capacity": by_country(capacity, "value", np.nan).astype(float),
        "capacity_grade": by_country(capacity, "grade", ""),
        "capacity_source": by_country(capacity, "source", ""),
        "consumption": by_country(consumption, "value", np.nan).astype(float),
        "consumption_grade": by_country(consumption, "grade", ""),
        "consumption_source": by_country(consumption, "source", ""),
        "consumption_sector": consumption_sector,
        "sector_share": sector_share,
        "price": price_value,
        "price_grade": by_stage({k: str(v["grade"]) for k, v in prices.items()}, ""),
        "price_source": by_stage({k: str(v["source"]) for k, v in prices.items()}, ""),
        "stage_yield": by_stage(yields, np.nan).astype(float),
        "recipe": recipe_array,
        "trade_value": trade.value(ids, stage_labels),
        "trade_quantity": trade.quantity(ids, stage_labels),
        "trade_grade": by_stage(trade.grades, ""),
        "trade_source": by_stage(trade.sources, ""),
        "unit": by_stage({(c.id, s.id): s.unit for c in items for s in c.stages}, ""),
        "stage_present": by_stage(present, False).astype(bool),
        "complete": meta("complete", lambda f: f.complete, False).astype(bool),
        "figure_year": meta("year", lambda f: f.year, -1).astype(int),
        "basis": meta("basis", lambda f: f.basis, ""),
        "member": member,
    }
    for name, array in variables.items():
        if name in schema.BY_NAME:
            array.attrs.update(schema.attrs(name))
    variables["yield_unit"] = by_stage(yield_units, "")
    sources = sorted(
        {str(v) for name in ("production_source", "capacity_source", "consumption_source")
         for v in np.unique(variables[name].values.astype(str)) if v}
        | {str(v["source"]) for v in prices.values() if np.isfinite(v["value"])}
        | {s for v in trade.sources.values() for s in v.split("; ") if s}
    )  # fmt: skip
    dataset = xr.Dataset(
        variables,
        attrs={
            "year": year,
            "alliance": alliance,
            "alliance_members": list(members),
            "sector_share_basis": "; ".join(f"{k}: {v}" for k, v in sector_basis.items() if v),
            "data_version": str(tables.manifest().get("data_version", "")),
            "sources": sources,
        },
    )
    return SupplyNetwork(dataset.reindex(commodity=ids, stage=stage_labels))
