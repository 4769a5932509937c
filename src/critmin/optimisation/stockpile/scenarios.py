"""Second-stage scenarios: monthly shortfall per ally and material, with probabilities.

Sources: cases given by hand in the config, or an ensemble of the market model
(``engine_scenarios``: per-sample monthly final-use shortfall of the allies at the chosen
stages, by sector, with the market's value lost per tonne short). Large ensembles are reduced
to K representative scenarios by weighted k-medoids (``reduce_kmedoids``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import xarray as xr

from critmin.errors import InputError
from critmin.market.chain import Chain
from critmin.market.damage import rationed_value, sector_accounts
from critmin.optimisation.stockpile.config import (
    EngineScenarios,
    ExplicitScenarios,
    StockpileConfig,
)
from critmin.optimisation.stockpile.release import curves_from_breakpoints, loss_curves
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
    [ally, material, sector] is the base split of final use by sector (summing to 1 over
    sectors) and ``commodity`` names the engine's chain; both None for explicit cases.

    From the market model also (None for explicit cases): ``sector_shortfall`` [scenario,
    month, ally, material, sector] (t/month; sums to ``shortfall`` over sectors),
    ``damage_usd_per_t`` [same dims], the market's value lost per tonne short
    (``critmin.market.damage``: what a stockpiled tonne saves), ``rationed_usd_per_t`` [ally,
    material, sector], the value of a rationed tonne (the sector's rationing price), and
    ``elasticity``, the demand curves' elasticity.

    With the price response (``critmin.optimisation.stockpile.release``; engine scenarios
    unless ``scenarios.price_response`` is false): the convex loss of the shortfall left after
    a release, ``curve_width`` and ``curve_slope`` [scenario, month, ally, material, piece]
    (t/month, USD/t), ``curve_sector_share`` [..., piece, sector] (each sector's part of a
    piece) and ``curve_gap_usd`` [scenario, month, ally, material] (the convex envelope's
    largest gap below the market's loss at a breakpoint, USD/month). ``sample`` [scenario]:
    the engine sample each scenario is (to run a plan through the market), None for explicit
    cases and the mean-value problem. ``world_output_t_per_month`` [material] and
    ``supply_elasticity``: the market's base world output of each material's stage and its
    supply elasticity (what a purchase moves, ``acquisition``); None for explicit cases.

    ``release_effect`` [scenario, ally, material, tranche] (dimensionless, None = 1) and
    ``release_tranche_t`` [scenario, ally, material] (t over the horizon): the shortfall a
    tonne released at an ally's node covers as the market measures it, ``theta_1`` for the
    first ``release_tranche_t`` tonnes and ``theta_2`` beyond (``model.add_unmet_need``,
    ``critmin.optimisation.stockpile.fixed_point``); 1 is the partial equilibrium at the
    node, less where a released tonne partly displaces the ally's imports. Set by the
    market-consistent iteration; an ally's private file carries its own.
    ``release_cross`` [scenario, ally, material, source_ally, source_material, tranche]
    (dimensionless, None = 0; 0 on the diagonal): the shortfall at ``(ally, material)`` a
    tonne arriving at ``(source_ally, source_material)`` covers, within that node's first
    tranche and beyond (the market's effect across nodes: a partner's release, an oxide
    release at the magnet node).
    """

    shortfall: xr.DataArray
    probability: xr.DataArray
    consumption_t_per_year: xr.DataArray | None = None
    price_usd_per_t: xr.DataArray | None = None
    source: str = "explicit"
    sector_share: xr.DataArray | None = None
    commodity: str | None = None
    sector_shortfall: xr.DataArray | None = None
    damage_usd_per_t: xr.DataArray | None = None
    rationed_usd_per_t: xr.DataArray | None = None
    elasticity: float | None = None
    curve_width: xr.DataArray | None = None
    curve_slope: xr.DataArray | None = None
    curve_sector_share: xr.DataArray | None = None
    curve_gap_usd: xr.DataArray | None = None
    sample: xr.DataArray | None = None
    world_output_t_per_month: xr.DataArray | None = None
    supply_elasticity: float | None = None
    release_effect: xr.DataArray | None = None
    release_tranche_t: xr.DataArray | None = None
    release_cross: xr.DataArray | None = None

    @property
    def n_scenarios(self) -> int:
        return int(self.shortfall.sizes["scenario"])

    def select(self, index: Sequence[int], probability: np.ndarray) -> ScenarioSet:
        """The scenarios at positions ``index`` with new ``probability`` (renumbered)."""
        labels = np.arange(len(index))

        def pick(a: xr.DataArray) -> xr.DataArray:
            return a.isel(scenario=list(index)).assign_coords(scenario=labels)

        return replace(
            self,
            shortfall=pick(self.shortfall),
            sector_shortfall=_maybe(pick, self.sector_shortfall),
            damage_usd_per_t=_maybe(pick, self.damage_usd_per_t),
            curve_width=_maybe(pick, self.curve_width),
            curve_slope=_maybe(pick, self.curve_slope),
            curve_sector_share=_maybe(pick, self.curve_sector_share),
            curve_gap_usd=_maybe(pick, self.curve_gap_usd),
            sample=_maybe(pick, self.sample),
            release_effect=_maybe(pick, self.release_effect),
            release_tranche_t=_maybe(pick, self.release_tranche_t),
            release_cross=_maybe(pick, self.release_cross),
            probability=xr.DataArray(
                np.asarray(probability, float), dims="scenario", coords={"scenario": labels}
            ),
        )

    def for_allies(self, allies: Sequence[str]) -> ScenarioSet:
        """The scenarios of ``allies`` only (every per-ally array cut to them)."""
        who = list(allies)

        def cut(a: xr.DataArray) -> xr.DataArray:
            if "source_ally" in a.dims:
                a = a.sel(source_ally=who)
            return a.sel(ally=who)

        return replace(
            self,
            shortfall=cut(self.shortfall),
            consumption_t_per_year=_maybe(cut, self.consumption_t_per_year),
            sector_share=_maybe(cut, self.sector_share),
            sector_shortfall=_maybe(cut, self.sector_shortfall),
            damage_usd_per_t=_maybe(cut, self.damage_usd_per_t),
            rationed_usd_per_t=_maybe(cut, self.rationed_usd_per_t),
            curve_width=_maybe(cut, self.curve_width),
            curve_slope=_maybe(cut, self.curve_slope),
            curve_sector_share=_maybe(cut, self.curve_sector_share),
            curve_gap_usd=_maybe(cut, self.curve_gap_usd),
            release_effect=_maybe(cut, self.release_effect),
            release_tranche_t=_maybe(cut, self.release_tranche_t),
            release_cross=_maybe(cut, self.release_cross),
        )

    def value_by_sector(self) -> xr.DataArray | None:
        """[scenario, month, ally, material, sector] USD: the market's value lost before any
        release (damage per tonne x shortfall); None for explicit cases."""
        if self.damage_usd_per_t is None or self.sector_shortfall is None:
            return None
        return self.damage_usd_per_t * self.sector_shortfall

    def value_paths(self) -> xr.DataArray | None:
        """[scenario, month, ally, material] USD: :meth:`value_by_sector` summed over
        sectors; None for explicit cases."""
        value = self.value_by_sector()
        return None if value is None else value.sum("sector")


def _maybe(
    f: Callable[[xr.DataArray], xr.DataArray], a: xr.DataArray | None
) -> xr.DataArray | None:
    """``f(a)``, or None where ``a`` is None (the optional arrays of a ScenarioSet)."""
    return None if a is None else f(a)


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
    price_response: bool = True,
) -> ScenarioSet:
    """Sample ``scenario`` with the market model; keep every sample's monthly final-use
    shortfall (t/month) of each ally at each material's stage (``stages``: material → stage),
    by sector, and the market's value lost per tonne short (USD/t).

    Read by label from ``critmin.simulation.paths.sample_paths`` (same seed → same samples);
    the sectors' accounts are the market's own (``critmin.market.damage.sector_accounts`` at
    each month's price and demand). The allies' base final use (t/year) and the stages' base
    prices (USD/t) come along. A demand shock aimed at one sector is applied to the sector
    split all the same (the paths carry each stage's total use only): refused, naming it."""
    model = scenario_model(scenario)
    market = model.market
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
    for i, event in enumerate(scenario.events):
        sector = getattr(event, "sector", "all")
        if event.type == "demand_shock" and sector != "all":
            raise InputError(
                f"scenario {scenario.name!r}: events[{i}] is a demand shock on sector "
                f"{sector!r}; the stockpile reads each stage's total use from the sample "
                "paths, so sector-specific shocks are not supported"
            )
    paths = sample_paths(scenario, samples, seed)
    materials = list(stages)
    stage_names = list(stages.values())
    region = [market.regions.index(a) for a in allies]
    stage_ix = [market.stages.index(name) for name in stage_names]
    # the market's accounts by sector at each month's price; a demand shock scales every
    # sector's curve alike: multiplier = reference / base use
    price = paths["price_index"].values  # [sample, month, stage, country]
    base_use = market.final_demand  # [S, R] t/month
    multiplier = np.where(
        base_use > 0, paths["reference"].values / np.where(base_use > 0, base_use, 1.0), 1.0
    )
    accounts = sector_accounts(model.chain, price, multiplier)
    pick = np.ix_(stage_ix, region)

    def by_ally(a: np.ndarray) -> np.ndarray:
        """[sample, month, stage, region, sector] -> [sample, month, ally, material, sector]"""
        return np.transpose(a[:, :, pick[0], pick[1]], (0, 1, 3, 2, 4))

    sector_short = by_ally(accounts.shortfall)
    damage = by_ally(accounts.damage_per_tonne())
    curves: dict[str, xr.DataArray] = {}
    if price_response:
        curves = _curve_arrays(model.chain, price, multiplier, pick, allies, materials)
    values = sector_short.sum(-1)
    consumption = market.final_demand[pick].T * 12.0  # [ally, material]
    # each month's shortfall splits by sector as the base use does
    split = np.transpose(market.sector_split[pick], (1, 0, 2))
    rationed = np.transpose(rationed_value(model.chain)[pick], (1, 0, 2))
    dims5 = ("scenario", "month", "ally", "material", "sector")
    coords5 = {
        "scenario": np.arange(samples),
        "month": np.arange(1, values.shape[1] + 1),
        "ally": list(allies),
        "material": materials,
        "sector": market.sectors,
    }
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
        sector_shortfall=xr.DataArray(
            sector_short, dims=dims5, coords=coords5, attrs={"units": "t/month"}
        ),
        damage_usd_per_t=xr.DataArray(damage, dims=dims5, coords=coords5, attrs={"units": "USD/t"}),
        rationed_usd_per_t=xr.DataArray(
            rationed,
            dims=("ally", "material", "sector"),
            coords={"ally": list(allies), "material": materials, "sector": market.sectors},
            attrs={"units": "USD/t"},
        ),
        elasticity=float(model.params.final_elasticity),
        world_output_t_per_month=xr.DataArray(
            model.chain.base.production[stage_ix].sum(-1),
            dims="material",
            coords={"material": materials},
        ),
        supply_elasticity=float(model.params.supply_elasticity),
        sample=xr.DataArray(
            np.arange(samples), dims="scenario", coords={"scenario": np.arange(samples)}
        ),
        **curves,
    )


def _curve_arrays(
    chain: Chain,
    price: np.ndarray,
    multiplier: np.ndarray,
    pick: tuple[np.ndarray, ...],
    allies: Sequence[str],
    materials: Sequence[str],
) -> dict[str, xr.DataArray]:
    """The allies' convex loss curves of the shortfall left (``release``), as labelled arrays
    for :class:`ScenarioSet` (the ``curve_*`` fields)."""
    wanted = np.zeros(price.shape[-2:], dtype=bool)
    wanted[pick] = True  # the allies' nodes only (the accounts skip NaN prices)
    at_allies = np.where(wanted, price, np.nan)
    short, value, bulge = loss_curves(chain, at_allies, multiplier)  # [N, T, S, R, (K,) J]

    def by_ally(a: np.ndarray) -> np.ndarray:
        return np.moveaxis(a[:, :, pick[0], pick[1]], 3, 2)  # [N, T, ally, material, ...]

    curves = curves_from_breakpoints(by_ally(short), by_ally(value), by_ally(bulge))
    n, months = price.shape[:2]
    cell = {
        "scenario": np.arange(n),
        "month": np.arange(1, months + 1),
        "ally": list(allies),
        "material": list(materials),
    }
    pieces = {**cell, "piece": np.arange(1, curves.width.shape[-1] + 1)}
    sectors = {**pieces, "sector": list(chain.base.sectors)}
    return {
        "curve_width": xr.DataArray(curves.width, dims=tuple(pieces), coords=pieces),
        "curve_slope": xr.DataArray(curves.slope, dims=tuple(pieces), coords=pieces),
        "curve_sector_share": xr.DataArray(
            curves.sector_share, dims=tuple(sectors), coords=sectors
        ),
        "curve_gap_usd": xr.DataArray(curves.envelope_gap_usd, dims=tuple(cell), coords=cell),
    }


def reduce_kmedoids(
    scenarios: ScenarioSet, k: int, weights: np.ndarray | None = None
) -> ScenarioSet:
    """K representative scenarios by weighted k-medoids; each gets its cluster's probability.

    Distance: Euclidean between whole monthly paths, each material's tonnes multiplied by
    ``weights`` [material] (e.g. damage per tonne, so that the distance is in USD); without
    ``weights``, the paths of the market's value lost (USD) where the scenarios carry them,
    else tonnes.
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
    value = scenarios.value_paths()
    x = scenarios.shortfall.values
    if weights is not None:
        x = x * np.asarray(weights, float)[None, None, None, :]
    elif value is not None:
        x = value.transpose(*scenarios.shortfall.dims).values
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
    """One scenario: the probability-weighted mean shortfall path (the mean-value problem).
    Its damage per tonne is the expected value lost over the expected shortfall, so its loss
    before any release is the expected loss; it has no price response (the mean of the
    scenarios' curves is not the curve of the mean path), only that average damage."""
    p = scenarios.probability

    def mean(a: xr.DataArray) -> xr.DataArray:
        return (a * p).sum("scenario").expand_dims(scenario=[0]).transpose(*a.dims)

    damage = None
    short = _maybe(mean, scenarios.sector_shortfall)
    value = scenarios.value_by_sector()
    if value is not None and short is not None:
        damage = (mean(value) / short.where(short > 0)).fillna(0.0).transpose(*short.dims)
    return replace(
        scenarios,
        shortfall=mean(scenarios.shortfall),
        sector_shortfall=short,
        damage_usd_per_t=damage,
        probability=xr.DataArray([1.0], dims="scenario", coords={"scenario": [0]}),
        curve_width=None,
        curve_slope=None,
        curve_sector_share=None,
        curve_gap_usd=None,
        sample=None,
        release_effect=_maybe(mean, scenarios.release_effect),
        release_tranche_t=_maybe(mean, scenarios.release_tranche_t),
        release_cross=_maybe(mean, scenarios.release_cross),
    )


def full_scenarios(config: StockpileConfig) -> ScenarioSet:
    """The config's scenarios before reduction: every engine sample, or the explicit cases."""
    spec = config.scenarios
    if isinstance(spec, ExplicitScenarios):
        return explicit_scenarios(config)
    assert isinstance(spec, EngineScenarios)
    scenario = load_scenario(spec.file)
    stages = {m: (cfg.stage or m) for m, cfg in config.materials.items()}
    return engine_scenarios(
        scenario, list(config.allies), stages, spec.samples, spec.seed, spec.price_response
    )


def reduce_for_config(config: StockpileConfig, full: ScenarioSet, k: int) -> ScenarioSet:
    """``full`` reduced to ``k`` scenarios by k-medoids, the distance in USD: the market's
    value lost where the scenarios carry it, else each material's tonnes at its mean damage
    per tonne over the allies' sector mix."""
    if full.value_paths() is not None:
        return reduce_kmedoids(full, k)
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
