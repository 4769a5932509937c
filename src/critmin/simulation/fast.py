"""Fast engine: the monthly spatial equilibrium of one stage, vectorised over scenarios.

Without trade costs and without transshipment, every buyer pays one world price unless an
export control binds. With one controlling origin ``O`` and capped deliveries ``A_j`` to
destinations ``j``, the market splits into two price zones: zone Z (capped destinations that
must buy from non-origin producers at ``pi_Z``) and zone F (the origin and everyone it can
serve freely, at ``pi_F <= pi_Z``). A capped destination whose own demand curve meets its cap
between the two prices is isolated at the price where demand equals the cap. Each zone price
is the root of a monotone piecewise-linear excess supply, found by bisection followed by one
linear-interpolation step (exact on the final linear piece). The exact engine solves the same
problem as a QP (``exact.py``); tests check that they agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from critmin.simulation.blocks import Blocks

Array = np.ndarray
ITERATIONS = 34
TOLERANCE = 1e-9


@dataclass
class Cleared:
    """Prices (index, 1 = base) at producers and buyers, and unsold supply at price 0."""

    pi_prod: Array
    pi_cons: Array
    dispose: Array


def _root(excess: Callable[[Array], Array], lo: Array, hi: Array) -> Array:
    """Root of increasing ``excess`` in [lo, hi] (elementwise); lo where excess(lo) >= 0."""
    f_lo, f_hi = excess(lo), excess(hi)
    for _ in range(ITERATIONS):
        mid = 0.5 * (lo + hi)
        f = excess(mid)
        up = f > 0
        hi = np.where(up, mid, hi)
        f_hi = np.where(up, f, f_hi)
        lo = np.where(up, lo, mid)
        f_lo = np.where(up, f_lo, f)
    span = f_hi - f_lo
    safe = np.where(span > 0, span, 1.0)
    root = np.where(span > 0, lo - f_lo * (hi - lo) / safe, 0.5 * (lo + hi))
    result: Array = np.clip(root, lo, hi)
    return result


def _single(sup: Blocks, dem: Blocks, pi_max: float) -> tuple[Array, Array]:
    n, r = sup.a.shape[:2]

    def excess(p: Array) -> Array:
        grid = np.broadcast_to(p[:, None], (n, r))
        result: Array = (sup.total(grid) - dem.total(grid)).sum(1)
        return result

    lo, hi = np.zeros(n), np.full(n, pi_max)
    pi = _root(excess, lo, hi)
    return pi, np.maximum(excess(np.zeros(n)), 0.0) * (pi <= 0)


def clear_fast(
    sup: Blocks, dem: Blocks, origin: Array | None, cap: Array | None, pi_max: float
) -> Cleared:
    """Clear one stage-month for every scenario (see module docstring)."""
    r = sup.a.shape[1]
    pi, dispose = _single(sup, dem, pi_max)
    pi_prod = np.repeat(pi[:, None], r, axis=1)
    pi_cons = pi_prod.copy()
    if origin is None or cap is None or not origin.any():
        return Cleared(pi_prod, pi_cons, dispose)
    capped = np.isfinite(cap)
    need = np.where(capped, np.maximum(dem.total(pi_cons) - cap, 0.0), 0.0).sum(1)
    other = (sup.total(pi_prod) * ~origin[None, :]).sum(1)
    tight = np.flatnonzero(need > other * (1 + 1e-12) + TOLERANCE)
    if tight.size == 0:
        return Cleared(pi_prod, pi_cons, dispose)
    s, d = sup.take(tight), dem.take(tight)
    a_cap = np.where(capped[tight], cap[tight], 0.0)
    dmask = capped[tight]
    state = np.where(dmask, 1, 0)  # 0: zone F, 1: zone Z, 2: isolated (buys its cap)
    prod_zone = np.broadcast_to(np.where(origin, 0, 1)[None, :], state.shape)
    m = tight.size
    zones = np.zeros((m, 2))
    for _ in range(8):
        in_z = state == 1
        in_f = state == 0
        fixed_z = (a_cap * in_z).sum(1)
        fixed_f = -(a_cap * (state >= 1)).sum(1)

        def excess(
            p: Array,
            in_z: Array = in_z,
            in_f: Array = in_f,
            fixed_z: Array = fixed_z,
            fixed_f: Array = fixed_f,
        ) -> Array:
            pp = np.take_along_axis(p, prod_zone, axis=1)
            pc = np.where(in_z, p[:, 1:2], p[:, 0:1])
            supply = s.total(pp)
            demand = d.total(pc)
            ex_f = (supply * (prod_zone == 0)).sum(1) - (demand * in_f).sum(1) + fixed_f
            ex_z = (supply * (prod_zone == 1)).sum(1) - (demand * in_z).sum(1) + fixed_z
            return np.stack([ex_f, ex_z], axis=1)

        zones = _root(excess, np.zeros((m, 2)), np.full((m, 2), pi_max))
        d_f = d.total(np.repeat(zones[:, 0:1], r, axis=1))
        d_z = d.total(np.repeat(zones[:, 1:2], r, axis=1))
        new = np.where(dmask, np.where(d_f <= a_cap, 0, np.where(d_z >= a_cap, 1, 2)), 0)
        if np.array_equal(new, state):
            break
        state = new
    pp = np.take_along_axis(zones, prod_zone, axis=1)
    pc = np.where(state == 1, zones[:, 1:2], zones[:, 0:1])
    iso = state == 2
    if iso.any():

        def own(p: Array) -> Array:
            result: Array = a_cap - d.total(p)
            return result

        p_iso = _root(own, np.repeat(zones[:, 0:1], r, 1), np.repeat(zones[:, 1:2], r, 1))
        pc = np.where(iso, p_iso, pc)
    residual = excess(zones)
    unsold = np.where(zones <= 0, np.maximum(residual, 0.0), 0.0).sum(1)
    valid = (zones[:, 1] >= zones[:, 0] - 1e-9) & (state == 1).any(1)
    keep = tight[valid]
    pi_prod[keep] = pp[valid]
    pi_cons[keep] = pc[valid]
    dispose[keep] = unsold[valid]
    return Cleared(pi_prod, pi_cons, dispose)
