"""Japan's LNG: BACI shares, the monthly clearing (base state, closed forms, lags, storage),
the shipped scenarios' acceptance figures and the `critmin lng` command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import critmin.lng as lng
from critmin.errors import InputError, ScenarioError
from critmin.lng.api import baseline_of
from critmin.lng.data import DAYS_PER_MONTH, mof_2024, voyage_days
from critmin.lng.model import run
from critmin.simulation.scenario import ExportControl

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "lng"


def _scenario(name: str) -> lng.LngScenario:
    return lng.load_lng_scenario(EXAMPLES / f"{name}.yaml")


# -- data -------------------------------------------------------------------------------


def test_japan_2024_supplier_shares_from_baci() -> None:
    shares = lng.supplier_shares(2024).set_index("source")
    assert shares.index[0] == "AUS"
    assert shares.loc["AUS", "share"] == pytest.approx(0.3813, abs=5e-4)
    assert shares.loc["RUS", "share"] == pytest.approx(0.0862, abs=5e-4)
    assert shares.loc["USA", "share"] == pytest.approx(0.0940, abs=5e-4)
    assert shares["quantity_t"].sum() / 1e6 == pytest.approx(65.93, abs=0.01)
    assert shares["share"].sum() == pytest.approx(1.0)
    assert lng.hhi(shares["share"]) == pytest.approx(
        ((100 * shares["share"]) ** 2).sum(), rel=1e-12
    )


def test_baci_against_mof_figures() -> None:
    mof = mof_2024().set_index("source")["quantity_mt"]
    baci = lng.supplier_shares(2024).set_index("source")["quantity_t"] / 1e6
    for code in ("AUS", "MYS", "RUS"):
        assert baci[code] == pytest.approx(mof[code], rel=0.01), code
    assert baci.sum() == pytest.approx(mof["WLD"], rel=0.001)
    # the one visible difference: BACI 6.20 Mt from the US against MOF's 6.3 Mt (-1.6 %)
    assert baci["USA"] == pytest.approx(mof["USA"], rel=0.02)
    assert baci["USA"] < mof["USA"]


def test_imports_by_source_2018_2024_with_unit_values() -> None:
    frame = lng.imports_by_source("JPN")
    assert sorted(frame["year"].unique()) == list(range(2018, 2025))
    assert np.allclose(frame["unit_value_usd_per_t"], frame["value_usd"] / frame["quantity_t"])
    assert np.allclose(frame.groupby("year")["share"].sum(), 1.0)
    totals = frame.groupby("year")["quantity_t"].sum() / 1e6
    assert totals[2018] > totals[2024]  # 83.2 Mt -> 65.9 Mt
    with pytest.raises(InputError, match="year 1990 is not available"):
        lng.imports_by_source("JPN", [1990])


def test_lng_network_is_a_supply_network() -> None:
    net = lng.lng_network(2024)
    # lng_network overwrites production with BACI exports but does not yet set
    # production_grade/production_source (network schema of issue 16): only that may fail
    assert {v.check for v in net.check()} <= {"grade"}
    shares = net.shares("liquefaction")
    assert shares.sum() == pytest.approx(1.0)
    assert set(shares.index[:3]) == {"AUS", "USA", "QAT"}
    trade = net.trade("liquefaction", quantity=True)
    jpn = trade[trade["importer"] == "JPN"]
    assert jpn["quantity_t"].sum() / 1e6 == pytest.approx(65.93, abs=0.01)


def test_contracts_and_routes_are_sourced() -> None:
    c = lng.contracts()
    assert c.loc[c["us_2030"], "volume_mtpa"].sum() == pytest.approx(6.5)
    assert c.loc[c["seller"] == "RUS", "volume_mtpa"].sum() == pytest.approx(5.0, abs=0.01)
    r = lng.routes()
    assert set(r["basis"]) <= {"source", "distance_speed", "assumption"}
    sourced = r[r["basis"] != "assumption"]
    assert (sourced["source_url"].str.startswith("https://")).all()
    assert voyage_days("RUS") < voyage_days("AUS") < voyage_days("QAT") < voyage_days("USA")
    assert (c["source_url"].str.startswith("https://")).all()


# -- model laws -------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["compiled", "exact"])
@pytest.mark.parametrize("controlled", [False, True])
def test_no_event_is_the_base_state(engine: str, controlled: bool) -> None:
    """No event, or an export control that blocks nothing (its structure: hubs by origin,
    importers' arcs): the base state, every month."""
    raw: dict[str, object] = {"name": "b", "horizon": {"months": 4}}
    if controlled:
        raw["events"] = [{"type": "export_control", "origin": "RUS", "stages": ["liquefaction"],
                          "destinations": ["JPN"], "fraction": 0.0, "duration": 4}]
    r = run(lng.parse_lng_scenario(raw), engine)
    assert r.spot_market.controlled == controlled
    j = r.market.focus
    # the exact back-end's polishing solves the balances with steep arcs: rounding of 7e-12
    assert np.abs(r.price - 1).max() < 1e-10
    scale = 1e-10 * r.demand.max()  # t: tolerance on every region's quantities
    assert np.allclose(r.arrivals.sum(1), r.demand, rtol=0, atol=scale)
    assert np.allclose(r.stock, r.stock[0], rtol=0, atol=scale)
    assert r.bill[0, j] * 12 == pytest.approx(40.7e9, rel=0.02)  # BACI: 40.72 bn USD


def test_sakhalin_stop_gap_equals_lost_russian_arrivals() -> None:
    """Month 1: only Russian cargoes change; what sails within the month (1 - 2.4/30.44 of
    the month's loadings) is lost, nothing bought this month has arrived yet."""
    res = lng.simulate_lng(_scenario("sakhalin2_stop_now"))
    flow = res.run.market.flows[res.run.market.regions.index("RUS"), res.run.market.focus]
    expected = flow * (1 - voyage_days("RUS") / DAYS_PER_MONTH)
    assert res.monthly.loc[0, "gap_t"] == pytest.approx(expected, rel=1e-9)


def test_price_matches_the_closed_form_after_restocking() -> None:
    """Steady state of the plant's outage alone (one spot hub): sum Q (1 + e_s (pi - 1)) +
    market maker = sum D (1 + eta (pi - 1)), with Q = base exports less the outage;
    contracts and stocks net out once tanks are full again. The market maker takes
    ``MARKET_MAKER_SLOPE x`` the hub's volume per unit of index."""
    from critmin.market.problem import MARKET_MAKER_SLOPE

    full = _scenario("sakhalin2_stop_now")
    outage = full.events[0]
    assert outage.type == "outage"
    spec = full.model_copy(update={"events": [outage]})
    r = run(spec)
    m = r.market
    p = m.params
    lost = float(outage.fraction) * m.exports[m.regions.index("RUS")]  # type: ignore[arg-type]
    q = m.exports.sum() - lost
    d = m.imports.sum()
    maker = MARKET_MAKER_SLOPE * r.spot_market.structure.volume[r.spot_market.hub[0]]
    slope = p["supply_elasticity"] * q - p["demand_elasticity"] * d + maker
    pi = 1 + (d - q) / slope
    assert r.price[-1, 0] == pytest.approx(pi, rel=1e-12)
    # with the export control too, importers' arcs to the two hubs leave the spot hub's
    # price within their slack (a gap of 1e-3 per unit of an importer's volume moved)
    controlled = run(full)
    assert controlled.prices[-1, controlled.spot_market.hub[0]] == pytest.approx(pi, rel=1e-4)


AGREE = 1e-6  # measured: 5e-10 (prices) and 9e-10 (quantities), contract expiry


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
@pytest.mark.parametrize("us_volumes", [False, True], ids=["without_us", "with_us"])
def test_compiled_and_exact_backends_agree(path: Path, us_volumes: bool) -> None:
    """Every spot-market node's price (index) and every term's activity (t/month, relative to
    its node's volume), in every month of every shipped scenario, with and without the 2030
    US volumes."""
    spec = lng.load_lng_scenario(path)
    spec = lng.with_us_volumes(spec) if us_volumes else lng.without_us_volumes(spec)
    compiled, exact = run(spec, "compiled"), run(spec, "exact")
    np.testing.assert_allclose(compiled.prices, exact.prices, rtol=0, atol=AGREE)
    st = compiled.spot_market.structure
    scale = st.volume[st.term_node[st.term_ptr[:-1]]]
    gap = np.abs(compiled.activity - exact.activity) / np.maximum(scale, np.abs(exact.activity))
    assert gap.max() <= AGREE
    scale = AGREE * compiled.demand.max()
    np.testing.assert_allclose(compiled.arrivals, exact.arrivals, rtol=0, atol=scale)


def test_strategic_release_is_stored_then_replaces_purchases() -> None:
    spec = lng.parse_lng_scenario(
        {
            "name": "sbl",
            "horizon": {"months": 12},
            "events": [
                {
                    "type": "stockpile_release",
                    "holder": "JPN",
                    "commodity": "natural_gas",
                    "stage": "liquefaction",
                    "tonnes": 140000,
                    "duration": 2,
                }
            ],
        }
    )
    r, b = run(spec), run(baseline_of(spec))
    j = r.market.focus
    # the importer's own balance: stock change = arrivals + release - consumption, each month
    start = np.concatenate([[r.market.imports[j] * 12 / DAYS_PER_MONTH], r.stock[:-1, j]])
    change = r.arrivals[:, :, j].sum(1) + r.release[:, j] - r.consumption[:, j]
    assert np.allclose(r.stock[:, j] - start, change, rtol=0, atol=1e-3)
    # stored at once (less what a slightly lower price lets Japan burn)
    assert r.stock[1, j] - b.stock[1, j] == pytest.approx(140000, rel=0.05)
    saved = (b.spot[:, j] - r.spot[:, j]).sum()
    # most of it replaces spot purchases within the year; the rest is burnt at the lower price
    assert 0.75 * 140000 < saved < 140000 * (1 + 1e-9)


def test_runs_are_deterministic() -> None:
    spec = _scenario("hormuz_closure")
    a, b = run(spec), run(spec)
    assert np.array_equal(a.arrivals, b.arrivals)
    assert np.array_equal(a.price, b.price)


# -- acceptance: the shipped scenarios --------------------------------------------------


def test_sakhalin_stop_opens_a_gap_close_to_russias_share() -> None:
    res = lng.simulate_lng(_scenario("sakhalin2_stop_now"))
    s = res.summary
    russia = lng.supplier_shares(2024).set_index("source").loc["RUS", "share"]
    assert s["first_gap_month"] == "2026-01"
    assert 0.85 * russia <= s["gap_first_month_share"] <= russia
    assert s["months_to_recovery"] <= 3
    assert not s["storage_exhausted"]
    assert s["russia_share"] < 0.001
    assert s["supplier_hhi"] > s["supplier_hhi_baseline"]
    assert s["extra_cost_usd"] > 0
    assert s["balance_error_t"] < 1e-3


def test_us_2030_volumes_reduce_gap_and_cost_of_a_sakhalin_stop() -> None:
    spec = lng.shifted(_scenario("sakhalin2_stop_now"), "2031-01")
    comparison = lng.compare_us_volumes(spec)
    without, with_us = comparison.without_us.summary, comparison.with_us.summary
    assert with_us["gap_first_month_share"] < 0.6 * without["gap_first_month_share"]
    assert with_us["gap_t"] < without["gap_t"]
    assert with_us["extra_cost_usd"] < without["extra_cost_usd"]
    assert 0 < with_us["disruption_cost_usd"] < 0.6 * without["disruption_cost_usd"]
    assert without["structure_cost_usd"] == 0.0
    assert with_us["us_share"] > without["us_share"] + 0.05
    assert with_us["supplier_hhi"] < without["supplier_hhi"]


def test_every_shipped_scenario_runs() -> None:
    for path in sorted(EXAMPLES.glob("*.yaml")):
        comparison = lng.compare_us_volumes(lng.load_lng_scenario(path))
        frame = comparison.summary()
        assert list(frame["variant"]) == ["without_us_volumes", "with_us_volumes"], path
        assert (frame["balance_error_t"] < 1e-3).all(), path


def test_contract_expiry_is_gradual_and_us_pause_delays_the_gain() -> None:
    expiry = lng.simulate_lng(_scenario("sakhalin2_contract_expiry")).monthly.set_index("month")
    assert expiry.loc["2026-12", "gap_share"] == 0.0
    assert 0 < expiry.loc["2027-01", "gap_share"] < expiry.loc["2034-01", "gap_share"]
    arrival = lng.simulate_lng(_scenario("us_volumes_2030")).summary
    pause = lng.simulate_lng(_scenario("us_approvals_pause")).summary
    assert arrival["us_share"] > pause["us_share"] > 0.094
    assert arrival["extra_cost_usd"] < pause["extra_cost_usd"] < 0


# -- scenario errors and the command line ----------------------------------------------


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ({"name": "x", "commodity": "rare_earths"}, "an LNG scenario is on natural_gas"),
        (
            {
                "name": "x",
                "events": [
                    {
                        "type": "outage",
                        "country": "RUS",
                        "stage": "mining",
                        "fraction": 1,
                        "duration": 1,
                    }
                ],
            },
            "events[0].stage = 'mining'",
        ),
        ({"name": "x", "lng": {"parameters": {"storage_weeks": 2}}}, "unknown LNG parameter"),
        (
            {
                "name": "x",
                "lng": {
                    "contracts": [
                        {"name": "c", "seller": "USA", "volume_mtpa": 1, "capacity_event": "nope"}
                    ]
                },
            },
            "capacity_event = 'nope'",
        ),
        (
            {
                "name": "x",
                "events": [
                    {
                        "type": "outage",
                        "country": "RUS",
                        "stage": "liquefaction",
                        "fraction": 1.5,
                        "duration": 1,
                    }
                ],
            },
            "fraction = 1.5",
        ),
    ],
)
def test_bad_scenarios_name_the_field(raw: dict[str, object], needle: str) -> None:
    with pytest.raises(ScenarioError) as info:
        lng.parse_lng_scenario(raw, "bad.yaml")
    assert needle in str(info.value)
    assert "\n" not in str(info.value)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "critmin", "lng", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_cli_json_summary_and_views() -> None:
    result = _cli("--scenario", str(EXAMPLES / "sakhalin2_stop_now.yaml"), "--format", "json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert set(payload) == {"meta", "rows"}
    assert [r["variant"] for r in payload["rows"]] == ["without_us_volumes", "with_us_volumes"]
    for key in ("supplier_hhi", "gap_first_month_share", "extra_cost_usd", "months_bridged"):
        assert key in payload["rows"][0]
    suppliers = json.loads(_cli("--view", "suppliers", "--format", "json").stdout)["rows"]
    aus = next(r for r in suppliers if r["source"] == "AUS")
    assert aus["baseline_share"] == pytest.approx(0.3813, abs=5e-4)
    usa = next(r for r in suppliers if r["source"] == "USA")
    assert usa["share_with_us_volumes"] > usa["share_without_us_volumes"]
    csv = _cli("--view", "imports", "--format", "csv").stdout
    assert csv.startswith("year,source,quantity_t,value_usd,unit_value_usd_per_t,share")


@pytest.mark.parametrize("engine", ["compiled", "exact"])
def test_cli_prints_valid_json_and_csv_with_either_backend(engine: str) -> None:
    """No solver banner or other text around the output (HiGHS writes to the C stdout)."""
    path = str(EXAMPLES / "hormuz_closure.yaml")
    out = _cli("--scenario", path, "--engine", engine, "--format", "json")
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    assert payload["meta"]["engine"] == engine
    csv = _cli("--scenario", path, "--engine", engine, "--view", "monthly", "--format", "csv")
    assert csv.returncode == 0, csv.stderr
    assert csv.stdout.startswith("variant,month,")
    assert len(csv.stdout.strip().splitlines()) == 1 + 2 * 12


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--year", "1990"], "year 1990 is not available"),
        (["--scenario", "missing.yaml"], "does not exist"),
        (["--engine", "fast"], "engine 'fast'"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(args: list[str], needle: str) -> None:
    result = _cli(*args)
    assert result.returncode == 2
    assert needle in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_allocation_keeps_sales_and_purchases() -> None:
    from critmin.lng.model import allocate

    rng = np.random.default_rng(3)
    pattern = rng.random((5, 5))
    pattern[:, 4] = 0.0  # a buyer without base spot purchases gets a pooled share
    pool = rng.random(5) * 10
    buy = rng.random(5)
    buy *= pool.sum() / buy.sum()
    out = allocate(pattern, pool, buy)
    assert np.allclose(out.sum(1), pool, rtol=1e-12)
    assert np.allclose(out.sum(0), buy, rtol=1e-12)
    assert (out >= 0).all()
    assert (out[:, 4] > 0).all()


def test_export_control_caps_the_origins_spot_cargoes() -> None:
    """Half of Russia's LNG to Japan blocked: the arc from the origin's hub to Japan carries
    at most half its base spot flow, contracts are cut in half, and Japan's Russian
    arrivals from the third month on are at most half their base."""
    spec = lng.parse_lng_scenario({"name": "half", "horizon": {"months": 6}, "events": [
        {"type": "export_control", "origin": "RUS", "stages": ["liquefaction"],
         "destinations": ["JPN"], "fraction": 0.5, "duration": 6}]})
    r, b = run(spec), run(baseline_of(spec))
    m, sm = r.market, r.spot_market
    j, rus = m.focus, m.regions.index("RUS")
    base = (1 - m.params["contracted_share"]) * m.flows[rus, j]
    assert (r.activity[:, sm.arc[1, j]] <= 0.5 * base * (1 + 1e-12)).all()
    assert (r.arrivals[2:, rus, j] <= 0.5 * b.arrivals[2:, rus, j] * (1 + 1e-9)).all()
    # Russia's price falls below the others' (its hub is capped), Japan pays more
    assert (r.prices[:, sm.hub[1]] < r.prices[:, sm.hub[0]]).all()


def test_every_lng_parameter_is_documented_with_its_default() -> None:
    doc = Path(__file__).resolve().parents[1] / "docs" / "methods" / "lng.md"
    text = doc.read_text(encoding="utf-8")
    for row in lng.parameter_frame().itertuples():
        line = next((ln for ln in text.splitlines() if ln.startswith(f"| `{row.name}` |")), None)
        assert line is not None, row.name
        assert float(line.split("|")[2]) == float(row.value), row.name
        assert row.basis, row.name


def test_surplus_contract_cargoes_are_resold_and_paid_for() -> None:
    """Japan contracted for more than it burns (demand -30 %): the surplus goes back to the
    spot market; Japan still pays for every contract cargo and earns the spot price."""
    spec = lng.parse_lng_scenario(
        {
            "name": "glut",
            "horizon": {"months": 3},
            "events": [{"type": "demand_shock", "country": "JPN", "change": -0.3}],
        }
    )
    r = run(spec)
    m = r.market
    j = m.focus
    assert (r.resale[:, j] > 0).all()
    assert (r.spot[:, j] == 0).all()
    contract_cost = (0.8 * m.flows[:, j] * m.unit_value[:, j]).sum()
    credit = r.resale[:, j] * r.price[:, j] * m.buyer_price[j]
    assert np.allclose(r.bill[:, j], contract_cost - credit, rtol=1e-12)


def test_shifted_moves_horizon_and_event_months() -> None:
    spec = lng.shifted(_scenario("sakhalin2_stop_now"), "2031-01")
    assert spec.horizon.start == "2031-01"
    assert spec.horizon.months == 24
    control = spec.events[1]
    assert isinstance(control, ExportControl)
    assert control.start == "2031-01"
    back = lng.shifted(spec, "2026-01")
    assert back == _scenario("sakhalin2_stop_now")
    later = lng.shifted(_scenario("hormuz_closure"), "2027-03")
    assert [getattr(e, "start", None) for e in later.events] == ["2027-03"] * 3


def test_cli_year_overrides_the_scenario_year_and_table_fits() -> None:
    path = str(EXAMPLES / "sakhalin2_stop_now.yaml")
    payload = json.loads(_cli("--scenario", path, "--year", "2022", "--format", "json").stdout)
    assert payload["meta"]["year"] == 2022
    assert payload["rows"][0]["year"] == 2022
    table = _cli("--scenario", path)
    assert table.returncode == 0, table.stderr
    assert "gap_first_month_share" in table.stdout
    assert "without_us_volumes" in table.stdout


def test_hormuz_closure_stops_gulf_cargoes_after_those_at_sea() -> None:
    res = lng.simulate_lng(_scenario("hormuz_closure"))
    m, r, b = res.run.market, res.run, res.baseline
    j = m.focus
    qat, are, omn = (m.regions.index(c) for c in ("QAT", "ARE", "OMN"))
    lag = voyage_days("QAT") / DAYS_PER_MONTH
    # March: only December-February loadings still at sea arrive (the fractional part)
    assert r.arrivals[0, qat, j] == pytest.approx(b.arrivals[0, qat, j] * (lag % 1), rel=1e-9)
    assert (r.arrivals[1:4, [qat, are], j] == 0).all()
    # Oman loads outside the strait: its contract cargoes keep coming (spot ones may go elsewhere)
    assert (r.arrivals[:4, omn, j] >= 0.8 * b.arrivals[:4, omn, j]).all()
    assert res.summary["peak_price_index"] > 1.5
