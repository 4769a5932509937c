"""An episode's market conditions: curve shifts, their ramps, estimates and bookkeeping."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from critmin.errors import DataError
from critmin.market.problem import Builder
from critmin.market.terms import demand_pieces, supply_segments
from critmin.simulation.backtests import conditions as cond_mod
from critmin.simulation.backtests import runner
from critmin.simulation.elements.single import scale_term, simulate_single

EPISODE = "gallium-germanium-2023"


def test_scale_term_shifts_a_curve_horizontally():
    b = Builder()
    n = b.node("x", -1, 100.0, 10.0)
    d = b.term("use", {n: -1.0}, demand_pieces(8.0, -0.3, 10.0, 100.0))
    s = b.term("make", {n: 1.0}, supply_segments(8.0, 8.0 / 0.9, 100.0, 0.2, 0.5))
    st, v = b.build()
    scale_term(st, v, d, 0.75)
    scale_term(st, v, s, 1.5)
    for term, segs in (
        (d, demand_pieces(6.0, -0.3, 10.0, 100.0)),
        (s, supply_segments(12.0, 12.0 / 0.9, 100.0, 0.2, 0.5)),
    ):
        k = slice(int(st.seg_ptr[term]), int(st.seg_ptr[term + 1]))
        want = np.array(segs)
        np.testing.assert_allclose(v.alpha[k], want[:, 0], rtol=1e-14, atol=0)
        np.testing.assert_allclose(v.beta[k], want[:, 1], rtol=1e-14, atol=0)
        np.testing.assert_allclose(v.hi[k], want[:, 3], rtol=1e-14, atol=0)


def test_ramp_and_shifts_by_hand():
    labels = [f"2023-{m:02d}" for m in range(1, 9)]
    np.testing.assert_allclose(
        cond_mod.ramp(labels, "2023-01", "2023-06"),
        [0, 0.2, 0.4, 0.6, 0.8, 1, 1, 1],
        rtol=0,
        atol=1e-15,
    )
    np.testing.assert_array_equal(
        cond_mod.ramp(labels, "2023-03", "2023-03"), [0, 0, 1, 1, 1, 1, 1, 1]
    )
    conds = [
        {"element": "Ga", "zone": "CHN", "side": "demand", "ramp": ["2023-01", "2023-06"]},
        {"element": "Ga", "zone": "CHN", "side": "demand", "ramp": ["2023-03", "2023-03"]},
        {"element": "Ge", "zone": "CHN", "side": "supply", "ramp": ["2023-01", "2023-06"]},
    ]
    shift = cond_mod.shifts_for(conds, [0.9, 0.5, 0.8], "Ga", labels)
    assert shift is not None
    # month 4 (April): (1 - 0.1 x 0.6) x 0.5; the supply side and XCN untouched
    assert shift[3, 0, 0] == pytest.approx(0.94 * 0.5, abs=1e-15)
    assert shift[1, 0, 0] == pytest.approx(0.98, abs=1e-15)
    assert (shift[:, 1, :] == 1.0).all()
    assert (shift[:, 0, 1] == 1.0).all()
    assert cond_mod.shifts_for(conds, [0.9, 0.5, 0.8], "Sb", labels) is None


def test_a_unit_shift_is_no_shift_bit_for_bit():
    allowed = np.ones(6)
    plain = simulate_single("Ga", allowed, year=2022)
    unit = simulate_single("Ga", allowed, year=2022, shift=np.ones((6, 2, 2)))
    assert plain.price.tobytes() == unit.price.tobytes()
    assert plain.output.tobytes() == unit.output.tobytes()


def test_gallium_demand_estimate_is_the_least_shift_that_reaches_the_floor():
    """The USGS -23 % (Jan-Jun 2023) is out of reach: the storage floor holds China's price
    at 0.94; the estimate is the least demand cut that takes June's price there."""
    f = cond_mod.condition_factor(EPISODE, 0)
    assert f == cond_mod.condition_factor.__wrapped__(EPISODE, 0)  # deterministic
    cond = cond_mod.conditions_of(EPISODE)[0]
    labels = cond_mod._labels(cond_mod._episode(EPISODE))[:6]

    def june(x: float) -> float:
        res = simulate_single(
            "Ga", np.ones(6), year=2022, shift=cond_mod.shifts_for([cond], [x], "Ga", labels)
        )
        return float(res.price[5, 0] / res.price[0, 0])

    floor = june(0.5)
    assert 0.93 < floor < 0.94  # the storage floor 1 - 0.005 x 12, less its steep slope
    assert june(f) - floor <= cond_mod.REACH_TOLERANCE + 1e-9
    assert june(f + 1e-3) - floor > cond_mod.REACH_TOLERANCE
    assert 0.9 < f < 0.96


def test_an_observation_within_reach_is_met(monkeypatch):
    spec = copy.deepcopy(runner.episodes())
    spec[EPISODE]["calibration"][0]["observed"] = 0.97
    monkeypatch.setattr(runner, "episodes", lambda: spec)
    f = cond_mod.condition_factor.__wrapped__(EPISODE, 0)
    cond = cond_mod.conditions_of(EPISODE)[0]
    labels = cond_mod._labels(spec[EPISODE])[:6]
    res = simulate_single(
        "Ga", np.ones(6), year=2022, shift=cond_mod.shifts_for([cond], [f], "Ga", labels)
    )
    assert res.price[5, 0] / res.price[0, 0] == pytest.approx(0.97, abs=1e-9)


def test_conditions_are_not_estimated_on_targets_or_export_volumes(monkeypatch):
    """Bookkeeping: every estimated condition rests on a calibration observation that is no
    scored target, is a price or an output, and ends before the policy's announcement."""
    for name, spec in runner.episodes().items():
        targets = {t["id"] for t in spec["targets"]}
        calibration = {c["id"]: c for c in spec.get("calibration", [])}
        assert not targets & set(calibration), name
        for cond in cond_mod.conditions_of(name):
            est = cond["estimate"]
            assert cond["source"]["url"].startswith("http")
            if "unknown" in est:
                assert est["unknown"]
                continue
            obs = calibration[est["observation"]]
            assert obs["metric"] in cond_mod.CALIBRATION_METRICS
            assert obs["source"]["url"].startswith("http")
            assert obs["source"]["grade"]
            assert max(obs["window"][1], obs["reference"][1]) < "2023-07"  # announced 3 Jul
    # the Ge supply condition is unknown, so not applied: Ge runs without a shift
    shifts = cond_mod.episode_shifts(EPISODE, cond_mod._labels(runner.episodes()[EPISODE]))
    assert set(shifts) == {"Ga"}
    assert np.isnan(cond_mod.condition_factor(EPISODE, 1))
    # a condition estimated on a scored target, or on export volumes, is refused
    spec = copy.deepcopy(runner.episodes())
    spec[EPISODE]["conditions"][0]["estimate"]["observation"] = "ga_china_price_aug_2023"
    monkeypatch.setattr(runner, "episodes", lambda: spec)
    with pytest.raises(DataError, match="a scored target"):
        cond_mod.conditions_of(EPISODE)
    spec[EPISODE]["conditions"][0]["estimate"]["observation"] = "ga_china_price_jun_2023"
    spec[EPISODE]["calibration"][0]["metric"] = "single_exports_ratio"
    with pytest.raises(DataError, match="not one of"):
        cond_mod.conditions_of(EPISODE)


def test_calibration_value_by_hand():
    labels = ["2023-01", "2023-02", "2023-03"]
    price = np.array([[2.0, 1.0], [3.0, 1.0], [1.5, 1.0]])
    output = np.array([[10.0, 4.0], [8.0, 5.0], [6.0, 6.0]])
    obs = {"metric": "single_price_change", "zone": "CHN", "window": ["2023-02", "2023-03"],
           "reference": ["2023-01", "2023-01"]}
    assert cond_mod.calibration_value(labels, price, output, obs) == 2.25 / 2.0
    obs |= {"metric": "single_output_ratio", "zone": "XCN"}
    assert cond_mod.calibration_value(labels, price, output, obs) == 5.5 / 4.0
