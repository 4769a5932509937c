"""Laws of the market model: base state, mass balance, monotonicity, redirection, the ban."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.errors import ScenarioError
from critmin.simulation.engine import simulate_arrays
from critmin.simulation.exact import clear_exact
from critmin.simulation.fast import clear_fast
from critmin.simulation.model import build_market, value_per_tonne
from critmin.simulation.runner import simulate
from critmin.simulation.scenario import Scenario, load_scenario, parse_scenario
from critmin.simulation.shocks import build_shocks

EXAMPLES = Path(__file__).parents[1] / "examples" / "scenarios"


def _scenario(events: list[dict[str, object]], months: int = 6) -> Scenario:
    return parse_scenario(
        {
            "name": "law",
            "commodity": "rare_earths",
            "horizon": {"start": "2026-01", "months": months},
            "events": events,
        }
    )


def _ban(fraction: float, stages: list[str] | None = None) -> dict[str, object]:
    return {
        "type": "export_control",
        "origin": "CHN",
        "stages": stages or ["magnet"],
        "destinations": ["USA", "JPN"],
        "fraction": fraction,
        "start": 2,
        "duration": 3,
    }


@pytest.mark.parametrize("clear", [clear_fast, clear_exact], ids=["fast", "exact"])
def test_no_disruption_no_shortfall_and_base_prices(clear: object) -> None:
    scenario = _scenario([], months=3)
    market = build_market(scenario)
    shocks = build_shocks(scenario, market, 1, None)
    summary, trace = simulate_arrays(
        market,
        shocks,
        clear,
        value_per_tonne(scenario, market),
        record=True,  # type: ignore[arg-type]
    )
    used = summary.reference > 0
    assert np.all(summary.shortfall[used] <= 1e-6 * summary.reference[used])
    price = trace.data["price"][0]  # [month, stage, region]
    active = trace.data["final_reference"][0] + trace.data["processing_reference"][0] > 0
    tolerance = 1e-9 if clear is clear_fast else 1e-3
    assert np.allclose(price[active], 1.0, atol=tolerance)
    assert np.allclose(trace.data["production"][0], market.production[None], rtol=1e-6)
    base_value = (summary.reference * market.base_price[None, :, None]).sum()
    assert np.all(summary.value_at_risk <= (1e-10 if clear is clear_fast else 1e-6) * base_value)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_mass_balance_every_stage_and_month(path: Path) -> None:
    scenario = load_scenario(path)
    result = simulate(scenario)
    market = result.market
    assert result.timeseries is not None
    ts = result.timeseries
    # supply = use + stock change + unsold, world-wide at every stage and month
    scale = market.production.sum(1).max()
    assert float(result.summary.balance_error.max()) <= 1e-8 * scale
    # a stage never processes more than its processors bought upstream (times the yield)
    for s in range(1, market.n_stages):
        made = ts["production"].isel(stage=s).values
        bought = ts["consumption"].sel(sector="processing").isel(stage=s - 1).values
        assert np.all(made <= market.yields[s] * bought * (1 + 1e-9) + 1e-9)
    # stocks evolve by their recorded changes
    stock = ts["stock"].values
    change = ts["stock_change"].values
    assert np.allclose(stock[0], market.inventory + change[0], atol=1e-6 * scale)
    assert np.allclose(np.diff(stock, axis=0), change[1:], atol=1e-6 * scale)
    assert np.all(stock >= -1e-9 * scale)


def test_china_ban_hurts_the_alliance_not_china() -> None:
    result = simulate(load_scenario(EXAMPLES / "china_ree_ban_usa_jpn.yaml"))
    frame = result.summary_frame().set_index(["country", "stage"])
    by_country = frame.groupby(level="country")["expected_shortfall_t"].sum()
    assert by_country["USA"] > 0
    assert by_country["JPN"] > 0
    assert by_country["USA"] > 1e-3 * frame.loc["USA", "reference_use_t"].sum()
    ts = result.timeseries
    assert ts is not None
    during = ts["price_index"].sel(stage="magnet").isel(month=slice(2, 14))
    alliance_rise = float(during.sel(country=["USA", "JPN"]).max()) - 1.0
    china_rise = float(during.sel(country="CHN").max()) - 1.0
    assert alliance_rise > 0.05
    assert china_rise < alliance_rise
    assert float(during.sel(country="CHN").min()) < 1.0  # China's price falls
    before = ts["price_index"].isel(month=[0, 1])
    assert np.allclose(before.sel(country=["USA", "JPN", "CHN"]), 1.0, atol=1e-9)


def test_blocked_exports_find_other_buyers() -> None:
    scenario = _scenario([_ban(1.0)], months=4)
    result = simulate(scenario)
    market = result.market
    ts = result.timeseries
    assert ts is not None
    s = market.stage_index("magnet")
    china = market.regions.index("CHN")
    blocked = [market.regions.index(c) for c in ("USA", "JPN")]
    others = [r for r in range(market.n_regions) if r not in blocked]
    base_to_others = market.flows[s, china, others].sum()
    month = 2  # third month: the ban is on
    made = float(ts["production"].isel(month=month, stage=s, country=china))
    # China delivers nothing to USA/JPN, so everything it makes goes to the others ...
    assert made > 1.02 * base_to_others
    # ... who use more than their reference (they buy at a lower price)
    use = ts["consumption"].isel(month=month, stage=s).sum("sector").values[others]
    ref = ts["demand"].isel(month=month, stage=s).sum("sector").values[others]
    assert use.sum() > ref.sum()


def _blocked_outcome(fraction: float) -> tuple[np.ndarray, np.ndarray]:
    result = simulate(_scenario([_ban(fraction, ["separation", "magnet"])], months=5))
    market = result.market
    idx = [market.regions.index(c) for c in ("USA", "JPN")]
    return result.summary.shortfall[0][:, idx], result.summary.peak_price[0][:, idx]


@settings(max_examples=20, deadline=None)
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


def test_final_use_shares_override_the_calibration_and_keep_the_base_state() -> None:
    scenario = parse_scenario(
        {
            "name": "shares",
            "commodity": "rare_earths",
            "horizon": {"months": 2},
            "final_use_shares": {"magnet": {"USA": 0.10, "DEU": 0.05}},
        }
    )
    result = simulate(scenario)
    market = result.market
    s = market.stage_index("magnet")
    world = market.final_demand[s].sum()
    assert market.final_demand[s, market.regions.index("USA")] == pytest.approx(0.10 * world)
    assert market.final_demand[s, market.regions.index("DEU")] == pytest.approx(0.05 * world)
    assert result.timeseries is not None
    assert np.allclose(result.timeseries["price_index"].values, 1.0, atol=1e-9)
    assert np.all(result.summary.shortfall <= 1e-6)
    raw = {**scenario.model_dump(), "final_use_shares": {"magnet": {"USA": 0.7, "JPN": 0.5}}}
    with pytest.raises(ScenarioError, match=r"final_use_shares: magnet: shares sum to 1\.200"):
        parse_scenario(raw)


REGRESSION = Path(__file__).parent / "regression" / "simulation_china_ban.json"


def test_china_ban_regression_figures() -> None:
    """Figures of the shipped ban example; a change means the model or data changed."""
    import json

    expected = json.loads(REGRESSION.read_text(encoding="utf-8"))
    result = simulate(load_scenario(EXAMPLES / "china_ree_ban_usa_jpn.yaml"))
    frame = result.summary_frame().set_index(["country", "stage"])
    for key, value in expected["expected_shortfall_t"].items():
        country, stage = key.split("/")
        got = frame.loc[(country, stage), "expected_shortfall_t"]
        assert got == pytest.approx(value, rel=1e-3, abs=1e-3), key
    for key, value in expected["peak_price_index"].items():
        country, stage = key.split("/")
        assert frame.loc[(country, stage), "peak_price_index"] == pytest.approx(value, rel=1e-4)
    assert result.timeseries is not None
    low = float(result.timeseries["price_index"].sel(stage="magnet", country="CHN").min())
    assert low == pytest.approx(expected["min_price_index"]["CHN/magnet"], rel=1e-4)
    var = result.country_frame().set_index("country")["value_at_risk_usd"]
    for country, value in expected["value_at_risk_usd"].items():
        assert var[country] == pytest.approx(value, rel=1e-3)


@settings(max_examples=15, deadline=None)
@given(
    st.floats(min_value=0.0, max_value=1.0, allow_nan=False),
    st.floats(min_value=0.0, max_value=1.0, allow_nan=False),
)
def test_deeper_outage_never_eases_the_chain(f1: float, f2: float) -> None:
    low, high = sorted((f1, f2))

    def run(fraction: float) -> tuple[float, float]:
        event = {
            "type": "outage",
            "country": "MMR",
            "stage": "mining",
            "fraction": fraction,
            "start": 1,
            "duration": 3,
        }
        result = simulate(_scenario([event], months=4))
        mining = result.market.stage_index("mining")
        return float(result.summary.shortfall[0].sum()), float(
            result.summary.peak_price[0, mining].max()
        )

    short_low, price_low = run(low)
    short_high, price_high = run(high)
    assert short_high >= short_low - 1e-6 * (1 + short_low)
    assert price_high >= price_low - 1e-9


def test_stockpiles_and_new_capacity_never_hurt_the_allies() -> None:
    ban = simulate(load_scenario(EXAMPLES / "china_ree_ban_usa_jpn.yaml"))
    helped = simulate(load_scenario(EXAMPLES / "alliance_stockpile_response.yaml"))
    idx = [ban.market.regions.index(c) for c in ("USA", "JPN")]
    assert helped.market.regions == ban.market.regions
    for k in idx:
        assert helped.summary.shortfall[0][:, k].sum() <= ban.summary.shortfall[0][:, k].sum()
        assert helped.summary.peak_price[0][:, k].max() <= ban.summary.peak_price[0][:, k].max()
    assert helped.summary.shortfall[0][:, idx].sum() < 0.8 * ban.summary.shortfall[0][:, idx].sum()
