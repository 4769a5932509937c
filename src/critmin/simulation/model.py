"""Build the calibrated market and the value weights a scenario needs."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from critmin.errors import CritminError, ScenarioError
from critmin.network.build import load_network
from critmin.network.groups import check_country
from critmin.simulation.calibration import Market, calibrate
from critmin.simulation.params import default_parameters
from critmin.simulation.scenario import Scenario
from critmin.simulation.shocks import event_countries


@lru_cache(maxsize=8)
def _market(
    commodity: str,
    year: int,
    alliance: str,
    keep: tuple[str, ...],
    overrides: tuple[tuple[str, float], ...],
    shares: tuple[tuple[str, tuple[tuple[str, float], ...]], ...] = (),
) -> Market:
    params = default_parameters().with_overrides(dict(overrides))
    network = load_network(commodity, year=year, alliance=alliance)
    final_use_shares = {stage: dict(given) for stage, given in shares}
    return calibrate(network, params, keep=keep, final_use_shares=final_use_shares)


def build_market(scenario: Scenario) -> Market:
    """The base market of ``scenario`` (cached per commodity, year, alliance and countries)."""
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
            scenario.commodity,
            scenario.year,
            scenario.alliance,
            keep,
            tuple(sorted(scenario.parameters.items())),
            shares,
        )
    except ScenarioError:
        raise
    except CritminError as exc:
        raise ScenarioError(f"scenario {scenario.name!r}: {exc}") from None


def value_per_tonne(scenario: Scenario, market: Market) -> np.ndarray:
    """USD per tonne of unmet final use, [stage, sector]: the scenario's value added by sector,
    else the stage's base price (the value of the material itself)."""
    for sector in scenario.value_added_usd_per_t:
        if sector not in market.sectors:
            raise ScenarioError(
                f"value_added_usd_per_t.{sector}: unknown sector; valid: "
                f"{', '.join(market.sectors)}"
            )
    values = np.repeat(market.base_price[:, None], len(market.sectors), axis=1)
    for k, sector in enumerate(market.sectors):
        if sector in scenario.value_added_usd_per_t:
            values[:, k] = scenario.value_added_usd_per_t[sector]
    return values
