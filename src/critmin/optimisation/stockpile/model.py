"""The two-stage stochastic stockpile model, built with linopy and solved by HiGHS.

Staged API: ``model = build_model(config, scenarios)`` builds the LP and returns a
:class:`StockpileModel` (the linopy model is ``model.model``); the user may add constraints
(``model.model.add_constraints(model.holding.loc["JPN"] >= 100)``); ``model.solve()``
returns a :class:`~critmin.optimisation.stockpile.results.StockpileSolution`. The formulation
is in ``docs/methods/stockpile.md``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import linopy
import numpy as np
import pandas as pd
import xarray as xr

from critmin.console import quiet_stdout
from critmin.errors import InfeasibleError, InputError
from critmin.optimisation.stockpile.acquisition import premium_curve
from critmin.optimisation.stockpile.config import StockpileConfig
from critmin.optimisation.stockpile.results import StockpileSolution
from critmin.optimisation.stockpile.scenarios import ScenarioSet
from critmin.optimisation.stockpile.sectors import _prices, resolve_sectors


@dataclass(frozen=True)
class Inputs:
    """Resolved parameters of one model (labelled arrays; units in the names)."""

    allies: list[str]
    materials: list[str]
    price_usd_per_t: xr.DataArray  # [material]
    damage_usd_per_t: xr.DataArray  # [material, sector] or [scenario, month, ally, ...]
    sector_share: xr.DataArray  # [ally, material, sector], sums to 1 over sectors
    unmet_bound: xr.DataArray  # [scenario, month, ally, material, sector] t/month
    damage_basis: list[str]  # one line per (material, sector) used
    annual_cost_usd_per_t: xr.DataArray  # [material] capital + holding, per year
    floor_t: xr.DataArray  # [ally, material]
    cap_t: xr.DataArray  # [ally, material], inf where none
    budget_usd: xr.DataArray  # [ally], inf where none
    consumption_t_per_year: xr.DataArray  # [ally, material], NaN where unknown
    release_rate: float  # share of the holding per month
    transfer_cost_usd_per_t: float
    transfer_capacity_t_per_month: float | None
    cvar_alpha: float
    risk_weight: float
    months: int
    # the price response (engine scenarios): convex loss of the shortfall left, or None
    curve_width: xr.DataArray | None = None  # [scenario, month, ally, material, piece] t/month
    curve_slope: xr.DataArray | None = None  # same dims, USD/t, non-decreasing over pieces
    curve_sector_share: xr.DataArray | None = None  # [..., piece, sector]
    # buying raises the price (costs.acquisition_months): premium pieces [material, lot]
    premium_width: xr.DataArray | None = None  # t, the last inf
    premium_slope: xr.DataArray | None = None  # USD/t above the base price

    @property
    def horizon_years(self) -> float:
        return self.months / 12.0


def resolve_inputs(config: StockpileConfig, scenarios: ScenarioSet) -> Inputs:
    """Parameters of ``config`` on the allies and materials of ``scenarios``.

    A price missing from the config is the engine's base price of the stage; a material with
    neither raises :class:`InputError`. Sector shortfalls and damages per tonne come from
    :func:`~critmin.optimisation.stockpile.sectors.resolve_sectors`."""
    allies, materials = list(config.allies), list(config.materials)
    if list(scenarios.shortfall["ally"].values) != allies:
        raise InputError(
            f"scenarios: allies {list(scenarios.shortfall['ally'].values)} != {allies}"
        )
    if list(scenarios.shortfall["material"].values) != materials:
        raise InputError("scenarios: materials differ from the config's materials")
    sectors = resolve_sectors(config, scenarios)
    prices = _prices(config, scenarios)
    price = xr.DataArray(np.array(prices), dims="material", coords={"material": materials})
    costs = config.costs
    shape = (len(allies), len(materials))
    floor, cap, consumption = np.zeros(shape), np.full(shape, np.inf), np.full(shape, np.nan)
    if scenarios.consumption_t_per_year is not None:
        consumption[:] = scenarios.consumption_t_per_year.sel(ally=allies, material=materials)
    for i, ally_spec in enumerate(config.allies.values()):
        for j, m in enumerate(materials):
            floor[i, j] = ally_spec.existing_t.get(m, 0.0)
            cap[i, j] = ally_spec.max_t.get(m, np.inf)
            if m in ally_spec.consumption_t_per_year:
                consumption[i, j] = ally_spec.consumption_t_per_year[m]
    coords = {"ally": allies, "material": materials}
    budget = [
        np.inf if s.acquisition_budget_usd is None else s.acquisition_budget_usd
        for s in config.allies.values()
    ]
    return Inputs(
        allies=allies,
        materials=materials,
        price_usd_per_t=price,
        damage_usd_per_t=sectors.damage_usd_per_t,
        sector_share=sectors.share,
        unmet_bound=sectors.bound,
        damage_basis=sectors.basis,
        annual_cost_usd_per_t=price * (costs.capital_cost_rate + costs.holding_cost_rate),
        floor_t=xr.DataArray(floor, dims=("ally", "material"), coords=coords),
        cap_t=xr.DataArray(cap, dims=("ally", "material"), coords=coords),
        budget_usd=xr.DataArray(budget, dims="ally", coords={"ally": allies}),
        consumption_t_per_year=xr.DataArray(consumption, dims=("ally", "material"), coords=coords),
        release_rate=costs.release_rate,
        transfer_cost_usd_per_t=costs.transfer_cost_usd_per_t,
        transfer_capacity_t_per_month=costs.transfer_capacity_t_per_month,
        cvar_alpha=config.risk.cvar_alpha,
        risk_weight=config.risk.risk_weight,
        months=int(scenarios.shortfall.sizes["month"]),
        curve_width=scenarios.curve_width,
        curve_slope=scenarios.curve_slope,
        curve_sector_share=scenarios.curve_sector_share,
        **_premium(config, scenarios, price),
    )


def _premium(
    config: StockpileConfig, scenarios: ScenarioSet, price: xr.DataArray
) -> dict[str, xr.DataArray]:
    """The premium pieces of ``acquisition`` when ``costs.acquisition_months`` is set."""
    months = config.costs.acquisition_months
    if months is None:
        return {}
    world, eps = scenarios.world_output_t_per_month, scenarios.supply_elasticity
    if world is None or eps is None or eps <= 0:
        raise InputError(
            f"costs.acquisition_months = {months:g}: needs scenarios from the market model "
            "(the world output of each stage and a positive supply elasticity)"
        )
    curve = premium_curve(price.values, world.sel(material=price["material"]).values * months, eps)
    coords = {"material": price["material"].values, "lot": np.arange(1, curve.width.shape[1] + 1)}
    return {
        "premium_width": xr.DataArray(curve.width, dims=("material", "lot"), coords=coords),
        "premium_slope": xr.DataArray(curve.slope, dims=("material", "lot"), coords=coords),
    }


@dataclass
class StockpileModel:
    """A built, unsolved stockpile LP: add constraints to ``model``, then ``solve()``."""

    model: linopy.Model
    inputs: Inputs
    scenarios: ScenarioSet
    transfers_allowed: bool
    perfect_information: bool

    @property
    def holding(self) -> linopy.Variable:
        """First stage: holdings [ally, material] (t); [scenario, ...] with perfect info."""
        return self.model.variables["holding"]

    def solve(self, **solver_options: Any) -> StockpileSolution:
        """Solve with HiGHS; :class:`InfeasibleError` with HiGHS's diagnosis if no optimum."""
        options = {"output_flag": False, **solver_options}
        try:
            with quiet_stdout():
                status, condition = self.model.solve(
                    solver_name="highs", io_api="direct", progress=False, **options
                )
        except Exception as exc:  # linopy raises several types when HiGHS returns no solution
            raise InfeasibleError(f"stockpile model: HiGHS failed ({exc})") from exc
        if status != "ok":
            raise InfeasibleError(self._diagnosis(str(status), str(condition)))
        return StockpileSolution.from_model(self)

    def solve_variant(
        self,
        fixed_holdings: xr.DataArray | None = None,
        groups: Sequence[Sequence[str]] | None = None,
        **solver_options: Any,
    ) -> StockpileSolution:
        """Solve this model with its holdings fixed and/or transfers allowed only within
        ``groups`` of allies (``[[a] for a in allies]``: every ally alone), then restore it.

        Changes bounds only, so one built model serves every arrangement (alone, joint, rule
        of thumb, a given plan, coalitions) with the results of a model built for each."""
        holding = self.holding
        saved_holding = (holding.lower.copy(), holding.upper.copy())
        transfer = self.model.variables["transfer"] if self.transfers_allowed else None
        saved_transfer = None if transfer is None else transfer.upper.copy()
        try:
            if fixed_holdings is not None:
                fixed = fixed_holdings.sel(ally=self.inputs.allies, material=self.inputs.materials)
                holding.update(lower=fixed, upper=fixed)
            if groups is not None and transfer is not None and saved_transfer is not None:
                member = {a: i for i, group in enumerate(groups) for a in group}
                allowed = np.array(
                    [
                        [member.get(a, -1) == member.get(b, -2) for b in self.inputs.allies]
                        for a in self.inputs.allies
                    ]
                )
                gate = xr.DataArray(
                    allowed,
                    coords={"ally": self.inputs.allies, "partner": self.inputs.allies},
                    dims=("ally", "partner"),
                )
                transfer.update(upper=saved_transfer.where(gate, 0.0))
            return self.solve(**solver_options)
        finally:
            holding.update(lower=saved_holding[0], upper=saved_holding[1])
            if transfer is not None and saved_transfer is not None:
                transfer.update(upper=saved_transfer)

    def _diagnosis(self, status: str, condition: str) -> str:
        """One line: HiGHS's status and model status, and what to check for that outcome."""
        model_status = condition
        solver = getattr(self.model, "solver_model", None)
        if solver is not None:
            with contextlib.suppress(Exception):
                model_status = solver.modelStatusToString(solver.getModelStatus())
        lowered = f"{condition} {model_status}".lower()
        if "unbounded" in lowered:
            hint = (
                "the objective falls without limit: a variable or cost term added by hand "
                "has no bound (the model as built is bounded below by 0)"
            )
        elif "infeasible" in lowered:
            hint = (
                "no plan meets every constraint: check floors (existing_t) against caps "
                "(max_t) and acquisition budgets, and any constraint added by hand"
            )
        else:
            hint = "HiGHS stopped before an optimum (time or iteration limit, numerical trouble)"
        return (
            f"stockpile model: no optimal solution (HiGHS status {status!r}, termination "
            f"condition {condition!r}, model status {model_status!r}); {hint}"
        )


def _index(name: str, values: Any) -> pd.Index:
    index: pd.Index = pd.Index(list(values), name=name)
    return index


def build_model(
    config: StockpileConfig,
    scenarios: ScenarioSet,
    transfers: bool | None = None,
    fixed_holdings: xr.DataArray | None = None,
    perfect_information: bool = False,
) -> StockpileModel:
    """Build the two-stage LP of ``config`` over ``scenarios``.

    ``transfers``: allow transfers between allies (default: the config's arrangement is
    ``joint``). ``fixed_holdings`` [ally, material] (t) fixes the first stage (used to price a
    given plan: the rule of thumb, the mean-value plan). ``perfect_information`` gives every
    scenario its own holdings (the wait-and-see problem of the EVPI).
    """
    inputs = resolve_inputs(config, scenarios)
    allow = config.arrangement == "joint" if transfers is None else transfers
    allow = allow and len(inputs.allies) > 1
    m = linopy.Model()
    scenario = _index("scenario", scenarios.shortfall["scenario"].values)
    month = _index("month", scenarios.shortfall["month"].values)
    ally = _index("ally", inputs.allies)
    partner = _index("partner", inputs.allies)
    material = _index("material", inputs.materials)
    p = scenarios.probability

    first_coords = [scenario, ally, material] if perfect_information else [ally, material]
    holding, release, unmet = add_stock_and_unmet(m, inputs, scenarios, first_coords)

    used: linopy.Variable | linopy.LinearExpression = release
    transfer_cost: linopy.LinearExpression | None = None
    if allow:
        off_diagonal = xr.DataArray(
            ~np.eye(len(ally), dtype=bool), coords=[ally, partner]
        ).broadcast_like(
            xr.DataArray(
                np.zeros((len(scenario), len(month), len(material))),
                coords=[scenario, month, material],
            )
        )
        upper = (
            np.inf
            if inputs.transfer_capacity_t_per_month is None
            else inputs.transfer_capacity_t_per_month
        )
        transfer = m.add_variables(
            lower=0,
            upper=upper,
            coords=[scenario, month, ally, partner, material],
            name="transfer",
            mask=off_diagonal.transpose("scenario", "month", "ally", "partner", "material"),
        )
        outflow = transfer.sum("partner")
        inflow = transfer.sum("ally").rename({"partner": "ally"})
        m.add_constraints(outflow - release <= 0, name="ship_only_released")
        used = release - outflow + inflow
        transfer_cost = inputs.transfer_cost_usd_per_t * inflow
    add_unmet_need(m, scenarios, unmet, used)

    holding_cost = stock_cost(m, inputs, holding)
    holding_cost = (holding_cost * p).sum() if perfect_information else holding_cost.sum()
    loss = add_damage(m, inputs, unmet).sum(["month", "ally", "material"])  # [scenario] USD
    if transfer_cost is not None:
        loss = loss + transfer_cost.sum(["month", "ally", "material"])
    objective = holding_cost + (p * loss).sum()
    if inputs.risk_weight > 0:
        var = m.add_variables(name="value_at_risk")
        excess = m.add_variables(lower=0, coords=[scenario], name="cvar_excess")
        m.add_constraints(excess - loss + var >= 0, name="cvar_excess_def")
        cvar = var + (p * excess).sum() / (1.0 - inputs.cvar_alpha)
        objective = objective + inputs.risk_weight * cvar
    m.add_objective(objective)

    if fixed_holdings is not None:
        fixed = fixed_holdings.sel(ally=inputs.allies, material=inputs.materials)
        m.add_constraints(holding == fixed, name="fixed_holding")
    return StockpileModel(m, inputs, scenarios, allow, perfect_information)


def add_stock_and_unmet(
    m: linopy.Model, inputs: Inputs, scenarios: ScenarioSet, holding_coords: list[pd.Index]
) -> tuple[linopy.Variable, linopy.Variable, linopy.Variable]:
    """Holdings, releases [scenario, month, ally, material] and unmet need by sector (t),
    with the constraints ``release_rate`` and ``stock_balance`` (shared by the joint model
    and each ally's own model in the confidential mode)."""
    scenario = _index("scenario", scenarios.shortfall["scenario"].values)
    month = _index("month", scenarios.shortfall["month"].values)
    ally = _index("ally", inputs.allies)
    material = _index("material", inputs.materials)
    holding = _add_holdings(m, inputs, holding_coords)
    release = m.add_variables(lower=0, coords=[scenario, month, ally, material], name="release")
    sector = _index("sector", inputs.sector_share["sector"].values)
    unmet_coords = [scenario, month, ally, material, sector]
    # a sector that does not use a material has the bound 0 (HiGHS's presolve drops it)
    unmet = m.add_variables(lower=0, upper=inputs.unmet_bound, coords=unmet_coords, name="unmet")
    m.add_constraints(release - inputs.release_rate * holding <= 0, name="release_rate")
    m.add_constraints(release.sum("month") - holding <= 0, name="stock_balance")
    return holding, release, unmet


def add_unmet_need(
    m: linopy.Model,
    scenarios: ScenarioSet,
    unmet: linopy.Variable,
    arrives: linopy.Variable | linopy.LinearExpression,
) -> None:
    """``unmet_need``: the sectors' unmet need [scenario, month, ally, material] is at least
    the shortfall less what the tonnes arriving at the node cover (shared by the joint
    model and each ally's own model in the confidential mode).

    Without a release effect a tonne covers a tonne. With one (``scenarios.release_effect``,
    ``fixed_point``) the first ``release_tranche_t`` tonnes over the horizon of a scenario,
    ally and material cover ``theta_1`` each and the rest ``theta_2 <= theta_1`` (concave:
    the LP fills the first tranche first): the variable ``release_beyond`` (t/month, at most
    what arrives; constraint ``first_tranche``: the rest is at most the tranche) takes the
    second tranche's tonnes and covered = ``theta_1 arrives - (theta_1 - theta_2) beyond``,
    plus, with ``scenarios.release_cross`` (``c_1 >= c_2`` per pair of nodes), what the
    tonnes arriving at the other nodes ``(b, n)`` of the scenario cover at this one,
    ``sum_(b,n) [c_1 arrives_bn - (c_1 - c_2) beyond_bn]`` (the same tranches: concave,
    so ``beyond`` stays the tonnes beyond the first tranche)."""
    effect, tranche = scenarios.release_effect, scenarios.release_tranche_t
    if effect is None or tranche is None:
        m.add_constraints(unmet.sum("sector") + arrives >= scenarios.shortfall, name="unmet_need")
        return
    first = effect.sel(tranche=1, drop=True)
    second = effect.sel(tranche=2, drop=True)
    short = scenarios.shortfall
    beyond = m.add_variables(
        lower=0, coords=[short.indexes[d] for d in short.dims], name="release_beyond"
    )
    m.add_constraints(beyond - arrives <= 0, name="beyond_only_arrived")
    m.add_constraints(arrives - beyond <= tranche, name="first_tranche")
    covered = first * arrives - (first - second) * beyond
    cross = scenarios.release_cross
    if cross is not None:
        names = {"ally": "source_ally", "material": "source_material"}
        c1, c2 = cross.sel(tranche=1, drop=True), cross.sel(tranche=2, drop=True)
        spill = c1 * arrives.rename(names) - (c1 - c2) * beyond.rename(names)
        covered = covered + spill.sum(["source_ally", "source_material"])
    m.add_constraints(unmet.sum("sector") + covered >= short, name="unmet_need")


def add_damage(m: linopy.Model, inputs: Inputs, unmet: linopy.Variable) -> linopy.LinearExpression:
    """The buyers' loss [scenario, month, ally, material] (USD) of the unmet need by sector.

    Without a price response, each sector's tonnes at its damage per tonne. With one
    (``inputs.curve_*``, engine scenarios: ``docs/methods/stockpile.md`` section 2.2), the
    shortfall left is split into the pieces of its convex loss curve (``shortfall_piece``,
    at most each piece's width; the cheapest pieces fill first), each sector's unmet need is
    its part of the pieces (``unmet_by_piece``: a release lowers the price for every sector
    at once) and the loss is the pieces at their slopes."""
    if inputs.curve_width is None or inputs.curve_slope is None:
        damage: linopy.LinearExpression = (inputs.damage_usd_per_t * unmet).sum("sector")
        return damage
    assert inputs.curve_sector_share is not None
    piece = m.add_variables(lower=0, upper=inputs.curve_width, name="shortfall_piece")
    by_sector = (inputs.curve_sector_share * piece).sum("piece")
    m.add_constraints(unmet - by_sector == 0, name="unmet_by_piece")
    curve: linopy.LinearExpression = (inputs.curve_slope * piece).sum("piece")
    return curve


def stock_cost(
    m: linopy.Model, inputs: Inputs, holding: linopy.Variable
) -> linopy.LinearExpression:
    """First-stage cost [ally, material] (and [scenario] with perfect information), USD: the
    capital and holding cost of the holdings over the horizon, plus the premium paid on the
    tonnes bought when ``costs.acquisition_months`` is set (shared by the joint model and
    each ally's own model in the confidential mode)."""
    cost: linopy.LinearExpression = inputs.annual_cost_usd_per_t * inputs.horizon_years * holding
    if inputs.premium_slope is not None:
        cost = cost + premium_paid(m, inputs)
    return cost


def premium_paid(m: linopy.Model, inputs: Inputs) -> linopy.LinearExpression:
    """[ally, material] (and [scenario] with perfect information): the premium over the
    base price of the tonnes bought, in lots at their slopes (USD, once; ``acquisition``)."""
    assert inputs.premium_slope is not None
    paid: linopy.LinearExpression = (inputs.premium_slope * m.variables["purchase_lot"]).sum("lot")
    return paid


def _add_holdings(m: linopy.Model, inputs: Inputs, coords: list[pd.Index]) -> linopy.Variable:
    """Holdings (t) with existing stocks as floors, optional caps and acquisition budgets."""
    upper = inputs.cap_t.where(np.isfinite(inputs.cap_t), np.inf)
    holding = m.add_variables(lower=inputs.floor_t, upper=upper, coords=coords, name="holding")
    if inputs.premium_width is not None:
        lot = inputs.premium_width["lot"].to_index()
        lots = m.add_variables(
            lower=0,
            upper=inputs.premium_width.broadcast_like(holding.lower),
            coords=[*coords, lot],
            name="purchase_lot",
        )
        m.add_constraints(lots.sum("lot") - holding == -inputs.floor_t, name="purchase_lots")
    budget = inputs.budget_usd
    if np.isfinite(budget).any():
        spend = (inputs.price_usd_per_t * (holding - inputs.floor_t)).sum("material")
        if inputs.premium_slope is not None:
            spend = spend + premium_paid(m, inputs).sum("material")
        limited = xr.DataArray(np.isfinite(budget.values), coords=budget.coords)
        m.add_constraints(
            spend <= budget.where(limited, 0.0), name="acquisition_budget", mask=limited
        )
    return holding
