"""Buying raises the price: the premium an ally pays over the base price for new stock, a
convex piecewise-linear function of the tonnes it buys (engine scenarios, opt-in).

An ally that buys ``n`` t of a material (its holding above its existing stock) over
``costs.acquisition_months`` months ``A`` adds ``n / A`` t/month to world demand for the
stage. ASSUMPTION: the price rises along the world supply curve of the stage alone,
``Q(p) = Q0 p^eps`` (``Q0`` the market's base world output of the stage, t/month; ``eps`` the
market's ``supply_elasticity``), other buyers' demand and the other allies' purchases held
fixed: ``p(n) = (1 + n / (A Q0))^(1 / eps)``. The ally pays ``p(n)`` on every tonne, so its
premium over the base price is

    ``premium(n) = P0 n [(1 + n / (A Q0))^(1 / eps) - 1]``  (USD, once),

convex and 0 at ``n = 0``; its first tonne costs ``P0``. It is evaluated exactly at
breakpoints ``n_j = A Q0 x_j`` (``x_j`` in ``SHARES``, shares of world output over the
period) and joined by chords, which lie above the curve (a convex function); beyond the last
breakpoint (half the world's output over the period) the last chord's slope goes on (below
the curve there).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Array = np.ndarray
SHARES = (0.0, *map(float, np.geomspace(1e-3, 0.5, 40)))
"""Breakpoints of the premium: purchases as shares of world output over the period (0, then
40 from 0.1 % to 50 % at a constant ratio). With the market's supply elasticity 0.1 a chord
lies above the curve by at most 5.1 % of the premium beyond the first lot, and by at most
0.25 % of the base price per tonne within it; a smaller elasticity bends the curve more."""


def premium(tonnes: Array, price: Array, world_t: Array, elasticity: float) -> Array:
    """The exact premium (USD) of buying ``tonnes`` at base ``price`` (USD/t) when the world
    produces ``world_t`` over the acquisition period (t), supply elasticity ``elasticity``."""
    n = np.asarray(tonnes, dtype=float)
    out: Array = price * n * ((1.0 + n / world_t) ** (1.0 / elasticity) - 1.0)
    return out


@dataclass(frozen=True)
class PremiumCurve:
    """Pieces of the premium per material [material, piece]: ``width`` (t; the last is
    unbounded: inf) and ``slope`` (USD per t bought beyond the base price, non-decreasing)."""

    width: Array
    slope: Array


def premium_curve(price: Array, world_t: Array, elasticity: float) -> PremiumCurve:
    """Chords of :func:`premium` between the breakpoints ``SHARES x world_t`` per material
    (``price`` and ``world_t`` [material])."""
    x = np.asarray(SHARES)[None, :] * np.asarray(world_t, dtype=float)[:, None]
    values = premium(x, np.asarray(price, dtype=float)[:, None], world_t[:, None], elasticity)
    width = np.diff(x, axis=-1)
    slope = np.diff(values, axis=-1) / width
    width[:, -1] = np.inf
    return PremiumCurve(width=width, slope=slope)
