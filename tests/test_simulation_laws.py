"""Laws of the market model: base state, mass balance, monotonicity, origin, redirection."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.errors import ScenarioError
from critmin.market.result import MarketResult
from critmin.simulation.model import scenario_model
from critmin.simulation.runner import simulate
from critmin.simulation.scenario import Scenario, load_scenario, parse_scenario

EXAMPLES = Path(__file__).parents[1] / "examples" / "scenarios"
FLAGSHIP = EXAMPLES / "china_ree_ban_usa_jpn.yaml"
ALLIES = ["USA", "JPN"]


def _scenario(
    events: list[dict[str, object]], months: int = 6, **extra: object
) -> Scenario:
    return parse_scenario(
        {
            "name": "law",
            "commodity": "rare_earths",
            "horizon": {"start": "2026-01", "months": months},
            "events": events,
            **extra,
        }
    )


def _ban(fraction: float, stages: list[str] | None = None) -> dict[str, object]:
    return {
        "type": "export_control",
        "origin": "CHN",
        "stages": stages or ["magnet"],
        "destinations": ALLIES,
        "fraction": fraction,
        "start": 2,
        "duration": 3,
    }


def _allied_shortfall(result: MarketResult) -> float:
    return float(result.totals()["shortfall"].sel(country=ALLIES).sum())


@pytest.mark.parametrize("engine", ["compiled", "exact"])
def test_no_disruption_is_the_base_state(engine: str) -> None:
    scenario = _scenario([], months=3)
    result = simulate(scenario, engine=engine)  # type: ignore[arg-type]
    market = scenario_model(scenario).market
    d = result.data
    # the compiled back-end starts at the base and stops at once; the exact one solves the
    # balances from HiGHS's active set and rounds (measured up to 6e-12)
    tolerance = 1e-12 if engine == "compiled" else 1e-10
    assert np.nanmax(np.abs(d["price_index"].values - 1.0)) <= tolerance
    assert np.abs(d["world_price_index"].values - 1.0).max() <= tolerance
    assert float(d["shortfall"].max()) <= 1e-9 * float(d["reference_demand"].max())
    np.testing.assert_allclose(
        d["production"].values, np.repeat(market.production[None], 3, 0), rtol=1e-12, atol=1e-9
    )
    np.testing.assert_allclose(d["stock"].values, np.repeat(market.inventory[None], 3, 0),
                               rtol=1e-12, atol=1e-9)
    flow = float((d["reference_demand"].sum("sector") * d["base_price"]).sum())  # USD
    assert np.abs(d["value_lost"].values).sum() <= 1e-12 * flow


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_mass_balance_every_stage_region_and_month(path: Path) -> None:
    """Supply (production, recycling, imports, stock and stockpile releases, market maker)
    equals use (final use, the next stage's input, exports, restocking) in every region,
    stage and month; stocks move by their booked changes."""
    result = simulate(load_scenario(path))
    d = result.data
    supply = (d["production"] + d["recycling"] + d["imports"] + d["stockpile_release"]
              + d["market_maker"] - d["stock_change"])
    use = d["consumption"].sum("sector") + d["processing_input"] + d["exports"]
    scale = float(d["production"].sum(("country",)).max())
    assert float(np.abs(supply - use).max()) <= 1e-9 * scale
    market = scenario_model(load_scenario(path)).market
    stock = d["stock"].values
    change = d["stock_change"].values
    np.testing.assert_allclose(stock[0], market.inventory + change[0], rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(np.diff(stock, axis=0), change[1:], rtol=0, atol=1e-9 * scale)
    assert stock.min() >= -1e-9 * scale
    # world trade balances: what regions export, regions import (hub market makers aside)
    np.testing.assert_allclose(d["exports"].sum("country") + d["world_market_maker"],
                               d["imports"].sum("country"), rtol=0, atol=1e-9 * scale)
    # shortfall = demand given up + unmet need, month by month
    np.testing.assert_allclose(d["shortfall"], d["demand_given_up"] + d["unmet_need"],
                               rtol=0, atol=1e-9 * scale)


def test_china_ban_hurts_the_alliance_not_china() -> None:
    result = simulate(load_scenario(FLAGSHIP))
    totals = result.totals()
    short = totals["shortfall"].isel(scenario=0).sum("stage")
    assert float(short.sel(country="USA")) > 0
    assert float(short.sel(country="JPN")) > 0
    price = result.data["price_index"].sel(stage="magnet")
    during = price.isel(month=slice(2, 14))
    assert float(during.sel(country=ALLIES).max()) > float(during.sel(country="CHN").max())
    assert float(during.sel(country="CHN").min()) < 1.0  # China's price falls
    before = result.data["price_index"].isel(month=[0, 1])
    # the base flows are fitted (RAS) to 1e-10: prices before the ban within about 1e-12
    assert np.nanmax(np.abs(before.values - 1.0)) <= 1e-10


def test_blocked_exports_find_other_buyers() -> None:
    result = simulate(_scenario([_ban(1.0)], months=4))
    d = result.data.isel(month=2).sel(stage="magnet")  # the ban is on
    others = [c for c in result.countries if c not in ALLIES]
    use = d["consumption"].sum("sector").sel(country=others).sum()
    ref = d["reference_demand"].sum("sector").sel(country=others).sum()
    assert float(use) > float(ref)  # the rest of the world buys more at a lower price
    assert float(d["price_index"].sel(country="CHN")) < 1.0


def _blocked_outcome(fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """The allies' shortfall and peak price at the banned stages. (Upstream stages need not
    move monotonically: a partial ban can raise the allies' own processing, and so their
    demand for concentrate, more than a full one.)"""
    banned = ["separation", "magnet"]
    result = simulate(_scenario([_ban(fraction, banned)], months=5))
    t = result.totals().isel(scenario=0).sel(country=ALLIES, stage=banned)
    return t["shortfall"].values, t["peak_price_index"].values


@settings(max_examples=12, deadline=None)
@given(
    st.floats(min_value=0.0, max_value=1.0, allow_nan=False),
    st.floats(min_value=0.0, max_value=1.0, allow_nan=False),
)
def test_larger_blocked_fraction_never_helps_the_blocked(f1: float, f2: float) -> None:
    low, high = sorted((f1, f2))
    short_low, price_low = _blocked_outcome(low)
    short_high, price_high = _blocked_outcome(high)
    assert np.all(short_high >= short_low - 1e-7 * (1 + short_low))
    assert np.all(price_high >= price_low - 1e-9)


@settings(max_examples=10, deadline=None)
@given(
    st.floats(min_value=0.0, max_value=1.0, allow_nan=False),
    st.floats(min_value=0.0, max_value=1.0, allow_nan=False),
)
def test_deeper_outage_never_eases_the_chain(f1: float, f2: float) -> None:
    low, high = sorted((f1, f2))

    def run(fraction: float) -> tuple[float, float]:
        event = {"type": "outage", "country": "MMR", "stage": "mining", "fraction": fraction,
                 "start": 1, "duration": 3}
        t = simulate(_scenario([event], months=4)).totals().isel(scenario=0)
        return float(t["shortfall"].sum()), float(t["peak_price_index"].sel(stage="mining").max())

    short_low, price_low = run(low)
    short_high, price_high = run(high)
    assert short_high >= short_low - 1e-6 * (1 + short_low)
    assert price_high >= price_low - 1e-9


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [("supply_elasticity", 0.1, 1.0), ("utilisation", 0.9, 0.6), ("inventory_months", 0.5, 2.0)],
)
def test_more_supply_response_never_deepens_the_flagship_shortfall(
    name: str, low: float, high: float
) -> None:
    """Higher supply elasticity, more spare capacity (lower utilisation) or larger working
    stocks strictly reduce the allies' shortfall in the flagship ban."""
    raw = load_scenario(FLAGSHIP).model_dump()

    def shortfall(value: float) -> float:
        return _allied_shortfall(simulate(parse_scenario({**raw, "parameters": {name: value}})))

    assert shortfall(high) < shortfall(low)


def test_downstream_demand_surge_raises_upstream_prices() -> None:
    surge = {"type": "demand_shock", "country": "all", "sector": "all", "change": 0.5,
             "start": 1}
    d = simulate(_scenario([surge], months=3)).data
    for stage in ("mining", "separation", "metal", "magnet"):
        assert float(d["world_price_index"].sel(stage=stage).isel(month=0)) > 1.0 + 1e-4, stage


def _origin_flows(leakage: float) -> tuple[float, float, float]:
    """Allied imports of Chinese-origin magnets from the controlled hub, the leak (third
    countries' controlled imports relabelled as their own) and those imports, in month 3."""
    from critmin.market.run import run_scenario
    from critmin.simulation.model import drivers
    from critmin.simulation.shocks import build_shocks

    scenario = _scenario([_ban(1.0)], months=4, parameters={"reexport_leakage": leakage})
    model = scenario_model(scenario)
    trace = run_scenario(model.chain, drivers(build_shocks(scenario, model.market, 1, None)))
    lay, st = model.chain.layout, model.chain.structure
    s = model.stages.index("magnet")
    allies = [model.regions.index(c) for c in ALLIES]
    third = [r for r in range(len(model.regions))
             if r not in allies and not lay.origin[s, r] and lay.import_c[s, r] >= 0]
    q = trace.activity[2]
    to_allies = float(sum(q[lay.import_c[s, r]] for r in allies))
    eligible = float(sum(q[lay.import_c[s, r]] for r in third))
    leaked = 0.0
    for r in third:
        t = lay.import_c[s, r]
        coef = dict(zip(st.term_node[st.term_ptr[t]:st.term_ptr[t + 1]],
                        st.term_coef[st.term_ptr[t]:st.term_ptr[t + 1]], strict=True))
        leaked += q[t] * coef.get(lay.free_node[s, r], 0.0)
    return to_allies, leaked, eligible


def test_a_ban_covers_re_exports_except_the_stated_leakage() -> None:
    to_allies, leaked, eligible = _origin_flows(0.0)
    assert to_allies == 0.0  # nothing of Chinese origin reaches the allies
    assert leaked == 0.0
    to_allies, leaked, eligible = _origin_flows(0.2)
    assert to_allies == 0.0
    assert eligible > 0
    assert leaked == pytest.approx(0.2 * eligible, rel=1e-12)


def test_stockpiles_and_new_capacity_never_hurt_the_allies() -> None:
    """Releases and new magnet capacity cut the allies' shortfall and their magnet price.
    (The new US magnet plant needs metal that the ban leaves scarce, so the US metal price,
    a stage without US use before, can rise: capacity without feedstock helps little.)"""
    ban = simulate(load_scenario(FLAGSHIP))
    helped = simulate(load_scenario(EXAMPLES / "alliance_stockpile_response.yaml"))
    assert helped.countries == ban.countries
    tb = ban.totals().isel(scenario=0)
    th = helped.totals().isel(scenario=0)
    for c in ALLIES:
        assert float(th["shortfall"].sel(country=c).sum()) <= float(
            tb["shortfall"].sel(country=c).sum())
        assert float(th["peak_price_index"].sel(country=c, stage="magnet")) <= float(
            tb["peak_price_index"].sel(country=c, stage="magnet")) + 1e-12
    assert _allied_shortfall(helped) < _allied_shortfall(ban)


def test_final_use_shares_override_the_calibration_and_keep_the_base_state() -> None:
    scenario = _scenario([], months=2, final_use_shares={"magnet": {"USA": 0.10, "DEU": 0.05}})
    market = scenario_model(scenario).market
    s = market.stage_index("magnet")
    world = market.final_demand[s].sum()
    assert market.final_demand[s, market.regions.index("USA")] == pytest.approx(0.10 * world)
    assert market.final_demand[s, market.regions.index("DEU")] == pytest.approx(0.05 * world)
    result = simulate(scenario)
    # the base flows are fitted (RAS) to 1e-10: the base state's prices to about 1e-11
    assert np.nanmax(np.abs(result.data["price_index"].values - 1.0)) <= 1e-10
    raw = {**scenario.model_dump(), "final_use_shares": {"magnet": {"USA": 0.7, "JPN": 0.5}}}
    with pytest.raises(ScenarioError, match=r"final_use_shares: magnet: shares sum to 1\.200"):
        parse_scenario(raw)


def test_protected_sectors_are_served_first() -> None:
    """Under licensing of every destination, with civil buyers rationed above twice the base
    price, protected wind turbines keep buying: they are never rationed and lose the
    smallest share, while civil uses are rationed."""
    raw = load_scenario(EXAMPLES / "china_licensing_all.yaml").model_dump()
    result = simulate(parse_scenario({
        **raw, "protected_sectors": ["wind"], "parameters": {"rationing_price_index": 2.0},
    }))
    d = result.data.sel(stage="magnet").sum(("month", "country"))
    share = d["shortfall"] / d["reference_demand"]
    assert float(d["unmet_need"].sel(sector="ev_traction")) > 0
    assert float(d["unmet_need"].sel(sector="wind")) == 0.0
    assert float(share.sel(sector="wind")) < float(share.sel(sector="ev_traction"))


REGRESSION = Path(__file__).parent / "regression" / "simulation_china_ban.json"


def test_china_ban_regression_figures() -> None:
    """Figures of the shipped ban example; a change means the model or data changed."""
    expected = json.loads(REGRESSION.read_text(encoding="utf-8"))
    result = simulate(load_scenario(FLAGSHIP))
    frame = result.summary().set_index(["country", "stage"])
    for key, value in expected["expected_shortfall_t"].items():
        country, stage = key.split("/")
        got = frame.loc[(country, stage), "expected_shortfall_t"]
        assert got == pytest.approx(value, rel=1e-6, abs=1e-6), key
    for key, value in expected["peak_price_index"].items():
        country, stage = key.split("/")
        assert frame.loc[(country, stage), "peak_price_index"] == pytest.approx(value, rel=1e-9)


def test_a_group_holder_shares_its_stockpile_by_use() -> None:
    """A stockpile held by US-JP is released by its members in proportion to their base use
    at the stage (the same rule as the LNG model's)."""
    release = {"type": "stockpile_release", "holder": "US-JP", "commodity": "rare_earths",
               "stage": "magnet", "tonnes": 1200, "rule": "even", "start": 1, "duration": 2}
    scenario = _scenario([release], months=3)
    market = scenario_model(scenario).market
    d = simulate(scenario).data["stockpile_release"].sel(stage="magnet").sum("month")
    s = market.stage_index("magnet")
    use = {c: market.final_demand[s, market.regions.index(c)] for c in ALLIES}
    total = sum(use.values())
    for c in ALLIES:
        assert float(d.sel(country=c)) == pytest.approx(1200 * use[c] / total, rel=1e-12)
    assert float(d.sum()) == pytest.approx(1200, rel=1e-12)
