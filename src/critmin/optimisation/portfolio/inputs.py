"""Portfolio inputs: candidate projects with their expected capacity at the target year with
and without support, the pipeline's no-support baseline, the financing options open in the
decision window, baseline supply by country, the gaps and the feedstock chains that limit
how much new capacity can run.

Units: capacities in t/yr of the stage unit, shortfalls in t over a disruption's horizon,
money in USD. Everything here is plain data (pandas/numpy); the MILP is built in ``model.py``,
the shortfall-closing flows in ``flows.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from critmin.analysis import stage_output
from critmin.data.commodities import commodity
from critmin.errors import InputError
from critmin.network.stages import stage_yields
from critmin.optimisation.portfolio.config import (
    ExplicitGaps,
    PortfolioConfig,
    SimulationGaps,
)
from critmin.projects import load_financing, load_projects
from critmin.projects.schema import parse_products

CHINA = "CHN"
ROW = "ROW"
# Stoichiometry: t Li2O per t Li2CO3 (LCE): 29.88 / 73.89 g/mol.
LI2O_PER_LCE = 29.881 / 73.891
FUNDABLE = ("construction", "development", "uncertain")


@dataclass
class PortfolioInputs:
    """What the MILP needs; built once per config by :func:`build_inputs`."""

    candidates: pd.DataFrame  # index project_id: need_usd, expected_t, baseline_t, additional_t
    excluded: pd.DataFrame  # project_id, reason
    pipeline: pd.DataFrame  # every project adding capacity by the target year without support
    options: pd.DataFrame  # index option "PARTY:instrument": party, instrument, cost, max_share
    budgets: dict[str, float]
    baseline: dict[tuple[str, str], pd.Series]  # t by country at the target year, no support
    gaps: pd.DataFrame  # index gap id: commodity, stage, product, value_usd_per_t, horizon, node
    shortfall: np.ndarray  # [gap, scenario] t over the horizon
    weights: np.ndarray  # [scenario] probabilities
    contribution: pd.DataFrame  # [project, gap] t/yr support adds (product gaps: the product)
    base_contribution: pd.Series  # [gap] t/yr the pipeline adds without support (products)
    nodes: pd.DataFrame  # index "commodity.stage": upstream, yield, surplus_t, baseline_t
    node_additional: pd.DataFrame  # [project, node] t/yr support adds at each node
    notes: list[str] = field(default_factory=list)

    @property
    def keys(self) -> list[tuple[str, str]]:
        """(commodity, stage) pairs that candidates add capacity to."""
        return _keys(self.candidates)


def _keys(cands: pd.DataFrame) -> list[tuple[str, str]]:
    pairs = zip(cands["commodity"].astype(str), cands["stage"].astype(str), strict=True)
    return sorted(set(pairs))


def stage_capacity(commodity: str, stage: str, capacity: float, unit: str | None) -> float:
    """Capacity in critmin's stage unit (lithium mining is t Li2O; sources give t LCE)."""
    if commodity == "lithium" and stage == "mining" and unit and "LCE" in unit:
        return capacity * LI2O_PER_LCE
    return capacity


def ramp_share(online: int, target_year: int, ramp_years: int) -> float:
    """Share of nameplate reached in ``target_year`` by a plant online in ``online``."""
    return float(np.clip((target_year - online + 1) / ramp_years, 0.0, 1.0))


def committed_financing(config: PortfolioConfig) -> pd.Series:
    """USD of financing already committed to each project (statuses counted per the config;
    amounts in a currency without an exchange rate, or unpublished, count as zero and are
    listed in the notes)."""
    fin = load_financing()
    fx = config.assumptions.fx_usd_per_unit
    counted = fin[fin["status"].isin(config.assumptions.counted_financing)]
    usd = counted["amount"] * counted["currency"].map(fx)
    return usd.groupby(counted["project_id"]).sum(min_count=1).fillna(0.0)


def _projects(config: PortfolioConfig) -> pd.DataFrame:
    projects = load_projects(config.extra_projects)
    if config.projects is not None:
        unknown = sorted(set(config.projects) - set(projects["project_id"]))
        if unknown:
            raise InputError(f"projects: unknown project_id {unknown[0]!r}")
        projects = projects[projects["project_id"].isin(config.projects)]
    return projects


def _candidates(
    config: PortfolioConfig, projects: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Candidates, excluded projects (with reasons), and the no-support pipeline."""
    a = config.assumptions
    decision_year = config.decision_date.year
    committed = committed_financing(config)
    rows: list[dict[str, Any]] = []
    excluded: list[dict[str, Any]] = []
    pipeline: list[dict[str, Any]] = []
    for p in projects.to_dict(orient="records"):
        pid, status = str(p["project_id"]), str(p["status"])
        unit = None if pd.isna(p["capacity_unit"]) else str(p["capacity_unit"])
        capacity = (
            float("nan")
            if pd.isna(p["capacity"])
            else stage_capacity(str(p["commodity"]), str(p["stage"]), float(p["capacity"]), unit)
        )
        first = None if pd.isna(p["expected_start"]) else int(p["expected_start"])
        basket = parse_products(p["products"])
        base = {"project_id": pid, "project": p["project"], "country": p["country"],
                "commodity": p["commodity"], "stage": p["stage"], "status": status,
                "capacity_t": capacity, "basket": basket}  # fmt: skip
        if status == "operating":
            if first is not None and first > config.base_year and np.isfinite(capacity):
                share = ramp_share(first, config.target_year, a.ramp_up_years)
                pipeline.append({**base, "probability": 1.0, "ramp": share,
                                 "basis": f"operating since {first}"})  # fmt: skip
            excluded.append({"project_id": pid, "reason": "status operating: not a candidate"})
            continue
        if status not in FUNDABLE:
            excluded.append({"project_id": pid, "reason": f"status {status}: not a candidate"})
            continue
        lead = a.lead_time_years.get(status, max(a.lead_time_years.values(), default=3))
        online = max(first, decision_year + lead) if first is not None else decision_year + lead
        delay = a.delay_without_support_years.get(status, 0)
        p0 = a.probability_of_success.get(status, 0.5)
        p1 = a.probability_with_support.get(status, p0)
        capex_usd = (
            float(p["capex"]) * a.fx_usd_per_unit[str(p["capex_currency"])]
            if not pd.isna(p["capex"]) and p["capex_currency"] in a.fx_usd_per_unit
            else float("nan")
        )
        paid = float(committed.get(pid, 0.0))
        gap = capex_usd - paid
        reason = None
        if p["country"] == CHINA:
            reason = "in China"
        elif not np.isfinite(capacity):
            reason = "capacity unknown"
        elif pd.isna(p["capex"]):
            reason = "capex unknown: financing need cannot be sized"
        elif p["capex_currency"] not in a.fx_usd_per_unit:
            reason = f"no exchange rate for {p['capex_currency']}"
        elif gap <= 0:
            reason = (
                f"fully financed: {paid / 1e6:,.0f} M USD committed ("
                f"{', '.join(a.counted_financing)}) against a capex of {capex_usd / 1e6:,.0f} M USD"
            )
        r0 = ramp_share(online + delay, config.target_year, a.ramp_up_years)
        if reason:
            excluded.append({"project_id": pid, "reason": reason})
            if np.isfinite(capacity) and p["country"] != CHINA:
                financed = gap <= 0
                r = ramp_share(online, config.target_year, a.ramp_up_years) if financed else r0
                basis = "fully financed" if financed else "not a candidate, no support"
                pipeline.append({**base, "probability": p0, "ramp": r, "basis": basis})
            continue
        r1 = ramp_share(online, config.target_year, a.ramp_up_years)
        pipeline.append({**base, "probability": p0, "ramp": r0,
                         "basis": "candidate, without support"})  # fmt: skip
        rows.append(
            {
                **base,
                "online_year": online,
                "online_year_without_support": online + delay,
                "ramp": r1,
                "ramp_without_support": r0,
                "probability_of_success": p1,
                "probability_without_support": p0,
                "expected_t": p1 * r1 * capacity,
                "baseline_t": p0 * r0 * capacity,
                "additional_t": p1 * r1 * capacity - p0 * r0 * capacity,
                "capex_usd": capex_usd,
                "committed_usd": paid,
                "need_usd": min(a.need_share_of_capex * capex_usd, gap),
            }
        )
    cands = pd.DataFrame(rows).set_index("project_id") if rows else pd.DataFrame()
    pipe = pd.DataFrame(pipeline, columns=[*base_columns(), "probability", "ramp", "basis"])
    pipe["factor"] = pipe["probability"] * pipe["ramp"]
    pipe["baseline_t"] = pipe["factor"] * pipe["capacity_t"]
    return cands, pd.DataFrame(excluded, columns=["project_id", "reason"]), pipe


def base_columns() -> list[str]:
    return ["project_id", "project", "country", "commodity", "stage", "status", "capacity_t",
            "basket"]  # fmt: skip


def _options(config: PortfolioConfig) -> pd.DataFrame:
    """(party, instrument) pairs that can close inside the remaining decision window."""
    rows = []
    for party, spec in config.parties.items():
        for name in spec.instruments:
            inst = config.instruments[name]
            if inst.months_to_close > config.window_months:
                continue
            rows.append(
                {
                    "option": f"{party}:{name}",
                    "party": party,
                    "instrument": name,
                    "fiscal_cost_per_usd": inst.fiscal_cost_per_usd,
                    "max_share_of_need": inst.max_share_of_need,
                }
            )
    if not rows:
        raise InputError(
            f"window_months = {config.window_months}: no party's instrument can close in time"
        )
    return pd.DataFrame(rows).set_index("option")


def baseline_supply(commodity: str, stage: str, year: int) -> pd.Series:
    """Output by country (t of the stage unit) at ``stage`` in ``year`` (ROW = unattributed)."""
    frame = stage_output(commodity, [year])
    frame = frame[(frame["stage"] == stage) & frame["value"].notna()]
    if frame.empty:
        raise InputError(f"{commodity} {stage}: no stage output in {year} to compare against")
    return frame.groupby("country")["value"].sum().astype(float)


def _simulation_gaps(spec: SimulationGaps) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Allied shortfall per stage and scenario from the simulation engine."""
    from critmin.optimisation.portfolio.engine import allied_shortfall

    return allied_shortfall(spec.scenario, spec.samples, spec.seed)


def _explicit_gaps(spec: ExplicitGaps) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rows = []
    for item in spec.items:
        gap = f"{item.commodity}.{item.stage}" + (f".{item.product}" if item.product else "")
        rows.append({"gap": gap, **item.model_dump()})
    frame = pd.DataFrame(rows)
    if frame["gap"].duplicated().any():
        raise InputError(f"gaps: {frame.loc[frame['gap'].duplicated(), 'gap'].iloc[0]} twice")
    frame = frame.set_index("gap")
    short = frame.pop("shortfall_t").to_numpy(float)[:, None]
    return frame, short, np.ones(1)


def _factor(frame: pd.DataFrame, prefix: str = "") -> pd.Series:
    """Success x ramp of each row (``prefix`` '' with support, '_without_support' without)."""
    if prefix:
        return frame["probability_without_support"] * frame["ramp_without_support"]
    return frame["probability_of_success"] * frame["ramp"]


def contributions(cands: pd.DataFrame, gaps: pd.DataFrame) -> pd.DataFrame:
    """Expected t/yr each project's support adds to each gap at the target year.

    A stage-level gap takes the project's additional expected capacity at that stage; a product
    gap (``dy``) only the product's tonnage in the project's sourced basket, times the change
    in success x ramp that support brings. A project without a sourced basket closes no
    product gap.
    """
    delta = _factor(cands) - _factor(cands, "_without_support")
    records: dict[str, dict[str, Any]] = cands.to_dict(orient="index")  # type: ignore[assignment]
    columns = {}
    for gap, g in gaps.to_dict(orient="index").items():
        values = []
        for pid, p in records.items():
            if p["commodity"] != g["commodity"] or p["stage"] != g["stage"]:
                values.append(0.0)
            elif g["product"] is None or pd.isna(g["product"]):
                values.append(float(p["additional_t"]))
            else:
                values.append(float(delta[pid]) * p["basket"].get(str(g["product"]), 0.0))
        columns[gap] = values
    return pd.DataFrame(columns, index=cands.index, columns=gaps.index, dtype=float)


def _base_contribution(pipeline: pd.DataFrame, gaps: pd.DataFrame) -> pd.Series:
    """t/yr the no-support pipeline adds to each product gap (stage gaps: see ``nodes``)."""
    values = []
    for g in gaps.to_dict(orient="records"):
        if g["product"] is None or pd.isna(g["product"]):
            values.append(0.0)
            continue
        at = pipeline[(pipeline["commodity"] == g["commodity"])
                      & (pipeline["stage"] == g["stage"])]  # fmt: skip
        pairs = zip(at["factor"], at["basket"], strict=True)
        values.append(float(sum(f * b.get(str(g["product"]), 0.0) for f, b in pairs)))
    return pd.Series(values, index=gaps.index, dtype=float)


def feedstock_nodes(
    gaps: pd.DataFrame, cands: pd.DataFrame, pipeline: pd.DataFrame, base_year: int
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The chain stages ("commodity.stage") a gap can draw on, with the feedstock rule's data.

    For a gap at stage ``s`` of commodity ``c``, every stage of ``c``'s chain up to ``s`` is a
    node. A node with an upstream stage ``u`` and a known yield runs at most
    ``yield_s (surplus_u + fed_u)`` t/yr, where ``surplus_u`` is the upstream output outside
    China in the base year not already needed by the downstream stage there
    (``max(0, sum_{r != CHN} q_u,r - sum_{r != CHN} q_s,r / yield_s)``) and ``fed_u`` the new
    upstream output passed on instead of closing the upstream gap. Returns the nodes, the
    support each candidate adds at each node (t/yr) and notes.
    """
    notes: list[str] = []
    rows: list[dict[str, Any]] = []
    for c in sorted(set(gaps["commodity"].astype(str))):
        chain = [s.id for s in commodity(c).stages]
        deepest = max(chain.index(str(s)) for s in gaps.loc[gaps["commodity"] == c, "stage"])
        yields = stage_yields(c)["value"].astype(float).to_dict()
        output = stage_output(c, [base_year])
        outside = output[(output["country"] != CHINA) & output["value"].notna()]
        by_stage = outside.groupby("stage")["value"].sum()
        for i, s in enumerate(chain[: deepest + 1]):
            upstream = chain[i - 1] if i > 0 else None
            y = yields.get(s) if upstream is not None else None
            surplus = float("inf")
            if upstream is not None and y is not None and s in by_stage and upstream in by_stage:
                surplus = max(0.0, float(by_stage[upstream]) - float(by_stage[s]) / y)
            elif upstream is not None:
                notes.append(
                    f"{c} {s}: no stage yield or base-year output upstream: feedstock not checked"
                )
            at = pipeline[(pipeline["commodity"] == c) & (pipeline["stage"] == s)]
            rows.append(
                {
                    "node": f"{c}.{s}",
                    "commodity": c,
                    "stage": s,
                    "upstream": f"{c}.{upstream}" if upstream else None,
                    "yield": float(y) if y is not None else float("nan"),
                    "surplus_t": surplus,
                    "baseline_t": float(at["baseline_t"].sum()),
                }
            )
    nodes = pd.DataFrame(rows).set_index("node") if rows else pd.DataFrame(
        columns=["commodity", "stage", "upstream", "yield", "surplus_t", "baseline_t"]
    )  # fmt: skip
    added = pd.DataFrame(0.0, index=cands.index, columns=nodes.index)
    for pid, p in cands.iterrows():
        node = f"{p['commodity']}.{p['stage']}"
        if node in added.columns:
            added.loc[pid, node] = p["additional_t"]
    return nodes, added, notes


def build_inputs(config: PortfolioConfig) -> PortfolioInputs:
    """Everything the portfolio model needs, from the config and the embedded data."""
    cands, excluded, pipeline = _candidates(config, _projects(config))
    if cands.empty:
        raise InputError("projects: no candidate project is eligible for support")
    options = _options(config)
    if isinstance(config.gaps, SimulationGaps):
        gaps, short, weights = _simulation_gaps(config.gaps)
    elif isinstance(config.gaps, ExplicitGaps):
        gaps, short, weights = _explicit_gaps(config.gaps)
    else:
        gaps = pd.DataFrame(
            columns=["commodity", "stage", "product", "value_usd_per_t", "horizon_months"]
        )
        short, weights = np.zeros((0, 1)), np.ones(1)
    gaps["node"] = [f"{c}.{s}" for c, s in zip(gaps["commodity"], gaps["stage"], strict=True)]
    nodes, node_added, notes = feedstock_nodes(gaps, cands, pipeline, config.base_year)
    baseline: dict[tuple[str, str], pd.Series] = {}
    missing: list[str] = []
    keys = set(_keys(cands)) | {(t.commodity, t.stage) for t in config.targets}
    for key in sorted(keys):
        try:
            base = baseline_supply(key[0], key[1], config.base_year)
        except InputError:
            if key in {(t.commodity, t.stage) for t in config.targets}:
                raise  # a target must have volumes to compare against
            missing.append(f"{key[0]} {key[1]}")
            continue
        here = pipeline[(pipeline["commodity"] == key[0]) & (pipeline["stage"] == key[1])]
        added = here.groupby("country")["baseline_t"].sum()
        baseline[key] = base.add(added, fill_value=0.0)
    financed = int(excluded["reason"].str.startswith("fully financed").sum())
    notes = [
        "probability of success with and without support, delays without support, lead times, "
        "ramp-up, instrument scoring and the financing need (share of capex) are assumptions "
        "set in the config (defaults and their basis: projects/data/additionality.csv)",
        "capacities are expected t/yr at the target year: success x ramp x nameplate; the "
        "objective counts only what support adds over the no-support pipeline",
        f"financing already committed ({', '.join(config.assumptions.counted_financing)}; "
        f"projects/data/financing.csv) is deducted from each project's need; {financed} "
        "project(s) fully financed and not candidates",
        *notes,
    ]
    if missing:
        notes.append(
            f"no {config.base_year} stage output for {', '.join(missing)}: no country limit "
            "there and no HHI / China share reported"
        )
    return PortfolioInputs(
        candidates=cands,
        excluded=excluded,
        pipeline=pipeline,
        options=options,
        budgets={p: s.budget_usd for p, s in config.parties.items()},
        baseline=baseline,
        gaps=gaps,
        shortfall=short,
        weights=weights,
        contribution=contributions(cands, gaps),
        base_contribution=_base_contribution(pipeline, gaps),
        nodes=nodes,
        node_additional=node_added,
        notes=notes,
    )
