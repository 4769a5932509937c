"""Two-zone clearing of one good in one month: China (C) and everyone else (X).

Each zone has fixed output ``q`` (t this month), a working stock that is released above the
trigger price and rebuilt below it, and linear demand blocks. Prices are indices (1 = base).
Without a binding export cap both zones pay one price; when China's exports to X are capped
at ``cap`` t the zones clear separately: China's price falls (the blocked tonnes stay home),
X's price rises. All quantities are t of the stage unit per month.

The root of a monotone piecewise-linear excess supply is found by bisection to machine
precision (deterministic, no tolerance-dependent branches), so the balance of every zone
holds to rounding (about 1e-12 of the flows).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

P_MAX = 50.0
"""Highest price index the clearing looks at; above it demand is rationed."""

_ITER = 200


@dataclass(frozen=True)
class Zone:
    """Supply and demand of one zone for one good in one month (t/month; index prices).

    ``demand`` holds (base quantity, elasticity) pairs: ``q(p) = max(D (1 + e (p - 1)), 0)``.
    """

    output: float
    stock: float
    stock_ref: float
    release_slope: float
    holding_cost: float
    rebuild_months: float
    demand: tuple[tuple[float, float], ...]
    curtail: float = 0.0
    expand: float = 0.0
    capacity: float | None = None

    def produce(self, p: float) -> float:
        """Output at ``p``: ``clip(Q (1 + curtail (p - 1)), 0, min(Q, K))`` below and
        ``clip(expand Q (p - 1), 0, K - Q)`` above base, ``K = capacity`` (t)."""
        q = self.output
        k = q if self.capacity is None else self.capacity
        low = min(max(q * (1.0 + self.curtail * (p - 1.0)), 0.0), min(q, k))
        high = min(max(self.expand * q * (p - 1.0), 0.0), max(k - q, 0.0))
        return low + high

    def release(self, p: float) -> float:
        """Stock released at price ``p`` (t)."""
        k = self.release_slope * self.stock_ref * (p - (1.0 + self.holding_cost))
        return min(max(k, 0.0), self.stock)

    def restock(self, p: float) -> float:
        """Stock bought back at price ``p`` (t)."""
        room = max(self.stock_ref - self.stock, 0.0) / self.rebuild_months
        k = self.release_slope * self.stock_ref * ((1.0 + self.holding_cost) - p)
        return min(max(k, 0.0), room)

    def uses(self, p: float) -> list[float]:
        """Each demand block at price ``p`` (t)."""
        return [max(d * (1.0 + e * (p - 1.0)), 0.0) for d, e in self.demand]

    def excess(self, p: float) -> float:
        """Excess supply at ``p``: output + release - demand - restock (t)."""
        return self.produce(p) + self.release(p) - sum(self.uses(p)) - self.restock(p)


@dataclass(frozen=True)
class ZoneResult:
    """Outcome of one zone: price index and every flow (t/month)."""

    price: float
    output: float
    release: float
    uses: tuple[float, ...]
    restock: float
    unsold: float
    net_export: float

    def balance(self) -> float:
        """Output + release - uses - restock - unsold - net exports (0 up to rounding)."""
        return (
            self.output
            + self.release
            - sum(self.uses)
            - self.restock
            - self.unsold
            - self.net_export
        )


def _root(fn: Callable[[float], float], target: float) -> float:
    """Bisection root of monotone non-decreasing ``fn(p) = target`` on [0, P_MAX]."""
    lo, hi = 0.0, P_MAX
    for _ in range(_ITER):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if fn(mid) < target:
            lo = mid
        else:
            hi = mid
    return hi


def settle(zone: Zone, net_export: float) -> ZoneResult:
    """Clear ``zone`` given its net exports (t; negative = imports).

    A glut at price 0 leaves output unsold (added to stock by the caller); a shortage at
    ``P_MAX`` rations the demand blocks pro rata.
    """
    if zone.excess(0.0) >= net_export:
        p = 0.0
        unsold = zone.excess(0.0) - net_export
        return ZoneResult(
            p,
            zone.produce(p),
            zone.release(p),
            tuple(zone.uses(p)),
            zone.restock(p),
            unsold,
            net_export,
        )
    if zone.excess(P_MAX) < net_export:
        p = P_MAX
        available = zone.produce(p) + zone.release(p) - net_export
        wanted = zone.uses(p)
        total = sum(wanted)
        scale = max(available, 0.0) / total if total > 0 else 0.0
        return ZoneResult(
            p,
            zone.produce(p),
            zone.release(p),
            tuple(w * scale for w in wanted),
            0.0,
            0.0,
            net_export,
        )
    p = _root(zone.excess, net_export)
    uses = zone.uses(p)
    release = zone.release(p)
    restock = zone.restock(p)
    # bisection leaves a residual of about 1e-13 t (either sign): booked as unsold so
    # that the zone balances exactly
    output = zone.produce(p)
    unsold = output + release - sum(uses) - restock - net_export
    return ZoneResult(p, output, release, tuple(uses), restock, unsold, net_export)


def clear(china: Zone, rest: Zone, cap: float | None) -> tuple[ZoneResult, ZoneResult]:
    """Clear both zones; ``cap`` bounds China's net exports to the rest (t; None = no cap).

    Free trade: one price where total excess supply is zero; China's net exports are its
    excess supply there. If they exceed ``cap``, exports are set to ``cap`` and each zone
    clears at its own price (China's below, the rest's above the free price).
    """

    def total(p: float) -> float:
        return china.excess(p) + rest.excess(p)

    if total(0.0) >= 0.0:
        flow = -rest.excess(0.0)
    elif total(P_MAX) < 0.0:
        flow = china.excess(P_MAX)
    else:
        p = _root(total, 0.0)
        flow = china.excess(p)
    if cap is not None and flow > cap:
        flow = max(cap, 0.0)
    return settle(china, flow), settle(rest, -flow)
