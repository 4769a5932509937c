"""The market core's term helpers: supply on margin, demand in pieces, working stocks."""

from __future__ import annotations

import numpy as np
import pytest

from critmin.market.terms import (
    demand_pieces,
    stock_segments,
    supply_segments,
    write_stock,
    write_supply,
)


def _activity(segments: list[tuple[float, float, float, float]], margin: float) -> float:
    return sum(min(max(a + b * margin, lo), hi) for a, b, lo, hi in segments)


def test_supply_on_margin() -> None:
    """100 t at zero margin; -50 % at a margin of -1 x value (curtailment 0.5); +10 % per
    unit of value above it (expansion 0.1), up to capacity 125."""
    seg = supply_segments(100.0, 125.0, 40.0, 0.5, 0.1)
    assert _activity(seg, 0.0) == 100.0
    assert _activity(seg, -40.0) == pytest.approx(50.0, rel=1e-15)
    assert _activity(seg, -400.0) == 0.0
    assert _activity(seg, 80.0) == pytest.approx(120.0, rel=1e-15)
    assert _activity(seg, 4000.0) == 125.0
    # the writer puts the same numbers in place for a month with less output than capacity
    alpha, beta, hi = np.zeros(3), np.zeros(3), np.zeros(3)
    write_supply(alpha, beta, hi, 1, 60.0, 50.0, 40.0, 0.5, 0.1)
    np.testing.assert_array_equal(alpha, [0, 60, 0])
    np.testing.assert_array_equal(hi, [0, 50, 0])  # an outage: capacity below output
    np.testing.assert_allclose(beta, [0, 0.75, 0.15], rtol=1e-15)


def test_demand_pieces_follow_the_constant_elasticity_curve_and_ration() -> None:
    q, eta, ceiling, p0 = 90.0, -0.3, 10.0, 200.0
    seg = demand_pieces(q, eta, ceiling, p0)
    for p in (0.25, 0.5, 1.0, 2 ** 0.5, 4.0, 8.0, ceiling):
        assert _activity(seg, -p0 * p) == pytest.approx(q * p**eta, rel=1e-12), p
    # between breakpoints the pieces are linear, above the ceiling nothing is bought
    a, b = 2 ** 0.5, 2.0
    mid = _activity(seg, -p0 * 1.7)
    expected = q * a**eta + (q * b**eta - q * a**eta) * (1.7 - a) / (b - a)
    assert mid == pytest.approx(expected, rel=1e-12)
    assert _activity(seg, -p0 * ceiling * 1.01) == pytest.approx(0.0, abs=1e-12)


def test_working_stock() -> None:
    """Nothing moves at base; above the trigger the stock is released (2 x base per unit of
    index), at most what is held; below it rebuilt towards the target over six months."""
    release, restock = stock_segments(30.0, 100.0, 2.0, 0.01)
    assert _activity([release], 100.0) == 0.0
    assert _activity([restock], -100.0) == 0.0
    assert _activity([release], 100.0 * 1.21) == pytest.approx(12.0, rel=1e-12)
    alpha, hi = np.array([release[0], restock[0]]), np.array([release[3], restock[3]])
    write_stock(alpha, hi, 0, 1, 30.0, 18.0, 1.01, 30.0, 2.0, 6.0)
    rel, rest = (alpha[0], release[1], 0.0, hi[0]), (alpha[1], restock[1], 0.0, hi[1])
    assert _activity([rel], 100.0 * 3.0) == 18.0
    assert _activity([rest], -100.0 * 0.5) == pytest.approx(2.0, rel=1e-15)
    assert _activity([rest], -100.0 * 0.99) == pytest.approx(1.2, rel=1e-12)
