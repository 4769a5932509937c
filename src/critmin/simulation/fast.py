"""Fast engine: the monthly spatial equilibrium of one stage, vectorised over scenarios.

Without trade costs and without transshipment, every buyer pays one world price unless an
export control binds. With one controlling origin ``O`` and capped deliveries ``A_j`` to
destinations ``j``, the market splits into two price zones: zone Z (capped destinations that
must buy from non-origin producers, at ``pi_Z``) and zone F (the origin and everyone it can
serve freely, at ``pi_F <= pi_Z``). A capped destination whose demand curve meets its cap
between the two prices is isolated at the price where its demand equals the cap. Each zone
price is the root of a monotone piecewise-linear excess supply, found by safeguarded Newton
steps (exact on the final linear piece, bisection when a step leaves the bracket). The exact
engine (``exact.py``) solves the same problem as a QP; tests check that they agree.

Internally arrays put the scenario axis last ([block, region, scenario]) so that sums over
blocks and regions are element-wise additions of contiguous rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from critmin.simulation.blocks import Blocks

Array = np.ndarray
MAX_ITERATIONS = 60
RELATIVE_TOLERANCE = 1e-11  # |excess| below this share of the zone's traded volume


@dataclass
class Cleared:
    """Prices (index, 1 = base) at producers and buyers [region, scenario], unsold supply."""

    pi_prod: Array
    pi_cons: Array
    dispose: Array
    hint: Array | None = None  # the one-zone price, a warm start for the next month


class _Curves:
    """Blocks in [block, region, scenario] layout with totals and slopes at region prices."""

    def __init__(self, b: Blocks) -> None:
        # blocks that are zero everywhere (e.g. recycling before the last stage) are dropped
        self.a, self.c, self.lo, self.hi = b.a, b.c, b.lo, b.hi

    def take(self, index: Array) -> _Curves:
        out = _Curves.__new__(_Curves)
        out.a, out.c = self.a[..., index], self.c[..., index]
        out.lo, out.hi = self.lo[..., index], self.hi[..., index]
        return out

    def at(self, pi: Array) -> tuple[Array, Array]:
        """Total quantity and slope d(quantity)/d(pi) per [region, scenario] at ``pi``."""
        raw = self.a * pi + self.c
        inside = (raw > self.lo) & (raw < self.hi)
        total: Array = np.minimum(np.maximum(raw, self.lo), self.hi).sum(0)
        slope: Array = (self.a * inside).sum(0)
        return total, slope

    def size(self) -> Array:
        """A volume scale per scenario: the largest block intercept."""
        result: Array = np.maximum(np.abs(self.c).max(axis=(0, 1)), 1e-12)
        return result


Excess = Callable[[Array], tuple[Array, Array]]
Maker = Callable[[Array | None], Excess]


def _root(make: Maker, lo: Array, hi: Array, start: Array, scale: Array) -> Array:
    """Root of increasing piecewise-linear excess functions in [lo, hi]; lo if f(lo) >= 0.

    Arrays have the scenario axis last; ``make(index)`` returns the excess function of the
    scenarios ``index`` (None: all). Converged scenarios are dropped from later iterations
    once they are at least half of those left.
    """
    p = np.clip(start, lo, hi)
    floor = lo.copy()
    tol = RELATIVE_TOLERANCE * scale
    active: Array | None = None
    fun = make(None)
    pa, la, ha, fa, ta = p, lo, hi, floor, tol
    for _ in range(MAX_ITERATIONS):
        f, g = fun(pa)
        # a root at the lower end of the bracket (e.g. a glut at price 0) ends there
        at_floor = (pa <= fa) & (f >= 0)
        done = at_floor | (np.abs(f) <= ta)
        left = ~done.reshape(-1, done.shape[-1]).all(0)
        if not left.any():
            break
        ha = np.where(f > 0, pa, ha)
        la = np.where(f < 0, pa, la)
        safe = np.where(g > 0, g, 1.0)
        step = pa - f / safe
        mid = 0.5 * (la + ha)
        below = (g > 0) & (step <= la)
        nxt = np.where((g <= 0) | (step >= ha), mid, step)
        nxt = np.where(below, np.where(la <= fa, fa, mid), nxt)
        pa = np.where(done, pa, nxt)
        if 2 * int(left.sum()) <= left.size:
            keep = np.flatnonzero(left)
            if active is None:
                p = pa.copy()
            else:
                p[..., active] = pa
            active = keep if active is None else active[keep]
            pa, la, ha, fa, ta = (x[..., keep] for x in (pa, la, ha, fa, ta))
            fun = make(active)
    if active is None:
        p = pa
    else:
        p[..., active] = pa
    root: Array = p
    return root


def _single(sup: _Curves, dem: _Curves, pi_max: float, start: Array | None) -> tuple[Array, Array]:
    n = sup.a.shape[2]

    def make(index: Array | None) -> Excess:
        s, d = (sup, dem) if index is None else (sup.take(index), dem.take(index))

        def excess(p: Array) -> tuple[Array, Array]:
            sq, gs = s.at(p[None, :])
            dq, gd = d.at(p[None, :])
            return (sq - dq).sum(0), (gs - gd).sum(0)

        return excess

    lo, hi = np.zeros(n), np.full(n, pi_max)
    pi = _root(make, lo, hi, np.ones(n) if start is None else start, dem.size())
    dispose = np.zeros(n)
    if (pi <= 0).any():
        f0, _ = make(None)(np.zeros(n))
        dispose = np.where(pi <= 0, np.maximum(f0, 0.0), 0.0)
    return pi, dispose


def clear_fast(
    sup_blocks: Blocks,
    dem_blocks: Blocks,
    origin: Array | None,
    cap: Array | None,
    pi_max: float,
    start: Array | None = None,
) -> Cleared:
    """Clear one stage-month for every scenario (see module docstring); ``start`` is an
    optional first guess of the one-zone price per scenario."""
    sup, dem = _Curves(sup_blocks), _Curves(dem_blocks)
    r = sup.a.shape[1]
    pi, dispose = _single(sup, dem, pi_max, start)
    pi_prod = np.repeat(pi[None, :], r, axis=0)
    pi_cons = pi_prod.copy()
    if origin is None or cap is None or not origin.any():
        return Cleared(pi_prod, pi_cons, dispose, pi)
    cap_rn = cap
    capped = np.isfinite(cap_rn)
    demand_w, _ = dem.at(pi_cons)
    need = np.where(capped, np.maximum(demand_w - np.where(capped, cap_rn, 0.0), 0.0), 0.0)
    supply_w, _ = sup.at(pi_prod)
    other = (supply_w * ~origin[:, None]).sum(0)
    tight = np.flatnonzero(need.sum(0) > other * (1 + 1e-12) + 1e-12 * dem.size())
    if tight.size == 0:
        return Cleared(pi_prod, pi_cons, dispose, pi)
    s, d = sup.take(tight), dem.take(tight)
    m = tight.size
    a_cap = np.where(capped[:, tight], cap_rn[:, tight], 0.0)
    dmask = capped[:, tight]
    in_o = origin[:, None]
    state = np.where(dmask, 1, 0)  # 0: zone F, 1: zone Z, 2: isolated (buys exactly its cap)
    scale = d.size()
    zones = np.ones((2, m))
    last: Maker | None = None
    for _ in range(8):
        in_z = state == 1
        in_f = state == 0
        fixed = np.stack([-(a_cap * (state >= 1)).sum(0), (a_cap * in_z).sum(0)])

        def make(
            index: Array | None, in_z: Array = in_z, in_f: Array = in_f, fixed: Array = fixed
        ) -> Excess:
            if index is None:
                sc, dc, iz, jf, fx = s, d, in_z, in_f, fixed
            else:
                sc, dc = s.take(index), d.take(index)
                iz, jf, fx = in_z[:, index], in_f[:, index], fixed[:, index]

            def excess(p: Array) -> tuple[Array, Array]:
                pp = np.where(in_o, p[0], p[1])
                pc = np.where(iz, p[1], p[0])
                sq, sg = sc.at(pp)
                dq, dg = dc.at(pc)
                ex = np.stack(
                    [
                        (sq * in_o).sum(0) - (dq * jf).sum(0),
                        (sq * ~in_o).sum(0) - (dq * iz).sum(0),
                    ]
                )
                slope = np.stack(
                    [
                        (sg * in_o).sum(0) - (dg * jf).sum(0),
                        (sg * ~in_o).sum(0) - (dg * iz).sum(0),
                    ]
                )
                return ex + fx, slope

            return excess

        last = make
        zones = _root(
            make, np.zeros((2, m)), np.full((2, m), pi_max), zones, np.stack([scale, scale])
        )
        d_f, _ = d.at(np.broadcast_to(zones[0], (r, m)))
        d_z, _ = d.at(np.broadcast_to(zones[1], (r, m)))
        new = np.where(dmask, np.where(d_f <= a_cap, 0, np.where(d_z >= a_cap, 1, 2)), 0)
        if np.array_equal(new, state):
            break
        state = new
    assert last is not None
    pp = np.where(in_o, zones[0], zones[1])
    pc = np.where(state == 1, zones[1], zones[0])
    iso = state == 2
    if iso.any():

        def own(index: Array | None) -> Excess:
            dc, cap_j = (d, a_cap) if index is None else (d.take(index), a_cap[:, index])

            def excess(p: Array) -> tuple[Array, Array]:
                q, g = dc.at(p)
                return cap_j - q, -g

            return excess

        low = np.broadcast_to(zones[0], (r, m)).copy()
        high = np.broadcast_to(zones[1], (r, m)).copy()
        p_iso = _root(own, low, high, 0.5 * (low + high), np.broadcast_to(scale, (r, m)))
        pc = np.where(iso, p_iso, pc)
    residual, _ = last(None)(zones)
    unsold = np.where(zones <= 0, np.maximum(residual, 0.0), 0.0).sum(0)
    valid = (zones[1] >= zones[0] - 1e-9) & (state == 1).any(0)
    keep = tight[valid]
    pi_prod[:, keep] = pp[:, valid]
    pi_cons[:, keep] = pc[:, valid]
    dispose[keep] = unsold[valid]
    return Cleared(pi_prod, pi_cons, dispose, pi)
