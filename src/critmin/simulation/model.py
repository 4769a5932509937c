"""A scenario's market: the calibrated chain, its clearing structure and its drivers.

The structure depends only on the scenario file (which stages carry origin classes, where
stockpiles are released), never on sampled values, so a central run and every sample of an
ensemble share one :class:`ScenarioModel` (cached per scenario).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from critmin.errors import CritminError, ScenarioError
from critmin.market.chain import Base, Chain, build_chain
from critmin.market.dynamics import Drivers
from critmin.market.newton import excess
from critmin.market.params import Parameters, default_parameters
from critmin.network.build import load_network
from critmin.network.groups import check_country
from critmin.network.supply_network import SupplyNetwork
from critmin.simulation.calibration import Market, calibrate, linked_segments
from critmin.simulation.scenario import Scenario
from critmin.simulation.shocks import ADDED, RELEASE, Shocks, build_shocks, event_countries

Array = np.ndarray


@dataclass(frozen=True)
class ScenarioModel:
    """Everything a scenario's runs share: base state, chain, base solution."""

    scenario: Scenario
    market: Market
    params: Parameters
    chain: Chain
    q_base: Array  # [term] activities of the base solution (t/month)
    sector_reference: Array  # [S, R, K] base final use by sector (t/month)

    @property
    def regions(self) -> list[str]:
        return self.market.regions

    @property
    def stages(self) -> list[str]:
        return self.market.stages


@lru_cache(maxsize=8)
def _market(
    commodity: str,
    year: int,
    alliance: str,
    keep: tuple[str, ...],
    regions: int,
    utilisation: float,
    inventory_months: float,
    shares: tuple[tuple[str, tuple[tuple[str, float], ...]], ...] = (),
    event_stages: tuple[str, ...] = (),
) -> Market:
    network = load_network(commodity, year=year, alliance=alliance)
    final_use_shares = {stage: dict(given) for stage, given in shares}
    return calibrate(
        network, regions, utilisation, inventory_months, keep=keep,
        final_use_shares=final_use_shares, segment=_segment(network, commodity, event_stages),
    )


def _segment(network: SupplyNetwork, commodity: str, event_stages: tuple[str, ...]) -> str | None:
    """The stage whose linked chain the events act on (None: the first chain); events on
    two chains that no yield links are refused."""
    ds = network.ds.sel(commodity=commodity)
    world = ds["world_production"]
    stages = [s for s in network.stages_of(commodity) if np.isfinite(float(world.sel(stage=s)))]
    if not stages:
        return None
    hit = {tuple(g) for g in linked_segments(ds, stages) for s in event_stages if s in g}
    if len(hit) > 1:
        chains = "; ".join(", ".join(g) for g in sorted(hit))
        raise ScenarioError(
            f"events: the stages they name lie on chains no stage yield links ({chains}); "
            "simulate each chain in a scenario of its own"
        )
    return next(iter(hit))[0] if hit else None


def _base(market: Market) -> Base:
    return Base(
        stages=market.stages, regions=market.regions, sectors=market.sectors,
        production=market.production, capacity=market.capacity,
        final_demand=market.final_demand, sector_split=market.sector_split,
        yields=market.yields, recycling=market.recycling, flows=market.flows,
        inventory=market.inventory, base_price=market.base_price,
    )


def _event_stages(scenario: Scenario) -> tuple[str, ...]:
    """Every stage a scenario's events name (sorted, for the cache key)."""
    named: set[str] = set()
    for event in scenario.events:
        named.update(getattr(event, "stages", None) or ())
        stage = getattr(event, "stage", None)
        if stage is not None:
            named.add(stage)
    return tuple(sorted(named))


def parameters_of(scenario: Scenario) -> Parameters:
    """The default parameters with the scenario's overrides."""
    return default_parameters().with_overrides(dict(scenario.parameters))


def calibrated_market(scenario: Scenario) -> Market:
    """The base state of ``scenario``'s chain (cached per commodity, year, alliance, regions)."""
    params = parameters_of(scenario)
    keep = tuple(event_countries(scenario))
    for stage, given in scenario.final_use_shares.items():
        for country in given:
            try:
                check_country(country)
            except CritminError as exc:
                raise ScenarioError(f"final_use_shares.{stage}.{country}: {exc}") from None
    shares = tuple(
        (stage, tuple(sorted(given.items())))
        for stage, given in sorted(scenario.final_use_shares.items())
    )
    try:
        return _market(
            scenario.commodity, scenario.year, scenario.alliance, keep, params.regions,
            params.utilisation, params.inventory_months, shares, _event_stages(scenario),
        )
    except ScenarioError:
        raise
    except CritminError as exc:
        raise ScenarioError(f"scenario {scenario.name!r}: {exc}") from None


@lru_cache(maxsize=16)
def _model(text: str) -> ScenarioModel:
    scenario = Scenario.model_validate_json(text)
    params = parameters_of(scenario)
    market = calibrated_market(scenario)
    for sector in scenario.protected_sectors:
        if sector not in market.sectors:
            raise ScenarioError(
                f"protected_sectors: {sector!r} is not a sector of {market.commodity}; valid: "
                f"{', '.join(market.sectors)}"
            )
    shocks = build_shocks(scenario, market, 1, None)
    shape = (market.n_stages, market.n_regions)
    even = np.zeros(shape, dtype=bool)
    even.flat[np.flatnonzero(np.diff(shocks.terms[RELEASE].ptr) > 0)] = True
    # cells events bring into play: new capacity (and its input stage), stockpiles
    added = np.zeros(shape, dtype=bool)
    added.flat[np.flatnonzero(np.diff(shocks.terms[ADDED].ptr) > 0)] = True
    extra = even.copy()
    extra[shocks.price_stage, shocks.price_region] = True
    chain = build_chain(
        _base(market), params, shocks.origin,
        protected=frozenset(scenario.protected_sectors),
        value_of_use=dict(scenario.value_added_usd_per_t),
        even_release=even,
        price_release=[
            (int(s), int(r)) for s, r in zip(shocks.price_stage, shocks.price_region, strict=True)
        ],
        extra_active=extra,
        new_capacity=added,
    )
    st, v = chain.structure, chain.values
    q = np.zeros(st.n_terms)
    excess(np.ones(st.n_nodes), q, np.zeros(st.n_terms), np.zeros(st.n_nodes), st.term_ptr,
           st.term_node, st.term_coef, st.seg_ptr, st.price0, v.alpha, v.beta, v.lo, v.hi,
           v.cost)
    reference = market.final_demand[:, :, None] * market.sector_split
    return ScenarioModel(scenario, market, params, chain, q, reference)


def scenario_model(scenario: Scenario) -> ScenarioModel:
    """The (cached) model of ``scenario``."""
    return _model(scenario.model_dump_json())


def drivers(shocks: Shocks, j: int = 0) -> Drivers:
    """Scenario ``j``'s drivers from the compiled shocks (dense, [month, ...])."""
    return Drivers(
        keep=np.ascontiguousarray(1.0 - shocks.outage[..., j]),
        added=np.ascontiguousarray(shocks.added[..., j]),
        passed=np.ascontiguousarray(1.0 - shocks.blocked[..., j]),
        even=np.ascontiguousarray(shocks.release_even[..., j]),
        demand=np.ascontiguousarray(shocks.demand[..., j]),
        held=np.ascontiguousarray(shocks.price_stock[j].T),
        trigger=np.ascontiguousarray(shocks.price_trigger, dtype=float),
    )
