"""Build a :class:`SupplyNetwork` from the embedded data: ``load_network``."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from critmin.data import tables
from critmin.data.commodities import STAGE_ORDER, Commodity, commodity
from critmin.errors import DataError, InputError
from critmin.network.groups import load_groups, resolve_members
from critmin.network.stages import StageFigures, chain_figures, stage_yields
from critmin.network.supply_network import SupplyNetwork

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


def _sector_shares(item: Commodity, year: int) -> tuple[pd.Series, str]:
    """Shares of end use by sector (fractions): the latest global split, else a national one."""
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


def _trade(items: Sequence[Commodity], year: int) -> pd.DataFrame:
    codes = tables.hs_codes()
    wanted = codes[codes["commodity"].isin([c.id for c in items])][["hs", "commodity", "stage"]]
    flows = tables.trade_year(year)
    flows = flows[flows["hs"].isin(wanted["hs"])].merge(wanted, on="hs")
    flows = flows.assign(
        exporter=flows["exporter"].astype(str), importer=flows["importer"].astype(str)
    )
    return (
        flows.groupby(["commodity", "stage", "exporter", "importer"], observed=True)[
            ["value_kusd", "quantity_t"]
        ]
        .sum(min_count=1)
        .reset_index()
    )


def _figures_frame(figures: dict[str, dict[str, StageFigures]]) -> pd.DataFrame:
    rows = [
        {
            "commodity": c,
            "stage": s,
            "country": country,
            "production": out,
            "share": float(f.share.to_dict()[country]),
        }
        for c, stages in figures.items()
        for s, f in stages.items()
        for country, out in f.output.items()
    ]
    return pd.DataFrame(rows)


def load_network(
    commodities: str | Sequence[str],
    year: int = 2024,
    alliance: str = "US-JP",
    groups_file: Path | None = None,
    utilisation: float = 1.0,
) -> SupplyNetwork:
    """The supply network of one or more commodities in ``year``.

    Parameters
    ----------
    commodities : a commodity id ("rare_earths") or a list of ids.
    year : calendar year; World Mining Data covers 2018-2024. Curated stage shares use the
        latest vintage not after ``year`` (recorded in ``share_year``).
    alliance : a group id (``US-JP``, ``US-JP-AU``, ``G7``, ``EU27``, ``MSP``, ``CHN`` or one
        of ``groups_file``) or an ISO3 code.
    utilisation : assumed capacity utilisation where capacity is unknown (all stages today):
        capacity = production / utilisation. 1.0 means no spare capacity.
    """
    ids = [commodities] if isinstance(commodities, str) else list(commodities)
    if not ids:
        raise InputError("commodities: give at least one commodity id")
    items = [commodity(c) for c in ids]
    _check_year(year)
    if not 0.0 < utilisation <= 1.0:
        raise InputError(f"utilisation {utilisation}: must be in (0, 1]")
    groups = load_groups(groups_file)
    members = resolve_members(alliance, groups)

    figures = {item.id: chain_figures(item, year) for item in items}
    stage_frame = _figures_frame(figures)
    if stage_frame.empty:
        raise DataError(
            f"{', '.join(ids)}: no stage output by country for {year} in the network's tables "
            "(the chain tables are not wired into the network yet)"
        )
    trade = _trade(items, year)

    stage_labels = [s for s in STAGE_ORDER if any(s in [x.id for x in i.stages] for i in items)]
    countries = sorted(
        set(stage_frame["country"]) | set(trade["exporter"]) | set(trade["importer"]) | set(members)
    )
    traders = [c for c in countries if c != "ROW"]
    index = pd.MultiIndex.from_product([ids, stage_labels], names=["commodity", "stage"])

    def by_stage(values: Mapping[tuple[str, str], object], fill: object) -> xr.DataArray:
        series = pd.Series([values.get(k, fill) for k in index], index=index)
        return xr.DataArray.from_series(series)

    present = {(c, s.id): True for c in ids for s in commodity(c).stages}
    has_data = {(c, s): True for c, st in figures.items() for s in st}
    prod = (
        stage_frame.set_index(["commodity", "stage", "country"])["production"]
        if not stage_frame.empty
        else pd.Series(dtype=float)
    )
    production = xr.DataArray.from_series(prod).reindex(
        commodity=ids, stage=stage_labels, country=countries
    )
    share = xr.DataArray.from_series(
        stage_frame.set_index(["commodity", "stage", "country"])["share"]
    ).reindex(commodity=ids, stage=stage_labels, country=countries)
    with_data = by_stage(has_data, False).astype(bool)
    known_world = by_stage(
        {(c, s): bool(np.isfinite(f.world)) for c, st in figures.items() for s, f in st.items()},
        False,
    ).astype(bool)
    share = share.fillna(0.0).where(with_data)
    production = production.fillna(0.0).where(with_data & known_world)

    yields: dict[tuple[str, str], object] = {}
    yield_units: dict[tuple[str, str], object] = {}
    for item in items:
        table = stage_yields(item.id)
        for stage, value, unit in zip(table.index, table["value"], table["unit"], strict=True):
            yields[(item.id, str(stage))] = float(value)
            yield_units[(item.id, str(stage))] = str(unit)

    if trade.empty:
        trade_value = xr.DataArray(
            np.zeros((len(ids), len(stage_labels), len(traders), len(traders))),
            coords={
                "commodity": ids,
                "stage": stage_labels,
                "exporter": traders,
                "importer": traders,
            },
            dims=("commodity", "stage", "exporter", "importer"),
        )
        trade_quantity = trade_value.copy()
    else:
        keyed = trade.set_index(["commodity", "stage", "exporter", "importer"])
        trade_value = xr.DataArray.from_series(keyed["value_kusd"] * 1000.0)
        trade_quantity = xr.DataArray.from_series(keyed["quantity_t"])
    full = {"commodity": ids, "stage": stage_labels, "exporter": traders, "importer": traders}
    has_hs = by_stage({(c.id, s.id): bool(s.hs) for c in items for s in c.stages}, False).astype(
        bool
    )
    trade_value = trade_value.reindex(full).fillna(0.0).where(has_hs)
    trade_quantity = trade_quantity.reindex(full).fillna(0.0).where(has_hs)

    sector_rows: dict[tuple[str, str], float] = {}
    sector_basis: dict[str, str] = {}
    for item in items:
        shares, basis = _sector_shares(item, year)
        sector_basis[item.id] = basis
        sector_rows.update({(item.id, str(sector)): float(v) for sector, v in shares.items()})
    sectors = sorted({s for _, s in sector_rows}) or ["all"]
    sector_share = xr.DataArray(
        [[sector_rows.get((c, s), np.nan) for s in sectors] for c in ids],
        coords={"commodity": ids, "sector": sectors},
        dims=("commodity", "sector"),
    )

    group_ids = list(groups)
    member = xr.DataArray(
        [[c in groups[g].members for c in countries] for g in group_ids],
        coords={"group": group_ids, "country": countries},
        dims=("group", "country"),
    )

    dataset = xr.Dataset(
        {
            "production": production.assign_attrs(
                long_name="production",
                units="stage unit (see `unit`)",
                description="output by country at each stage; ROW = not attributed by the source",
            ),
            "share": share.assign_attrs(long_name="share of world output", units="1"),
            "capacity": (production / utilisation).assign_attrs(
                long_name="capacity",
                units="stage unit per year",
                assumption=f"capacity unknown: production / utilisation ({utilisation})",
            ),
            "world_production": production.sum("country", min_count=1).assign_attrs(
                long_name="world output", units="stage unit"
            ),
            "unit": by_stage({(c.id, s.id): s.unit for c in items for s in c.stages}, ""),
            "stage_present": by_stage(present, False).astype(bool),
            "share_year": by_stage(
                {(c, s): f.share_year for c, st in figures.items() for s, f in st.items()}, -1
            ).astype(int),
            "share_source": by_stage(
                {(c, s): f.share_source for c, st in figures.items() for s, f in st.items()}, ""
            ),
            "volume_basis": by_stage(
                {(c, s): f.volume_basis for c, st in figures.items() for s, f in st.items()}, ""
            ),
            "stage_yield": by_stage(yields, np.nan)
            .astype(float)
            .assign_attrs(
                long_name="yield from the previous stage",
                units="t of this stage's product per t of the previous stage's (see yield_unit)",
            ),
            "yield_unit": by_stage(yield_units, ""),
            "trade_value": trade_value.assign_attrs(long_name="bilateral trade value", units="USD"),
            "trade_quantity": trade_quantity.assign_attrs(
                long_name="bilateral trade quantity", units="t (gross weight)"
            ),
            "sector_share": sector_share.assign_attrs(long_name="share of end use", units="1"),
            "member": member,
        },
        attrs={
            "year": year,
            "alliance": alliance,
            "alliance_members": list(members),
            "sector_share_basis": "; ".join(f"{k}: {v}" for k, v in sector_basis.items() if v),
            "data_version": str(tables.manifest().get("data_version", "")),
            "sources": "production: World Mining Data; trade: CEPII BACI; "
            "stage shares: curated (see share_source)",
        },
    )
    return SupplyNetwork(dataset.reindex(commodity=ids, stage=stage_labels))
