"""Element-grain rare-earth chain on the market core: base state, mass balance per element,
co-production, the magnet recipe and thrifting, two-zone prices, both back-ends."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from critmin.market.params import default_parameters
from critmin.market.problem import Builder
from critmin.simulation.elements.chain import ZONES, Deposit, calibrate, chain_data
from critmin.simulation.elements.model import MAGNET, Shocks, simulate_elements
from critmin.simulation.elements.zones import Goods, GoodsLayout, ZoneState, clear, write_goods
from critmin.simulation.rules import compile_rules, load_rules

N = 18
AGREE = 1e-6  # measured: 1e-8 (prices) and 2e-9 (quantities), April 2025 rules


def _control(level: float = 0.2) -> Shocks:
    a = np.ones(N)
    a[3:15] = level
    keys = [("Dy", "oxide"), ("Dy", "metal"), ("Tb", "oxide"), ("Tb", "metal"), (MAGNET, MAGNET)]
    return Shocks(months=N, allowed={k: a for k in keys})


@pytest.fixture(scope="module")
def controlled():
    return simulate_elements(_control())


@pytest.fixture(scope="module")
def free():
    return simulate_elements(Shocks(months=N))


def test_baskets_sum_to_100_and_contents_in_cited_range():
    for name, basket in chain_data()["baskets"].items():
        assert sum(basket.values()) == pytest.approx(100.0), name
    base = calibrate()
    # cited ranges: total RE 29-32.5 %, Dy 0.2-6 % of NdFeB mass
    assert 0.29 <= sum(base.content.values()) <= 0.325
    assert 0.002 <= base.content["Dy"] <= 0.06
    assert 0 < base.content["Tb"] < base.content["Dy"]


def test_2009_world_has_china_as_the_dominant_separator_and_exporter():
    """The 2010-11 episode's base state (chain.yaml years.2009): China mined 129,000 of
    132,600 t REO (USGS MCS 2011: India 2,700, Brazil 550, Malaysia 350) and separated all
    of it; China made 79.4 % of the world's sintered NdFeB (China.org.cn, 2010 shares) and
    was a net exporter of every element; its modelled exports of oxides and metals are
    within 2 % of BACI's 43,824 t (HS 284690 + 284610 + 280530, 2009; the metal part is
    derived from magnet making, not from the data). In 2024 China was a net importer of NdPr
    oxide (Lynas and MP separating outside China)."""
    from critmin.data import tables

    b9, b24 = calibrate(2009), calibrate(2024)
    china = sum(b9.oxide_output["CHN"].values())
    rest = sum(b9.oxide_output["XCN"].values())
    assert china == pytest.approx(129_000, rel=1e-12)
    assert rest == pytest.approx(2_700 + 550 + 350, rel=1e-12)
    assert china / (china + rest) == pytest.approx(0.9729, abs=1e-4)
    made = b9.magnet_output
    assert made["CHN"] / (made["CHN"] + made["XCN"]) == pytest.approx(0.794, rel=1e-9)
    exports = 0.0
    for el in b9.elements:
        flow = b9.oxide_flow(el) + (b9.metal_flow(el) if el in b9.magnet_elements else 0.0)
        assert flow > 0, el
        exports += flow
    trade = tables.trade_year(2009)
    hs = trade.hs.astype(str).isin(["284690", "284610", "280530"])
    baci = float(trade[(trade.exporter == "CHN") & hs].quantity_t.sum())
    assert baci == pytest.approx(43_824, abs=1)
    assert exports == pytest.approx(baci, rel=0.02)
    assert b9.oxide_flow("NdPr") > 0 > b24.oxide_flow("NdPr")
    assert b9.year == 2009
    assert b24.year == 2024


def test_2009_and_2022_figures_carry_year_licence_and_grade():
    """Every source of the 2009 element chain and of the 2022 Ga/Ge markets is cited with
    its year, licence and quality grade."""
    from critmin.simulation.elements.chain import year_data
    from critmin.simulation.elements.single import single_data

    def sources(node: object) -> list[dict]:
        if isinstance(node, dict):
            found = [node] if "url" in node else []
            return found + [s for v in node.values() for s in sources(v)]
        if isinstance(node, list):
            return [s for v in node for s in sources(v)]
        return []

    cited = sources(year_data(2009)) + sources(single_data()["years"][2022])
    assert len(cited) >= 8
    for src in cited:
        assert src["url"].startswith("http"), src
        assert src["grade"] in {"primary", "secondary", "assumption", "derived"}, src
        assert src["licence"], src
        assert isinstance(src["year"], int), src
    prices = year_data(2009)["prices"]["oxide"]
    for element, row in prices.items():
        assert row["grade"] in {"primary", "secondary", "assumption", "derived"}, element


@pytest.mark.parametrize("year", [2009, 2024])
def test_china_compound_exports_match_embedded_baci(year: int):
    from critmin.data import tables
    from critmin.simulation.elements.chain import year_data

    trade = tables.trade_year(year)
    chn = trade[(trade.exporter == "CHN") & (trade.hs.astype(str).isin(["284690", "284610"]))]
    assert chn.quantity_t.sum() == pytest.approx(
        year_data(year)["china_compound_exports_t"], rel=1e-4
    )


@pytest.mark.parametrize("engine", ["compiled", "exact"])
def test_no_shock_is_the_base_state(engine: str):
    res = simulate_elements(Shocks(months=4), engine=engine)
    assert np.abs(res.prices - 1).max() < 1e-10
    scale = res.stage["output"].max()
    assert np.abs(res.stage["unsold"]).max() < 1e-10 * scale
    np.testing.assert_allclose(res.stock[-1], res.initial_stock, rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(res.sector_use, res.sector_demand, rtol=1e-10)


def _balance_checks(res) -> None:
    b = res.base
    st = res.stage
    scale = max(st["output"].max(), 1.0)
    # every zone, element, stage (oxide, metal) and month balances
    gap = (
        st["output"]
        + st["release"]
        + st["market_maker"]
        - st["direct"]
        - st["processing"]
        - st["restock"]
        - st["unsold"]
        - st["net_export"]
        - st["pipeline"]
    )
    assert np.abs(gap).max() < 1e-9 * scale
    # what one zone exports the other imports
    assert np.abs(st["net_export"].sum(axis=3)).max() < 1e-12 * scale
    mg = res.magnet
    mgap = (
        mg["output"]
        + mg["release"]
        + mg["market_maker"]
        - mg["direct"]
        - mg["restock"]
        - mg["unsold"]
        - mg["net_export"]
        - mg["pipeline"]
    )
    assert np.abs(mgap).max() < 1e-9 * max(mg["output"].max(), 1.0)
    np.testing.assert_allclose(mg["direct"], res.sector_use.sum(axis=1), rtol=1e-9)
    # the market maker moves about 1e-6 of the volume per unit of price index
    assert np.abs(st["market_maker"]).max() < 1e-4 * scale
    # mining and separation: every deposit's basket, split by its routing, in fixed proportions
    sep = np.zeros_like(res.separated)
    for d, dep in enumerate(b.deposits):
        for e, el in enumerate(b.elements):
            sep[:, e, 1] += res.mine[:, d] * dep.basket[el] * dep.route_xcn[el]
            sep[:, e, 0] += res.mine[:, d] * dep.basket[el] * (1 - dep.route_xcn[el])
    np.testing.assert_allclose(sep, res.separated, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(res.separated, st["output"][:, :, 0, :], rtol=1e-12, atol=1e-9)
    h, floor = b.heavy_grade_share, b.thrift_floor
    heavy = res.activity[:, res.market.recipe[0]]
    made = heavy + res.activity[:, res.market.recipe[1]]
    np.testing.assert_allclose(mg["output"], made, rtol=1e-12)
    for k, el in enumerate(b.magnet_elements):
        e = b.elements.index(el)
        # oxide -> metal: stoichiometric metal per oxide bought
        np.testing.assert_allclose(
            st["output"][:, e, 1, :],
            st["processing"][:, e, 0, :] * b.metal_per_oxide[el],
            rtol=1e-12,
            atol=1e-9,
        )
        # the recipe: NdPr in every magnet; Dy and Tb in the heavy grade, less what
        # diffusion replaced above the floor
        if el == "NdPr":
            expected = made * b.content[el]
        else:
            # the content node's market maker supplies a hair of it too (1e-6 of its volume)
            st_ = res.market.structure
            maker = [st_.n_terms - st_.n_nodes + st_.node(f"content|{el}|{z}") for z in ZONES]
            replaced = res.thrifted[:, k - 1] + res.activity[:, maker]
            expected = b.content[el] / h * (heavy - (1 - floor) * replaced)
        np.testing.assert_allclose(res.metal_used[:, e], expected, rtol=1e-9, atol=1e-9)
        # stocks: start + restock + unsold - release, month by month
        for s in range(2):
            expect = res.initial_stock[e, s] + np.cumsum(
                st["restock"][:, e, s] + st["unsold"][:, e, s] - st["release"][:, e, s], axis=0
            )
            np.testing.assert_allclose(res.stock[:, e, s], expect, rtol=1e-12, atol=1e-6)
    # thrifting never takes the content below the floor
    assert (res.thrifted <= heavy[:, None, :] * (1 + 1e-12) + 1e-9).all()


def test_mass_balance_base_and_controlled(controlled, free):
    _balance_checks(free)
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
    # of the mixed mines, which then produce less of every element
    assert b.separated[:, dy, :].sum() < a.separated[:, dy, :].sum()
    assert b.separated[:, tb, :].sum() < a.separated[:, tb, :].sum()
    assert b.price[:, nd, 0].max() < 1.0


def test_dear_magnets_raise_every_coproduct_of_their_mines(free):
    """Magnet demand 30 % higher: magnet makers bid up NdPr, Dy and Tb, and every deposit
    produces more of every element of its basket, lanthanum and cerium included."""
    surge = np.full(N, 1.3)
    b = free.base
    res = simulate_elements(Shocks(months=N, demand={s: surge for s in b.sectors}))
    nd, dy, la, ce = (b.elements.index(e) for e in ("NdPr", "Dy", "La", "Ce"))
    assert (res.price[-1, [nd, dy], 0] > 1.02).all()
    assert (res.mine[-1] > free.mine[-1]).all()
    for e in (la, ce):
        assert res.separated[-1, e].sum() > free.separated[-1, e].sum()


def test_two_zone_clearing_hand_solved():
    """One good: China produces 120, the rest 80, each zone uses 150 - 50 p (no stocks,
    no elasticity of supply). Free trade: p = 1 in both, China exports 20. Capped at 10:
    China 120 - 10 = 150 - 50 p -> p = 0.8; the rest 80 + 10 = 150 - 50 p -> p = 1.2;
    with the default storage floor (0.94) China keeps 7 t unsold instead of falling to 0.8."""

    def solve(cap: float, par) -> tuple[np.ndarray, np.ndarray, GoodsLayout]:
        b = Builder()
        goods = Goods(b)
        nodes = goods.add("x", 1000.0, np.array([100.0, 100.0]), np.zeros(2), 20.0, par)
        for k, out in enumerate((120.0, 80.0)):
            b.term(f"supply{k}", {nodes[k]: 1.0}, [(out, 0.0, out, out)])
            b.term(f"use{k}", {nodes[k]: -1.0}, [(150.0, 50.0 / 1000.0, 0.0, np.inf)])
        st, v = b.build()
        lay = GoodsLayout.of(goods)
        write_goods(lay, st, v, ZoneState.initial(lay), np.array([cap / 20.0]), par)
        p, q = clear("compiled", st, v, np.ones(st.n_nodes), np.zeros(st.n_terms), None, 0)  # type: ignore[arg-type]
        return p[lay.node[0]], q, lay

    par = default_parameters()
    low_floor = par.with_overrides({"holding_cost": 0.03})  # floor 0.82
    p, q, lay = solve(20.0, low_floor)
    np.testing.assert_allclose(p, [1.0, 1.0], rtol=1e-12)
    assert q[lay.arc[0]] == pytest.approx(20.0, rel=1e-12)
    p, q, lay = solve(10.0, par.with_overrides({"holding_cost": 0.035}))  # floor 0.79
    np.testing.assert_allclose(p, [0.8, 1.2], rtol=1e-5)  # market makers: 1e-6 of volume
    assert q[lay.arc[0]] == pytest.approx(10.0, rel=1e-12)
    p, q, lay = solve(10.0, par)
    # the storage term is steep, not vertical: 7 t stored lower the price by 7e-5
    assert p[0] == pytest.approx(0.94, rel=1e-4)
    assert q[lay.unsold[0, 0]] == pytest.approx(120 - 10 - (150 - 50 * p[0]), rel=1e-5)


def test_controls_split_prices(controlled, free):
    b = controlled.base
    z = ZONES.index("XCN")
    months = slice(6, 15)
    for el in ("Dy", "Tb"):
        e = b.elements.index(el)
        for s, stage in enumerate(("oxide", "metal")):
            cut = (
                controlled.supply(el, stage, "XCN")[months].sum()
                / free.supply(el, stage, "XCN")[months].sum()
            )
            assert cut < 0.9, (el, stage, cut)
            assert np.all(
                controlled.price[months, e, s, z] > controlled.price[months, e, s, 0] + 0.5
            )
    # NdPr is not controlled: one price in both zones, ex-China supply not cut
    nd = b.elements.index("NdPr")
    np.testing.assert_allclose(
        controlled.price[:, nd, :, 1], controlled.price[:, nd, :, 0], rtol=2e-3
    )
    got = controlled.supply("NdPr", "oxide", "XCN")[months].sum()
    assert got / free.supply("NdPr", "oxide", "XCN")[months].sum() > 0.99
    mag = controlled.magnet_supply("XCN")[months].sum() / free.magnet_supply("XCN")[months].sum()
    assert mag < 0.8
    assert np.all(controlled.magnet_price[months, 1] > controlled.magnet_price[months, 0])


def test_backends_agree_on_the_april_2025_rules():
    c = compile_rules([load_rules("china_2025_04_heavy_rare_earths")], "2025-01", 12)
    shocks = Shocks(months=12, allowed=c.allowed)
    compiled = simulate_elements(shocks, engine="compiled")
    exact = simulate_elements(shocks, engine="exact")
    np.testing.assert_allclose(compiled.prices, exact.prices, rtol=0, atol=AGREE)
    st = compiled.market.structure
    scale = st.volume[st.term_node[st.term_ptr[:-1]]]
    gap = np.abs(compiled.activity - exact.activity) / np.maximum(scale, np.abs(exact.activity))
    assert gap.max() <= AGREE


@pytest.mark.parametrize("element", ["Ga", "Ge"])
def test_gallium_germanium_two_zone_markets(element: str):
    from critmin.simulation.elements.single import simulate_single

    allowed = np.ones(12)
    allowed[4:] = 0.3
    free = simulate_single(element, np.ones(12))
    assert np.abs(free.price - 1).max() < 1e-12
    res = simulate_single(element, allowed)
    assert np.abs(res.balance).max() < 1e-9 * res.output.max()
    assert np.all(res.exports[4:] <= 0.3 * res.base_exports * (1 + 1e-12))
    assert np.all(res.price[4:, 1] > res.price[4:, 0])
    exact = simulate_single(element, allowed, engine="exact")
    np.testing.assert_allclose(res.price, exact.price, rtol=0, atol=AGREE)
    np.testing.assert_allclose(res.use, exact.use, rtol=AGREE)


@pytest.mark.parametrize("element", ["Ga", "Ge"])
def test_announced_control_is_foreseen_and_front_run(element: str):
    """A ban announced in month 4 and in force from month 6: before the announcement the run
    is the adaptive one bit for bit; between announcement and effect foreign holders buy
    ahead of the foreseen jump (China's exports above base in the month before the ban);
    the foreseen path is deterministic."""
    from critmin.errors import InfeasibleError
    from critmin.simulation.elements import single
    from critmin.simulation.elements.single import foreseen, simulate_single

    allowed = np.ones(12)
    allowed[6:] = 0.0
    adaptive = simulate_single(element, allowed)
    known = simulate_single(element, allowed, known_from=4)
    assert known.price[:4].tolist() == adaptive.price[:4].tolist()
    assert known.exports[:4].tolist() == adaptive.exports[:4].tolist()
    assert np.all(known.exports[4:6] >= known.base_exports * (1 - 1e-9))
    assert known.exports[5] > 1.3 * known.base_exports  # the month before the ban
    assert np.all(adaptive.exports[4:6] == pytest.approx(adaptive.base_exports, rel=1e-9))
    assert np.abs(known.balance).max() < 1e-9 * known.output.max()
    again = simulate_single(element, allowed, known_from=4)
    assert again.price.tolist() == known.price.tolist()
    path = np.array([[1.0, 2.0], [1.1, 1.0], [0.99, 3.0]])
    np.testing.assert_allclose(foreseen(path, 0), [0.1, -0.5], rtol=1e-15)
    assert foreseen(path, 2).tolist() == [0.0, 0.0]
    # foresight that does not settle is an error naming the element, not a silent result
    original = single.FORESIGHT_PASSES
    single.FORESIGHT_PASSES = 1
    try:
        with pytest.raises(InfeasibleError, match=f"{element}: foreseen prices did not settle"):
            simulate_single(element, allowed, known_from=4)
    finally:
        single.FORESIGHT_PASSES = original
