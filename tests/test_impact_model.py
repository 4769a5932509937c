"""The impact model on a hand-solvable three-industry economy, and its laws on real data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.errors import DataError
from critmin.impact.bridges import bridges, validate
from critmin.impact.io_tables import IOTable
from critmin.impact.market_inputs import MarketInputs, baseline_of, central
from critmin.impact.model import combine, impacts, mixed_backward, mixed_forward
from critmin.simulation import load_scenario

# Toy economy: Z (USD/yr), output x, value added va. A = Z x^-1, B = x^-1 Z:
#   A = [[.1, .1, 0], [.3, 0, .1], [0, .05, .2]]    B = [[.1, .2, 0], [.15, 0, .05], [0, .1, .2]]
Z = np.array([[120.0, 240.0, 0.0], [360.0, 0.0, 120.0], [0.0, 120.0, 240.0]])
X = np.array([1200.0, 2400.0, 1200.0])
VA = np.array([480.0, 1440.0, 720.0])  # v = [.4, .6, .6]


def toy_table() -> IOTable:
    return IOTable(
        id="toy",
        economy="USA",
        year=2020,
        output_year=2020,
        industries=("1", "2", "3"),
        names=("one", "two", "three"),
        Z=Z,
        x=X,
        va=VA,
        imported=X - Z.sum(0) - VA,
        other=np.zeros(3),
    )


def toy_links(dependent_share: float = 0.5) -> pd.DataFrame:
    """Gallium refining: made by industry 1, bought for integrated circuits by industry 2."""
    common = {"economy": "USA", "commodity": "gallium", "stage": "refining", "grade": "assumption"}
    rows = [
        {**common, "sector": "", "role": "supply", "industry": "1", "use_share": np.nan,
         "dependent_share": np.nan, "basis": "toy", "source_url": ""},
        {**common, "sector": "integrated_circuits", "role": "use", "industry": "2",
         "use_share": 1.0, "dependent_share": dependent_share, "basis": "toy", "source_url": ""},
    ]  # fmt: skip
    return validate(pd.DataFrame(rows))


def toy_inputs(
    unmet: float = 2.0, price: float = 150.0, produced: float = 4.5, reference: float = 10.0
) -> MarketInputs:
    """One month: 10 t wanted, ``unmet`` t not served; price 150 vs 100 USD/t; production
    4.5 t vs 5 t in the baseline."""
    use = pd.DataFrame(
        [
            {"scenario": "s", "country": "USA", "commodity": "gallium", "stage": "refining",
             "sector": "integrated_circuits", "period": "2026-01", "months": 1.0,
             "reference_t": reference, "used_t": reference - unmet, "unmet_t": unmet,
             "baseline_unmet_t": 0.0}
        ]
    )  # fmt: skip
    supply = pd.DataFrame(
        [
            {"scenario": "s", "country": "USA", "commodity": "gallium", "stage": "refining",
             "period": "2026-01", "months": 1.0, "produced_t": produced, "baseline_t": 5.0,
             "price_usd_per_t": price, "base_price_usd_per_t": 100.0}
        ]
    )  # fmt: skip
    return MarketInputs(use=use, supply=supply, weights=pd.Series({"s": 1.0}))


def test_mixed_backward_and_forward_match_the_hand_solution() -> None:
    """Industry 1 loses 10: its suppliers 2 and 3 lose (I - A_nn)^-1 A_n1 * 10 and its buyers
    10 * B_1n (I - B_nn)^-1 (solved by hand in the comments)."""
    t = toy_table()
    d = np.array([[-10.0, 0.0, 0.0]])
    back = mixed_backward(t.A, d)[0]
    # (I - A_nn) y = A_n1 d1: [[1, -.1], [-.05, .8]] y = [-3, 0] -> y3 = .0625 y2,
    # y2 (1 - .00625) = -3
    np.testing.assert_allclose(back, [0.0, -3 / 0.99375, -0.0625 * 3 / 0.99375], rtol=1e-13)
    fwd = mixed_forward(t.B, d)[0]
    # z (I - B_nn) = d1 B_1n = [-2, 0] -> z3 = .0625 z2, z2 (1 - .00625) = -2
    np.testing.assert_allclose(fwd, [0.0, -2 / 0.99375, -0.0625 * 2 / 0.99375], rtol=1e-13)
    total = combine(d, back[None], fwd[None], t.x[None] / 12)[0]
    # an industry hit both ways loses the larger of the two
    np.testing.assert_allclose(total, [-10.0, -3 / 0.99375, -0.1875 / 0.99375], rtol=1e-13)
    # gains add, losses are capped at the period's output
    capped = combine(np.array([[-500.0, 5.0, 0.0]]), np.zeros((1, 3)), np.zeros((1, 3)),
                     t.x[None] / 12)  # fmt: skip
    np.testing.assert_allclose(capped[0], [-100.0, 5.0, 0.0], rtol=1e-15)


def test_toy_economy_impacts_are_the_hand_computed_ones() -> None:
    """Direct: industry 2 loses 0.2 (unmet) x 0.5 (dependent) x 2400/12 = 20; producer 1
    loses (4.5 - 5) x 100 = 50. Backward and forward on 3: 0.05 x (-20) / 0.8 = -1.25 both.
    On the directly hit ones, from the others: demand, 1: .1 x -20 = -2; 2: .3 x -50 +
    .1 x -1.25 = -15.125; deliveries, 1: .15 x -20 = -3; 2: .2 x -50 + .1 x -1.25 = -10.125,
    all smaller than their direct losses. Value added: v * dx = [-20, -12, -0.75]; prices:
    2 pays 50 x 8 = 400, 1 receives 50 x 4.5 = 225. GDP: -207.75 USD."""
    result = impacts(toy_inputs(), "USA", table=toy_table(), links=toy_links())
    ds = result.dataset.sel(scenario="s")
    np.testing.assert_allclose(ds["direct_output_usd"], [-50.0, -20.0, 0.0], rtol=1e-14)
    np.testing.assert_allclose(ds["backward_output_usd"], [-2.0, -15.125, -1.25], rtol=1e-14)
    np.testing.assert_allclose(ds["forward_output_usd"], [-3.0, -10.125, -1.25], rtol=1e-14)
    np.testing.assert_allclose(ds["output_change_usd"], [-50.0, -20.0, -1.25], rtol=1e-14)
    np.testing.assert_allclose(ds["va_quantity_usd"], [-20.0, -12.0, -0.75], rtol=1e-14)
    np.testing.assert_allclose(ds["va_price_usd"], [225.0, -400.0, 0.0], rtol=1e-14)
    assert result.gdp_change_usd == pytest.approx(-207.75, rel=1e-14)
    assert result.unbridged.empty


def test_zero_disruption_gives_zero_impact_on_the_toy() -> None:
    quiet = toy_inputs(unmet=0.0, price=100.0, produced=5.0)
    result = impacts(quiet, "USA", table=toy_table(), links=toy_links())
    assert float(np.abs(result.dataset["va_change_usd"]).max()) == 0.0
    assert result.gdp_change_usd == 0.0


@settings(max_examples=40, deadline=None)
@given(
    a=st.floats(0.0, 10.0),
    b=st.floats(0.0, 10.0),
    share=st.floats(0.01, 1.0),
    price=st.floats(100.0, 600.0),
)
def test_impacts_grow_with_shortfall(a: float, b: float, share: float, price: float) -> None:
    """More unmet need never costs less output in any industry, nor less value added through
    output. (The price channel can move the other way: a unit not bought does not pay the
    premium; the sweep tests that GDP losses grow with severity on the market's own prices.)"""
    low, high = sorted((a, b))
    out = []
    for unmet in (low, high):
        inputs = toy_inputs(unmet=unmet, price=price)
        out.append(impacts(inputs, "USA", table=toy_table(), links=toy_links(share)))
    lost = [r.dataset["output_change_usd"].to_numpy() for r in out]
    assert (lost[1] <= lost[0] + 1e-9).all()
    va = [float(r.dataset["va_quantity_usd"].sum()) for r in out]
    assert va[1] <= va[0] + 1e-9


def test_probability_weights_the_scenarios() -> None:
    one, two = toy_inputs(unmet=2.0), toy_inputs(unmet=6.0)
    both = MarketInputs(
        use=pd.concat([one.use, two.use.assign(scenario="t")], ignore_index=True),
        supply=pd.concat([one.supply, two.supply.assign(scenario="t")], ignore_index=True),
        weights=pd.Series({"s": 0.3, "t": 0.1}),
    )
    result = impacts(both, "USA", table=toy_table(), links=toy_links())
    gdp = result.summary().set_index("scenario")["gdp_change_usd"]
    assert result.gdp_change_usd == pytest.approx(0.3 * gdp["s"] + 0.1 * gdp["t"], rel=1e-14)
    expected = result.expected()["va_change_usd"].sum()
    assert float(expected) == pytest.approx(result.gdp_change_usd, rel=1e-12)


def test_effects_without_a_bridge_are_reported_not_dropped() -> None:
    links = toy_links()
    only_supply = links[links["role"] == "supply"]
    result = impacts(toy_inputs(), "USA", table=toy_table(), links=only_supply)
    gap = result.unbridged
    assert list(gap["channel"]) == ["use"]
    assert gap["unmet_fraction"].iloc[0] == pytest.approx(0.2)
    assert gap["price_cost_usd"].iloc[0] == pytest.approx(400.0)


def test_bridges_are_valid_and_cover_the_example_chain() -> None:
    frame = bridges()
    assert set(frame["economy"]) == {"USA", "JPN"}
    assert frame["basis"].str.strip().ne("").all()
    for economy in ("USA", "JPN"):
        rare = frame[(frame["economy"] == economy) & (frame["commodity"] == "rare_earths")]
        assert set(rare.loc[rare["role"] == "supply", "stage"]) == {
            "mining", "separation", "metal", "magnet"
        }  # fmt: skip
        assert {"ev_traction", "other", "wind", "direct_use"} <= set(rare["sector"])


def test_bridge_errors_name_the_field() -> None:
    bad = toy_links()
    bad.loc[1, "dependent_share"] = 1.5
    with pytest.raises(DataError, match=r"line 3: dependent_share = 1\.5: must lie in"):
        validate(bad)
    shares = pd.concat([toy_links(), toy_links().iloc[[1]]], ignore_index=True)
    with pytest.raises(DataError, match="use_share of USA/gallium/refining/integrated_circuits"):
        validate(shares)


@pytest.fixture(scope="module")
def ree_ban() -> MarketInputs:
    scenario = load_scenario("examples/scenarios/china_ree_ban_usa_jpn.yaml")
    return central({"ban": scenario, "none": baseline_of(scenario)}, {"ban": 0.5, "none": 0.5})


@pytest.mark.parametrize("country", ["USA", "JPN"])
def test_no_disruption_costs_nothing_and_the_ban_costs_both_allies(
    ree_ban: MarketInputs, country: str
) -> None:
    result = impacts(ree_ban, country)
    ds = result.dataset
    for name in ("output_change_usd", "va_change_usd"):
        assert float(np.abs(ds[name].sel(scenario="none")).max()) == 0.0
    gdp = result.summary().set_index("scenario")["gdp_change_usd"]
    assert gdp["ban"] < 0.0
    assert result.gdp_change_usd == pytest.approx(0.5 * gdp["ban"], rel=1e-12)
    assert result.unbridged.empty
    # the directly hit industries are the bridged buyers of magnets
    hit = ds["direct_output_usd"].sel(scenario="ban")
    buyers = set(bridges().query("economy == @country and sector == 'ev_traction'")["industry"])
    assert all(float(hit.sel(industry=code)) < 0 for code in buyers)
