"""The shipped toy chain: its base state, and an equilibrium solved by hand."""

from __future__ import annotations

import numpy as np
import pytest

from critmin.market.chain import build_chain
from critmin.market.dynamics import Drivers
from critmin.market.params import default_parameters
from critmin.market.run import run_scenario
from critmin.market.toy import toy_base

PARAMS = {
    "supply_elasticity": 0.5,
    "curtailment_elasticity": 0.5,
    "demand_elasticity": -0.2,
    "substitution_elasticity": 0.0,
    "trade_elasticity": 1e4,  # near-perfect arbitrage: one price per stage
    "reexport_leakage": 0.0,
}


def _run(demand: float, backend: str = "compiled") -> tuple[np.ndarray, np.ndarray]:
    """World price index per stage and each stage's output (A's ore, B's refined, C's
    product) in one month with C's product demand times ``demand``."""
    base = toy_base()
    chain = build_chain(base, default_parameters().with_overrides(PARAMS),
                        np.zeros((3, 3), dtype=bool))
    drivers = Drivers(
        keep=np.ones((1, 3, 3)), added=np.zeros((1, 3, 3)), passed=np.ones((1, 3, 3)),
        even=np.zeros((1, 3, 3)), demand=np.full((1, 1, 3), demand),
        held=np.zeros((1, 0)), trigger=np.zeros(0),
    )
    trace = run_scenario(chain, drivers, backend)  # type: ignore[arg-type]
    lay = chain.layout
    prices = trace.prices[0, lay.hub]
    output = np.array([trace.activity[0, lay.production[s, s]] for s in range(3)])
    return prices, output


@pytest.mark.parametrize("backend", ["compiled", "exact"])
def test_base_state(backend: str) -> None:
    prices, output = _run(1.0, backend)
    # trade_elasticity 1e4 makes the balances stiff: the exact back-end rounds to ~3e-12
    np.testing.assert_allclose(prices, 1.0, rtol=0, atol=1e-10)
    np.testing.assert_allclose(output, [100.0, 50.0, 50.0], rtol=1e-10)


def test_demand_surge_matches_the_hand_solution() -> None:
    """C's product demand rises 10 %. With one price per stage and every plant above its
    base margin (expansion at half its output per unit of relative margin, capacity 25 %
    above output), the month clears where, in price indices p_o, p_r, p_p:

        ore:      100 + 50 (p_o - 1)        = 2 z_r                       (A's mine; B's input)
        refined:  z_r = 50 + 25 (p_r - 2/3 p_o - 1/3)    = z_p             (B's margin / 300)
        product:  z_p = 50 + 25 (p_p - 0.3 p_r - 0.7)    = D(p_p)          (C's margin / 1000)
        D(p) = 55 - k (p - 1),  k = 55 (1 - sqrt(2)^-0.2) / (sqrt(2) - 1)  (the curve's piece
                                                                          on [1, sqrt(2)])

    a linear system. The engine adds what the hand solution leaves out: trade arcs that need
    a price gap of flow / (1e4 x volume) and market makers of 1e-6 of the volume per unit of
    index; so the two agree to about 1e-5 (measured 5e-6)."""
    k = 55.0 * (1.0 - np.sqrt(2.0) ** -0.2) / (np.sqrt(2.0) - 1.0)
    # unknowns (p_o, p_r, p_p); each row is one equation moved to the left-hand side
    a = np.array([
        [50.0 + 2 * 25 * 2 / 3, -2 * 25.0, 0.0],        # ore
        [-25 * 2 / 3, 25.0 + 25 * 0.3, -25.0],          # refined: z_r - z_p = 0
        [0.0, -25 * 0.3, 25.0 + k],                     # product: z_p - D = 0
    ])
    b = np.array([
        -100 + 50 + 2 * (50 - 25 / 3),
        -(50 - 25 / 3) + (50 - 25 * 0.7),
        55 + k - 50 + 25 * 0.7,
    ])
    hand = np.linalg.solve(a, b)
    p_o, p_r, p_p = hand
    z_r = 50 + 25 * (p_r - 2 / 3 * p_o - 1 / 3)
    # the regime the equations assume
    assert p_o > 1
    assert 1 < p_p < np.sqrt(2)
    assert 100 + 50 * (p_o - 1) < 125
    assert 50 < z_r < 62.5
    prices, output = _run(1.1)
    np.testing.assert_allclose(prices, hand, rtol=1e-5)
    np.testing.assert_allclose(output, [100 + 50 * (p_o - 1), z_r, z_r], rtol=1e-5)
