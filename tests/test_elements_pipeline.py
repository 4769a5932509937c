"""The licence pipeline: exporters hold in China what they applied for until the decision."""

from __future__ import annotations

import numpy as np
import pytest

from critmin.simulation.backtests.runner import _override
from critmin.simulation.elements.single import simulate_single
from critmin.simulation.rules import compile_rules, load_rules, parse_rules
from critmin.simulation.rules.pipeline import decided_share


def _toy(days: float = 10.0, spread: float = 0.0, held: float = 1.0, leakage: float = 0.0):
    return parse_rules({
        "name": "toy", "title": "toy licence", "issuer": "CHN",
        "sources": [{"url": "https://example.org", "title": "toy"}],
        "measures": [{
            "id": "lic", "kind": "licence", "elements": ["Ge"], "products": ["metal"],
            "destinations": "all", "start": "2023-06-01", "leakage": leakage,
            "licence": {"processing_working_days": days, "processing_spread": spread,
                        "approval_rate": 0.5, "held_share": held},
        }],
    })  # fmt: skip


def test_toy_pipeline_by_hand():
    # 10 working days = 14 calendar days, no spread: filings from 1 June (day 0) are decided
    # from day 14 on; June has 30 days, so 16 of them see decisions
    pipe = compile_rules([_toy()], "2023-05", 4).commodity_pipeline["Ge"]
    np.testing.assert_array_equal(pipe.applied, [0.0, 1.0, 1.0, 1.0])
    np.testing.assert_allclose(pipe.approved, [0.0, 0.5 * 16 / 30, 0.5, 0.5], rtol=1e-15)
    np.testing.assert_allclose(pipe.rejected, pipe.approved, rtol=1e-15)
    # held: 14 days of June's flow, then constant
    np.testing.assert_allclose(pipe.held, [0.0, 14 / 30, 14 / 30, 14 / 30], rtol=1e-14)


def test_pipeline_approvals_are_the_compiled_approvals():
    # filing at a constant rate, the decided volume times the approval rate is the licence's
    # legal share: the pipeline and the cap describe the same licences
    for spread in (0.0, 0.5, 1.0):
        compiled = compile_rules([_toy(45.0, spread)], "2023-05", 8)
        np.testing.assert_allclose(compiled.commodity_pipeline["Ge"].approved[1:],
                                   compiled.commodity["Ge"][1:], rtol=1e-14, atol=1e-15)
    shipped = compile_rules([_override(load_rules("china_2023_08_gallium_germanium"),
                                       {"leakage": 0.0})], "2023-01", 16)
    np.testing.assert_allclose(shipped.commodity_pipeline["Ga"].approved[7:],
                               shipped.commodity["Ga"][7:], rtol=1e-14, atol=1e-15)


def test_decided_share_is_the_review_time_distribution():
    lic = _toy(45.0, 0.5).measures[0].licence
    assert lic is not None
    # 45 working days = 63 calendar days, spread 0.5: decisions between day 31.5 and 94.5
    np.testing.assert_allclose(decided_share(lic, np.array([0.0, 31.5, 63.0, 94.5, 200.0])),
                               [0.0, 0.0, 0.5, 1.0, 1.0], rtol=1e-15, atol=1e-15)


def test_held_share_scales_the_pipeline_and_zero_is_no_pipeline():
    full = compile_rules([_toy(45.0, 0.5)], "2023-05", 8).commodity_pipeline["Ge"]
    half = compile_rules([_toy(45.0, 0.5, 0.5)], "2023-05", 8).commodity_pipeline["Ge"]
    np.testing.assert_allclose(half.held, 0.5 * full.held, rtol=1e-15)
    compiled = compile_rules([_toy(45.0, 0.5, 0.0)], "2023-05", 8)
    allowed = compiled.commodity["Ge"]
    none = simulate_single("Ge", allowed)
    zero = simulate_single("Ge", allowed, held=compiled.commodity_pipeline["Ge"].net)
    np.testing.assert_array_equal(zero.price, none.price)
    np.testing.assert_array_equal(zero.exports, none.exports)


@pytest.fixture(scope="module")
def ge_run():
    rule = _override(load_rules("china_2023_08_gallium_germanium"), {"leakage": 0.0})
    compiled = compile_rules([rule], "2023-01", 16)
    pipe = compiled.commodity_pipeline["Ge"]
    res = simulate_single("Ge", compiled.commodity["Ge"], held=pipe.net)
    return compiled, pipe, res


def test_pipeline_conserves_metal(ge_run):
    compiled, pipe, res = ge_run
    flow = res.base_exports
    # the market booked the compiled stock: in = held + out (approved + rejected)
    np.testing.assert_allclose(res.held, pipe.held * flow, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        np.cumsum(pipe.applied) * flow,
        res.held + np.cumsum(pipe.approved + pipe.rejected) * flow, rtol=1e-12, atol=1e-12,
    )
    # the approved metal leaves China: the capped arc carries it (the cap binds)
    on = compiled.commodity["Ge"] < 1.0
    np.testing.assert_allclose(res.exports[on], pipe.approved[on] * flow, rtol=1e-9, atol=1e-9)
    # every zone balances with the pipeline's intake
    assert np.abs(res.balance).max() < 1e-9 * flow
    # August 2023: the whole base flow is filed and held, nothing decided yet
    assert res.held[7] == pytest.approx(flow, rel=1e-12)


def test_pipeline_holds_up_china_price_in_the_first_month(ge_run):
    compiled, _pipe, res = ge_run
    none = simulate_single("Ge", compiled.commodity["Ge"])
    # with nothing decided in August, exporters' purchases keep China's demand: the price
    # falls less than without the pipeline
    assert res.price[7, 0] > none.price[7, 0] + 0.01


def test_pipeline_is_deterministic(ge_run):
    compiled, pipe, res = ge_run
    again = simulate_single("Ge", compiled.commodity["Ge"], held=pipe.net)
    np.testing.assert_array_equal(again.price, res.price)
    np.testing.assert_array_equal(again.held, res.held)


def test_foresight_settles_where_the_first_damping_cycles():
    # an ensemble member (seed 20101) whose foreseen Ga path cycles with damping 0.5 and
    # settles with the next damping: steep stock response and a long rebuild
    from critmin.simulation.backtests.runner import run_backtest
    from critmin.simulation.elements import single

    market = {
        "rationing_price_index": 19.71921857984851, "demand_elasticity": -0.13036179495515826,
        "substitution_elasticity": -0.042016377204478, "supply_elasticity": 0.4526120839059863,
        "curtailment_elasticity": 0.9129673543264216, "utilisation": 0.8998832216082957,
        "inventory_months": 0.7312880872653247, "holding_cost": 0.012526713430000093,
        "inventory_release_slope": 3.9428379853576647, "rebuild_months": 6.598008402631937,
        "expectation_weight": 0.5193600468293628,
        "precautionary_elasticity": 3.0671119902614787,
    }  # fmt: skip
    rule = {"approval_rate": 0.5082467614487476, "leakage": 0.1926090921644771,
            "processing_spread": 0.03548968734700969, "held_share": 0.0}  # fmt: skip
    assert single.FORESIGHT_DAMPING[0] == 0.5
    frame = run_backtest("gallium-germanium-2023", parameters=market, **rule)
    again = run_backtest("gallium-germanium-2023", parameters=market, **rule)
    np.testing.assert_array_equal(frame.model.to_numpy(), again.model.to_numpy())
    assert np.isfinite(frame.model.to_numpy()).all()
