"""What buyers wanted, got and gave up: final use split from a cleared month (compiled).

A sector's curve is ``D_k(p)`` in linear pieces up to its rationing price ``c_k``, then
rationed. At the use node's price ``p``:

* ``reference``: what it would buy at the base price (with demand shocks);
* ``desired``: what it wants at the prevailing price, ``D_k(min(p, c_k))``;
* ``consumption``: what it gets;
* ``demand_given_up = reference - desired`` (priced out: thrifting, substitution, deferral);
* ``unmet_need = desired - consumption`` (wanted at the prevailing price, not served:
  rationing at the sector's ceiling).

``value_lost`` (USD) is the buyers' loss measured on the same curves: the surplus lost as the
price rises from 1 to ``min(p, c_k)`` (the area left of the demand curve, exact for the linear
pieces) plus each rationed tonne at the sector's rationing price. It is the one definition of
damage that the stockpile and the reports use.
"""

from __future__ import annotations

import numba
import numpy as np

Array = np.ndarray
FLAT_MARGIN = 1e-9
"""Relative margin of the division-free test that a demand piece is flat over an interval."""


@numba.njit(cache=True, error_model="numpy", inline="always")
def _at(alpha: float, slope: float, lo: float, hi: float, x: float) -> float:
    """A demand segment ``clip(alpha - slope x, lo, hi)`` at price index ``x``."""
    return min(max(alpha - slope * x, lo), hi)


@numba.njit(cache=True, error_model="numpy", inline="always")
def _area(alpha: float, slope: float, lo: float, hi: float, a: float, b: float) -> float:
    """Integral over ``x`` in [a, b] (a <= b) of ``clip(alpha - slope x, lo, hi)``."""
    if b <= a:
        return 0.0
    if slope <= 0.0:
        return min(max(alpha, lo), hi) * (b - a)
    # flat over all of [a, b] (most pieces of a curve): decided without dividing, with a
    # margin far above rounding, so the result is the one the general case below gives
    if b * slope < (alpha - hi) - FLAT_MARGIN * abs(alpha - hi):
        return hi * (b - a)
    if a * slope > (alpha - lo) + FLAT_MARGIN * abs(alpha - lo):
        return lo * (b - a)
    x_hi = (alpha - hi) / slope  # below this x the segment sits at hi
    x_lo = (alpha - lo) / slope  # above this x it sits at lo
    total = 0.0
    # [a, min(b, x_hi)] at hi
    top = min(b, x_hi)
    if top > a:
        total += hi * (top - a)
    # linear part
    u = max(a, x_hi)
    v = min(b, x_lo)
    if v > u:
        total += alpha * (v - u) - 0.5 * slope * (v * v - u * u)
    # [max(a, x_lo), b] at lo
    bottom = max(a, x_lo)
    if b > bottom:
        total += lo * (b - bottom)
    return total


@numba.njit(cache=True, error_model="numpy", inline="always")
def final_use_accounts(
    term: int,
    p: float,
    price0: float,
    seg_ptr: Array,
    alpha: Array,
    beta: Array,
    lo: Array,
    hi: Array,
    seg_sector: Array,
    seg_ration: Array,
    seg_ceiling: Array,
    reference: Array,
    out: Array,
) -> None:
    """Per sector ``k`` (rows of ``out`` [K, 5]): desired, consumption, given up, unmet
    (t/month) and value lost (USD) at price index ``p``; ``reference`` [K] is each sector's
    use at the base price this month. Rows of sectors without final use stay 0."""
    out[:] = 0.0
    # a sector's sums are kept in registers over its run of pieces (stored when the sector
    # changes): the same additions in the same order as adding into ``out`` directly
    k = -1
    wanted = 0.0
    got = 0.0
    lost = 0.0
    for g in range(seg_ptr[term], seg_ptr[term + 1]):
        if seg_sector[g] != k:
            if k >= 0:
                out[k, 0], out[k, 1], out[k, 4] = wanted, got, lost
            k = seg_sector[g]
            wanted, got, lost = out[k, 0], out[k, 1], out[k, 4]
        a, lo_g, hi_g = alpha[g], lo[g], hi[g]
        slope = beta[g] * price0  # t per unit of index
        x = min(p, seg_ceiling[g])
        desired = _at(a, slope, lo_g, hi_g, x)
        wanted += desired
        got += desired if x == p else _at(a, slope, lo_g, hi_g, p)
        if x > 1.0:
            lost += _area(a, slope, lo_g, hi_g, 1.0, x) * price0
        elif x < 1.0:
            lost -= _area(a, slope, lo_g, hi_g, x, 1.0) * price0
    if k >= 0:
        out[k, 0], out[k, 1], out[k, 4] = wanted, got, lost
    for k in range(out.shape[0]):
        if reference[k] <= 0.0 and out[k, 0] <= 0.0:
            continue
        out[k, 2] = max(reference[k] - out[k, 0], 0.0)
        out[k, 3] = max(out[k, 0] - out[k, 1], 0.0)
    for g in range(seg_ptr[term], seg_ptr[term + 1]):
        if seg_ration[g]:
            k = seg_sector[g]
            out[k, 4] += out[k, 3] * seg_ceiling[g] * price0
