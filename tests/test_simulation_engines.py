"""The fast engine agrees with the exact HiGHS QP on every shipped example."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from critmin.simulation.blocks import Blocks
from critmin.simulation.exact import solve_stage
from critmin.simulation.fast import clear_fast
from critmin.simulation.runner import simulate
from critmin.simulation.scenario import load_scenario

EXAMPLES = sorted((Path(__file__).parents[1] / "examples" / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_fast_and_exact_agree_on_examples(path: Path) -> None:
    scenario = load_scenario(path)
    fast = simulate(scenario, engine="fast")
    exact = simulate(scenario, engine="exact")
    ref = fast.summary.reference[0]
    used = ref > 0
    short_f, short_e = fast.summary.shortfall[0], exact.summary.shortfall[0]
    # 2 % of the shortfall, plus 0.01 % of reference use for shortfalls near zero
    assert np.all(np.abs(short_f - short_e)[used] <= 0.02 * short_e[used] + 1e-4 * ref[used])
    assert fast.timeseries is not None
    assert exact.timeseries is not None
    demand = fast.timeseries["demand"].sum("sector").values > 0
    p_f = fast.timeseries["price_index"].values[demand]
    p_e = exact.timeseries["price_index"].values[demand]
    assert np.all(np.abs(p_f - p_e) <= 0.05 * p_e + 1e-6)
    assert np.allclose(
        fast.summary.value_at_risk, exact.summary.value_at_risk, rtol=0.02, atol=1e-4 * 1e9
    )


def _tiny(cap: float) -> tuple[Blocks, Blocks, np.ndarray, np.ndarray]:
    """Three regions: A (origin) and B produce 10 and 4; B and C each want 7 at base price.

    Blocks are [block, region, scenario]; caps [region, scenario]."""
    one = np.ones((1, 3, 1))
    q = np.array([10.0, 4.0, 0.0])[None, :, None]
    d = np.array([0.0, 7.0, 7.0])[None, :, None]
    sup = Blocks(0.5 * q, 0.5 * q, 0 * one, q * 1.2)
    dem = Blocks(-0.5 * d, 1.5 * d, 0 * one, np.inf * one)
    origin = np.array([True, False, False])
    caps = np.array([[np.inf], [np.inf], [cap]])
    return sup, dem, origin, caps


@pytest.mark.parametrize("cap", [np.inf, 6.0, 3.0, 0.0])
def test_two_zone_clearing_matches_the_qp_on_a_hand_case(cap: float) -> None:
    sup, dem, origin, caps = _tiny(cap)
    fast = clear_fast(sup, dem, origin, caps, pi_max=10.0)
    s1 = Blocks(sup.a[:, :, 0].T, sup.c[:, :, 0].T, sup.lo[:, :, 0].T, sup.hi[:, :, 0].T)
    d1 = Blocks(dem.a[:, :, 0].T, dem.c[:, :, 0].T, dem.lo[:, :, 0].T, dem.hi[:, :, 0].T)
    cons, prod, _, from_origin = solve_stage(s1, d1, origin, caps[:, 0], 1.0)
    # A buys nothing and C produces nothing: their prices are not defined
    assert np.allclose(fast.pi_cons[1:, 0], cons[1:], atol=1e-4)
    assert np.allclose(fast.pi_prod[:2, 0], prod[:2], atol=1e-4)
    assert from_origin[2] <= cap + 1e-6
    if cap == np.inf:
        # one world price: supply 14 * (0.5 + 0.5 p) = demand 14 * (1.5 - 0.5 p) -> p = 1
        assert np.allclose(cons[1:], 1.0, atol=1e-4)
    if cap == 0.0:
        # C buys only from B, whose output is capped at 4.8: 4.8 = 7 (1.5 - 0.5 p)
        assert cons[2] == pytest.approx((10.5 - 4.8) / 3.5, abs=1e-4)
        # B's own buyers are served by A at a lower price
        assert cons[1] < cons[2]


def test_a_glut_clears_at_price_zero_with_unsold_output() -> None:
    one = np.ones((1, 1, 1))
    # supply fixed at 10; demand 3 - p: at price 0 only 3 are bought, 7 are unsold
    sup = Blocks(0 * one, 10 * one, 10 * one, 10 * one)
    dem = Blocks(-1 * one, 3 * one, 0 * one, np.inf * one)
    fast = clear_fast(sup, dem, None, None, pi_max=12.0)
    assert fast.pi_cons[0, 0] == 0.0
    assert fast.dispose[0] == pytest.approx(7.0)
    _, _, unsold, _ = solve_stage(
        Blocks(sup.a[0], sup.c[0], sup.lo[0], sup.hi[0]),
        Blocks(dem.a[0], dem.c[0], dem.lo[0], dem.hi[0]),
        None,
        None,
        1.0,
    )
    assert unsold == pytest.approx(7.0, abs=1e-4)


def test_fast_and_exact_agree_on_sampled_scenarios() -> None:
    from critmin.simulation.runner import run_ensemble

    scenario = load_scenario(EXAMPLES[0].with_name("china_licensing_all.yaml"))
    fast = run_ensemble(scenario, 8, seed=21, engine="fast").summary
    exact = run_ensemble(scenario, 8, seed=21, engine="exact").summary
    used = fast.reference > 0
    gap = np.abs(fast.shortfall - exact.shortfall)
    assert np.all(gap[used] <= 0.02 * exact.shortfall[used] + 1e-4 * fast.reference[used])
    assert np.allclose(fast.peak_price[used], exact.peak_price[used], rtol=0.05)
    assert np.allclose(fast.mean_price[used], exact.mean_price[used], rtol=0.05)
