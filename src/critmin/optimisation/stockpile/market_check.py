"""The plan through the market: the LP's releases run as the engine's own ``stockpile_release``
events, and the value lost and peak prices the market then gives, beside the LP's estimate.

For each kept scenario (an engine sample) the tonnes the LP lets reach each ally's use node in
each month (the shortfall it covers: shortfall - unmet need) become ``stockpile_release``
events (rule ``even``, one month each, at the ally's stage); the scenario is sampled again with
the same seed and samples (fixed numbers draw nothing, so every other event's draws are the
same) and the kept sample read back. The market then lets the release change trade and other
countries' prices, which the LP's curves hold fixed (partial equilibrium at the node:
``release``). Value lost is the market's (``critmin.market.damage``), counted like the LP's:
each sector's value lost where it is short. Engine scenarios only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from critmin.errors import InputError
from critmin.market.damage import sector_accounts
from critmin.optimisation.stockpile.config import EngineScenarios, StockpileConfig
from critmin.optimisation.stockpile.results import StockpileSolution
from critmin.optimisation.stockpile.scenarios import ScenarioSet
from critmin.simulation.model import scenario_model
from critmin.simulation.paths import sample_paths
from critmin.simulation.scenario import Scenario, StockpileRelease, load_scenario

RELEASE_FLOOR_T = 1e-9
"""Deliveries below this (t/month) are not turned into events."""


@dataclass(frozen=True)
class MarketCheck:
    """Expected over the kept scenarios (their probabilities), allies' final use at the
    config's stages, over the horizon: the market's value lost without and with the plan's
    releases (USD), the LP's estimate of both, and the mean over scenarios of the highest
    price index an ally's use node reaches, per material, without and with."""

    value_lost_without_usd: float
    value_lost_with_usd: float
    lp_value_lost_without_usd: float
    lp_value_lost_with_usd: float
    peak_price_without: dict[str, float]
    peak_price_with: dict[str, float]
    released_t: float

    @property
    def realised_saving_usd(self) -> float:
        return self.value_lost_without_usd - self.value_lost_with_usd

    @property
    def lp_saving_usd(self) -> float:
        return self.lp_value_lost_without_usd - self.lp_value_lost_with_usd

    def to_dict(self) -> dict[str, Any]:
        """Plain values for ``--format json`` (USD, price index, t)."""
        return {
            "value_lost_without_usd": self.value_lost_without_usd,
            "value_lost_with_usd": self.value_lost_with_usd,
            "realised_saving_usd": self.realised_saving_usd,
            "lp_value_lost_without_usd": self.lp_value_lost_without_usd,
            "lp_value_lost_with_usd": self.lp_value_lost_with_usd,
            "lp_saving_usd": self.lp_saving_usd,
            "peak_price_index_without": dict(self.peak_price_without),
            "peak_price_index_with": dict(self.peak_price_with),
            "released_t": self.released_t,
        }


def delivered(solution: StockpileSolution, scenarios: ScenarioSet) -> np.ndarray:
    """[scenario, month, ally, material] t/month: the shortfall the plan covers at each
    ally's node (what reaches it from its own and its partners' releases)."""
    covered = (scenarios.shortfall - solution.unmet).clip(min=0.0)
    values: np.ndarray = covered.transpose("scenario", "month", "ally", "material").values
    return values


def with_releases(
    scenario: Scenario, tonnes: np.ndarray, allies: list[str], stages: list[str]
) -> Scenario:
    """``scenario`` with one ``stockpile_release`` event (rule ``even``, one month) per
    month, ally and material of ``tonnes`` [month, ally, material] (t/month) above
    ``RELEASE_FLOOR_T``, appended after its own events."""
    events = list(scenario.events)
    for (t, a, m), x in np.ndenumerate(tonnes):
        if x > RELEASE_FLOOR_T:
            events.append(
                StockpileRelease(
                    type="stockpile_release",
                    name=f"stockpile plan {allies[a]} {stages[m]} month {t + 1}",
                    holder=allies[a],
                    commodity=scenario.commodity,
                    stage=stages[m],
                    tonnes=float(x),
                    rule="even",
                    start=t + 1,
                    duration=1.0,
                )
            )
    return scenario.model_copy(update={"events": events})


def through_market(
    config: StockpileConfig, scenarios: ScenarioSet, solution: StockpileSolution
) -> MarketCheck:
    """Run ``solution``'s releases through the market, scenario by scenario (module doc)."""
    spec = config.scenarios
    if not isinstance(spec, EngineScenarios) or scenarios.sample is None:
        raise InputError(
            "scenarios.source: the plan runs through the market for engine scenarios only"
        )
    if solution.unmet.sizes["scenario"] != scenarios.n_scenarios:
        raise InputError("solution: its scenarios are not these scenarios")
    scenario = load_scenario(spec.file)
    allies = list(config.allies)
    materials = list(config.materials)
    stages = [cfg.stage or m for m, cfg in config.materials.items()]
    model = scenario_model(scenario)
    market = model.market
    region = [market.regions.index(a) for a in allies]
    stage_ix = [market.stages.index(s) for s in stages]
    pick = np.ix_(stage_ix, region)
    base_use = market.final_demand

    def value_and_peak(paths: Any, i: int) -> tuple[float, np.ndarray]:
        price = paths["price_index"].sel(sample=i).values  # [month, stage, region]
        multiplier = np.where(
            base_use > 0,
            paths["reference"].sel(sample=i).values / np.where(base_use > 0, base_use, 1.0),
            1.0,
        )
        acc = sector_accounts(model.chain, price, multiplier)
        value = (acc.damage_per_tonne() * acc.shortfall)[:, pick[0], pick[1]]
        peak = np.nanmax(price[:, pick[0], pick[1]], axis=(0, 2))  # [material]
        return float(value.sum()), peak

    base_paths = sample_paths(scenario, spec.samples, spec.seed)
    tonnes = delivered(solution, scenarios)
    tonnes = np.where(tonnes > RELEASE_FLOOR_T, tonnes, 0.0)  # what becomes events
    p = scenarios.probability.values
    without = with_ = 0.0
    peak_without = np.zeros(len(materials))
    peak_with = np.zeros(len(materials))
    for s, sample in enumerate(scenarios.sample.values):
        v0, k0 = value_and_peak(base_paths, int(sample))
        if tonnes[s].any():
            released = with_releases(scenario, tonnes[s], allies, stages)
            run = sample_paths(released, spec.samples, spec.seed, only=int(sample))
            v1, k1 = value_and_peak(run, int(sample))
        else:
            v1, k1 = v0, k0
        without += p[s] * v0
        with_ += p[s] * v1
        peak_without += p[s] * k0
        peak_with += p[s] * k1
    value = scenarios.value_paths()
    assert value is not None
    lp_without = float((value.sum(["month", "ally", "material"]) * scenarios.probability).sum())
    freight = 0.0
    if solution.transfer is not None:
        inflow = solution.transfer.sum(["month", "ally", "partner", "material"])
        freight = float((inflow * scenarios.probability).sum()) * (
            config.costs.transfer_cost_usd_per_t
        )
    lp_with = float((solution.loss_usd.sum("ally") * scenarios.probability).sum()) - freight
    return MarketCheck(
        value_lost_without_usd=without,
        value_lost_with_usd=with_,
        lp_value_lost_without_usd=lp_without,
        lp_value_lost_with_usd=lp_with,
        peak_price_without=dict(zip(materials, map(float, peak_without), strict=True)),
        peak_price_with=dict(zip(materials, map(float, peak_with), strict=True)),
        released_t=float((tonnes.sum((1, 2, 3)) * p).sum()),
    )
