"""Portfolio results: the chosen projects, instruments and amounts, metrics per stage, the
cost-versus-risk frontier, the marginal value of the last dollar, and the chosen portfolio
re-simulated through the market model with and without support."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from critmin.optimisation.portfolio.config import PortfolioConfig
from critmin.optimisation.portfolio.engine import engine_check
from critmin.optimisation.portfolio.flows import closed_value, flow_data, upper_bound
from critmin.optimisation.portfolio.inputs import PortfolioInputs, build_inputs
from critmin.optimisation.portfolio.model import (
    PortfolioModel,
    Solved,
    after,
    china_share,
    hhi,
    objective_value,
)

TIES = 1e-9  # relative: objective values this close are ties (broken by least cost)
MARGINAL_STEP = 0.01  # finite difference: +1 % of every party's budget
UNITS = {
    "shortfall": "USD of expected allied shortfall closed at the target year (higher is better)",
    "china_share": "weighted China share of stage output, 0-1 (lower is better)",
    "hhi": "HHI of stage output, 0-1 (lower is better)",
}


@dataclass
class PortfolioResult:
    """A solved portfolio (Python API of ``critmin portfolio``)."""

    config: PortfolioConfig
    selected: pd.DataFrame  # one row per project x option with a positive amount
    objective: dict[str, Any]
    metrics: pd.DataFrame  # per (commodity, stage): HHI and China share before/after, per USD
    frontier: pd.DataFrame  # budget scale, budget, cost, objective, improvement
    marginal_value: dict[str, Any]
    excluded: pd.DataFrame
    pipeline: pd.DataFrame  # the no-support pipeline at the target year
    engine: dict[str, Any] = field(default_factory=dict)  # with/without-support engine runs
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready document (keys documented in docs/methods/portfolio.md)."""

        def rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
            clean = frame.astype(object).where(frame.notna(), None)
            return clean.to_dict(orient="records")  # type: ignore[return-value]

        return {
            "name": self.config.name,
            "objective": self.objective,
            "selected": rows(self.selected),
            "metrics": rows(self.metrics),
            "frontier": rows(self.frontier),
            "marginal_value": self.marginal_value,
            "excluded": rows(self.excluded),
            "pipeline": rows(self.pipeline.drop(columns=["basket"], errors="ignore")),
            "engine": self.engine,
            "notes": self.notes,
        }


def improvement(kind: str, base: float, value: float) -> float:
    """The objective's gain over doing nothing (positive is better, in the objective's unit)."""
    return value - base if kind == "shortfall" else base - value


def _selected(config: PortfolioConfig, inputs: PortfolioInputs, solved: Solved) -> pd.DataFrame:
    rows = []
    opts: dict[str, dict[str, Any]] = inputs.options.to_dict(orient="index")  # type: ignore[assignment]
    cands: dict[str, dict[str, Any]] = inputs.candidates.to_dict(orient="index")  # type: ignore[assignment]
    for pid in solved.chosen:
        c = cands[pid]
        for option, amount in solved.amounts.loc[pid].astype(float).to_dict().items():
            if amount <= 0:
                continue
            rows.append(
                {
                    "project_id": pid,
                    "project": c["project"],
                    "country": c["country"],
                    "commodity": c["commodity"],
                    "stage": c["stage"],
                    "party": opts[str(option)]["party"],
                    "instrument": opts[str(option)]["instrument"],
                    "amount_usd": float(amount),
                    "fiscal_cost_usd": float(amount * opts[str(option)]["fiscal_cost_per_usd"]),
                    "need_usd": float(c["need_usd"]),
                    "committed_usd": float(c["committed_usd"]),
                    "online_year": int(c["online_year"]),
                    "online_year_without_support": int(c["online_year_without_support"]),
                    "expected_t_per_year": float(c["expected_t"]),
                    "baseline_t_per_year": float(c["baseline_t"]),
                    "additional_t_per_year": float(c["additional_t"]),
                    "probability_of_success": float(c["probability_of_success"]),
                    "probability_without_support": float(c["probability_without_support"]),
                }
            )
    columns = ["project_id", "project", "country", "commodity", "stage", "party", "instrument",
               "amount_usd", "fiscal_cost_usd", "need_usd", "committed_usd", "online_year",
               "online_year_without_support", "expected_t_per_year", "baseline_t_per_year",
               "additional_t_per_year", "probability_of_success",
               "probability_without_support"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def _metrics(inputs: PortfolioInputs, chosen: list[str], cost: float) -> pd.DataFrame:
    rows = []
    for key in sorted(inputs.baseline):
        before = inputs.baseline[key]
        now = after(inputs, key, chosen)
        h0, h1 = hhi(before), hhi(now)
        s0, s1 = china_share(before), china_share(now)
        rows.append(
            {
                "commodity": key[0],
                "stage": key[1],
                "added_by_support_t_per_year": float(now.sum() - before.sum()),
                "hhi_before": h0,
                "hhi_after": h1,
                "china_share_before": s0,
                "china_share_after": s1,
                "hhi_change_per_billion_usd": (h1 - h0) / cost * 1e9 if cost > 0 else None,
                "china_share_change_per_billion_usd": (s1 - s0) / cost * 1e9 if cost > 0 else None,
            }
        )
    return pd.DataFrame(rows)


def _cost(selected: pd.DataFrame) -> float:
    return float(selected["fiscal_cost_usd"].sum()) if len(selected) else 0.0


def frontier(
    pm: PortfolioModel, points: int, base_value: float, rebuild: bool = False
) -> pd.DataFrame:
    """Budget sweep: every party's budget x ``k/points`` for k = 1..points (plus 0).

    ``rebuild=False`` re-solves the same model with new budget right-hand sides (the fast
    path); ``rebuild=True`` builds a fresh model per point (the baseline in benchmarks).
    """
    config, inputs = pm.config, pm.inputs
    total = sum(inputs.budgets.values())
    rows = [{"budget_scale": 0.0, "budget_usd": 0.0, "fiscal_cost_usd": 0.0,
             "objective": base_value, "improvement": 0.0, "projects": 0}]  # fmt: skip
    for k in range(1, points + 1):
        scale = k / points
        model = PortfolioModel(config, inputs) if rebuild else pm
        model.set_budget_scale(scale)
        solved = model.solve()
        cost = _cost(_selected(config, inputs, solved))
        rows.append(
            {
                "budget_scale": scale,
                "budget_usd": total * scale,
                "fiscal_cost_usd": cost,
                "objective": solved.objective,
                "improvement": improvement(config.objective, base_value, solved.objective),
                "projects": len(solved.chosen),
            }
        )
    pm.set_budget_scale(1.0)
    return pd.DataFrame(rows)


def solve_portfolio(
    config: PortfolioConfig,
    inputs: PortfolioInputs | None = None,
    points: int | None = None,
    engine: bool = True,
) -> PortfolioResult:
    """Build and solve the portfolio of ``config``; frontier with ``points`` budget levels;
    with ``engine`` the chosen portfolio and the no-support baseline are re-simulated through
    the market model (``config.engine``)."""
    inputs = inputs or build_inputs(config)
    pm = PortfolioModel(config, inputs)
    solved = pm.solve()
    base = objective_value(config, inputs, [])
    selected = _selected(config, inputs, solved)
    cost = _cost(selected)
    total = sum(inputs.budgets.values())
    pm.set_budget_scale(1.0 + MARGINAL_STEP)
    bumped = pm.solve()
    pm.set_budget_scale(1.0)
    gain = improvement(config.objective, solved.objective, bumped.objective)
    step = MARGINAL_STEP * total
    marginal = {
        "method": "finite difference: re-solve with every party's budget +1 %",
        "step_usd": step,
        "improvement": gain,
        "per_usd": gain / step if step > 0 else None,
        "unit": UNITS[config.objective].split(" (")[0] + " per USD of budget",
    }
    n_points = config.frontier_points if points is None else points
    front = frontier(pm, n_points, base) if n_points > 0 else pd.DataFrame()
    if len(front) >= 2:
        last, before = front.iloc[-1], front.iloc[-2]
        step_usd = float(last["budget_usd"] - before["budget_usd"])
        marginal["frontier_last_step"] = {
            "method": "slope of the frontier between its last two budget levels",
            "step_usd": step_usd,
            "per_usd": float(last["improvement"] - before["improvement"]) / step_usd
            if step_usd > 0
            else None,
        }
    objective: dict[str, Any] = {
        "kind": config.objective,
        "value": solved.objective,
        "baseline": base,
        "improvement": improvement(config.objective, base, solved.objective),
        "unit": UNITS[config.objective],
        "fiscal_cost_usd": cost,
        "budget_usd": total,
        "optimality_gap": solved.mip_gap,
        "mip_rel_gap_setting": config.mip_rel_gap,
        "iterations": solved.iterations,
        "projects": solved.chosen,
    }
    if config.objective == "shortfall":
        objective["expected_shortfall_value_before"] = float(
            (inputs.gaps["value_usd_per_t"].to_numpy()[:, None] * inputs.shortfall).sum(0)
            @ inputs.weights
        )
        objective["baseline_means"] = "value closed by the no-support pipeline alone"
    else:
        objective["baseline_means"] = "the no-support pipeline at the target year"
    metrics = _metrics(inputs, solved.chosen, cost)
    notes = [*inputs.notes]
    if config.objective == "china_share":
        notes.append(
            f"China share enters the MILP as a {24}-piece secant approximation (exact at "
            "breakpoints, an upper bound between them); reported values are exact"
        )
    if config.objective == "hhi":
        notes.append("HHI minimised exactly: Dinkelbach iterations over an exact MILP")
    return PortfolioResult(
        config=config,
        selected=selected,
        objective=objective,
        metrics=metrics,
        frontier=front,
        marginal_value=marginal,
        excluded=inputs.excluded,
        pipeline=inputs.pipeline,
        engine=engine_check(config, inputs, solved.chosen) if engine else {"status": "off"},
        notes=notes,
    )


def brute_force(config: PortfolioConfig, inputs: PortfolioInputs) -> tuple[list[str], float]:
    """Exact optimum by enumerating every subset of candidates (tests; <= ~16 projects).

    Subsets are ranked by their exact objective; among those with the best value whose
    financing is feasible (an LP on the amounts, scipy's HiGHS) and within the country limits,
    the one of least scored cost wins (the MILP breaks ties the same way).
    """
    from itertools import combinations

    from scipy.optimize import linprog

    ids = list(inputs.candidates.index)
    subsets = [list(s) for r in range(len(ids) + 1) for s in combinations(ids, r)]
    member = np.zeros((len(subsets), len(ids)))
    position = {p: i for i, p in enumerate(ids)}
    for k, subset in enumerate(subsets):
        member[k, [position[p] for p in subset]] = 1.0
    values = _subset_values(config, inputs, member)  # exact, or (shortfall) upper bounds
    higher = config.objective == "shortfall"
    order = np.argsort(-values if higher else values, kind="stable")
    data = flow_data(inputs) if higher else None
    opts = inputs.options
    best: tuple[list[str], float, float] | None = None  # subset, value, scored cost

    def worse(a: float, b: float) -> bool:  # a worse than b beyond the tie tolerance
        gap = (b - a) if higher else (a - b)
        return gap > TIES * max(1.0, abs(b))

    for i in order:
        if best is not None and worse(float(values[i]), best[1]):
            break  # no later set can reach the best: among ties, the cheapest has been kept
        chosen = subsets[i]
        value = float(values[i]) if data is None else closed_value(data, member[i])
        if best is not None and worse(value, best[1]):
            continue
        if not _country_ok(config, inputs, chosen):
            continue
        cost = _min_cost(inputs, chosen, opts, linprog)
        if cost is None:
            continue
        if best is None or worse(best[1], value) or cost < best[2] - 1e-6 * max(1.0, best[2]):
            best = (chosen, value, cost)
    if best is None:
        return [], objective_value(config, inputs, [])
    return best[0], best[1]


def _subset_values(
    config: PortfolioConfig, inputs: PortfolioInputs, member: np.ndarray
) -> np.ndarray:
    """Objective of every subset (rows of the 0/1 ``member`` matrix), vectorised: exact for
    China share and HHI, an upper bound for the shortfall value (exact by LP when needed)."""
    c = inputs.candidates
    if config.objective == "shortfall":
        return upper_bound(flow_data(inputs), member)
    total = np.zeros(member.shape[0])
    for t in config.targets:
        key = (t.commodity, t.stage)
        base = inputs.baseline[key]
        countries = sorted(set(base.index) | set(c["country"]))
        q = np.array([float(base.get(k, 0.0)) for k in countries])
        add = np.zeros((len(c), len(countries)))
        for i, (_, row) in enumerate(c.iterrows()):
            if (row["commodity"], row["stage"]) == key:
                add[i, countries.index(row["country"])] = row["additional_t"]
        vol = q[None, :] + member @ add
        shares = vol / vol.sum(axis=1, keepdims=True)
        if config.objective == "china_share":
            total += t.weight * shares[:, countries.index("CHN")] if "CHN" in countries else 0.0
        else:
            named = np.array([k != "ROW" for k in countries])
            total += (shares[:, named] ** 2).sum(axis=1)
    return total


def _country_ok(config: PortfolioConfig, inputs: PortfolioInputs, chosen: list[str]) -> bool:
    alpha = config.max_country_share
    if alpha is None:
        return True
    c = inputs.candidates
    for key in inputs.keys:
        if key not in inputs.baseline:
            continue
        base = inputs.baseline[key]
        now = after(inputs, key, chosen)
        for country in set(c.loc[chosen, "country"]) if chosen else set():
            mine = [p for p in chosen if (c.loc[p, "commodity"], c.loc[p, "stage"]) == key
                    and c.loc[p, "country"] == country]  # fmt: skip
            if not mine:
                continue
            if base.get(country, 0.0) > alpha * base.sum():
                return False
            if now.get(country, 0.0) > alpha * now.sum() + 1e-9 * now.sum():
                return False
    return True


def _min_cost(
    inputs: PortfolioInputs, chosen: list[str], opts: pd.DataFrame, linprog: Any
) -> float | None:
    """Least scored cost (USD) of financing ``chosen`` within budgets; None if infeasible."""
    if not chosen:
        return 0.0
    need = inputs.candidates.loc[chosen, "need_usd"].to_numpy(float)
    n, m = len(chosen), len(opts)
    cap = opts["max_share_of_need"].to_numpy(float)
    cost = opts["fiscal_cost_per_usd"].to_numpy(float)
    a_eq = np.zeros((n, n * m))
    for p in range(n):
        a_eq[p, p * m : (p + 1) * m] = 1.0
    parties = list(inputs.budgets)
    a_ub = np.zeros((len(parties), n * m))
    for j, party in enumerate(parties):
        mask = (opts["party"] == party).to_numpy()
        for p in range(n):
            a_ub[j, p * m : (p + 1) * m] = cost * mask * need[p]
    budgets = np.array([inputs.budgets[p] for p in parties])
    bounds = [(0.0, cap[o]) for _ in range(n) for o in range(m)]
    objective = np.concatenate([cost * need[p] for p in range(n)])
    res = linprog(objective, A_ub=a_ub, b_ub=budgets * (1 + 1e-9), A_eq=a_eq, b_eq=np.ones(n),
                  bounds=bounds, method="highs")  # fmt: skip
    return float(res.fun) if res.status == 0 else None
