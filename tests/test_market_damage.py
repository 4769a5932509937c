"""What a missing tonne costs (critmin.market.damage): the accounts from prices and demand
multipliers equal the market's own, month by month and sector by sector."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from critmin.market.damage import SHORT_TOLERANCE, rationed_value, sector_accounts
from critmin.simulation import load_scenario, simulate
from critmin.simulation.model import scenario_model

SCENARIOS = Path(__file__).resolve().parents[1] / "examples" / "scenarios"


def _central(name: str, **parameters: float) -> tuple:
    scenario = load_scenario(SCENARIOS / name)
    if parameters:
        scenario = scenario.model_copy(update={"parameters": parameters})
    result = simulate(scenario)
    return scenario_model(scenario), result.data


@pytest.mark.parametrize("name", ["china_ree_ban_usa_jpn.yaml", "ev_wind_demand_surge.yaml"])
def test_accounts_from_prices_equal_the_central_run_sector_by_sector(name: str) -> None:
    """Every account of every month, stage, region and sector, from the run's prices and its
    demand multipliers (sector-specific in the demand surge) on the base curves."""
    model, data = _central(name)
    reference = data["reference_demand"].values  # [T, S, R, K]
    base = model.sector_reference[None]
    multiplier = np.where(base > 0, reference / np.where(base > 0, base, 1.0), 1.0)
    accounts = sector_accounts(model.chain, data["price_index"].values, multiplier)
    scale = float(np.abs(data["value_lost"].values).max())
    np.testing.assert_allclose(
        accounts.value_lost, data["value_lost"].values, rtol=1e-9, atol=1e-12 * scale
    )
    for mine, theirs in (
        ("consumption", "consumption"),
        ("given_up", "demand_given_up"),
        ("unmet", "unmet_need"),
        ("reference", "reference_demand"),
    ):
        np.testing.assert_allclose(
            getattr(accounts, mine), data[theirs].values, rtol=1e-9, atol=1e-9
        )
    assert float(data["value_lost"].sum()) > 0


def test_a_rationed_tonne_costs_its_rationing_price() -> None:
    """With a low rationing price the ban rations: beyond the ceiling every extra rationed
    tonne adds exactly c_k P0 to the value lost, in every sector of every rationed cell."""
    model, data = _central(
        "china_ree_ban_usa_jpn.yaml", rationing_price_index=1.3, reexport_leakage=0.0
    )
    price = data["price_index"].values
    accounts = sector_accounts(model.chain, price, np.ones_like(price))
    c = rationed_value(model.chain)  # [S, R, K] USD/t
    ceiling = c / model.market.base_price[:, None, None]
    rationed = accounts.unmet > 1e-6
    assert rationed.sum() > 10
    civil = np.where(np.isfinite(ceiling), ceiling, 0.0).max(axis=2)  # one ceiling per cell
    at_ceiling = sector_accounts(
        model.chain, np.broadcast_to(civil, price.shape).copy(), np.ones_like(price)
    )
    extra = accounts.value_lost - at_ceiling.value_lost
    expected = np.broadcast_to(c, extra.shape) * accounts.unmet
    np.testing.assert_allclose(extra[rationed], expected[rationed], rtol=1e-9)
    # and the default ceilings: 10 x base price for every civil sector
    default = rationed_value(
        scenario_model(load_scenario(SCENARIOS / "china_ree_ban_usa_jpn.yaml")).chain
    )
    finite = np.isfinite(default)
    np.testing.assert_allclose(
        default[finite],
        (10.0 * np.broadcast_to(model.market.base_price[:, None, None], default.shape))[finite],
        rtol=1e-12,
    )


def test_damage_per_tonne_is_the_value_lost_per_tonne_short() -> None:
    model, data = _central("china_ree_ban_usa_jpn.yaml")
    price = data["price_index"].values
    accounts = sector_accounts(model.chain, price, np.ones_like(price))
    damage = accounts.damage_per_tonne()
    short = accounts.shortfall > SHORT_TOLERANCE * accounts.reference
    assert short.sum() > 100
    assert (damage[~short] == 0).all()
    np.testing.assert_allclose(
        (damage * accounts.shortfall)[short], accounts.value_lost[short], rtol=1e-12
    )
    # a tonne priced out costs more than its base price: the surplus lost on the tonnes still
    # bought counts too (about 5 x P0 per tonne short at the ban's prices, elasticity -0.25)
    ratio = (damage / model.market.base_price[None, :, None, None])[short]
    assert (ratio > 1.0).all()
