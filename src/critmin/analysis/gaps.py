"""The framework's gap analysis: allied demand against allied capacity, stage by stage.

For an alliance (members M), friendly partners (F, members excluded) and a year, at every
stage of each commodity chain (all quantities in the stage unit, t/yr), country by country:

* use_c = cited final use (network ``consumption``) plus the input the country's next stage
  needs (its next-stage output x recipe) where both are known; else apparent consumption
  (production + imports - exports, floored at 0) where BACI measures the stage; ``demand``
  sums the members' use. A stage where neither is known takes the demand of the next stage
  divided by its yield (the input it needs), else the previous stage's demand times this
  stage's yield; ``demand_basis`` says which.
* capacity_c = cited capacity (network ``capacity``), else output (capacity at least output),
  else the capacity of the country's operating plants in the project pipeline (a lower
  bound); ``own_capacity`` sums the members'. Operating plants of the pipeline in members
  are listed in ``plants`` (they are part of own capacity, never added twice).
* friends' surplus = sum over F of max(capacity - use, 0) (the whole capacity where the use
  is unknown; ``friends_basis`` says so).
* gap = demand - own capacity - friends' surplus (positive: a shortfall), also in % of
  demand; ``own_gap_pct`` counts the members' own capacity only. Where a member's output is
  unknown but BACI measures its trade, its contribution to the gap is its net imports
  (use - output = imports - exports whatever the output), so the gap is known while demand
  and own capacity are lower bounds (``note``).
* projects: every project of the pipeline (``critmin.projects.load_projects``, all
  commodities) in M or F, not cancelled, first producing after ``year`` and by ``horizon``,
  its capacity converted to the stage unit; ``gap_with_projects`` subtracts them. Projects
  without a start year or a convertible capacity are named in ``note``.
* bottleneck: the stage with the largest positive ``gap_pct`` of each chain (ties: the
  upstream stage, which limits every stage below it); stages whose gap is unknown are not
  ranked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pandas as pd

from critmin.analysis.dependence import import_reliance
from critmin.analysis.panel import check_commodities, check_years, stage_output, stage_trade
from critmin.data.commodities import KEY_COMMODITIES, Commodity, commodity
from critmin.errors import DataError, InputError
from critmin.network.stages import chain_variable, stage_yields
from critmin.network.trade import BACI_SOURCE
from critmin.projects import load_projects

EXCLUDED_STATUS = ("cancelled",)
#: content words that name the same quantity by definition (not a conversion factor)
SYNONYMS = {"lithium carbonate": "LCE", "TREO": "REO"}
COLUMNS = [
    "commodity", "stage", "unit", "year", "demand", "own_capacity", "own_gap", "friends_surplus",
    "gap", "gap_pct", "own_gap_pct", "bottleneck", "projects_capacity", "horizon",
    "gap_with_projects",
    "gap_with_projects_pct", "projects", "plants", "demand_basis", "friends_basis", "sources",
    "note",
]  # fmt: skip


@cache
def _converters() -> dict[str, object]:
    from critmin.data.build.chains import converters

    return dict(converters())


def _unit_of(text: str) -> str:
    """``'t/yr NdPr oxide (2024 production)'`` -> ``'t NdPr oxide'``."""
    head = re.sub(r"\(.*?\)", "", str(text)).strip()
    head = re.sub(r"^(\w+)\s*/\s*yr\b", r"\1", head).strip()
    for word, same in SYNONYMS.items():
        head = re.sub(rf"\b{re.escape(word)}\b", same, head)
    return re.sub(r"\s+", " ", head)


def to_stage_unit(item: Commodity, stage: str, capacity: float, unit: str) -> tuple[float, str]:
    """A project capacity in the stage unit, and how it was converted (or why it cannot be).

    Tries the commodity's conversions (``catalog/chains/conversions.csv``), then, for a
    capacity given in another stage's unit of the same chain (lithium feed in t LCE for the
    mining stage in t Li2O), the chain's yields between the two stages.
    """
    target = item.stage(stage).unit
    given = _unit_of(unit)
    if given == target:
        return capacity, ""
    converter = _converters()[item.id]
    try:
        factor = converter.quantity_factor(given, target)  # type: ignore[attr-defined]
        return capacity * factor, f"{given} -> {target} x {factor:g}"
    except DataError:
        pass
    order = [s.id for s in item.stages]
    units = {s.id: s.unit for s in item.stages}
    yields = stage_yields(item.id)["value"].astype(float)
    for other in order:
        if units[other] != given or other == stage:
            continue
        low, high = sorted((order.index(stage), order.index(other)))
        steps = [float(yields.get(order[i], np.nan)) for i in range(low + 1, high + 1)]
        factor = float(np.prod(steps))
        if not np.isfinite(factor):
            break
        factor = 1.0 / factor if order.index(other) > order.index(stage) else factor
        return capacity * factor, f"{given} -> {target} by the chain's yields (x {factor:.4g})"
    return np.nan, (
        f"capacity in {unit!r}: no conversion to {target!r} "
        "(add it to catalog/chains/conversions.csv)"
    )


def pipeline(year: int, horizon: int, countries: set[str]) -> pd.DataFrame:
    """Pipeline projects located in ``countries``, with capacity in the stage unit.

    Columns: project_id, project, country, commodity, stage, status, expected_start,
    capacity (stage unit, NaN if unknown or not convertible), conversion (how, or why not),
    role: ``plant`` (operating, producing by ``year``), ``project`` (first output after
    ``year`` and by ``horizon``), ``undated`` (no start year) or ``later``.
    """
    projects = load_projects()
    projects = projects[
        projects["country"].isin(countries) & ~projects["status"].isin(EXCLUDED_STATUS)
    ].copy()
    capacities: list[float] = []
    conversions: list[str] = []
    roles: list[str] = []
    for p in projects.to_dict(orient="records"):
        item = commodity(str(p["commodity"]))
        if pd.isna(p["capacity"]):
            capacities.append(np.nan)
            conversions.append("capacity not published")
        else:
            value, how = to_stage_unit(
                item, str(p["stage"]), float(p["capacity"]), str(p["capacity_unit"])
            )
            capacities.append(value)
            conversions.append(how)
        start = None if pd.isna(p["expected_start"]) else int(p["expected_start"])
        if start is None:
            roles.append("undated")
        elif start <= year:
            roles.append("plant" if p["status"] == "operating" else "later")
        elif start <= horizon:
            roles.append("project")
        else:
            roles.append("later")
    projects["capacity"] = capacities
    projects["conversion"] = conversions
    projects["role"] = roles
    return projects[
        ["project_id", "project", "country", "commodity", "stage", "status", "expected_start",
         "capacity", "capacity_unit", "conversion", "role", "source_title"]
    ]  # fmt: skip


def _per_country(
    item: Commodity, year: int, output: pd.DataFrame, reliance: pd.DataFrame, wanted: set[str]
) -> dict[str, pd.DataFrame]:
    """Per stage: each country's output, capacity, use and net imports, with notes."""
    order = [s.id for s in item.stages]
    tables: dict[str, pd.DataFrame] = {}
    for stage in order:
        out = output[output["stage"] == stage].set_index("country")
        rel = reliance[reliance["stage"] == stage].set_index("country")
        cap = chain_variable(item.id, stage, "capacity", year)["value"]
        use = chain_variable(item.id, stage, "consumption", year)["value"]
        seen = set(out.index) | set(rel.index) | set(cap.index) | set(use.index) | wanted
        countries = sorted(seen - {"ROW", "WLD"})
        frame = pd.DataFrame(index=pd.Index(countries, name="country"))
        frame["output"] = out["value"].reindex(countries)
        complete = bool(out["complete"].iloc[0]) if not out.empty else False
        if complete:
            frame["output"] = frame["output"].fillna(0.0)
        frame["capacity"] = cap.reindex(countries)
        frame["final_use"] = use.reindex(countries)
        frame["net"] = (rel["imports"] - rel["exports"]).reindex(countries)
        frame["apparent"] = rel["apparent_consumption"].reindex(countries)
        frame["next_input"] = np.nan
        tables[stage] = frame
    for position, stage in enumerate(order[:-1]):  # processing input of the next stage
        nxt = order[position + 1]
        yields = stage_yields(item.id)["value"].astype(float)
        if nxt in yields.index:
            needed = tables[nxt]["output"] / float(yields[nxt])
            tables[stage]["next_input"] = needed.reindex(tables[stage].index)
    return tables


Row = dict[str, float]


def _records(frame: pd.DataFrame) -> dict[str, Row]:
    """A per-country frame as plain floats: country -> column -> value."""
    return {
        str(country): {str(k): float(v) for k, v in values.items()}
        for country, values in frame.to_dict(orient="index").items()
    }


def _country_use(row: Row, last: bool) -> tuple[float, str]:
    """A country's use of the stage's product and its basis."""
    final = row["final_use"]
    if np.isfinite(final) and (last or np.isfinite(row["next_input"])):
        if last:
            return final, "final use"
        return final + row["next_input"], "final use + processing input"
    if np.isfinite(row["apparent"]):
        return max(row["apparent"], 0.0), "apparent consumption"
    return np.nan, ""


@dataclass
class _Terms:
    """The members' demand, own capacity and own gap at one stage (NaN: unknown)."""

    demand: float = 0.0
    capacity: float = 0.0
    gap: float = 0.0
    demand_exact: bool = True
    capacity_known: bool = False
    bases: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _member_terms(
    rows: dict[str, Row], members: list[str], plants: dict[str, float], last: bool
) -> _Terms:
    """Sum the members' use, capacity and use - capacity; unknown parts are said in notes.

    A member whose output is unknown but whose trade BACI measures adds its net imports to
    the gap exactly (use - output = imports - exports), and to demand as a lower bound.
    """
    terms = _Terms()
    for member in members:
        row = rows[member]
        use, basis = _country_use(row, last)
        if basis:
            terms.bases.append(basis)
        cap = row["capacity"] if np.isfinite(row["capacity"]) else row["output"]
        if not np.isfinite(cap) and member in plants:
            cap = plants[member]
            terms.notes.append(
                f"{member}: output unknown; its operating plants count (a lower bound)"
            )
        if np.isfinite(cap):
            terms.capacity += cap
            terms.capacity_known = True
        if np.isfinite(use) and np.isfinite(cap):
            terms.demand += use
            terms.gap += use - cap
        elif np.isfinite(row["net"]) and row["net"] >= 0 and not np.isfinite(row["output"]):
            terms.demand += row["net"] + (cap if np.isfinite(cap) else 0.0)
            terms.demand_exact = False
            terms.gap += row["net"]
            terms.notes.append(
                f"{member}: output unknown; net imports {row['net']:,.0f} are its gap"
            )
        else:
            terms.gap = np.nan
            if np.isfinite(use):
                terms.demand += use
            else:
                terms.demand, terms.demand_exact = np.nan, False
            terms.notes.append(f"{member}: {'capacity' if np.isfinite(use) else 'use'} unknown")
    if not terms.capacity_known:
        terms.capacity = np.nan
    return terms


def _friends_surplus(
    rows: dict[str, Row], friends: list[str], last: bool
) -> tuple[float, str, list[str]]:
    """Sum over friends of max(capacity - use, 0); unnamed friends count for nothing (a
    lower bound, said in the note); NaN if no friend's capacity is known."""
    if not friends:
        return 0.0, "no partners", []
    surplus, bases, unknown = 0.0, set(), []
    for friend in friends:
        row = rows[friend]
        cap = row["capacity"] if np.isfinite(row["capacity"]) else row["output"]
        if not np.isfinite(cap):
            unknown.append(friend)
            continue
        use, _ = _country_use(row, last)
        if np.isfinite(use):
            surplus += max(cap - use, 0.0)
            bases.add("capacity - use")
        else:
            surplus += cap
            bases.add("whole capacity (use unknown)")
    if len(unknown) == len(friends):
        return np.nan, "", ["no partner's output is known"]
    notes = (
        [f"partners not named by the source ({', '.join(unknown)}): surplus a lower bound"]
        if unknown
        else []
    )
    return surplus, "; ".join(sorted(bases)), notes


def _derive_missing_demand(frame: pd.DataFrame, item: Commodity) -> pd.DataFrame:
    order = [s.id for s in item.stages]
    yields = stage_yields(item.id)["value"].astype(float).to_dict()
    demand = frame["demand"].to_dict()
    basis = frame["demand_basis"].to_dict()
    exact = frame["demand_exact"].to_dict()
    for _ in order:
        for position, stage in enumerate(order):
            if stage not in demand or (np.isfinite(demand[stage]) and exact[stage]):
                continue
            down = order[position + 1] if position + 1 < len(order) else None
            up = order[position - 1] if position > 0 else None
            floor = demand[stage]  # a lower bound where not NaN: never derive below it
            if down in demand and np.isfinite(demand[down]) and exact[down] and down in yields:
                derived = demand[down] / yields[down]
                if np.isfinite(floor) and derived < floor:
                    continue
                demand[stage] = derived
                exact[stage] = True
                basis[stage] = f"derived: {down} demand / yield {yields[down]:g} (input it needs)"
            elif up in demand and np.isfinite(demand[up]) and exact[up] and stage in yields:
                derived = demand[up] * yields[stage]
                if np.isfinite(floor) and derived < floor:
                    continue
                demand[stage] = derived
                exact[stage] = True
                basis[stage] = (
                    f"derived: {up} demand x yield {yields[stage]:g} "
                    f"(all of it processed further; excludes finished imports)"
                )
    return frame.assign(
        demand=pd.Series(demand), demand_basis=pd.Series(basis), demand_exact=pd.Series(exact)
    )


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
    reliance = import_reliance(output, stage_trade(ids, [year]))
    member_list = sorted(set(members))
    friend_list = sorted(set(friends) - set(members))
    projects = pipeline(year, horizon, set(member_list) | set(friend_list))
    rows = []
    for item_id in ids:
        item = commodity(item_id)
        order = [s.id for s in item.stages]
        per_country = _per_country(
            item,
            year,
            output[output["commodity"] == item_id],
            reliance[reliance["commodity"] == item_id],
            set(member_list) | set(friend_list),
        )
        stages = []
        for stage in item.stages:
            frame = per_country[stage.id]
            last = stage.id == order[-1]
            here = projects[(projects["commodity"] == item_id) & (projects["stage"] == stage.id)]
            plants = here[(here["role"] == "plant") & here["country"].isin(member_list)]
            plant_capacity = {
                str(k): float(v)
                for k, v in plants.groupby("country")["capacity"].sum(min_count=1).dropna().items()
            }
            rows_by_country = _records(frame)
            terms = _member_terms(rows_by_country, member_list, plant_capacity, last)
            notes = terms.notes
            surplus, friends_basis, friend_notes = _friends_surplus(
                rows_by_country, friend_list, last
            )
            chosen = here[here["role"] == "project"]
            counted = chosen[chosen["capacity"].notna()]
            for p in _rows(chosen[chosen["capacity"].isna()]):
                notes.append(f"project {p['project']}: {p['conversion']}")
            for p in _rows(here[here["role"] == "undated"]):
                notes.append(f"project {p['project']} ({p['country']}): no start year, not counted")
            sources = set(
                output.loc[
                    (output["commodity"] == item_id) & (output["stage"] == stage.id), "source"
                ]
            )
            if stage.hs:
                sources.add(BACI_SOURCE)
            stages.append(
                {
                    "commodity": item_id,
                    "stage": stage.id,
                    "unit": stage.unit,
                    "year": year,
                    "demand": terms.demand,
                    "demand_exact": terms.demand_exact,
                    "own_capacity": terms.capacity,
                    "own_gap": terms.gap,
                    "friends_surplus": surplus,
                    "projects_capacity": (
                        float(counted["capacity"].sum())
                        if len(counted) or chosen.empty
                        else np.nan  # projects there, none with a known capacity
                    ),
                    "projects": "; ".join(_named(p, stage.unit) for p in _rows(counted)),
                    "plants": "; ".join(_named(p, stage.unit) for p in _rows(plants)),
                    "demand_basis": "; ".join(sorted(set(terms.bases))),
                    "friends_basis": friends_basis,
                    "sources": "; ".join(
                        sorted(sources | set(counted["source_title"].astype(str)))
                    ),
                    "note": "; ".join(notes + friend_notes),
                }
            )
        frame = pd.DataFrame(stages).set_index("stage", drop=False)
        frame = _derive_missing_demand(frame, item)
        frame["demand_exact"] = frame["demand_exact"].astype(bool)
        # a derived demand and a known own capacity give the members' own gap
        derived = (
            frame["own_gap"].isna()
            & frame["demand_exact"]
            & frame["demand"].notna()
            & frame["own_capacity"].notna()
            & ~frame["note"].str.contains("capacity unknown|a lower bound", regex=True)
        )
        frame.loc[derived, "own_gap"] = frame["demand"] - frame["own_capacity"]
        rows.append(frame)
    table = pd.concat(rows, ignore_index=True)
    table["demand_exact"] = table["demand_exact"].astype(bool)
    table["gap"] = table["own_gap"] - table["friends_surplus"]
    positive = table["demand"].where((table["demand"] > 0) & table["demand_exact"])
    inexact = table["gap"].notna() & ~table["demand_exact"] & (table["demand"] > 0)
    at_most = 100.0 * table["gap"] / table["demand"]
    table["note"] = [
        "; ".join(
            p
            for p in (
                str(note),
                f"demand is a lower bound, so the share short is unknown (at most {bound:.0f} %)"
                if flag
                else "",
            )
            if p
        )
        for note, flag, bound in zip(table["note"], inexact, at_most, strict=True)
    ]
    table["gap_pct"] = 100.0 * table["gap"] / positive
    table["own_gap_pct"] = 100.0 * table["own_gap"] / positive
    table["gap_with_projects"] = table["gap"] - table["projects_capacity"]
    table["gap_with_projects_pct"] = 100.0 * table["gap_with_projects"] / positive
    table["horizon"] = horizon
    table["bottleneck"] = _bottlenecks(table)
    return table[COLUMNS]


def _rows(frame: pd.DataFrame) -> list[dict[str, object]]:
    return [{str(k): v for k, v in r.items()} for r in frame.to_dict(orient="records")]


def _named(project: dict[str, object], unit: str) -> str:
    """``'Thacker Pass Phase 1 (USA, construction, 2027, 40,000 t LCE)'``."""
    parts = [str(project["country"]), str(project["status"])]
    start = project["expected_start"]
    if isinstance(start, int | np.integer):
        parts.append(str(int(start)))
    capacity = project["capacity"]
    if isinstance(capacity, float | np.floating) and np.isfinite(capacity):
        parts.append(f"{float(capacity):,.0f} {unit}")
    return f"{project['project']} ({', '.join(parts)})"


def _bottlenecks(table: pd.DataFrame) -> pd.Series:
    """True at the stage with the largest positive gap_pct of each chain (ties: upstream)."""
    flags = pd.Series(False, index=table.index)
    for _, part in table.groupby("commodity", sort=False):
        ranked = part[part["gap_pct"] > 0]
        if ranked.empty:
            continue
        best = ranked["gap_pct"].max()
        first = ranked[ranked["gap_pct"] >= best - 1e-9].index[0]  # chain order: upstream first
        flags[first] = True
    return flags
