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

Third countries (every region of the scenario that is not one of the allies) are reported
beside: their value lost at the config's stages and their mean price index (weighted by their
base use), without and with the plan. The allies' objective counts only their own nodes.
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
    releases (USD), the LP's estimate of both, the mean over scenarios of the highest
    price index an ally's use node reaches, per material, without and with, and the third
    countries' value lost (USD) and mean price index (weighted by base use and months)."""

    value_lost_without_usd: float
    value_lost_with_usd: float
    lp_value_lost_without_usd: float
    lp_value_lost_with_usd: float
    peak_price_without: dict[str, float]
    peak_price_with: dict[str, float]
    released_t: float
    third_value_lost_without_usd: float
    third_value_lost_with_usd: float
    third_price_without: dict[str, float]
    third_price_with: dict[str, float]

    @property
    def realised_saving_usd(self) -> float:
        return self.value_lost_without_usd - self.value_lost_with_usd

    @property
    def lp_saving_usd(self) -> float:
        return self.lp_value_lost_without_usd - self.lp_value_lost_with_usd

    @property
    def third_saving_usd(self) -> float:
        return self.third_value_lost_without_usd - self.third_value_lost_with_usd

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
            "third_countries": {
                "value_lost_without_usd": self.third_value_lost_without_usd,
                "value_lost_with_usd": self.third_value_lost_with_usd,
                "saving_usd": self.third_saving_usd,
                "mean_price_index_without": dict(self.third_price_without),
                "mean_price_index_with": dict(self.third_price_with),
            },
        }


@dataclass(frozen=True)
class MarketRun:
    """One pass of the kept scenarios through the market: ``value_lost_usd`` [scenario, month,
    ally, material] (the allies' value lost, USD/month), ``peak_price`` [scenario,
    material] (the highest price index of an ally's node), ``third_value_lost_usd`` and
    ``third_price`` [scenario, material] (third countries' value lost, USD, and mean price
    index weighted by their base use and months)."""

    value_lost_usd: np.ndarray
    peak_price: np.ndarray
    third_value_lost_usd: np.ndarray
    third_price: np.ndarray


def delivered(solution: StockpileSolution, scenarios: ScenarioSet) -> np.ndarray:
    """[scenario, month, ally, material] t/month: the tonnes the plan releases into each
    ally's use node (its own releases and its partners' shipments) that the LP counts on:
    the shortfall it covers, or with a release effect (``model.add_unmet_need``) the tonnes
    that cover it, at most what arrives (a released tonne the LP does not need is not sold);
    with effects across nodes (``release_cross``) every tonne that arrives, as it also
    covers shortfall at the other nodes."""
    covered = (scenarios.shortfall - solution.unmet).clip(min=0.0)
    effect = scenarios.release_effect
    if effect is not None:
        arrives = solution.release
        if solution.transfer is not None:
            arrives = (
                arrives
                - solution.transfer.sum("partner")
                + solution.transfer.sum("ally").rename(partner="ally")
            )
        if scenarios.release_cross is not None:
            # a tonne counts where it arrives and, through the market, at the other nodes
            covered = arrives.clip(min=0.0)
        else:
            first = effect.sel(tranche=1, drop=True)
            second = effect.sel(tranche=2, drop=True)
            beyond = 0.0 if solution.release_beyond is None else solution.release_beyond
            needed = (covered + (first - second) * beyond) / first.where(first > 0)
            covered = needed.clip(min=0.0, max=arrives.clip(min=0.0)).fillna(0.0)
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


class MarketRunner:
    """Runs given releases of the kept scenarios of ``config`` through the market (module
    doc); the runs without releases are sampled once, at construction."""

    def __init__(self, config: StockpileConfig, scenarios: ScenarioSet) -> None:
        spec = config.scenarios
        if not isinstance(spec, EngineScenarios) or scenarios.sample is None:
            raise InputError(
                "scenarios.source: the plan runs through the market for engine scenarios only"
            )
        self.spec = spec
        self.scenarios = scenarios
        self.scenario = load_scenario(spec.file)
        self.allies = list(config.allies)
        self.stages = [cfg.stage or m for m, cfg in config.materials.items()]
        self.model = scenario_model(self.scenario)
        market = self.model.market
        region = [market.regions.index(a) for a in self.allies]
        self.stage_ix = [market.stages.index(s) for s in self.stages]
        self.region = region
        self.third = [r for r in range(market.n_regions) if r not in region]
        self.base_use = market.final_demand  # [stage, region] t/month
        self.samples = [int(s) for s in scenarios.sample.values]
        base = sample_paths(self.scenario, spec.samples, spec.seed)
        self.without = self._read([(base, i) for i in self.samples])

    def _one(self, paths: Any, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Value lost [month, ally, material], peak price [material], third countries' value lost
        and mean price [material] of sample ``i`` of ``paths``."""
        price = paths["price_index"].sel(sample=i).values  # [month, stage, region]
        use = self.base_use
        multiplier = np.where(
            use > 0, paths["reference"].sel(sample=i).values / np.where(use > 0, use, 1.0), 1.0
        )
        acc = sector_accounts(self.model.chain, price, multiplier)
        value = (acc.damage_per_tonne() * acc.shortfall).sum(-1)  # [month, stage, region]
        value = value[:, self.stage_ix]
        allies = np.transpose(value[:, :, self.region], (0, 2, 1))  # [month, ally, material]
        peak = np.nanmax(price[:, self.stage_ix][:, :, self.region], axis=(0, 2))
        third = value[:, :, self.third].sum((0, 2))
        weight = use[self.stage_ix][:, self.third]  # [material, third]
        p3 = np.nan_to_num(price[:, self.stage_ix][:, :, self.third], nan=1.0)
        total = weight.sum(-1)
        mean = np.where(
            total > 0,
            (p3 * weight).sum(-1).mean(0) / np.where(total > 0, total, 1.0),
            np.nan,
        )
        return allies, peak, third, mean

    def _read(self, runs: list[tuple[Any, int]]) -> MarketRun:
        parts = [self._one(paths, i) for paths, i in runs]
        return MarketRun(*(np.stack([p[k] for p in parts]) for k in range(4)))

    def run(self, tonnes: np.ndarray) -> MarketRun:
        """The kept scenarios with releases ``tonnes`` [scenario, month, ally, material]
        (t/month at each ally's use node; below ``RELEASE_FLOOR_T`` nothing is released);
        a scenario without releases is the run without."""
        w = self.without
        out = [
            self._sample(s, tonnes[s])
            if (tonnes[s] > RELEASE_FLOOR_T).any()
            else (w.value_lost_usd[s], w.peak_price[s], w.third_value_lost_usd[s], w.third_price[s])
            for s in range(len(self.samples))
        ]
        return MarketRun(*(np.stack([p[k] for p in out]) for k in range(4)))

    def _sample(
        self, s: int, tonnes: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Kept scenario ``s`` with releases ``tonnes`` [month, ally, material] (t/month)."""
        i = self.samples[s]
        released = with_releases(self.scenario, tonnes, self.allies, self.stages)
        return self._one(sample_paths(released, self.spec.samples, self.spec.seed, only=i), i)

    def probe(self, tonnes: np.ndarray, extra: np.ndarray, run: MarketRun) -> np.ndarray:
        """[scenario, ally, material, month, ally, material] USD/month: every ally's value
        lost at every material's node when the releases of one ally (the second axis) and
        material (the third) alone are ``extra`` more (fewer where negative) than
        ``tonnes`` (both [scenario, month, ally, material], t/month; ``run``: the market's
        run of ``tonnes``, whose value lost a group without extra tonnes keeps)."""
        n_s, _, n_a, n_m = tonnes.shape
        out = np.broadcast_to(
            run.value_lost_usd[:, None, None], (n_s, n_a, n_m, *run.value_lost_usd.shape[1:])
        ).copy()
        for (s, a, m), more in np.ndenumerate((abs(extra) > RELEASE_FLOOR_T).any(1)):
            if more:
                plus = tonnes[s].copy()
                plus[:, a, m] = np.maximum(plus[:, a, m] + extra[s, :, a, m], 0.0)
                out[s, a, m] = self._sample(s, plus)[0]
        return out


def lp_value_lost(
    config: StockpileConfig, scenarios: ScenarioSet, solution: StockpileSolution
) -> tuple[float, float]:
    """The LP's expected value lost of the allies without any release and with ``solution``
    (USD over the horizon; freight between allies left out)."""
    value = scenarios.value_paths()
    if value is None:
        raise InputError("scenarios.source: the LP's value lost needs engine scenarios")
    p = scenarios.probability
    without = float((value.sum(["month", "ally", "material"]) * p).sum())
    freight = 0.0
    if solution.transfer is not None:
        inflow = solution.transfer.sum(["month", "ally", "partner", "material"])
        freight = float((inflow * p).sum()) * config.costs.transfer_cost_usd_per_t
    return without, float((solution.loss_usd.sum("ally") * p).sum()) - freight


def check(
    runner: MarketRunner,
    config: StockpileConfig,
    solution: StockpileSolution,
    tonnes: np.ndarray,
    run: MarketRun,
) -> MarketCheck:
    """The :class:`MarketCheck` of ``solution`` whose releases ``tonnes`` gave ``run``."""
    scenarios = runner.scenarios
    p = scenarios.probability.values
    w = runner.without
    lp_without, lp_with = lp_value_lost(config, scenarios, solution)
    materials = list(config.materials)

    def expect(a: np.ndarray) -> np.ndarray:
        return np.tensordot(p, a, axes=1)

    def named(a: np.ndarray) -> dict[str, float]:
        return dict(zip(materials, map(float, expect(a)), strict=True))

    return MarketCheck(
        value_lost_without_usd=float(expect(w.value_lost_usd).sum()),
        value_lost_with_usd=float(expect(run.value_lost_usd).sum()),
        lp_value_lost_without_usd=lp_without,
        lp_value_lost_with_usd=lp_with,
        peak_price_without=named(w.peak_price),
        peak_price_with=named(run.peak_price),
        released_t=float((tonnes.sum((1, 2, 3)) * p).sum()),
        third_value_lost_without_usd=float(expect(w.third_value_lost_usd).sum()),
        third_value_lost_with_usd=float(expect(run.third_value_lost_usd).sum()),
        third_price_without=named(w.third_price),
        third_price_with=named(run.third_price),
    )


def through_market(
    config: StockpileConfig, scenarios: ScenarioSet, solution: StockpileSolution
) -> MarketCheck:
    """Run ``solution``'s releases through the market, scenario by scenario (module doc)."""
    if solution.unmet.sizes["scenario"] != scenarios.n_scenarios:
        raise InputError("solution: its scenarios are not these scenarios")
    runner = MarketRunner(config, scenarios)
    tonnes = delivered(solution, scenarios)
    tonnes = np.where(tonnes > RELEASE_FLOOR_T, tonnes, 0.0)  # what becomes events
    return check(runner, config, solution, tonnes, runner.run(tonnes))
