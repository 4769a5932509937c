"""Portfolio inputs: candidate projects with expected capacity at the target year, the
financing options open in the decision window, baseline supply by country, and the gaps.

Units: capacities in t/yr of the stage unit, shortfalls in t over a disruption's horizon,
money in USD. Everything here is plain data (pandas/numpy); the MILP is built in ``model.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from critmin.analysis import stage_output
from critmin.errors import InputError
from critmin.optimisation.portfolio.config import (
    ExplicitGaps,
    PortfolioConfig,
    SimulationGaps,
)
from critmin.projects import load_projects
from critmin.projects.schema import parse_products

CHINA = "CHN"
ROW = "ROW"
# Stoichiometry: t Li2O per t Li2CO3 (LCE): 29.88 / 73.89 g/mol.
LI2O_PER_LCE = 29.881 / 73.891
FUNDABLE = ("construction", "development", "uncertain")


@dataclass
class PortfolioInputs:
    """What the MILP needs; built once per config by :func:`build_inputs`."""

    candidates: pd.DataFrame  # index project_id: country, commodity, stage, need_usd, expected_t
    excluded: pd.DataFrame  # project_id, reason
    options: pd.DataFrame  # index option "PARTY:instrument": party, instrument, cost, max_share
    budgets: dict[str, float]
    baseline: dict[tuple[str, str], pd.Series]  # (commodity, stage) -> t by country, base year
    gaps: pd.DataFrame  # index gap id: commodity, stage, product, value_usd_per_t, horizon_months
    shortfall: np.ndarray  # [gap, scenario] t over the horizon
    weights: np.ndarray  # [scenario] probabilities
    contribution: pd.DataFrame  # [project, gap] expected t/yr at the target year
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


def _candidates(config: PortfolioConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    projects = load_projects(config.extra_projects)
    if config.projects is not None:
        unknown = sorted(set(config.projects) - set(projects["project_id"]))
        if unknown:
            raise InputError(f"projects: unknown project_id {unknown[0]!r}")
        projects = projects[projects["project_id"].isin(config.projects)]
    a = config.assumptions
    decision_year = config.decision_date.year
    rows: list[dict[str, Any]] = []
    excluded: list[dict[str, Any]] = []
    for p in projects.to_dict(orient="records"):
        reason = None
        if p["status"] not in FUNDABLE:
            reason = f"status {p['status']}: not a candidate for new support"
        elif p["country"] == CHINA:
            reason = "in China"
        elif pd.isna(p["capacity"]):
            reason = "capacity unknown"
        elif pd.isna(p["capex"]):
            reason = "capex unknown: financing need cannot be sized"
        elif p["capex_currency"] not in a.fx_usd_per_unit:
            reason = f"no exchange rate for {p['capex_currency']}"
        if reason:
            excluded.append({"project_id": p["project_id"], "reason": reason})
            continue
        status = str(p["status"])
        lead = a.lead_time_years.get(status, max(a.lead_time_years.values(), default=3))
        start = decision_year + lead
        first = p["expected_start"]
        online = start if pd.isna(first) else max(int(first), start)
        ramp = float(np.clip((config.target_year - online + 1) / a.ramp_up_years, 0.0, 1.0))
        success = a.probability_of_success.get(status, 0.5)
        unit = None if pd.isna(p["capacity_unit"]) else str(p["capacity_unit"])
        capacity = stage_capacity(str(p["commodity"]), str(p["stage"]), float(p["capacity"]), unit)
        rows.append(
            {
                "project_id": p["project_id"],
                "project": p["project"],
                "country": p["country"],
                "commodity": p["commodity"],
                "stage": p["stage"],
                "status": status,
                "capacity_t": capacity,
                "online_year": online,
                "ramp": ramp,
                "probability_of_success": success,
                "expected_t": success * ramp * capacity,
                "need_usd": a.need_share_of_capex
                * float(p["capex"])
                * a.fx_usd_per_unit[str(p["capex_currency"])],
                "basket": parse_products(p["products"]),
            }
        )
    cands = pd.DataFrame(rows).set_index("project_id") if rows else pd.DataFrame()
    return cands, pd.DataFrame(excluded, columns=["project_id", "reason"])


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
    from critmin.network.groups import builtin_groups, resolve_members
    from critmin.simulation.runner import run_ensemble, simulate
    from critmin.simulation.scenario import load_scenario

    scenario = load_scenario(spec.scenario)
    if spec.samples > 0:
        result = run_ensemble(scenario, spec.samples, seed=spec.seed)
    else:
        result = simulate(scenario)
    allies = set(resolve_members(scenario.alliance, builtin_groups()))
    totals = result.totals()
    members = [c for c in result.countries if c in allies]
    # allied shortfall by label: [scenario, stage]
    short = totals["shortfall"].sel(country=members).sum("country").transpose("scenario", "stage")
    short = short.values
    stages = result.stages
    base_price = result.data["base_price"].values
    gaps = pd.DataFrame(
        {
            "gap": [f"{scenario.commodity}.{s}" for s in stages],
            "commodity": scenario.commodity,
            "stage": stages,
            "product": None,
            "value_usd_per_t": [float(v) for v in base_price],
            "horizon_months": scenario.horizon.months,
        }
    ).set_index("gap")
    n = short.shape[0]
    return gaps, short.T.astype(float), np.full(n, 1.0 / n)


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


def contributions(cands: pd.DataFrame, gaps: pd.DataFrame) -> pd.DataFrame:
    """Expected t/yr each project adds to each gap at the target year (co-production aware).

    A stage-level gap takes the project's whole expected capacity at that stage; a product gap
    (``dy``) takes only the product's tonnage in the project's sourced basket, scaled by the
    same success x ramp factor. A project without a sourced basket closes no product gap.
    """
    out = pd.DataFrame(0.0, index=cands.index, columns=gaps.index)
    for gap, g in gaps.iterrows():
        for pid, p in cands.iterrows():
            if p["commodity"] != g["commodity"] or p["stage"] != g["stage"]:
                continue
            if g["product"] is None or pd.isna(g["product"]):
                out.loc[pid, gap] = p["expected_t"]
            else:
                factor = p["probability_of_success"] * p["ramp"]
                out.loc[pid, gap] = factor * p["basket"].get(str(g["product"]), 0.0)
    return out


def build_inputs(config: PortfolioConfig) -> PortfolioInputs:
    """Everything the portfolio model needs, from the config and the embedded data."""
    cands, excluded = _candidates(config)
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
    baseline: dict[tuple[str, str], pd.Series] = {}
    missing: list[str] = []
    for key in _keys(cands):
        try:
            baseline[key] = baseline_supply(key[0], key[1], config.base_year)
        except InputError:
            missing.append(f"{key[0]} {key[1]}")
    for t in config.targets:  # a target must have volumes to compare against
        baseline[(t.commodity, t.stage)] = baseline_supply(t.commodity, t.stage, config.base_year)
    notes = [
        "probability of success, lead times, ramp-up, instrument scoring and the financing "
        "need (share of capex) are assumptions set in the config",
        "capacities are expected t/yr at the target year: success x ramp x nameplate",
    ]
    if missing:
        notes.append(
            f"no {config.base_year} stage output for {', '.join(missing)}: no country limit "
            "there and no HHI / China share reported"
        )
    return PortfolioInputs(
        candidates=cands,
        excluded=excluded,
        options=options,
        budgets={p: s.budget_usd for p, s in config.parties.items()},
        baseline=baseline,
        gaps=gaps,
        shortfall=short,
        weights=weights,
        contribution=contributions(cands, gaps),
        notes=notes,
    )
