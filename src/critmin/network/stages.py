"""Figures of every stage of a commodity chain in one year, each with its grade and source.

Where each stage's production comes from, in this order:

1. the chain tables (``tables.figures()``, curated with a source and a grade per figure:
   named countries, ``ROW`` = world minus the named countries, ``WLD`` = the world total);
2. World Mining Data for the stage it measures (every producing country, grade ``primary``);
3. for a stage the chain tables do not cover yet, the older curated share table
   (``curated/stage_shares.csv``): country shares of the latest vintage not after the year
   and a world volume given by the source or derived from a neighbouring stage and its yield
   (grade ``derived``; the rule is recorded in ``basis``).

A figure of another year stands in for a missing year (the latest year not after it, else the
earliest after it); the year used is kept (``year``) and said in the figure's note. A country
that no source names at a stage is *unknown* (its output, if any, is inside ``ROW``), unless
the stage is ``complete``: every producer is named (World Mining Data, or a world total that
the named countries exhaust), so that an unnamed country produces nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pandas as pd

from critmin.data import tables
from critmin.data.commodities import Commodity, commodity
from critmin.data.paths import CATALOG_DIR
from critmin.errors import DataError

SHARE_ROUNDING = 0.005  # sources round each country's share; tolerate 0.5 pp in all
UNIT_FACTORS = {"t": 1.0, "kt": 1e3, "Mt": 1e6, "kg": 1e-3}
ROW, WORLD = "ROW", "WLD"
GRADES = ("primary", "secondary", "assumption", "derived")
#: source ids (``critmin data sources``): World Mining Data, and the older curated tables
WMD_SOURCE, LEGACY_SOURCE = "wmd_2024", "curated"
#: legacy curated data types -> grade
_LEGACY_GRADES = {"assumption": "assumption", "derived": "derived", "derived_estimate": "derived"}
FIGURE_COLUMNS = ["value", "grade", "source", "note"]


@dataclass(frozen=True)
class StageFigures:
    """Production by country of one stage in one year, and where every figure came from.

    ``figures`` is indexed by country (ISO3 and ``ROW``) with columns value (stage unit;
    NaN = unknown), grade, source (a source id of ``critmin data sources``) and note.
    """

    commodity: str
    stage: str
    unit: str
    year: int
    figures: pd.DataFrame
    world: float
    world_grade: str
    world_source: str
    world_note: str
    complete: bool
    basis: str
    sources: tuple[str, ...] = field(default=())
    given_share: pd.Series | None = None  # shares a source gives without a world volume

    @property
    def output(self) -> pd.Series:
        """Output by country (stage unit), ``ROW`` included; NaN where unknown."""
        return self.figures["value"]

    @property
    def share(self) -> pd.Series:
        """Fractions of world output by country (``ROW`` included); NaN if the world is unknown."""
        if not np.isfinite(self.world) or self.world <= 0:
            if self.given_share is not None:
                return self.given_share.reindex(self.output.index)
            return self.output * np.nan
        return self.output / self.world

    def known(self, country: str) -> tuple[float, str]:
        """(output, note) of ``country``: its figure, 0 where the stage is complete and the
        country is not named, else NaN with the reason."""
        if country in self.figures.index:
            row = self.figures.to_dict(orient="index")[country]
            return float(row["value"]), str(row["note"])
        if self.complete:
            return 0.0, f"not a producer ({self.basis})"
        rest = self.figures["value"].get(ROW, np.nan)
        part = (
            f"ROW holds {rest:,.0f} {self.unit}"
            if np.isfinite(rest)
            else "the unattributed rest is unknown"
        )
        return np.nan, f"{country} is not named at {self.commodity}/{self.stage} ({part})"


def pick_year(years: pd.Series | list[int], year: int) -> int:
    """The figure year used for ``year``: itself, else the latest before, else the first after."""
    available = sorted({int(y) for y in years})
    if not available:
        raise DataError("pick_year: no years to choose from")
    not_after = [y for y in available if y <= year]
    return not_after[-1] if not_after else available[0]


def stage_yields(commodity_id: str) -> pd.DataFrame:
    """Yields of the single-input stages of a chain (``catalog/stage_yields.csv``)."""
    table = _stage_yield_table()
    return table[table["commodity"] == commodity_id].set_index("stage")


@cache
def _stage_yield_table() -> pd.DataFrame:
    return pd.read_csv(CATALOG_DIR / "stage_yields.csv")


def _to_tonnes(value: float, unit: str) -> float:
    match = re.match(r"^\s*(kt|Mt|kg|t)\b", str(unit))
    if match is None:
        return float("nan")
    return value * UNIT_FACTORS[match.group(1)]


def _year_note(note: str, used: int, year: int) -> str:
    if used == year:
        return note
    return (
        f"{note}; figure of {used} used for {year}" if note else f"figure of {used} used for {year}"
    )


def _frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["country", *FIGURE_COLUMNS]).set_index("country")
    frame["value"] = frame["value"].astype(float)
    return frame


# -- World Mining Data ----------------------------------------------------------------------
def _wmd_stage(item: Commodity, year: int) -> StageFigures:
    prod = tables.production()
    rows = prod[(prod["commodity"] == item.id) & (prod["year"] == year)]
    rows = rows[rows["value"].astype(float) > 0]
    status = {"e": "estimated", "p": "provisional", "r": ""}
    figures = _frame(
        [
            {
                "country": str(c),
                "value": float(v),
                "grade": "primary",
                "source": WMD_SOURCE,
                "note": f"World Mining Data {year}"
                + (f" ({status[str(s)]})" if status.get(str(s)) else ""),
            }
            for c, v, s in zip(rows["country"], rows["value"], rows["status"], strict=True)
        ]
    )
    world = float(figures["value"].sum())
    return StageFigures(
        commodity=item.id,
        stage=item.wmd_stage,
        unit=item.stage(item.wmd_stage).unit,
        year=year,
        figures=figures,
        world=world,
        world_grade="derived",
        world_source=WMD_SOURCE,
        world_note="sum of the producing countries (World Mining Data)",
        complete=True,
        basis="World Mining Data lists every producing country",
        sources=(WMD_SOURCE,),
    )


# -- chain tables ---------------------------------------------------------------------------
def _chain_rows(commodity_id: str, stage: str, variable: str) -> pd.DataFrame:
    figures = tables.figures()
    return figures[
        (figures["commodity"] == commodity_id)
        & (figures["stage"] == stage)
        & (figures["variable"] == variable)
    ]


def _chain_stage(item: Commodity, stage: str, year: int) -> StageFigures | None:
    rows = _chain_rows(item.id, stage, "production")
    if rows.empty:
        return None
    used = pick_year(rows["year"], year)
    rows = rows[rows["year"] == used]
    countries = rows[rows["country"] != WORLD]
    figures = _frame(
        [
            {
                "country": str(r["country"]),
                "value": float(r["value"]),
                "grade": str(r["grade"]),
                "source": str(r["source_id"]),
                "note": _year_note(str(r["note"]), used, year),
            }
            for r in countries.to_dict(orient="records")
        ]
    )
    world_rows = rows[rows["country"] == WORLD]
    if world_rows.empty:
        world, grade, source, note = np.nan, "", "", "no world total in the chain tables"
    else:
        first = world_rows.iloc[0]
        world, grade, source = float(first["value"]), str(first["grade"]), str(first["source_id"])
        note = _year_note(str(first["note"]), used, year)
    rest = figures["value"].get(ROW, np.nan)
    complete = bool(np.isfinite(world) and np.isfinite(rest) and rest <= 0.0)
    named = sorted(set(figures.index) - {ROW})
    return StageFigures(
        commodity=item.id,
        stage=stage,
        unit=item.stage(stage).unit,
        year=used,
        figures=figures,
        world=world,
        world_grade=grade,
        world_source=source,
        world_note=note,
        complete=complete,
        basis=f"chain tables {used}: {len(named)} named countries"
        + (", the world total they exhaust" if complete else ""),
        sources=tuple(sorted(set(figures["source"]) | ({source} if source else set()))),
    )


def chain_variable(commodity_id: str, stage: str, variable: str, year: int) -> pd.DataFrame:
    """Capacity, consumption or price rows of one stage for ``year`` from the chain tables.

    Indexed by country (``WLD`` for a price); columns value, grade, source, note. The year
    used is :func:`pick_year` of the years the tables hold for that stage and variable.
    """
    rows = _chain_rows(commodity_id, stage, variable)
    if rows.empty:
        return _frame([])
    used = pick_year(rows["year"], year)
    rows = rows[rows["year"] == used]
    return _frame(
        [
            {
                "country": str(r["country"]),
                "value": float(r["value"]),
                "grade": str(r["grade"]) if np.isfinite(float(r["value"])) else "",
                "source": str(r["source_id"]),
                "note": _year_note(str(r["note"]), used, year),
            }
            for r in rows.to_dict(orient="records")
        ]
    )


# -- the older curated share table ------------------------------------------------------------
def _legacy_grade(data_type: str) -> str:
    return _LEGACY_GRADES.get(data_type, "secondary")


def _legacy_shares(
    item: Commodity, stage: str, year: int
) -> tuple[pd.DataFrame, int, str, float] | None:
    """Shares (fractions, with ROW) of a curated stage, their grades, and a world volume."""
    shares = tables.curated("stage_shares")
    rows = shares[(shares["commodity"] == item.id) & (shares["stage_id"] == stage)]
    usable = rows[rows["use_for_shares"] & rows["share_pct_num"].notna() & rows["year_num"].notna()]
    usable = usable[usable["country_iso3"].notna()]
    if usable.empty:
        return None
    vintage = pick_year(usable["year_num"].astype(int), year)
    chosen = usable[usable["year_num"] == vintage]
    countries = chosen[~chosen["country_iso3"].isin([WORLD, ROW])]
    if countries["country_iso3"].duplicated().any():
        dupes = sorted(countries.loc[countries["country_iso3"].duplicated(), "country_iso3"])
        raise DataError(f"stage_shares: {item.id}/{stage} {vintage} has several rows for {dupes}")
    share = countries.set_index("country_iso3")["share_pct_num"].astype(float) / 100.0
    attributed = float(share.sum())
    if attributed > 1.0 + SHARE_ROUNDING:
        raise DataError(f"stage_shares: {item.id}/{stage} {vintage} shares sum to {attributed:.1%}")
    if attributed > 1.0:  # rounded source shares (98.7 + 0.8 + 0.4 + 0.4): rescale
        share = share / attributed
    grades = countries.set_index("country_iso3")["data_type"].astype(str).map(_legacy_grade)
    notes = countries.set_index("country_iso3").apply(
        lambda r: f"{r['share_pct_num']:g} % of world output ({r['source_title']}, {vintage})",
        axis=1,
    )
    table = pd.DataFrame({"share": share, "grade": grades, "note": notes})
    table.loc[ROW] = {
        "share": max(0.0, 1.0 - float(share.sum())),
        "grade": "derived",
        "note": "world minus the named countries",
    }
    world = float("nan")
    rows_year = rows[rows["year_num"] == vintage]
    world_rows = rows_year[(rows_year["country_iso3"] == WORLD) & rows_year["value_num"].notna()]
    if not world_rows.empty:
        first = world_rows.iloc[0]
        world = _to_tonnes(float(first["value_num"]), str(first["unit"]))
    else:
        for _, row in rows_year.iterrows():
            code = row["country_iso3"]
            if pd.isna(row["value_num"]) or code not in share.index or code == ROW:
                continue
            if not str(row["unit"]).lstrip().startswith("%"):
                world = _to_tonnes(float(row["value_num"]), str(row["unit"])) / float(share[code])
                break
    return (
        table,
        vintage,
        "; ".join(sorted(set(chosen["source_title"].dropna().astype(str)))),
        world,
    )


def _legacy_stages(
    item: Commodity, year: int, found: dict[str, StageFigures]
) -> dict[str, StageFigures]:
    """Stages without chain-table figures, from the curated shares (world volumes derived
    from the neighbouring stages and their yields where the source gives none)."""
    yields = stage_yields(item.id)
    yield_of = {str(k): float(v) for k, v in yields["value"].items()}
    feeds_all = {str(k): bool(v) for k, v in yields["feeds_all"].items()}
    order = [s.id for s in item.stages]
    pending = {}
    for stage in order:
        if stage not in found:
            legacy = _legacy_shares(item, stage, year)
            if legacy is not None:
                pending[stage] = legacy
    worlds: dict[str, tuple[float, str]] = {
        s: (f.world, f.world_note) for s, f in found.items() if np.isfinite(f.world)
    }
    for stage, (_, _, _, world) in pending.items():
        if np.isfinite(world):
            worlds[stage] = (
                world,
                "world volume given by the source (or a country volume / its share)",
            )
    for _ in order:  # propagate until nothing changes
        for position, stage in enumerate(order):
            if stage in worlds or stage not in pending:
                continue
            up = order[position - 1] if position > 0 else None
            down = order[position + 1] if position + 1 < len(order) else None
            if down is not None and down in worlds and down in yield_of:
                worlds[stage] = (
                    worlds[down][0] / yield_of[down],
                    f"derived: input the {down} stage needs (lower bound)",
                )
            elif up is not None and up in worlds and feeds_all.get(stage, False):
                worlds[stage] = (
                    worlds[up][0] * yield_of[stage],
                    f"derived: {up} output x yield (upper bound: all of {up} feeds {stage})",
                )
    result = {}
    for stage, (table, vintage, titles, _) in pending.items():
        world, basis = worlds.get(stage, (float("nan"), "unknown: shares only"))
        figures = pd.DataFrame(
            {
                "value": table["share"] * world,
                "grade": np.where(np.isfinite(world), "derived", ""),
                "source": LEGACY_SOURCE,
                "note": table["note"] + f"; volume: share x world ({basis})",
            },
            index=table.index.rename("country"),
        )
        figures.loc[~np.isfinite(figures["value"]), "grade"] = ""
        result[stage] = StageFigures(
            commodity=item.id,
            stage=stage,
            unit=item.stage(stage).unit,
            year=vintage,
            figures=figures,
            world=world,
            world_grade="derived" if np.isfinite(world) else "",
            world_source=LEGACY_SOURCE,
            world_note=basis,
            complete=bool(np.isfinite(world) and table["share"].to_dict()[ROW] <= 0.0),
            basis=f"curated shares {vintage} ({titles}); volume: {basis}",
            sources=(LEGACY_SOURCE,),
            given_share=table["share"],
        )
    return result


@cache
def chain_figures(commodity_id: str, year: int) -> dict[str, StageFigures]:
    """:class:`StageFigures` for every stage of a chain that has data, in chain order.

    Cached per (commodity, year): callers must not modify the returned frames.
    """
    item = commodity(commodity_id)
    found: dict[str, StageFigures] = {}
    for stage in item.stages:
        if stage.id == item.wmd_stage and item.wmd_sheet is not None:
            found[stage.id] = _wmd_stage(item, year)
            continue
        chained = _chain_stage(item, stage.id, year)
        if chained is not None:
            found[stage.id] = chained
    found.update(_legacy_stages(item, year, found))
    return {s.id: found[s.id] for s in item.stages if s.id in found}
