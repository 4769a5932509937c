"""Price floor: Monte Carlo vs the closed-form put strip, monotonicity, determinism, estimator."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest

from critmin.analysis.pricefloor import (
    FloorTerms,
    PriceProcess,
    Project,
    closed_form_floor,
    dumping_preset,
    estimate,
    irr,
    price_history,
    reference_case,
    value_floor,
)
from critmin.analysis.pricefloor.process import _ar1
from critmin.errors import InputError


@pytest.mark.parametrize(("s0", "floor", "sigma"), [(69.0, 110.0, 0.4), (100.0, 90.0, 0.25)])
def test_gbm_monte_carlo_matches_black_scholes_put_strip(
    s0: float, floor: float, sigma: float
) -> None:
    rate = 0.04
    terms = FloorTerms(floor=floor, years=5, volume_tpa=1000)
    result = value_floor(PriceProcess.gbm(s0, rate, sigma), terms, paths=60_000, seed=3, rate=rate)
    exact = closed_form_floor(s0, terms, rate, sigma)
    assert abs(result.present_value - exact) < 3 * result.present_value_se
    assert result.present_value_se < 0.02 * exact


def test_higher_floor_never_costs_less() -> None:
    process = dataclasses.replace(estimate("ndpr_oxide"), dumping=dumping_preset("moderate"))
    costs = []
    for floor in (60.0, 80.0, 100.0, 110.0, 130.0):
        r = value_floor(process, FloorTerms(floor, 10, 1000), paths=20_000, seed=7)
        costs.append((r.expected_cost, r.p95_cost, r.present_value))
    for lower, higher in itertools.pairwise(costs):
        assert all(h >= lo for h, lo in zip(higher, lower, strict=True))


def test_dumping_raises_the_cost() -> None:
    base = estimate("ndpr_oxide")
    terms = FloorTerms(110, 10, 1000)
    none = value_floor(base, terms, paths=20_000, seed=1)
    severe = value_floor(dataclasses.replace(base, dumping=dumping_preset("severe")), terms,
                         paths=20_000, seed=1)  # fmt: skip
    assert severe.expected_cost > none.expected_cost
    assert severe.annual["expected_price"].iloc[-1] < none.annual["expected_price"].iloc[-1]


def test_results_do_not_depend_on_chunking_or_threads() -> None:
    process = dataclasses.replace(estimate("ndpr_oxide"), dumping=dumping_preset("severe"))
    terms = FloorTerms(110, 3, 500, upside_share=0.3)
    a = value_floor(process, terms, paths=30_000, seed=11, chunk_paths=1)
    b = value_floor(process, terms, paths=30_000, seed=11, chunk_paths=10**6, workers=2)
    assert a.to_dict() == b.to_dict()


def test_ar1_estimator_recovers_ou_parameters() -> None:
    kappa, theta, sigma = 0.6, math.log(60.0), 0.4
    b = math.exp(-kappa)
    s = sigma * math.sqrt((1 - b**2) / (2 * kappa))
    rng = np.random.default_rng(0)
    x = np.empty(20_000)
    x[0] = theta
    for t in range(1, len(x)):
        x[t] = theta + b * (x[t - 1] - theta) + s * rng.standard_normal()
    slope, intercept, resid = _ar1(x)
    assert -math.log(slope) == pytest.approx(kappa, rel=0.05)
    assert intercept / (1 - slope) == pytest.approx(theta, rel=0.01)
    assert np.std(resid) * math.sqrt(2 * kappa / (1 - slope**2)) == pytest.approx(sigma, rel=0.05)


def test_ndpr_estimate_uses_the_embedded_history() -> None:
    history = price_history()
    nd = history[history["series_id"] == "nd_oxide"].set_index("year")["value"]
    x = np.log(nd.to_numpy(float))
    b = np.polyfit(x[:-1], x[1:], 1)[0]
    p = estimate("ndpr_oxide")
    assert p.kappa == pytest.approx(-math.log(b), rel=1e-9)
    assert p.s0 == 69.0  # NdPr oxide, Argus FOB, 2025 estimate (USGS MCS 2026)
    assert 30 < p.long_run_price < 120


def test_irr_and_project_economics() -> None:
    assert irr(np.array([-100.0, 110.0])) == pytest.approx(0.10)
    r = value_floor(estimate("ndpr_oxide"), FloorTerms(110, 10, 1000), paths=5_000, seed=0,
                    project=Project(capex_usd=4.1e8, unit_cost=40.0))  # fmt: skip
    assert r.project is not None
    assert r.project["with_floor"]["npv_usd"] > r.project["without_floor"]["npv_usd"]


def test_reference_case_is_cited() -> None:
    case = reference_case("dod_mp").set_index("field")
    assert case.loc["floor", "value"] == "110"
    assert case.loc["years", "value"] == "10"
    assert case["source_url"].str.startswith("https://").all()


@pytest.mark.parametrize("floor", [0.0, -5.0])
def test_non_positive_floor_is_rejected(floor: float) -> None:
    with pytest.raises(InputError, match="floor"):
        FloorTerms(floor, 10, 1000)


def test_dumping_regime_occupancy_matches_the_markov_chain() -> None:
    """Starting calm, P(dumping at t) = pi (1 - exp(-(a + b) t)), pi = a / (a + b)."""
    a, duration = 0.2, 2.0
    b = 1.0 / duration
    process = dataclasses.replace(estimate("ndpr_oxide"), dumping=dumping_preset("severe"))
    state = process._regime(np.random.default_rng(5), 100_000, 120)
    t = np.arange(1, 121) / 12.0
    expected = a / (a + b) * (1 - np.exp(-(a + b) * t))
    np.testing.assert_allclose(state.mean(axis=1), expected, atol=0.01)
