"""Terms every market builds: supply on margin, demand curves in linear pieces, stocks.

Each helper returns the segments ``(alpha, beta, lo, hi)`` of a term of the clearing contract
(``problem.py``) at its base, and a compiled writer puts a month's values in place, so that
the commodity chain, the rare-earth element chain and LNG state each economic rule once.

* **Supply on margin** (a mine, a processing plant, a recipe): base output ``z`` (t/month) at
  zero margin, curtailed below it with ``curtailment`` elasticity and expanded above it with
  ``expansion`` elasticity up to ``capacity``, both relative to ``value`` (USD per unit of
  activity: the output price, or a basket's value), so ``q = z (1 + e m / value)``.
* **Demand** with constant elasticity, in linear pieces up to a rationing ceiling.
* **Working stocks**: released above the trigger price index, rebuilt below it towards a
  target over ``rebuild`` months, with ``slope`` x base stock per unit of index.
"""

from __future__ import annotations

import numba
import numpy as np

Array = np.ndarray
Segment = tuple[float, float, float, float]

RATIONING_WIDTH = 0.01
"""Rationed demand falls from the curve's value to zero over [ceiling, ceiling x 1.01]."""
PIECE_RATIO = 2.0**0.5
"""Demand curves are linear between price indices 0.25 x sqrt(2)^k (1 is a breakpoint)."""
LOWEST_PIECE = 0.25


def demand_pieces(
    quantity: float, elasticity: float, ceiling: float, price0: float
) -> list[Segment]:
    """Segments of a constant-elasticity curve ``D(p) = quantity p^elasticity`` (t/month) in
    linear pieces up to ``ceiling`` (price index), then rationed to zero (coefficient -1 at
    the node: margin = -P0 p)."""
    points = [LOWEST_PIECE]
    while points[-1] * PIECE_RATIO < ceiling * (1 - 1e-12):
        points.append(points[-1] * PIECE_RATIO)
    points.append(ceiling)
    values = [quantity * b**elasticity for b in points]
    segments = []
    for j in range(len(points) - 1):
        drop = values[j] - values[j + 1]
        slope = drop / (points[j + 1] - points[j])  # t per unit of index
        segments.append((slope * points[j + 1], slope / price0, 0.0, drop))
    top = values[-1]
    slope = top / (RATIONING_WIDTH * ceiling)
    segments.append((slope * ceiling * (1 + RATIONING_WIDTH), slope / price0, 0.0, top))
    return segments


def supply_segments(
    output: float, capacity: float, value: float, curtailment: float, expansion: float
) -> list[Segment]:
    """The two segments of supply on margin (see the module docstring) at its base."""
    alpha, beta, hi = np.zeros(2), np.zeros(2), np.zeros(2)
    write_supply(alpha, beta, hi, 0, output, capacity, value, curtailment, expansion)
    return [(alpha[0], beta[0], 0.0, hi[0]), (alpha[1], beta[1], 0.0, hi[1])]


@numba.njit(cache=True, error_model="numpy", inline="always")
def supply_values(
    output: float, capacity: float, value: float, curtailment: float, expansion: float
) -> tuple[float, float, float, float]:
    """Supply on margin: ``beta`` and ``hi`` of its first segment (``alpha`` = ``output``),
    ``beta`` and ``hi`` of its second (``alpha`` = 0); ``output`` (t/month) at zero margin,
    ``capacity`` (t/month), ``value`` (USD per unit of activity). Scalars, so that a compiled
    caller writes them without passing arrays (each array passed to an inlined function
    costs two atomic reference counts per call)."""
    return (
        curtailment * output / value,
        min(output, capacity),
        expansion * output / value,
        max(capacity - output, 0.0),
    )


@numba.njit(cache=True, error_model="numpy", inline="always")
def write_supply(
    alpha: Array,
    beta: Array,
    hi: Array,
    first: int,
    output: float,
    capacity: float,
    value: float,
    curtailment: float,
    expansion: float,
) -> None:
    """Supply on margin (:func:`supply_values`) into segments ``first`` and ``first + 1``."""
    beta0, hi0, beta1, hi1 = supply_values(output, capacity, value, curtailment, expansion)
    alpha[first] = output
    beta[first] = beta0
    hi[first] = hi0
    alpha[first + 1] = 0.0
    beta[first + 1] = beta1
    hi[first + 1] = hi1


def stock_segments(
    stock: float, price0: float, slope: float, holding_cost: float
) -> tuple[Segment, Segment]:
    """Release (coefficient +1) and restocking (-1) segments of a full working stock
    ``stock`` (t) at its base: the trigger is ``1 + holding_cost``, nothing moves at index 1."""
    alpha, hi = np.zeros(2), np.zeros(2)
    write_stock(alpha, hi, 0, 1, stock, stock, 1.0 + holding_cost, stock, slope, 1.0)
    beta = slope * stock / price0
    return (alpha[0], beta, 0.0, hi[0]), (alpha[1], beta, 0.0, hi[1])


@numba.njit(cache=True, error_model="numpy", inline="always")
def stock_values(
    base: float, stock: float, trigger: float, target: float, slope: float, rebuild: float
) -> tuple[float, float, float, float]:
    """A working stock's month: ``alpha`` and ``hi`` of its release segment, which gives up
    to ``stock`` (t) above the ``trigger`` price index, and of its restocking segment, which
    rebuilds towards ``target`` (t) at most ``1 / rebuild`` of the gap a month below it;
    ``base`` (t) scales both with ``slope`` (share of the base stock per month per unit of
    index). Scalars, as :func:`supply_values`."""
    return (
        -slope * base * trigger,
        max(stock, 0.0),
        slope * base * trigger,
        max(target - stock, 0.0) / rebuild,
    )


@numba.njit(cache=True, error_model="numpy", inline="always")
def write_stock(
    alpha: Array,
    hi: Array,
    release: int,
    restock: int,
    base: float,
    stock: float,
    trigger: float,
    target: float,
    slope: float,
    rebuild: float,
) -> None:
    """A working stock's month (:func:`stock_values`) into segment ``release`` and segment
    ``restock`` (either -1: none)."""
    a_release, h_release, a_restock, h_restock = stock_values(
        base, stock, trigger, target, slope, rebuild
    )
    if release >= 0:
        alpha[release] = a_release
        hi[release] = h_release
    if restock >= 0:
        alpha[restock] = a_restock
        hi[restock] = h_restock
