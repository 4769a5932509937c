"""The plan that holds through the market: the LP's valuation of a release calibrated to the
market's, and the plan iterated until the LP's estimate of its saving is the market's
(``docs/methods/stockpile.md``, section 2.5).

The LP values a tonne released at an ally's node as covering a tonne of its shortfall
(partial equilibrium at the node: ``release``). In the market part of it displaces the ally's
imports, rebuilds working stocks and lowers other countries' prices instead. The release
effect scales what arriving tonnes cover in the LP's shortfall balance, in two tranches
(``model.add_unmet_need``; concave, so the LP stays linear): ``theta_1`` for the plan's own
releases month by month, ``theta_2 <= theta_1`` beyond. Both are measured by the engine per
group (scenario, ally, material; one value over the months): ``theta_1`` is the value at
which the LP's saving of the plan's releases ``y`` equals the market's realised saving at
that node,

    sum_t [L_t(S_t) - L_t(max(S_t - theta y_t, 0))] = V_market(no release) - V_market(plan),

with ``L_t`` the LP's convex loss of the shortfall left (``L_t(S_t)`` is the market's value
lost without release) and ``V_market`` the engine's value lost of the ally at that node
(``market_check``: the releases as ``stockpile_release`` events of the kept sample). The left
side is non-decreasing in ``theta``, so it is found by bisection. ``theta_2`` does the same
for a probe of ``PROBE`` more tonnes on top (the market's marginal effect). Releases also
cover shortfall at the scenario's other nodes (``release_cross``: a partner's, the other
material's), measured per pair of groups from a run without each group's releases (``c_1``)
and its probe (``c_2``); ``theta_1`` then takes the rest of the node's saving. The iteration
(:func:`market_consistent`): ``theta = 1``; solve the joint LP; run its releases through the
market; stop when ``|LP saving - realised saving| <= tolerance x LP saving`` and no holding
lies on the trust region's edge; else measure the effect at the plan and re-solve with the
holdings kept within a trust region of the last plan's.
"""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import xarray as xr

from critmin.errors import InputError
from critmin.optimisation.stockpile.config import StockpileConfig
from critmin.optimisation.stockpile.market_check import (
    RELEASE_FLOOR_T,
    MarketCheck,
    MarketRunner,
    check,
    delivered,
)
from critmin.optimisation.stockpile.model import StockpileModel, build_model
from critmin.optimisation.stockpile.release import piecewise_loss
from critmin.optimisation.stockpile.results import StockpileSolution
from critmin.optimisation.stockpile.scenarios import ScenarioSet

DEFAULT_TOLERANCE = 0.01
"""|LP saving - realised saving| <= this share of the LP saving: the plan holds."""
DEFAULT_MAX_ITERATIONS = 12
PROBE = 0.05
"""The probe of the marginal effect: this share more of the plan's releases (of the shortfall
where the plan releases nothing)."""
TRUST = 0.5
"""The second pass may move each holding by this share of the previous pass's holdings of
that material (all allies); the share doubles after a pass whose gap is at most
``GOOD_GAP`` (up to ``MAX_TRUST``) and halves after any other."""
GOOD_GAP = 0.1
MAX_TRUST = 4.0
PROBE_EMPTY = 0.5
"""Where the plan releases nothing, the probe releases this share of the shortfall (the
average effect of a release of that size, not the steepest first tonne)."""
EDGE = 1e-7
"""A holding within this share of the radius (at least 1e-7 t) of the trust region's edge
lies on it."""
BISECTION_STEPS = 80
"""Halvings of the bracket of ``theta`` (2^-80 of it: below round-off)."""


@dataclass(frozen=True)
class Iteration:
    """One pass: the plan solved with the release effect then in force, its saving as the LP
    estimates it and as the market realises it (USD, expected over the horizon), its
    holdings [ally, material] (t), the trust region's share (None in the first pass) and
    whether a holding stopped at the trust region's edge (``held_back``)."""

    number: int
    lp_saving_usd: float
    realised_saving_usd: float
    holdings: dict[str, dict[str, float]]
    trust_share: float | None = None
    held_back: bool = False

    @property
    def gap(self) -> float:
        """|LP saving - realised saving| / LP saving (0 when both are 0)."""
        diff = abs(self.lp_saving_usd - self.realised_saving_usd)
        return 0.0 if diff == 0.0 else diff / max(abs(self.lp_saving_usd), 1e-300)

    def to_dict(self) -> dict[str, Any]:
        return {
            "iteration": self.number,
            "lp_saving_usd": self.lp_saving_usd,
            "realised_saving_usd": self.realised_saving_usd,
            "gap": self.gap,
            "holdings": self.holdings,
            "trust_share": self.trust_share,
            "held_back": self.held_back,
        }


@dataclass(frozen=True)
class FixedPoint:
    """The market-consistent plan: ``scenarios`` carry the release effect it was solved
    with, ``plan`` is the joint optimum on them, ``market`` its run through the market,
    ``iterations`` every pass (the first is the plan of the partial equilibrium at the node,
    theta = 1) and ``chosen`` the number of the pass returned; ``converged`` when that pass
    is within ``tolerance`` and not held back by the trust region; ``cpu_seconds`` and
    ``wall_seconds`` of the whole iteration."""

    scenarios: ScenarioSet
    plan: StockpileSolution
    market: MarketCheck
    iterations: list[Iteration]
    chosen: int
    tolerance: float
    converged: bool
    cpu_seconds: float
    wall_seconds: float

    def mean_effect(self) -> dict[str, dict[str, dict[str, float]]]:
        """The release effect per ally, material and tranche (``first``, ``beyond``),
        weighted by the plan's expected tonnes arriving at the node (the probability-weighted
        mean where none arrive); 1 in the first pass (no effect measured yet)."""
        effect = self.scenarios.release_effect
        p = self.scenarios.probability
        tonnes = xr.DataArray(
            delivered(self.plan, self.scenarios),
            dims=("scenario", "month", "ally", "material"),
            coords=self.scenarios.shortfall.coords,
        )
        allies = [str(a) for a in tonnes["ally"].values]
        materials = [str(m) for m in tonnes["material"].values]
        if effect is None:
            return {a: {m: {"first": 1.0, "beyond": 1.0} for m in materials} for a in allies}
        weight = tonnes * p
        total = weight.sum(["scenario", "month"])
        mean = ((effect * weight).sum(["scenario", "month"]) / total.where(total > 0)).fillna(
            (effect * p).sum("scenario")
        )
        return {
            a: {
                m: {
                    name: float(mean.sel(ally=a, material=m, tranche=t))
                    for name, t in (("first", 1), ("beyond", 2))
                }
                for m in materials
            }
            for a in allies
        }

    def note(self) -> str:
        """One line for the run's notes: converged or not, in which pass, the gap."""
        chosen = self.iterations[self.chosen - 1]
        state = "converged" if self.converged else "NOT converged"
        return (
            f"market-consistent: {state} (pass {self.chosen} of {len(self.iterations)}: LP "
            f"saving {chosen.lp_saving_usd:,.0f} USD, market {chosen.realised_saving_usd:,.0f} "
            f"USD, gap {chosen.gap:.2%}, tolerance {self.tolerance:.2%}); the arrangements "
            "are solved with that pass's release effect and the joint plan is run through "
            "the market again (through_market)"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain values for ``--format json``."""
        return {
            "tolerance": self.tolerance,
            "converged": self.converged,
            "iterations": [it.to_dict() for it in self.iterations],
            "chosen_iteration": self.chosen,
            "holdings_at_partial_equilibrium": self.iterations[0].holdings,
            "holdings": self.iterations[self.chosen - 1].holdings,
            "release_effect": self.mean_effect(),
            "through_market": self.market.to_dict(),
            "cpu_seconds": self.cpu_seconds,
            "wall_seconds": self.wall_seconds,
        }


@dataclass(frozen=True)
class Curves:
    """The LP's loss curves and shortfall of the kept scenarios, as plain arrays: ``width``,
    ``slope`` [scenario, month, ally, material, piece] (t/month, USD/t), ``shortfall``
    [scenario, month, ally, material] (t/month)."""

    width: np.ndarray
    slope: np.ndarray
    shortfall: np.ndarray

    @classmethod
    def of(cls, scenarios: ScenarioSet) -> Curves:
        if scenarios.curve_width is None or scenarios.curve_slope is None:
            raise InputError(
                "scenarios.price_response = false: the market-consistent plan calibrates the "
                "release effect on the loss curves of the price response; set it true"
            )
        order = ("scenario", "month", "ally", "material", "piece")
        return cls(
            scenarios.curve_width.transpose(*order).values,
            scenarios.curve_slope.transpose(*order).values,
            scenarios.shortfall.transpose(*order[:4]).values,
        )

    def saving(self, covered: np.ndarray) -> np.ndarray:
        """[scenario, ally, material] USD over the horizon: the LP's saving when ``covered``
        [scenario, month, ally, material] t/month of the shortfall are covered."""
        left = np.maximum(self.shortfall - covered, 0.0)
        saved = piecewise_loss(self.width, self.slope, self.shortfall) - piecewise_loss(
            self.width, self.slope, left
        )
        out: np.ndarray = saved.sum(1)
        return out

    def effect(self, cover: np.ndarray, tonnes: np.ndarray, target: np.ndarray) -> np.ndarray:
        """[scenario, ally, material]: the ``theta`` at which ``cover + theta x tonnes``
        ([scenario, month, ally, material], t/month) saves ``target`` (USD), by bisection
        (the saving is non-decreasing in ``theta``); 0 where the target is at most the
        saving of ``cover`` alone, the ``theta`` that covers the whole shortfall where the
        target is at least its saving, NaN where no tonnes are given."""
        given = tonnes > RELEASE_FLOOR_T
        room = np.maximum(self.shortfall - cover, 0.0)
        top = np.where(given, room / np.where(given, tonnes, 1.0), 0.0).max(1)
        lo, hi = np.zeros_like(top), top.copy()
        for _ in range(BISECTION_STEPS):
            mid = 0.5 * (lo + hi)
            below = self.saving(cover + mid[:, None] * tonnes) < target
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        base = self.saving(cover)
        full = self.saving(cover + top[:, None] * tonnes)
        theta = np.where(target <= base, 0.0, np.where(target >= full, top, hi))
        out: np.ndarray = np.where(given.any(1), theta, np.nan)
        return out


def calibrate(
    curves: Curves,
    tonnes: np.ndarray,
    realised: np.ndarray,
    removed: np.ndarray,
    probe: np.ndarray,
    probed: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The release effect [scenario, ally, material, tranche], the first tranche [scenario,
    month, ally, material] (t/month) and the effect across nodes [scenario, ally, material,
    source ally, source material, tranche] measured at the plan's releases ``tonnes``
    [scenario, month, ally, material] (t/month), which the market saved ``realised``
    [scenario, ally, material] (USD); ``removed`` and ``probed`` [scenario, source ally,
    source material, ally, material] (USD): what the market saved at every node without
    one group's releases, and with ``probe`` more of them (same shape as ``tonnes``).
    Across nodes, ``c_1`` makes the LP's saving at a node of another group's releases
    alone the market's (the saving they add there: ``realised - removed``) and ``c_2`` (at
    most ``c_1``) that of the probe's extra tonnes on top of the plan; ``theta_1`` makes
    the LP's saving at the node of the plan (the others' releases at ``c_1``, its own at
    ``theta_1``) the market's, ``theta_2`` (at most ``theta_1``) that of its own probe on
    top; a group without releases has one tranche of 0 t at the probe's effect."""
    n_s, _, n_a, n_m = tonnes.shape
    given: np.ndarray = np.asarray((tonnes > RELEASE_FLOOR_T).any(1))  # [scenario, ally, mat.]
    zero = np.zeros_like(tonnes)
    c1 = np.zeros((n_s, n_a, n_m, n_a, n_m))
    for b in range(n_a):
        for n in range(n_m):
            mine = np.broadcast_to(tonnes[:, :, b : b + 1, n : n + 1], tonnes.shape)
            c = curves.effect(zero, mine, realised - removed[:, b, n])
            c1[:, :, :, b, n] = np.nan_to_num(c, nan=0.0)
    for b in range(n_a):
        for n in range(n_m):
            c1[:, b, n, b, n] = 0.0  # a group's own tonnes are its tranches
    others = np.einsum("samcd,stcd->stam", c1, tonnes)
    # each other group's saving is valued alone; where together they save more than the
    # market's at the node, scale them down to it
    scale = np.minimum(np.nan_to_num(curves.effect(zero, others, realised), nan=1.0), 1.0)
    c1 *= scale[:, :, :, None, None]
    others = scale[:, None] * others
    first = curves.effect(others, tonnes, realised)
    released = np.isfinite(first)
    cover = others + np.where(released, first, 0.0)[:, None] * tonnes
    c2 = np.zeros_like(c1)
    for b in range(n_a):
        for n in range(n_m):
            more = np.broadcast_to(probe[:, :, b : b + 1, n : n + 1], tonnes.shape)
            c = np.nan_to_num(curves.effect(cover, more, probed[:, b, n]), nan=0.0)
            had = given[:, b, n, None, None]
            c2[:, :, :, b, n] = np.where(had, np.minimum(c, c1[:, :, :, b, n]), c)
            c1[:, :, :, b, n] = np.where(had, c1[:, :, :, b, n], c)
    for b in range(n_a):
        for n in range(n_m):
            c1[:, b, n, b, n] = c2[:, b, n, b, n] = 0.0
    a, m = np.arange(n_a)[:, None], np.arange(n_m)[None, :]
    own = probed[:, a, m, a, m]  # [scenario, ally, material]: a group's probe at its node
    second = curves.effect(cover, probe, own)
    second = np.nan_to_num(second, nan=0.0)  # no shortfall to probe: the release saves nothing
    second = np.where(released, np.minimum(second, first), second)
    first = np.where(released, first, second)
    return np.stack([first, second], -1), tonnes.copy(), np.stack([c1, c2], -1)


def probe_tonnes(curves: Curves, tonnes: np.ndarray) -> np.ndarray:
    """The probe's extra tonnes [scenario, month, ally, material] (t/month): ``PROBE`` of the
    plan's releases where a group (scenario, ally, material) has some, else of the
    shortfall."""
    released = (tonnes > RELEASE_FLOOR_T).any(1, keepdims=True)
    out: np.ndarray = np.where(released, PROBE * tonnes, PROBE_EMPTY * curves.shortfall)
    return out


def trust_region(
    built: StockpileModel, previous: dict[str, dict[str, float]], share: float
) -> None:
    """Bound ``built``'s holdings to within ``share`` x the material's total holding of
    ``previous`` (t, all allies) of the previous pass's (constraint ``trust_region``)."""
    inputs = built.inputs
    before = xr.DataArray(
        [[previous[a][m] for m in inputs.materials] for a in inputs.allies],
        dims=("ally", "material"),
        coords={"ally": inputs.allies, "material": inputs.materials},
    )
    radius = share * before.sum("ally")
    built.model.add_constraints(built.holding <= before + radius, name="trust_region_up")
    built.model.add_constraints(built.holding >= before - radius, name="trust_region_down")


def held_back(
    built: StockpileModel,
    plan: StockpileSolution,
    previous: dict[str, dict[str, float]],
    share: float,
) -> bool:
    """Whether a holding of ``plan`` lies at an edge of the trust region of ``previous``
    (:func:`trust_region`) that its own floor and cap do not also impose."""
    inputs = built.inputs
    for i, a in enumerate(inputs.allies):
        for j, m in enumerate(inputs.materials):
            radius = share * sum(previous[b][m] for b in inputs.allies)
            if radius <= 0.0:
                continue
            h = float(plan.holdings.sel(ally=a, material=m))
            eps = EDGE * max(1.0, radius)
            up, down = previous[a][m] + radius, previous[a][m] - radius
            if h >= up - eps and up < float(inputs.cap_t.values[i, j]) - eps:
                return True
            if h <= down + eps and down > float(inputs.floor_t.values[i, j]) + eps:
                return True
    return False


def _holdings(plan: StockpileSolution) -> dict[str, dict[str, float]]:
    h = plan.holdings
    return {
        str(a): {str(m): float(h.sel(ally=a, material=m)) for m in h["material"].values}
        for a in h["ally"].values
    }


def market_consistent(
    config: StockpileConfig,
    scenarios: ScenarioSet,
    tolerance: float = DEFAULT_TOLERANCE,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
) -> FixedPoint:
    """Iterate the joint plan and its release effect until the LP's saving is the market's
    within ``tolerance`` and no holding is held back by the trust region (module doc);
    engine scenarios with the price response. Returns the converged pass, else the pass with
    the smallest gap (``converged`` False)."""
    if not 0.0 < tolerance < 1.0:
        raise InputError(f"tolerance = {tolerance!r}: a share of the LP's saving in (0, 1)")
    if max_iterations < 1:
        raise InputError(f"max_iterations = {max_iterations!r}: at least one pass")
    if scenarios.sample is None:
        raise InputError(
            f"scenarios.source = {scenarios.source!r}: the market-consistent plan needs engine "
            "scenarios (the release effect is measured by the market model)"
        )
    curves = Curves.of(scenarios)
    wall, cpu = time.perf_counter(), _cpu()
    runner = MarketRunner(config, scenarios)
    coords = {k: scenarios.shortfall[k].values for k in ("scenario", "ally", "material")}
    current = replace(scenarios, release_effect=None, release_tranche_t=None, release_cross=None)
    history: list[Iteration] = []
    passes: list[tuple[ScenarioSet, StockpileSolution, MarketCheck]] = []
    share: float | None = None
    for number in range(1, max_iterations + 1):
        built = build_model(config, current, transfers=True)
        if share is not None:
            trust_region(built, history[-1].holdings, share)
        plan = built.solve()
        tonnes = delivered(plan, current)
        tonnes = np.where(tonnes > RELEASE_FLOOR_T, tonnes, 0.0)
        run = runner.run(tonnes)
        market = check(runner, config, plan, tonnes, run)
        held = share is not None and held_back(built, plan, history[-1].holdings, share)
        history.append(
            Iteration(
                number,
                market.lp_saving_usd,
                market.realised_saving_usd,
                _holdings(plan),
                share,
                held,
            )
        )
        passes.append((current, plan, market))
        if (history[-1].gap <= tolerance and not held) or number == max_iterations:
            break
        # the trust region widens while the LP predicts the market well, else narrows
        if share is None:
            share = TRUST
        else:
            share = min(share * 2.0, MAX_TRUST) if history[-1].gap <= GOOD_GAP else share / 2.0
        realised = (runner.without.value_lost_usd - run.value_lost_usd).sum(1)
        extra = probe_tonnes(curves, tonnes)
        lost = runner.without.value_lost_usd[:, None, None]
        probed = (lost - runner.probe(tonnes, extra, run)).sum(3)
        removed = (lost - runner.probe(tonnes, -tonnes, run)).sum(3)
        effect, tranche, cross = calibrate(curves, tonnes, realised, removed, extra, probed)
        current = replace(
            scenarios,
            release_effect=xr.DataArray(
                effect, dims=(*coords, "tranche"), coords={**coords, "tranche": [1, 2]}
            ),
            release_tranche_t=scenarios.shortfall.copy(data=tranche),
            release_cross=xr.DataArray(
                cross,
                dims=(*coords, "source_ally", "source_material", "tranche"),
                coords={
                    **coords,
                    "source_ally": coords["ally"],
                    "source_material": coords["material"],
                    "tranche": [1, 2],
                },
            ),
        )
    good = [i for i, it in enumerate(history) if it.gap <= tolerance and not it.held_back]
    best = min(good or range(len(history)), key=lambda i: (history[i].gap, i))
    chosen, plan, market = passes[best]
    return FixedPoint(
        scenarios=chosen,
        plan=plan,
        market=market,
        iterations=history,
        chosen=best + 1,
        tolerance=tolerance,
        converged=history[best].gap <= tolerance and not history[best].held_back,
        cpu_seconds=_cpu() - cpu,
        wall_seconds=time.perf_counter() - wall,
    )


def _cpu() -> float:
    """CPU seconds of this process and its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
