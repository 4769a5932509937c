"""Arrangements compared: each ally alone, the joint (complementary) arrangement, and the
rule of thumb; the value of cooperation and its split; VSS and EVPI.

Coalition costs are LP objective values (USD over the horizon: holding cost + expected
damage and freight, + the CVaR term when risk-weighted). The rule of thumb holds
``rule_days`` of base consumption of each material (default: the JOGMEC general target read
from the curated stockpiles table) and is priced without transfers.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from critmin.data.tables import curated
from critmin.errors import DataError, InputError
from critmin.optimisation.stockpile.config import StockpileConfig
from critmin.optimisation.stockpile.model import StockpileModel, build_model
from critmin.optimisation.stockpile.results import StockpileSolution
from critmin.optimisation.stockpile.scenarios import ScenarioSet, mean_scenario

MAX_SHAPLEY_ALLIES = 5
JOGMEC_TARGET_ITEM = "general stockpile target"


def rule_days_from_data() -> tuple[float, str]:
    """Japan's general stockpile target (days of consumption) and its source, from the
    curated stockpiles table."""
    table = curated("stockpiles")
    rows = table[(table["country_iso3"] == "JPN") & (table["item"] == JOGMEC_TARGET_ITEM)]
    if rows.empty or not np.isfinite(rows["value_num"].iloc[0]):
        raise DataError(f"curated stockpiles: no JPN row {JOGMEC_TARGET_ITEM!r}")
    row = rows.iloc[0]
    return float(row["value_num"]), f"{row['source_title']} ({row['year']})"


def existing_holdings_note(allies: Sequence[str]) -> str:
    """Why the default floors are 0: the curated table has no disclosed tonnages of holdings."""
    table = curated("stockpiles")
    known = table[
        table["country_iso3"].isin(list(allies))
        & table["item"].str.contains("holdings|inventory", case=False, na=False)
        & table["unit"].fillna("").str.startswith("t")
    ]
    if known.empty:
        return (
            "existing holdings: no tonnage in the curated stockpiles table for "
            f"{', '.join(allies)} (Japan's levels are undisclosed; the US NDS publishes "
            "planned acquisitions, not holdings): floors are 0 unless set in existing_t"
        )
    return f"existing holdings: {len(known)} curated rows; set them in existing_t"


def joint_basis(config: StockpileConfig, scenarios: ScenarioSet) -> list[str]:
    """Where each damage per tonne comes from (one line per material and sector used)."""
    from critmin.optimisation.stockpile.sectors import resolve_sectors

    return resolve_sectors(config, scenarios).basis


def coalition(
    config: StockpileConfig, scenarios: ScenarioSet, members: Sequence[str]
) -> tuple[StockpileConfig, ScenarioSet]:
    """The sub-problem of ``members`` (their data only)."""
    unknown = [m for m in members if m not in config.allies]
    if unknown:
        raise InputError(f"coalition: {unknown} are not allies")
    sub_config = config.model_copy(update={"allies": {a: config.allies[a] for a in members}})
    consumption = scenarios.consumption_t_per_year
    share = scenarios.sector_share
    sub_scenarios = replace(
        scenarios,
        shortfall=scenarios.shortfall.sel(ally=list(members)),
        consumption_t_per_year=None if consumption is None else consumption.sel(ally=list(members)),
        sector_share=None if share is None else share.sel(ally=list(members)),
    )
    return sub_config, sub_scenarios


def solve_coalition(
    config: StockpileConfig, scenarios: ScenarioSet, members: Sequence[str]
) -> StockpileSolution:
    """Optimum of ``members`` pooling their stocks (transfers allowed among them)."""
    sub_config, sub_scenarios = coalition(config, scenarios, members)
    return build_model(sub_config, sub_scenarios, transfers=True).solve()


def shapley(costs: dict[frozenset[str], float], players: Sequence[str]) -> dict[str, float]:
    """Shapley value of a cost game: each player's probability-weighted marginal cost."""
    n = len(players)
    result = {}
    for i in players:
        others = [j for j in players if j != i]
        total = 0.0
        for size in range(n):
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            for subset in itertools.combinations(others, size):
                s = frozenset(subset)
                before = costs[s] if s else 0.0
                total += weight * (costs[s | {i}] - before)
        result[i] = total
    return result


def rule_holdings(config: StockpileConfig, scenarios: ScenarioSet) -> xr.DataArray:
    """Holdings of the rule of thumb: ``rule_days`` of base consumption, at least existing."""
    days = config.rule_days if config.rule_days is not None else rule_days_from_data()[0]
    consumption = scenarios.consumption_t_per_year
    allies, materials = list(config.allies), list(config.materials)
    values = np.full((len(allies), len(materials)), np.nan)
    if consumption is not None:
        values[:] = consumption.sel(ally=allies, material=materials).values
    for i, spec in enumerate(config.allies.values()):
        for j, m in enumerate(materials):
            values[i, j] = spec.consumption_t_per_year.get(m, values[i, j])
    if np.isnan(values).any():
        i, j = np.argwhere(np.isnan(values))[0]
        raise InputError(
            f"allies.{allies[i]}.consumption_t_per_year.{materials[j]}: needed by the rule "
            "of thumb (no engine base consumption)"
        )
    held = values * days / 365.0
    for i, spec in enumerate(config.allies.values()):
        for j, m in enumerate(materials):
            held[i, j] = max(held[i, j], spec.existing_t.get(m, 0.0))
    return xr.DataArray(
        held, dims=("ally", "material"), coords={"ally": allies, "material": materials}
    )


@dataclass
class ArrangementReport:
    """Every arrangement's solution and the comparisons between them (USD, t)."""

    alone: dict[str, StockpileSolution]
    joint: StockpileSolution
    rule: StockpileSolution | None
    mean_value_plan: StockpileSolution
    perfect_information: StockpileSolution
    shapley_split: dict[str, float] | None
    notes: list[str] = field(default_factory=list)
    drivers: dict[str, Any] | None = None  # cooperation_drivers (risk-neutral, 2+ allies)

    @property
    def alone_cost(self) -> float:
        return sum(s.objective_usd for s in self.alone.values())

    @property
    def value_of_cooperation(self) -> float:
        """Alone minus joint (USD; >= 0 up to solver tolerance)."""
        return self.alone_cost - self.joint.objective_usd

    @property
    def proportional_split(self) -> dict[str, float]:
        """Each ally's cost after sharing the saving in proportion to its stand-alone cost."""
        total = self.alone_cost
        return {
            a: s.objective_usd
            - (self.value_of_cooperation * s.objective_usd / total if total else 0.0)
            for a, s in self.alone.items()
        }

    @property
    def value_of_stochastic_solution(self) -> float:
        """Cost of the mean-value plan in the stochastic problem minus the stochastic optimum."""
        return self.mean_value_plan.objective_usd - self.joint.objective_usd

    @property
    def expected_value_of_perfect_information(self) -> float:
        """Stochastic optimum minus the wait-and-see cost (holdings chosen per scenario)."""
        return self.joint.objective_usd - self.perfect_information.objective_usd

    def arrangements(self) -> dict[str, list[StockpileSolution]]:
        """Each arrangement's solutions (alone: one per ally)."""
        out = {"alone": list(self.alone.values()), "joint": [self.joint]}
        if self.rule is not None:
            out["rule"] = [self.rule]
        return out

    def holdings_frame(self) -> pd.DataFrame:
        """One row per arrangement x ally x material: ``holding_t``, ``holding_days`` (of
        base consumption), ``expected_shortfall_t`` (over the horizon)."""
        rows = []
        for name, solutions in self.arrangements().items():
            for solution in solutions:
                days = solution.holdings_days
                short = solution.expected_shortfall_t
                for a in solution.holdings["ally"].values:
                    for m in solution.holdings["material"].values:
                        rows.append(
                            {
                                "arrangement": name,
                                "ally": str(a),
                                "material": str(m),
                                "holding_t": float(solution.holdings.sel(ally=a, material=m)),
                                "holding_days": float(days.sel(ally=a, material=m)),
                                "expected_shortfall_t": float(short.sel(ally=a, material=m)),
                            }
                        )
        return pd.DataFrame(rows)

    def costs_frame(self) -> pd.DataFrame:
        """One row per ally (USD over the horizon): cost alone, cost in the joint and rule
        arrangements (holding + expected damage + freight of inflows) and its share of the
        joint cost under the proportional and Shapley splits."""
        joint = self.joint.cost_by_ally_usd
        rule = None if self.rule is None else self.rule.cost_by_ally_usd
        rows = []
        for a, solution in self.alone.items():
            rows.append(
                {
                    "ally": a,
                    "alone_cost_usd": solution.objective_usd,
                    "joint_cost_usd": float(joint.sel(ally=a)),
                    "rule_cost_usd": None if rule is None else float(rule.sel(ally=a)),
                    "split_proportional_usd": self.proportional_split[a],
                    "split_shapley_usd": (
                        None if self.shapley_split is None else self.shapley_split[a]
                    ),
                }
            )
        return pd.DataFrame(rows)

    def summary(self) -> dict[str, float | None]:
        """The comparisons (USD over the horizon): objective of each arrangement, value of
        cooperation, VSS, EVPI, expected and CVaR second-stage cost of the joint plan."""
        return {
            "alone_cost_usd": self.alone_cost,
            "joint_cost_usd": self.joint.objective_usd,
            "rule_cost_usd": None if self.rule is None else self.rule.objective_usd,
            "value_of_cooperation_usd": self.value_of_cooperation,
            "value_of_stochastic_solution_usd": self.value_of_stochastic_solution,
            "expected_value_of_perfect_information_usd": (
                self.expected_value_of_perfect_information
            ),
            "joint_cvar_loss_usd": self.joint.cvar_loss_usd,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "joint": self.joint.to_dict(),
            "alone": {a: s.to_dict() for a, s in self.alone.items()},
            "rule": None if self.rule is None else self.rule.to_dict(),
            "alone_cost": self.alone_cost,
            "value_of_cooperation": self.value_of_cooperation,
            "split_proportional": self.proportional_split,
            "split_shapley": self.shapley_split,
            "value_of_stochastic_solution": self.value_of_stochastic_solution,
            "expected_value_of_perfect_information": self.expected_value_of_perfect_information,
            "cooperation_drivers": self.drivers,
            "notes": list(self.notes),
        }


def _coalition_solutions(
    model: StockpileModel,
    config: StockpileConfig,
    scenarios: ScenarioSet,
    coalitions: bool = True,
) -> tuple[dict[str, StockpileSolution], dict[frozenset[str], float]]:
    """Each ally alone and the cost of every coalition short of all allies (Shapley needs
    them for 3 to 5 allies), from the built joint ``model`` by changing transfer bounds.

    Risk-neutral costs add up over allies, so one solve with transfers blocked between
    groups gives each group's cost. A CVaR of the allies' summed loss does not split by
    ally, so with a risk weight each coalition is its own model."""
    allies = list(config.allies)
    separable = config.risk.risk_weight == 0
    costs: dict[frozenset[str], float] = {}
    if separable:
        apart = model.solve_variant(groups=[[a] for a in allies])
        alone = {a: apart.for_ally(a) for a in allies}
    else:
        alone = {a: solve_coalition(config, scenarios, [a]) for a in allies}
    for a in allies:
        costs[frozenset([a])] = alone[a].objective_usd
    if coalitions and 2 <= len(allies) <= MAX_SHAPLEY_ALLIES:
        for size in range(2, len(allies)):
            for members in itertools.combinations(allies, size):
                if separable:
                    others = [[a] for a in allies if a not in members]
                    solved = model.solve_variant(groups=[list(members), *others])
                    cost = float(solved.cost_by_ally_usd.sel(ally=list(members)).sum())
                else:
                    cost = solve_coalition(config, scenarios, members).objective_usd
                costs[frozenset(members)] = cost
    return alone, costs


def compare_arrangements(
    config: StockpileConfig, scenarios: ScenarioSet, rule: bool = True, drivers: bool = True
) -> ArrangementReport:
    """Solve alone, joint, (rule), the mean-value plan and the wait-and-see problem.

    One joint model serves the joint, alone, coalition, rule-of-thumb and mean-plan pricing
    solves (bounds change between them, see ``StockpileModel.solve_variant``); the mean-value
    and wait-and-see problems have other shapes and are built apart. Shapley needs every
    coalition (2^n - 1 costs), so it is computed for 2 to 5 allies only. ``drivers``: split
    the value of cooperation (``drivers.cooperation_drivers``, one more solve)."""
    allies = list(config.allies)
    model = build_model(config, scenarios, transfers=True)
    joint = model.solve()
    alone, costs = _coalition_solutions(model, config, scenarios)
    costs[frozenset(allies)] = joint.objective_usd
    split = shapley(costs, allies) if 2 <= len(allies) <= MAX_SHAPLEY_ALLIES else None
    mean_plan = build_model(config, mean_scenario(scenarios), transfers=True).solve()
    priced_mean = model.solve_variant(fixed_holdings=mean_plan.holdings)
    waitsee = build_model(config, scenarios, transfers=True, perfect_information=True).solve()
    notes = [existing_holdings_note(allies), *joint_basis(config, scenarios)]
    rule_solution = None
    if rule:
        held = rule_holdings(config, scenarios)
        rule_solution = model.solve_variant(fixed_holdings=held, groups=[[a] for a in allies])
        if config.rule_days is None:
            days, source = rule_days_from_data()
            notes.append(f"rule of thumb: {days:g} days of consumption ({source})")
    split_drivers = None
    if drivers and len(allies) > 1 and config.risk.risk_weight == 0:
        from critmin.optimisation.stockpile.drivers import cooperation_drivers

        split_drivers = cooperation_drivers(config, scenarios, alone, joint)
    return ArrangementReport(
        alone, joint, rule_solution, priced_mean, waitsee, split, notes, split_drivers
    )


def sensitivity_to_k(
    config: StockpileConfig, ks: Sequence[int], full: ScenarioSet | None = None
) -> pd.DataFrame:
    """Effect of K: the joint and alone optima with the ensemble reduced to each K.

    One row per K (a K at or above the ensemble's size keeps every scenario): ``k``,
    ``kept``, ``joint_cost_usd``, ``alone_cost_usd``, ``value_of_cooperation_usd`` and the
    joint holdings ``holding_<ally>_<material>_t`` (t). Every K reduces the same ensemble
    (``full``, default: the config's, sampled once)."""
    from critmin.optimisation.stockpile.scenarios import full_scenarios, reduce_for_config

    ensemble = full if full is not None else full_scenarios(config)
    rows = []
    for k in ks:
        if k < 1:
            raise InputError(f"k = {k}: at least one scenario must be kept")
        reduced = reduce_for_config(config, ensemble, k)
        model = build_model(config, reduced, transfers=True)
        joint = model.solve()
        alone = sum(
            s.objective_usd
            for s in _coalition_solutions(model, config, reduced, coalitions=False)[0].values()
        )
        row: dict[str, float] = {
            "k": float(k),
            "kept": float(reduced.n_scenarios),
            "joint_cost_usd": joint.objective_usd,
            "alone_cost_usd": alone,
            "value_of_cooperation_usd": alone - joint.objective_usd,
        }
        for a in joint.holdings["ally"].values:
            for m in joint.holdings["material"].values:
                row[f"holding_{a}_{m}_t"] = float(joint.holdings.sel(ally=a, material=m))
        rows.append(row)
    return pd.DataFrame(rows)
