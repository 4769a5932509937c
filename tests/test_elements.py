"""Element-grain rare-earth chain: base state, mass balance per element, co-production."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from critmin.simulation.elements.chain import ZONES, Deposit, calibrate, chain_data
from critmin.simulation.elements.market import Zone, clear
from critmin.simulation.elements.model import MAGNET, Shocks, simulate_elements

N = 18


def _control(level: float = 0.2) -> Shocks:
    a = np.ones(N)
    a[3:15] = level
    keys = [("Dy", "oxide"), ("Dy", "metal"), ("Tb", "oxide"), ("Tb", "metal"), (MAGNET, MAGNET)]
    return Shocks(months=N, allowed={k: a for k in keys})


@pytest.fixture(scope="module")
def controlled():
    return simulate_elements(_control())


def test_baskets_sum_to_100_and_contents_in_cited_range():
    for name, basket in chain_data()["baskets"].items():
        assert sum(basket.values()) == pytest.approx(100.0), name
    base = calibrate()
    # cited ranges: total RE 29-32.5 %, Dy 0.2-6 % of NdFeB mass
    assert 0.29 <= sum(base.content.values()) <= 0.325
    assert 0.002 <= base.content["Dy"] <= 0.06
    assert 0 < base.content["Tb"] < base.content["Dy"]


def test_china_compound_exports_match_embedded_baci():
    from critmin.data import tables

    trade = tables.trade_year(2024)
    chn = trade[(trade.exporter == "CHN") & (trade.hs.astype(str).isin(["284690", "284610"]))]
    assert chn.quantity_t.sum() == pytest.approx(
        chain_data()["direct_use"]["china_compound_exports_t"], rel=1e-3
    )


def test_no_shock_is_the_base_state():
    res = simulate_elements(Shocks(months=6))
    assert np.abs(res.price - 1).max() < 1e-9
    assert np.abs(res.magnet_price - 1).max() < 1e-9
    assert np.abs(res.stage["unsold"]).max() < 1e-6


def _balance_checks(res) -> None:
    b = res.base
    st = res.stage
    # every zone, element, stage (oxide, metal) and month balances
    gap = (
        st["output"]
        + st["release"]
        - st["direct"]
        - st["processing"]
        - st["restock"]
        - st["unsold"]
        - st["net_export"]
    )
    scale = max(st["output"].max(), 1.0)
    assert np.abs(gap).max() < 1e-9 * scale
    # what one zone exports the other imports
    assert np.abs(st["net_export"].sum(axis=3)).max() < 1e-9 * scale
    mg = res.magnet
    mgap = (
        mg["output"]
        + mg["release"]
        - mg["direct"]
        - mg["restock"]
        - mg["unsold"]
        - mg["net_export"]
    )
    assert np.abs(mgap).max() < 1e-9 * max(mg["output"].max(), 1.0)
    assert np.abs(mg["direct"] - res.sector_use.sum(axis=1)).max() < 1e-9 * mg["output"].max()
    # mining -> separation: the baskets in fixed proportions, per element and zone
    sep = np.zeros_like(res.separated)
    for d, dep in enumerate(b.deposits):
        for e, el in enumerate(b.elements):
            sep[:, e, 1] += res.mine[:, d] * dep.basket[el] * dep.route_xcn[el]
            sep[:, e, 0] += res.mine[:, d] * dep.basket[el] * (1 - dep.route_xcn[el])
    assert np.allclose(sep, res.separated, rtol=1e-12, atol=1e-9)
    assert np.allclose(res.separated, st["output"][:, :, 0, :], rtol=1e-12, atol=1e-9)
    for el in b.magnet_elements:
        e = b.elements.index(el)
        # oxide -> metal: stoichiometric metal per oxide bought
        assert np.allclose(
            st["output"][:, e, 1, :], st["processing"][:, e, 0, :] * b.metal_per_oxide[el]
        )
        # metal bought by magnet makers = metal in magnets + metal to stock (>= 0)
        assert np.all(res.metal_used[:, e, :] <= res.metal_bought[:, e, :] + 1e-12)
        assert np.allclose(res.metal_bought[:, e, :], st["processing"][:, e, 1, :])
        # stocks: start + restock + unsold - release + unused metal, month by month
        expect = res.initial_stock[e, 1, :] + np.cumsum(
            st["restock"][:, e, 1, :]
            + st["unsold"][:, e, 1, :]
            - st["release"][:, e, 1, :]
            + res.metal_bought[:, e, :]
            - res.metal_used[:, e, :],
            axis=0,
        )
        assert np.allclose(res.stock[:, e, 1, :], expect, rtol=1e-12, atol=1e-6)
        expect_ox = res.initial_stock[e, 0, :] + np.cumsum(
            st["restock"][:, e, 0, :] + st["unsold"][:, e, 0, :] - st["release"][:, e, 0, :],
            axis=0,
        )
        assert np.allclose(res.stock[:, e, 0, :], expect_ox, rtol=1e-12, atol=1e-6)
    # every magnet made holds its NdPr at the recipe content
    nd = b.elements.index("NdPr")
    assert np.allclose(res.metal_used[:, nd, :], res.magnet["output"] * b.content["NdPr"])


def test_mass_balance_base_and_controlled(controlled):
    _balance_checks(simulate_elements(Shocks(months=6)))
    _balance_checks(controlled)


def test_coproduction_more_ndpr_brings_no_dy():
    base = calibrate()
    extra = Deposit(
        "USA_new",
        "USA",
        20000.0,
        dict(base.deposits[4].basket),  # Mountain Pass basket: no Dy, no Tb
        {e: 1.0 for e in base.elements},
    )
    bigger = replace(base, deposits=(*base.deposits, extra))
    # the base flows stay those of `base`: the new mine is extra supply
    a = simulate_elements(Shocks(months=6), base=base)
    b = simulate_elements(Shocks(months=6), base=bigger)
    e = base.elements
    nd, dy, tb = e.index("NdPr"), e.index("Dy"), e.index("Tb")
    assert b.separated[:, nd, :].sum() > a.separated[:, nd, :].sum() * 1.01
    # no more Dy or Tb: the new mine has none, and the cheaper NdPr lowers the basket value
    # of the mixed mines, which then produce (slightly) less of every element
    # (over the horizon: the lagged mine response makes month-to-month ripples)
    assert b.separated[:, dy, :].sum() <= a.separated[:, dy, :].sum() * (1 + 1e-12)
    assert b.separated[:, tb, :].sum() <= a.separated[:, tb, :].sum() * (1 + 1e-12)


def test_coproduction_dear_dy_raises_every_coproduct_in_proportion(controlled):
    b = controlled.base
    e = b.elements
    # Mount Weld is the only deposit separated (lights) outside China; its Dy goes to China.
    # Outside China, separated La/NdPr keeps Mount Weld + others' fixed basket mix: the
    # ratio changes only through mine output, which moves all elements together
    mines = controlled.mine
    assert mines.std(axis=0).max() > 0  # prices moved mine output
    for d, dep in enumerate(b.deposits):
        out = {el: mines[:, d] * dep.basket[el] for el in e}
        for el in e:
            if dep.basket["NdPr"] > 0:
                assert np.allclose(out[el] / out["NdPr"], dep.basket[el] / dep.basket["NdPr"])


def test_two_zone_clearing_closed_form():
    # linear demand D(1 + e (p - 1)), fixed output, no stocks: hand-solved prices
    china = Zone(120.0, 0.0, 0.0, 2.0, 0.01, 6.0, ((100.0, -0.5),))
    rest = Zone(80.0, 0.0, 0.0, 2.0, 0.01, 6.0, ((100.0, -0.5),))
    c, r = clear(china, rest, None)
    assert c.price == pytest.approx(1.0)
    assert r.price == pytest.approx(1.0)
    assert c.net_export == pytest.approx(20.0)
    c, r = clear(china, rest, 10.0)
    # China: 120 - 10 = 100 (1 - 0.5 (p - 1)) -> p = 0.8; rest: 80 + 10 = 100 (...) -> p = 1.2
    assert c.price == pytest.approx(0.8)
    assert r.price == pytest.approx(1.2)
    assert c.balance() == pytest.approx(0.0, abs=1e-9)
    assert r.balance() == pytest.approx(0.0, abs=1e-9)


def test_controls_split_prices_and_spare_ndpr(controlled):
    b = controlled.base
    free = simulate_elements(Shocks(months=N))
    z = ZONES.index("XCN")
    months = slice(6, 15)
    for el in ("Dy", "Tb"):
        e = b.elements.index(el)
        for s, stage in enumerate(("oxide", "metal")):
            cut = (
                controlled.supply(el, stage, "XCN")[months].sum()
                / free.supply(el, stage, "XCN")[months].sum()
            )
            assert cut < 0.7, (el, stage, cut)
            assert np.all(
                controlled.price[months, e, s, z] > controlled.price[months, e, s, 0] + 0.5
            )
    nd = (
        controlled.supply("NdPr", "oxide", "XCN")[months].sum()
        / free.supply("NdPr", "oxide", "XCN")[months].sum()
    )
    assert nd > 0.95
    mag = controlled.magnet_supply("XCN")[months].sum() / free.magnet_supply("XCN")[months].sum()
    assert mag < 0.7
    assert np.all(controlled.magnet_price[months, 1] > controlled.magnet_price[months, 0])


def test_gallium_germanium_two_zone_markets_balance_and_respect_the_cap():
    from critmin.simulation.elements.single import simulate_single

    allowed = np.ones(12)
    allowed[4:] = 0.3
    for el in ("Ga", "Ge"):
        free = simulate_single(el, np.ones(12))
        assert np.abs(free.price - 1).max() < 1e-9
        res = simulate_single(el, allowed)
        assert np.abs(res.balance).max() < 1e-9 * res.output.max()
        assert np.all(res.exports[4:] <= 0.3 * res.base_exports + 1e-9)
        assert np.all(res.price[4:, 1] > res.price[4:, 0])
