"""One scenario file format, one compiler: the same fields mean the same thing for the
minerals' commodity chains and for LNG, and a group holder is handled the same way."""

from __future__ import annotations

import numpy as np
import pytest

import critmin.lng as lng
from critmin.errors import ScenarioError
from critmin.lng.model import prepare, run
from critmin.simulation.model import scenario_model
from critmin.simulation.scenario import Scenario, parse_scenario
from critmin.simulation.shocks import (
    ADDED,
    DEMAND,
    KEEP,
    PASSED,
    RELEASE,
    build_shocks,
    holder_shares,
)

HORIZON = {"start": "2026-01", "months": 8}


def _events(stage: str, commodity: str) -> list[dict[str, object]]:
    """Every kind of event, with licensing, a group holder and a month before the horizon."""
    return [
        {"type": "outage", "country": "AUS", "stage": stage, "fraction": 0.4, "start": 2,
         "duration": 3},
        {"type": "export_control", "origin": "CHN", "stages": [stage],
         "destinations": ["USA", "JPN"], "fraction": 0.8, "start": "2026-03", "duration": 4,
         "licensing": {"after_months": 2, "pass_fraction": 0.25}},
        {"type": "demand_shock", "country": "JPN", "change": 0.3, "start": 4, "duration": 2},
        {"type": "capacity_addition", "country": "USA", "stage": stage,
         "tonnes_per_year": 120000, "online": "2025-10", "ramp_months": 6},
        {"type": "stockpile_release", "holder": "US-JP", "commodity": commodity,
         "stage": stage, "tonnes": 9000, "start": 2, "duration": 3},
    ]


def _both() -> tuple[tuple[Scenario, object], tuple[Scenario, object]]:
    minerals = parse_scenario({"name": "m", "commodity": "rare_earths", "horizon": HORIZON,
                               "events": _events("magnet", "rare_earths")})
    gas = lng.parse_lng_scenario({"name": "g", "horizon": HORIZON,
                                  "events": _events("liquefaction", "natural_gas")})
    return (minerals, scenario_model(minerals).market), (gas, prepare(gas)[0])


def test_an_lng_scenario_is_a_scenario_with_an_lng_section() -> None:
    spec = lng.parse_lng_scenario({"name": "g", "lng": {"importer": "JPN"}})
    assert isinstance(spec, Scenario)
    assert spec.commodity == "natural_gas"
    with pytest.raises(ScenarioError, match="lng"):
        parse_scenario({"name": "m", "commodity": "rare_earths", "lng": {"importer": "JPN"}})


def test_the_same_fields_compile_to_the_same_terms() -> None:
    """Each event's monthly value rows (kept capacity, passed share, demand factor, capacity
    added) are the same for a commodity chain and for LNG; each stockpile row is the same
    per-month tonnage times the member's share."""
    (m_spec, m_market), (g_spec, g_market) = _both()
    m = build_shocks(m_spec, m_market, 1, None)
    g = build_shocks(g_spec, g_market, 1, None)
    for kind in (KEEP, PASSED, DEMAND, ADDED):
        m_rows, g_rows = sorted(set(m.terms[kind].rows)), sorted(set(g.terms[kind].rows))
        assert len(m_rows) == len(g_rows) == 1, kind
        np.testing.assert_array_equal(m.values[m_rows[0]], g.values[g_rows[0]])
    keep = g.values[g.terms[KEEP].rows[0], 0]
    np.testing.assert_array_equal(keep, [1, 0.6, 0.6, 0.6, 1, 1, 1, 1])
    passed = g.values[g.terms[PASSED].rows[0], 0]
    # from March, 80 % blocked; licences pass a quarter of it from May
    np.testing.assert_allclose(passed, [1, 1, 0.2, 0.2, 0.4, 0.4, 1, 1], rtol=0, atol=1e-15)
    added = g.values[g.terms[ADDED].rows[0], 0]
    # online in October 2025, ramped over six months: 4/6 of 10,000 t a month in January
    np.testing.assert_allclose(added[:4], np.array([4, 5, 6, 6]) / 6 * 10000, rtol=1e-15)
    for spec, market, shocks in ((m_spec, m_market, m), (g_spec, g_market, g)):
        s = market.stage_index(spec.events[4].stage)  # type: ignore[union-attr]
        members = [market.region_index(c) for c in ("JPN", "USA")]
        shares = dict(holder_shares(market, s, members, "holder"))
        use = market.final_demand[s] + market.derived[s]
        for r in members:
            assert shares[r] == pytest.approx(use[r] / use[members].sum(), rel=1e-15)
        total = sum(shocks.values[row, 0] for row in shocks.terms[RELEASE].rows)
        np.testing.assert_allclose(total, [0, 3000, 3000, 3000, 0, 0, 0, 0], rtol=1e-15)


def test_a_group_holder_releases_lng_to_its_members_by_imports() -> None:
    """``holder: US-JP`` in an LNG scenario: the tonnes reach the USA's and Japan's tanks in
    proportion to their base LNG imports (not the rest of the world)."""
    spec = lng.parse_lng_scenario({"name": "g", "horizon": {"months": 3}, "events": [
        {"type": "stockpile_release", "holder": "US-JP", "commodity": "natural_gas",
         "stage": "liquefaction", "tonnes": 140000, "duration": 2}]})
    r = run(spec)
    m = r.market
    usa, jpn = m.regions.index("USA"), m.regions.index("JPN")
    released = r.release.sum(0)
    assert released[usa] + released[jpn] == pytest.approx(140000, rel=1e-15)
    assert released[jpn] / released[usa] == pytest.approx(m.imports[jpn] / m.imports[usa],
                                                           rel=1e-12)
    assert released.sum() == pytest.approx(140000, rel=1e-15)
