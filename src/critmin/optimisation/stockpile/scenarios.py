"""Second-stage scenarios: monthly shortfall per ally and material, with probabilities.

Sources: cases given by hand in the config, or an ensemble of the simulation engine
(``engine_scenarios``: per-sample monthly final-use shortfall of the allies at the chosen
stages). Large ensembles are reduced to K representative scenarios by weighted k-medoids
(``reduce_kmedoids``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import xarray as xr

from critmin.errors import InputError
from critmin.optimisation.stockpile.config import (
    EngineScenarios,
    ExplicitScenarios,
    StockpileConfig,
)
from critmin.simulation.model import scenario_model
from critmin.simulation.paths import sample_paths
from critmin.simulation.scenario import Scenario, load_scenario

MAX_KMEDOIDS_ITERATIONS = 100


@dataclass(frozen=True)
class ScenarioSet:
    """Shortfall scenarios of the second stage.

    ``shortfall``: DataArray [scenario, month, ally, material], t per month of final use that
    the market leaves unmet before any stockpile release. ``probability``: [scenario], sums
    to 1. ``consumption_t_per_year`` [ally, material] and ``price_usd_per_t`` [material] are
    the engine's base values when the scenarios come from it (else None). ``sector_share``
    [ally, material, sector] splits each shortfall by sector (shares of final use, summing to
    1 over sectors; the engine's base split) and ``commodity`` names the engine's chain; both
    None for explicit cases.
    """

    shortfall: xr.DataArray
    probability: xr.DataArray
    consumption_t_per_year: xr.DataArray | None = None
    price_usd_per_t: xr.DataArray | None = None
    source: str = "explicit"
    sector_share: xr.DataArray | None = None
    commodity: str | None = None

    @property
    def n_scenarios(self) -> int:
        return int(self.shortfall.sizes["scenario"])

    def select(self, index: Sequence[int], probability: np.ndarray) -> ScenarioSet:
        """The scenarios at positions ``index`` with new ``probability`` (renumbered)."""
        picked = self.shortfall.isel(scenario=list(index))
        labels = np.arange(len(index))
        return replace(
            self,
            shortfall=picked.assign_coords(scenario=labels),
            probability=xr.DataArray(
                np.asarray(probability, float), dims="scenario", coords={"scenario": labels}
            ),
        )


def make_scenarios(
    shortfall: np.ndarray,
    probability: np.ndarray | None,
    allies: Sequence[str],
    materials: Sequence[str],
    **extra: object,
) -> ScenarioSet:
    """A :class:`ScenarioSet` from an array [scenario, month, ally, material] (t/month)."""
    values = np.asarray(shortfall, dtype=float)
    if values.ndim != 4 or values.shape[2:] != (len(allies), len(materials)):
        raise InputError(
            f"shortfall: expected shape [scenario, month, {len(allies)}, {len(materials)}], "
            f"got {values.shape}"
        )
    if (values < 0).any() or not np.isfinite(values).all():
        raise InputError("shortfall: values must be finite and >= 0")
    n = values.shape[0]
    p = np.full(n, 1.0 / n) if probability is None else np.asarray(probability, float)
    if p.shape != (n,) or (p < 0).any() or abs(p.sum() - 1.0) > 1e-6:
        raise InputError(f"probability: {n} non-negative values summing to 1 expected")
    coords = {
        "scenario": np.arange(n),
        "month": np.arange(1, values.shape[1] + 1),
        "ally": list(allies),
        "material": list(materials),
    }
    data = xr.DataArray(values, dims=tuple(coords), coords=coords, attrs={"units": "t/month"})
    prob = xr.DataArray(p, dims="scenario", coords={"scenario": coords["scenario"]})
    return ScenarioSet(data, prob, **extra)  # type: ignore[arg-type]


def explicit_scenarios(config: StockpileConfig) -> ScenarioSet:
    """The hand-given cases of ``config.scenarios`` (missing paths are zero shortfall)."""
    spec = config.scenarios
    if not isinstance(spec, ExplicitScenarios):
        raise InputError("scenarios.source: explicit cases expected")
    months = max(
        (
            len(path)
            for case in spec.cases
            for m in case.shortfall_t.values()
            for path in m.values()
        ),
        default=1,
    )
    allies, materials = list(config.allies), list(config.materials)
    values = np.zeros((len(spec.cases), max(months, 1), len(allies), len(materials)))
    for i, case in enumerate(spec.cases):
        for ally, by_material in case.shortfall_t.items():
            for material, path in by_material.items():
                values[i, : len(path), allies.index(ally), materials.index(material)] = path
    probability = np.array([case.probability for case in spec.cases])
    return make_scenarios(values, probability / probability.sum(), allies, materials)


def engine_scenarios(
    scenario: Scenario,
    allies: Sequence[str],
    stages: Mapping[str, str],
    samples: int = 200,
    seed: int = 0,
) -> ScenarioSet:
    """Sample ``scenario`` with the fast engine; keep every sample's monthly final-use
    shortfall (t/month) of each ally at each material's stage (``stages``: material → stage).

    Read by label from ``critmin.simulation.paths.sample_paths`` (same seed → same samples). The
    allies' base final use (t/year) and the stages' base prices (USD/t) come along.
    """
    market = scenario_model(scenario).market
    for ally in allies:
        if ally not in market.regions:
            raise InputError(
                f"ally {ally!r}: not a region of scenario {scenario.name!r}; add it to the "
                f"scenario's alliance (regions: {', '.join(market.regions)})"
            )
    for material, stage in stages.items():
        if stage not in market.stages:
            raise InputError(
                f"materials.{material}.stage = {stage!r}: not a stage of {scenario.commodity}; "
                f"valid: {', '.join(market.stages)}"
            )
    paths = sample_paths(scenario, samples, seed)
    materials = list(stages)
    # the shortfall the market leaves: reference use minus consumption, by label
    short = paths["shortfall"].sel(stage=list(stages.values()), country=list(allies))
    values = short.transpose("sample", "month", "country", "stage").values
    region = [market.regions.index(a) for a in allies]
    stage_ix = [market.stages.index(name) for name in stages.values()]
    consumption = market.final_demand[np.ix_(stage_ix, region)].T * 12.0  # [ally, material]
    # each month's shortfall splits by sector as the base use does
    split = np.transpose(market.sector_split[np.ix_(stage_ix, region)], (1, 0, 2))
    return make_scenarios(
        values,
        None,
        allies,
        materials,
        consumption_t_per_year=xr.DataArray(
            consumption,
            dims=("ally", "material"),
            coords={"ally": list(allies), "material": materials},
        ),
        price_usd_per_t=xr.DataArray(
            market.base_price[stage_ix], dims="material", coords={"material": materials}
        ),
        source=f"engine:{scenario.name}:samples={samples}:seed={seed}",
        sector_share=xr.DataArray(
            split,
            dims=("ally", "material", "sector"),
            coords={"ally": list(allies), "material": materials, "sector": market.sectors},
        ),
        commodity=scenario.commodity,
    )


def reduce_kmedoids(
    scenarios: ScenarioSet, k: int, weights: np.ndarray | None = None
) -> ScenarioSet:
    """K representative scenarios by weighted k-medoids; each gets its cluster's probability.

    Distance: Euclidean between whole monthly paths, each material's tonnes multiplied by
    ``weights`` [material] (e.g. damage per tonne, so that the distance is in USD).
    Initialisation is deterministic: first the probability-weighted 1-medoid, then repeatedly
    the scenario with the largest ``p x d^2`` to its nearest medoid (stops early when every
    scenario coincides with a medoid, so fewer than ``k`` may come back). Then assignment and
    medoid updates alternate until nothing changes.
    """
    if k < 1:
        raise InputError(f"k = {k}: at least one scenario must be kept")
    n = scenarios.n_scenarios
    if k >= n:
        return scenarios
    x = scenarios.shortfall.values
    if weights is not None:
        x = x * np.asarray(weights, float)[None, None, None, :]
    flat = x.reshape(n, -1)
    p = scenarios.probability.values
    sq = (flat**2).sum(1)
    dist = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * flat @ flat.T, 0.0))
    medoids = [int(np.argmin(dist @ p))]
    while len(medoids) < k:
        nearest = dist[:, medoids].min(1)
        score = p * nearest**2
        if score.max() <= 0.0:
            break
        medoids.append(int(np.argmax(score)))
    assign = np.argmin(dist[:, medoids], axis=1)
    for _ in range(MAX_KMEDOIDS_ITERATIONS):
        updated = list(medoids)
        for c in range(len(medoids)):
            members = np.flatnonzero(assign == c)
            if members.size:
                cost = dist[np.ix_(members, members)] @ p[members]
                updated[c] = int(members[np.argmin(cost)])
        new_assign = np.argmin(dist[:, updated], axis=1)
        if updated == medoids and (new_assign == assign).all():
            break
        medoids, assign = updated, new_assign
    mass = np.bincount(assign, weights=p, minlength=len(medoids))
    keep = mass > 0
    chosen = [m for m, kept in zip(medoids, keep, strict=True) if kept]
    return scenarios.select(chosen, mass[keep] / mass[keep].sum())


def mean_scenario(scenarios: ScenarioSet) -> ScenarioSet:
    """One scenario: the probability-weighted mean shortfall path (the mean-value problem)."""
    mean = (scenarios.shortfall * scenarios.probability).sum("scenario")
    values = mean.values[None]
    return replace(
        scenarios,
        shortfall=mean.expand_dims(scenario=[0])
        .transpose(*scenarios.shortfall.dims)
        .copy(data=values),
        probability=xr.DataArray([1.0], dims="scenario", coords={"scenario": [0]}),
    )


def full_scenarios(config: StockpileConfig) -> ScenarioSet:
    """The config's scenarios before reduction: every engine sample, or the explicit cases."""
    spec = config.scenarios
    if isinstance(spec, ExplicitScenarios):
        return explicit_scenarios(config)
    assert isinstance(spec, EngineScenarios)
    scenario = load_scenario(spec.file)
    stages = {m: (cfg.stage or m) for m, cfg in config.materials.items()}
    return engine_scenarios(scenario, list(config.allies), stages, spec.samples, spec.seed)


def reduce_for_config(config: StockpileConfig, full: ScenarioSet, k: int) -> ScenarioSet:
    """``full`` reduced to ``k`` scenarios by k-medoids, the distance in USD: each material's
    tonnes at its mean damage per tonne over the allies' sector mix."""
    from critmin.optimisation.stockpile.sectors import resolve_sectors

    sectors = resolve_sectors(config, full)
    weights = (sectors.share * sectors.damage_usd_per_t).sum("sector").mean("ally")
    return reduce_kmedoids(full, k, weights=weights.values)


def scenarios_from_config(config: StockpileConfig, k: int | None = None) -> ScenarioSet:
    """The config's scenarios, sampled and reduced to ``k`` (default: the config's ``k``);
    explicit cases are returned as given."""
    full = full_scenarios(config)
    spec = config.scenarios
    if isinstance(spec, ExplicitScenarios):
        return full
    assert isinstance(spec, EngineScenarios)
    return reduce_for_config(config, full, k if k is not None else spec.k)
