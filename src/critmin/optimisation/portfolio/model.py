"""The portfolio MILP (linopy + HiGHS): which projects to support, with which instruments.

Variables: ``y[project]`` binary (supported or not), ``share[project, option]`` >= 0, the
share of the project's financing need each option (a party's instrument) covers. Constraints:
the support covers the project's financing need exactly; one option covers at most its share
of the need; each party's scored cost (``fiscal_cost_per_usd x amount``) stays within its
budget; no country exceeds
``max_country_share`` of a stage's supply after the additions. Capacities are what support
adds over the no-support pipeline (additionality). Objectives (formulation in
``docs/methods/portfolio.md``): expected shortfall value closed (the flow problem of
``flows.py``: capacity, feedstock and the split of new output between a gap and downstream
feed), weighted China share (convex, secant piecewise-linear, exact at breakpoints), HHI
(ratio of quadratics in binaries: exact McCormick products inside Dinkelbach iterations).
The model is built once; re-solves (frontier points, Dinkelbach iterations) update the
HiGHS model in place through linopy's persistent solver instead of re-sending it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import linopy
import numpy as np
import pandas as pd
import xarray as xr

from critmin.console import quiet_stdout
from critmin.errors import InfeasibleError
from critmin.optimisation.portfolio.config import PortfolioConfig
from critmin.optimisation.portfolio.flows import closed_value, flow_data
from critmin.optimisation.portfolio.inputs import CHINA, ROW, PortfolioInputs

BREAKPOINTS = 24  # secant pieces of China's share curve
DINKELBACH_MAX = 30
TOL = 1e-9
TIE_BREAK = 1e-5  # relative weight of scored cost among equally good portfolios


def hhi(volumes: pd.Series) -> float:
    """HHI (0-1) of output by country; ROW (unattributed output) counts as fragmented (0)."""
    total = float(volumes.sum())
    if total <= 0:
        return float("nan")
    named = volumes.drop(ROW, errors="ignore")
    return float(((named / total) ** 2).sum())


def china_share(volumes: pd.Series) -> float:
    """China's share (0-1) of output at a stage."""
    total = float(volumes.sum())
    return float(volumes.get(CHINA, 0.0) / total) if total > 0 else float("nan")


def after(inputs: PortfolioInputs, key: tuple[str, str], chosen: list[str]) -> pd.Series:
    """Output by country at ``key`` at the target year: the no-support baseline plus what
    support of the chosen projects adds."""
    vol = inputs.baseline[key].copy()
    c = inputs.candidates
    records: dict[str, dict[str, Any]] = c.to_dict(orient="index")  # type: ignore[assignment]
    for pid in chosen:
        row = records[pid]
        if (row["commodity"], row["stage"]) == key:
            vol[row["country"]] = float(vol.get(row["country"], 0.0)) + row["additional_t"]
    return vol


def highs_options(config: PortfolioConfig) -> dict[str, Any]:
    """HiGHS settings: the configured relative MIP gap, and integrality tight enough
    (1e-9) that the cost tie-breaker (scored cost x 1e-5 / budget) is not lost in it."""
    return {"output_flag": False, "mip_rel_gap": config.mip_rel_gap, "mip_abs_gap": 1e-10,
            "mip_feasibility_tolerance": 1e-9}  # fmt: skip


@dataclass
class Solved:
    """The raw outcome of one solve: chosen ids, amounts [project, option], objective, gap."""

    chosen: list[str]
    amounts: pd.DataFrame
    objective: float  # the objective's own measure (see ``objective_value``)
    mip_gap: float
    iterations: int = 1


def objective_value(config: PortfolioConfig, inputs: PortfolioInputs, chosen: list[str]) -> float:
    """Exact objective of a set of projects: allied shortfall value closed at the target year
    (USD, higher is better), weighted China share or HHI at the target stage (0-1, lower is
    better), each with the no-support pipeline in place."""
    if config.objective == "shortfall":
        y = inputs.candidates.index.isin(chosen).astype(float)
        return closed_value(flow_data(inputs), y)
    if config.objective == "china_share":
        return float(
            sum(
                t.weight * china_share(after(inputs, (t.commodity, t.stage), chosen))
                for t in config.targets
            )
        )
    t = config.targets[0]
    return hhi(after(inputs, (t.commodity, t.stage), chosen))


class PortfolioModel:
    """A built portfolio MILP; change budgets with :meth:`set_budget_scale`, then :meth:`solve`.

    ``model`` is the linopy model: users may add constraints before solving, e.g.
    ``pm.model.add_constraints(pm.y.loc[["thacker_pass"]] == 1)``.
    """

    def __init__(self, config: PortfolioConfig, inputs: PortfolioInputs) -> None:
        self.config = config
        self.inputs = inputs
        self.model = linopy.Model()
        self._solver: Any = None  # linopy's persistent HiGHS solver, built on the first solve
        c, o = inputs.candidates, inputs.options
        self.projects = pd.Index(c.index, name="project")
        self.option_index = pd.Index(o.index, name="option")
        self.y = self.model.add_variables(binary=True, coords=[self.projects], name="y")
        # share of a project's financing need that each option covers (amount = share x need)
        self.share = self.model.add_variables(
            lower=0, coords=[self.projects, self.option_index], name="share"
        )
        self.need = xr.DataArray(c["need_usd"].to_numpy(float), coords=[self.projects])
        cap = xr.DataArray(o["max_share_of_need"].to_numpy(float), coords=[self.option_index])
        self.model.add_constraints(self.share.sum("option") - self.y == 0, name="cover")
        self.model.add_constraints(self.share - cap * self.y <= 0, name="option_cap")
        cost = xr.DataArray(o["fiscal_cost_per_usd"].to_numpy(float), coords=[self.option_index])
        self.budget_names: dict[str, str] = {}
        for party, budget in inputs.budgets.items():
            opts = list(o.index[o["party"] == party])
            name = f"budget_{party}"
            self.budget_names[party] = name
            if not opts:
                continue
            if budget <= 0:  # no money: this party's options stay unused
                self.model.add_constraints(self.share.sel(option=opts) <= 0, name=name)
                continue
            # scored cost / budget <= scale (normalised so coefficients stay near 1)
            coef = cost.sel(option=opts) * self.need / budget
            self.model.add_constraints((self.share.sel(option=opts) * coef).sum() <= 1.0, name=name)
        self._country_limits()
        self._objective()

    # -- constraints -------------------------------------------------------------------------
    def _expected(self, ids: list[str]) -> xr.DataArray:
        """What support of each project adds at its stage, t/yr (additionality)."""
        values = self.inputs.candidates.loc[ids, "additional_t"].to_numpy(float)
        return xr.DataArray(values, coords=[pd.Index(ids, name="project")])

    def _country_limits(self) -> None:
        alpha = self.config.max_country_share
        if alpha is None:
            return
        c = self.inputs.candidates
        for key in self.inputs.keys:
            if key not in self.inputs.baseline:
                continue
            base = self.inputs.baseline[key]
            total = float(base.sum())
            at_key = list(c.index[(c["commodity"] == key[0]) & (c["stage"] == key[1])])
            for country in sorted(set(c.loc[at_key, "country"])):
                mine = [p for p in at_key if c.loc[p, "country"] == country]
                q = float(base.get(country, 0.0))
                own = (self.y.sel(project=mine) * self._expected(mine)).sum()
                name = f"country_{key[0]}_{key[1]}_{country}"
                if q <= alpha * total:
                    every = (self.y.sel(project=at_key) * self._expected(at_key)).sum()
                    self.model.add_constraints(own - alpha * every <= alpha * total - q, name=name)
                else:  # already above the limit: no new capacity there
                    self.model.add_constraints(own <= 0, name=name)

    def _tie_breaker(self) -> linopy.LinearExpression:
        """Scored cost x 1e-5 / total budget: among equally good portfolios, the cheapest."""
        cost = self.inputs.options["fiscal_cost_per_usd"].to_numpy(float)
        total = max(sum(self.inputs.budgets.values()), 1.0)
        coef = xr.DataArray(cost * TIE_BREAK / total, coords=[self.option_index]) * self.need
        return (self.share * coef).sum()

    # -- objectives --------------------------------------------------------------------------
    def _objective(self) -> None:
        kind = self.config.objective
        if kind == "shortfall":
            self._shortfall_objective()
        elif kind == "china_share":
            self._china_objective()
        else:
            self._hhi_setup()

    def _shortfall_objective(self) -> None:
        """The flow problem of ``flows.py`` with ``y`` binary (names as on the method page)."""
        data = flow_data(self.inputs)
        inp = self.inputs
        gaps = pd.Index(inp.gaps.index, name="gap")
        nodes = pd.Index(data.nodes, name="node")
        scen = pd.Index(range(inp.shortfall.shape[1]), name="scenario")
        short = xr.DataArray(inp.shortfall, coords=[gaps, scen])
        closed = self.model.add_variables(lower=0, upper=short, name="closed")
        x = self.model.add_variables(lower=0, coords=[nodes, scen], name="output")
        fed = self.model.add_variables(lower=0, coords=[nodes, scen], name="fed")
        added = xr.DataArray(data.added, coords=[self.projects, nodes])
        base = xr.DataArray(data.base, coords=[nodes])
        self.model.add_constraints(x - (added * self.y).sum("project") <= base, name="cap")
        checked = data.checked
        if checked.any():
            down = [n for n, c in zip(data.nodes, checked, strict=True) if c]
            up = [data.nodes[data.upstream[i]] for i, c in enumerate(checked)  # type: ignore[index]
                  if c]  # fmt: skip
            sel = pd.Index(down, name="node")
            yld = xr.DataArray(data.yields[checked], coords=[sel])
            upstream_fed = fed.sel(node=up).assign_coords(node=sel)
            rhs = xr.DataArray(data.yields[checked] * data.surplus[checked], coords=[sel])
            self.model.add_constraints(x.sel(node=sel) - yld * upstream_fed <= rhs, name="feed")
        to_node = xr.DataArray(
            (data.gap_node[:, None] == np.arange(len(nodes))[None, :]) * data.rate[:, None],
            coords=[gaps, nodes],
        )
        self.model.add_constraints(
            (closed * to_node).sum("gap") + fed - x <= 0, name="split"
        )
        if data.product.any():
            sel = gaps[data.product]
            rate = xr.DataArray(data.rate[data.product], coords=[sel])
            padd = xr.DataArray(data.product_added[:, data.product], coords=[self.projects, sel])
            pbase = xr.DataArray(data.product_base[data.product], coords=[sel])
            self.model.add_constraints(
                rate * closed.sel(gap=sel) - (padd * self.y).sum("project") <= pbase,
                name="product",
            )
        value = xr.DataArray(data.value, coords=[gaps])
        weight = xr.DataArray(data.weights, coords=[scen])
        scale = max(float((data.short * data.value[:, None]).max(initial=0.0)), 1.0)
        self._scale = scale
        self.model.add_objective(-(closed * (value * weight / scale)).sum() + self._tie_breaker())

    def _china_objective(self) -> None:
        c = self.inputs.candidates
        terms = []
        for i, t in enumerate(self.config.targets):
            key = (t.commodity, t.stage)
            base = self.inputs.baseline[key]
            total, china = float(base.sum()), float(base.get(CHINA, 0.0))
            at_key = list(c.index[(c["commodity"] == key[0]) & (c["stage"] == key[1])])
            z = self.model.add_variables(name=f"share_{i}")
            top = float(c.loc[at_key, "additional_t"].sum()) if at_key else 0.0
            if top <= 0:
                self.model.add_constraints(z >= china / total, name=f"share_{i}_fixed")
            else:
                added = (self.y.sel(project=at_key) * self._expected(at_key)).sum()
                pts = np.linspace(0.0, top, BREAKPOINTS + 1)
                f = china / (total + pts)
                slope = np.diff(f) / np.diff(pts)
                seg = pd.Index(range(BREAKPOINTS), name="segment")
                s = xr.DataArray(slope, coords=[seg])
                rhs = xr.DataArray(f[:-1] - slope * pts[:-1], coords=[seg])
                self.model.add_constraints(z - s * added >= rhs, name=f"share_{i}_secant")
            terms.append(t.weight * z)
        self.model.add_objective(sum(terms[1:], terms[0]) + self._tie_breaker())

    def _hhi_setup(self) -> None:
        """Pair products w[p,q] = y_p y_q for projects at the target stage (McCormick: exact
        for binaries). Same-country pairs have positive objective coefficients (need the lower
        bound), cross-country pairs negative ones (need the upper bounds)."""
        c = self.inputs.candidates
        t = self.config.targets[0]
        key = (t.commodity, t.stage)
        self._hhi_ids = list(c.index[(c["commodity"] == key[0]) & (c["stage"] == key[1])])
        ids = self._hhi_ids
        self._pairs = [(ids[i], ids[j]) for i in range(len(ids)) for j in range(i + 1, len(ids))]
        if not self._pairs:
            self._w = None
            return
        pair_index = pd.Index([f"{p}|{q}" for p, q in self._pairs], name="pair")
        self._w = self.model.add_variables(lower=0, upper=1, coords=[pair_index], name="w")
        country = c["country"]
        same = np.array([country[p] == country[q] for p, q in self._pairs])
        first = xr.DataArray([p for p, _ in self._pairs], coords=[pair_index])
        second = xr.DataArray([q for _, q in self._pairs], coords=[pair_index])
        y_p = (1 * self.y.sel(project=first)).drop_vars("project")
        y_q = (1 * self.y.sel(project=second)).drop_vars("project")
        w = self._w
        if same.any():
            sel = pair_index[same]
            self.model.add_constraints(
                w.sel(pair=sel) - y_p.sel(pair=sel) - y_q.sel(pair=sel) >= -1, name="w_low"
            )
        if (~same).any():
            sel = pair_index[~same]
            self.model.add_constraints(w.sel(pair=sel) - y_p.sel(pair=sel) <= 0, name="w_up_p")
            self.model.add_constraints(w.sel(pair=sel) - y_q.sel(pair=sel) <= 0, name="w_up_q")

    def _hhi_objective(self, lam: float) -> float:
        """Set min N(y) - lam D(y) (scaled by D(0)); returns the constant term (scaled)."""
        c = self.inputs.candidates
        t = self.config.targets[0]
        base = self.inputs.baseline[(t.commodity, t.stage)]
        total = float(base.sum())
        named = base.drop(ROW, errors="ignore")
        ids = self._hhi_ids
        e = c.loc[ids, "additional_t"].to_numpy(float)
        q = np.array([float(named.get(c.loc[p, "country"], 0.0)) for p in ids])
        d0 = total**2
        lin = (2 * q * e + e**2 - lam * (2 * total * e + e**2)) / d0
        const = (float((named**2).sum()) - lam * total**2) / d0
        expr = (
            self.y.sel(project=ids) * xr.DataArray(lin, coords=[pd.Index(ids, name="project")])
        ).sum()
        if self._w is not None:
            coef = [
                2
                * e[ids.index(p)]
                * e[ids.index(qq)]
                * (float(c.loc[p, "country"] == c.loc[qq, "country"]) - lam)
                / d0
                for p, qq in self._pairs
            ]
            expr = expr + (self._w * xr.DataArray(coef, coords=[self._w.indexes["pair"]])).sum()
        self.model.add_objective(expr + self._tie_breaker(), overwrite=True)
        return const

    # -- solving -----------------------------------------------------------------------------
    def set_budget_scale(self, scale: float) -> None:
        """Multiply every party's budget by ``scale`` (for the frontier) without rebuilding."""
        for party, name in self.budget_names.items():
            if name in self.model.constraints and self.inputs.budgets[party] > 0:
                self.model.constraints[name].update(rhs=scale)

    def _solve_once(self) -> float:
        """Solve with HiGHS. The first solve builds the HiGHS model; later ones diff the linopy
        model against it and change only what moved (budget right-hand sides, objective
        coefficients) in place: linopy's persistent solver (``track_updates``)."""
        from linopy.solvers import Solver

        try:
            with quiet_stdout():
                if self._solver is None:
                    self._solver = Solver.from_name(
                        "highs", self.model, io_api="direct",
                        options=highs_options(self.config), track_updates=True,
                    )  # fmt: skip
                    result = self._solver.solve()
                else:
                    result = self._solver.solve(self.model)
                self.model.assign_result(result, solver=self._solver)
        except Exception as exc:  # linopy raises several types when HiGHS returns no solution
            raise InfeasibleError(f"portfolio model: HiGHS failed ({exc})") from exc
        status = result.status
        if not status.is_ok:
            raise InfeasibleError(
                f"portfolio model: {status.status.value} ({status.termination_condition.value})"
            )
        try:
            gap = float(self._solver.solver_model.getInfo().mip_gap)
        except AttributeError:
            gap = float("nan")
        return 0.0 if not np.isfinite(gap) or gap < 0 else gap

    def _read(self, gap: float, iterations: int) -> Solved:
        y = self.y.solution.to_series()
        chosen = [str(p) for p in y.index[y.to_numpy() > 0.5]]
        shares = self.share.solution.to_pandas().loc[chosen]
        need = self.inputs.candidates.loc[chosen, "need_usd"]
        amounts = shares.mul(need, axis=0).where(lambda a: a > 1e-3, 0.0)
        value = objective_value(self.config, self.inputs, chosen)
        return Solved(chosen, amounts, value, gap, iterations)

    def solve(self) -> Solved:
        """Solve to the configured MIP gap (HiGHS); Dinkelbach iterations for ``hhi``."""
        if self.config.objective != "hhi":
            return self._read(self._solve_once(), 1)
        lam = objective_value(self.config, self.inputs, [])
        best: Solved | None = None
        gap = 0.0
        for iteration in range(1, DINKELBACH_MAX + 1):
            self._hhi_objective(lam)
            gap = max(gap, self._solve_once())
            current = self._read(gap, iteration)
            ratio = current.objective
            if best is None or ratio < best.objective:
                best = current
            # F(y*) = D(y*) (ratio - lam): no set beats lam -> lam is the optimal HHI
            if ratio >= lam - TOL:
                break
            lam = ratio
        assert best is not None
        best.iterations, best.mip_gap = iteration, gap
        return best
