"""Confidential mode: the joint arrangement solved by ADMM, each ally in its own process.

Each ally builds its own problem from its private data (holdings, releases, unmet need, and
local copies of its exports ``e[a->b]`` and imports ``i[b->a]``) and never sends it. The
coordinator only sees proposed flows and sends back agreed flows ``z`` and prices
``lambda``, ``mu`` (consensus ADMM, Boyd et al. 2011, section 7, with residual balancing of
the penalty ``rho``). At the end every ally re-solves with its flows fixed to the agreed
``z``, so the reported plan is consistent (exports = imports) and its cost is a true cost of
the joint problem, never below the centralised optimum. Risk-neutral models only (a CVaR
couples the allies' costs).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import highspy
import linopy
import numpy as np
import pandas as pd

from critmin.errors import InfeasibleError, InputError
from critmin.optimisation.stockpile.arrangements import coalition
from critmin.optimisation.stockpile.config import StockpileConfig
from critmin.optimisation.stockpile.model import quiet_stdout, resolve_inputs
from critmin.optimisation.stockpile.scenarios import ScenarioSet

PROXIMAL_WEIGHT = 1e-6  # share of rho on holdings, releases and unmet need


class AllyProblem:
    """One ally's private QP: its own costs plus ADMM terms on its flows.

    Variables: ``holding`` [material], ``release``, ``unmet`` [scenario, month, material],
    ``export`` (to a partner) and ``import`` (from a partner) [scenario, month, partner,
    material]. The quadratic ADMM term ``rho / 2 (e^2 + i^2)`` is fixed; each iteration only
    changes the linear costs of the flows, so HiGHS re-solves from its last basis.
    """

    def __init__(
        self,
        config: StockpileConfig,
        scenarios: ScenarioSet,
        partners: Sequence[str],
        rho: float,
    ) -> None:
        inputs = resolve_inputs(config, scenarios)
        (ally,) = inputs.allies
        self.shape = (
            scenarios.shortfall.sizes["scenario"],
            scenarios.shortfall.sizes["month"],
            len(partners),
            len(inputs.materials),
        )
        m = linopy.Model()
        scenario = pd.Index(scenarios.shortfall["scenario"].values, name="scenario")
        month = pd.Index(scenarios.shortfall["month"].values, name="month")
        partner = pd.Index(list(partners), name="partner")
        material = pd.Index(inputs.materials, name="material")
        floor = inputs.floor_t.sel(ally=ally)
        cap = inputs.cap_t.sel(ally=ally)
        holding = m.add_variables(lower=floor, upper=cap, coords=[material], name="holding")
        release = m.add_variables(lower=0, coords=[scenario, month, material], name="release")
        sector = pd.Index(inputs.sector_share["sector"].values, name="sector")
        bounds = inputs.sector_bounds(scenarios.shortfall).sel(ally=ally, drop=True)
        unmet = m.add_variables(
            lower=0, upper=bounds, coords=[scenario, month, material, sector], name="unmet"
        )
        flows = [scenario, month, partner, material]
        export = m.add_variables(lower=0, coords=flows, name="export")
        imported = m.add_variables(lower=0, coords=flows, name="import")
        m.add_constraints(release - inputs.release_rate * holding <= 0, name="release_rate")
        m.add_constraints(release.sum("month") - holding <= 0, name="stock_balance")
        m.add_constraints(export.sum("partner") - release <= 0, name="ship_only_released")
        shortfall = scenarios.shortfall.sel(ally=ally, drop=True)
        m.add_constraints(
            unmet.sum("sector") + release - export.sum("partner") + imported.sum("partner")
            >= shortfall,
            name="unmet_need",
        )
        p = scenarios.probability
        holding_cost = (inputs.annual_cost_usd_per_t * inputs.horizon_years * holding).sum()
        damage = (p * inputs.damage_usd_per_t * unmet).sum()
        freight = (p * inputs.transfer_cost_usd_per_t * imported).sum()
        own = holding_cost + damage + freight
        flows_penalty = (rho / 2.0) * ((export * export).sum() + (imported * imported).sum())
        # a tiny proximal weight on the other variables keeps the Hessian positive definite
        # (HiGHS's active-set QP solver may declare a singular one non-convex)
        tiny = PROXIMAL_WEIGHT * rho
        proximal = tiny * ((holding * holding).sum() + (release * release).sum())
        proximal = proximal + tiny * (unmet * unmet).sum()
        m.add_objective(own + flows_penalty + proximal)
        matrices = m.matrices
        labels = matrices.vlabels
        self.export_columns = np.searchsorted(labels, export.labels.values.ravel())
        self.import_columns = np.searchsorted(labels, imported.labels.values.ravel())
        self.holding_columns = np.searchsorted(labels, holding.labels.values.ravel())
        self.base_cost = np.asarray(matrices.c, dtype=float).copy()
        with quiet_stdout():
            self.solver = m.to_highspy()
        self.solver.setOptionValue("output_flag", False)
        self.materials = list(inputs.materials)

    def _run(self) -> np.ndarray:
        run_status = self.solver.run()
        if self.solver.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            self.solver.clearSolver()  # a cold start, once
            run_status = self.solver.run()
        status = self.solver.modelStatusToString(self.solver.getModelStatus())
        if status != "Optimal":
            raise InfeasibleError(
                f"ally sub-problem: HiGHS run status {run_status}, model status {status!r}"
            )
        return np.asarray(self.solver.getSolution().col_value, dtype=float)

    def _set_costs(self, linear_export: np.ndarray, linear_import: np.ndarray) -> None:
        columns = np.concatenate([self.export_columns, self.import_columns])
        costs = self.base_cost[columns] + np.concatenate(
            [linear_export.ravel(), linear_import.ravel()]
        )
        self.solver.changeColsCost(len(columns), columns.astype(np.int32), costs)

    def step(
        self, linear_export: np.ndarray, linear_import: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Solve with extra linear costs on the flows; the proposed exports and imports."""
        self._set_costs(linear_export, linear_import)
        x = self._run()
        return x[self.export_columns].reshape(self.shape), x[self.import_columns].reshape(
            self.shape
        )

    def settle(self, exports: np.ndarray, imports: np.ndarray) -> tuple[float, np.ndarray]:
        """Re-solve with the flows fixed to the agreed values: own cost (USD), holdings (t)."""
        self._set_costs(np.zeros(self.shape), np.zeros(self.shape))
        columns = np.concatenate([self.export_columns, self.import_columns]).astype(np.int32)
        values = np.concatenate([exports.ravel(), imports.ravel()])
        self.solver.changeColsBounds(len(columns), columns, values, values)
        x = self._run()
        return float(self.base_cost @ x), x[self.holding_columns]


def _worker(
    conn: Connection,
    config: StockpileConfig,
    scenarios: ScenarioSet,
    partners: list[str],
    rho: float,
) -> None:
    """An ally's process: builds its problem from its own data and answers the coordinator."""
    try:
        problem = AllyProblem(config, scenarios, partners, rho)
        conn.send(("ready", None))
        while True:
            kind, payload = conn.recv()
            if kind == "step":
                conn.send(("flows", problem.step(*payload)))
            elif kind == "settle":
                conn.send(("settled", problem.settle(*payload)))
            else:
                break
    except Exception as exc:  # reported to the coordinator, which raises it
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


@dataclass
class DecomposedResult:
    """Outcome of the confidential mode (USD over the horizon, t)."""

    cost_usd: float
    cost_by_ally_usd: dict[str, float]
    holdings_t: dict[str, dict[str, float]]
    iterations: int
    primal_residual_t: float
    messages: list[tuple[str, str, tuple[int, ...]]] = field(default_factory=list)


def decomposed_solve(
    config: StockpileConfig,
    scenarios: ScenarioSet,
    rho: float | None = None,
    max_iterations: int = 300,
    tolerance: float = 1e-4,
    progress: Callable[[int, float], None] | None = None,
) -> DecomposedResult:
    """Solve the joint arrangement by ADMM, one process per ally.

    Each process receives only its own ally's config and shortfall (``coalition``); in a
    deployment it would run on that ally's machine. ``messages`` records what crossed the
    process boundary after set-up: (direction, kind, array shape), flows and prices only.
    ``rho`` (USD per t^2) defaults to the mean over materials of the smallest damage per
    tonne among the sectors using it, divided by the mean positive shortfall, times the mean
    scenario probability (with two sectors at 2,000,000 and 400,000 USD/t the mean damage
    made it 3 times too large: 300 iterations and 36 % above the optimum).
    """
    if config.risk.risk_weight > 0:
        raise InputError("risk.risk_weight: the confidential mode is risk-neutral only (0)")
    allies = list(config.allies)
    if len(allies) < 2:
        raise InputError("allies: the confidential mode needs at least two allies")
    if rho is None:
        inputs = resolve_inputs(config, scenarios)
        positive = scenarios.shortfall.values[scenarios.shortfall.values > 0]
        scale = float(positive.mean()) if positive.size else 1.0
        # the marginal tonne shipped relieves the cheapest sector still short: each
        # material's smallest damage among the sectors using it
        used = (inputs.sector_share > 0).any("ally")
        marginal = inputs.damage_usd_per_t.where(used).min("sector")
        rho = float(marginal.mean()) / scale / scenarios.n_scenarios
    context = mp.get_context("spawn")
    links: dict[str, Connection] = {}
    processes = []
    partners = {a: [b for b in allies if b != a] for a in allies}
    for a in allies:
        own_config, own_scenarios = coalition(config, scenarios, [a])
        parent, child = context.Pipe()
        process = context.Process(
            target=_worker, args=(child, own_config, own_scenarios, partners[a], rho), daemon=True
        )
        process.start()
        links[a] = parent
        processes.append(process)
    messages: list[tuple[str, str, tuple[int, ...]]] = []

    def receive(a: str) -> Any:
        kind, payload = links[a].recv()
        if kind == "error":
            raise InfeasibleError(f"confidential mode, ally {a}: {payload}")
        return payload

    try:
        for a in allies:
            receive(a)
        shape = scenarios.shortfall.isel(ally=0).shape  # [scenario, month, material]
        pairs = [(a, b) for a in allies for b in allies if a != b]
        z = {pair: np.zeros(shape) for pair in pairs}
        lam = {pair: np.zeros(shape) for pair in pairs}  # price of the sender's copy
        mu = {pair: np.zeros(shape) for pair in pairs}  # price of the receiver's copy
        iteration, primal = 0, np.inf
        for iteration in range(1, max_iterations + 1):
            for a in allies:
                lin_e = np.stack([lam[a, b] - rho * z[a, b] for b in partners[a]], axis=2)
                lin_i = np.stack([mu[b, a] - rho * z[b, a] for b in partners[a]], axis=2)
                links[a].send(("step", (lin_e, lin_i)))
                messages.append(("to " + a, "prices", lin_e.shape))
            proposals = {a: receive(a) for a in allies}
            for a in allies:
                messages.append(("from " + a, "flows", proposals[a][0].shape))
            change = 0.0
            primal_sq, scale_sq = 0.0, 1.0
            for a, b in pairs:
                e = proposals[a][0][:, :, partners[a].index(b), :]
                i = proposals[b][1][:, :, partners[b].index(a), :]
                new = np.maximum((e + i) / 2 + (lam[a, b] + mu[a, b]) / (2 * rho), 0.0)
                change += float(((new - z[a, b]) ** 2).sum())
                z[a, b] = new
                lam[a, b] += rho * (e - new)
                mu[a, b] += rho * (i - new)
                primal_sq += float(((e - new) ** 2).sum() + ((i - new) ** 2).sum())
                scale_sq += float((e**2).sum() + (i**2).sum())
            primal = float(np.sqrt(primal_sq))
            if progress is not None:
                progress(iteration, primal)
            if primal <= tolerance * np.sqrt(scale_sq) and np.sqrt(change) <= tolerance * np.sqrt(
                scale_sq
            ):
                break
        costs, holdings = {}, {}
        for a in allies:
            out = np.stack([z[a, b] for b in partners[a]], axis=2)
            into = np.stack([z[b, a] for b in partners[a]], axis=2)
            links[a].send(("settle", (out, into)))
        for a in allies:
            cost, held = receive(a)
            costs[a] = cost
            holdings[a] = dict(zip(config.materials, map(float, held), strict=True))
    finally:
        for a in allies:
            with contextlib.suppress(OSError, BrokenPipeError):
                links[a].send(("stop", None))
        for process in processes:
            process.join(timeout=10)
    return DecomposedResult(sum(costs.values()), costs, holdings, iteration, primal, messages)
