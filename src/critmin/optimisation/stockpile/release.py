"""What a release saves when it lowers the price: the market's loss as a convex piecewise-linear
function of the shortfall left after release (partial equilibrium at the ally's use node).

A release of ``y`` t/month that reaches an ally's use node of a material adds ``y`` to what its
buyers consume. Holding fixed what reaches the node otherwise (other countries' prices and
trade: the partial-equilibrium assumption), the node's price index falls from ``p0`` to the
``p`` at which the buyers' curves (the market's own segments, rationing included) take the
extra tonnes: ``C(p) = C(p0) + y``. Their loss is the market's ``value_lost`` at that price
(``critmin.market.damage``), and the shortfall left is ``U = reference - C(p) = S0 - y``.

So the loss of a cell (scenario, month, ally, material) is a function ``L(U)`` of the shortfall
left, with ``L(0) = 0`` (price back to 1) and ``L(S0) = value_lost`` (no release). It is
evaluated exactly (the market's accounts) at the breakpoints 1, the prices between 1 and ``p0``
at which the node's demand curve bends (the linear pieces of the market's constant-elasticity
curves, the start of rationing) and ``p0``. Between two breakpoints the demand is linear, so
``L`` is a concave quadratic there (its marginal value ``P0 D(p) / |D'|`` falls as ``D`` falls
along a straight piece) and bends upwards at the breakpoints; in a rationed month a tonne is
worth its rationing price ``c P0``, less than the ``P0 c / |eta|`` of the last tonne priced
out at the ceiling. The LP needs a convex function: the curve is the lower convex envelope of
``L`` (``convex_envelope`` of the breakpoints: a function concave between breakpoints has its
envelope's corners among them), exact at no release and at full cover. Its largest gap below
``L`` is bounded per cell (``LossCurves.envelope_gap_usd``: the gaps at a piece's ends plus
the quadratic's bulge above its chord, measured at the piece's price midpoint).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from critmin.market.chain import NONE, Chain
from critmin.market.damage import sector_accounts

Array = np.ndarray
SAME_POINT = 1e-12
"""Breakpoints whose shortfalls differ by less than this share of the cell's are one point."""


@dataclass(frozen=True)
class LossCurves:
    """Convex piecewise-linear loss of the shortfall left, per cell [..., piece] (pieces in
    order of the shortfall left, cheapest tonnes first): ``width`` (t/month), ``slope`` (USD
    per tonne of shortfall left, non-decreasing); ``sector_share`` [..., piece, sector] each
    sector's part of a piece's tonnes (sums to 1 where the width is positive);
    ``breakpoint_usd`` [..., piece + 1] the market's exact loss at the breakpoints and
    ``envelope_gap_usd`` [...] the largest (exact - envelope) at a breakpoint (USD/month)."""

    width: Array
    slope: Array
    sector_share: Array
    breakpoint_usd: Array
    envelope_gap_usd: Array

    def loss(self, shortfall_left: Array) -> Array:
        """The curve at ``shortfall_left`` [...] (t/month), USD/month."""
        return piecewise_loss(self.width, self.slope, shortfall_left)


def piecewise_loss(width: Array, slope: Array, shortfall_left: Array) -> Array:
    """The convex curve of pieces ``width`` (t/month) and ``slope`` (USD/t) [..., piece] at
    ``shortfall_left`` [...] (t/month; the cheapest pieces fill first), USD/month."""
    filled = np.clip(
        np.asarray(shortfall_left)[..., None] - np.cumsum(width, -1) + width, 0.0, width
    )
    out: Array = (filled * slope).sum(-1)
    return out


def convex_envelope(x: Array, y: Array) -> Array:
    """The lower convex envelope of the points ``(x, y)`` [..., n] evaluated at ``x``; equal to
    ``y`` at the first and last points. ``x`` non-decreasing along the last axis, and points
    at one ``x`` have one ``y``."""
    n = x.shape[-1]
    active = np.ones(x.shape, dtype=bool)
    if n > 2:  # of points at one x, one takes part (the last; the first point stays)
        same = x[..., 1:] == x[..., :-1]  # [j]: x[j] == x[j + 1]
        active[..., 1 : n - 1] &= ~same[..., 1:]
        active[..., 1] &= ~same[..., 0]
    index = np.broadcast_to(np.arange(n), x.shape)
    for _ in range(n):
        prev = np.maximum.accumulate(np.where(active, index, -1), axis=-1)
        prev = np.concatenate([np.zeros_like(prev[..., :1]), prev[..., :-1]], axis=-1)
        nxt = np.flip(np.minimum.accumulate(np.flip(np.where(active, index, n), -1), axis=-1), -1)
        nxt = np.concatenate([nxt[..., 1:], np.full_like(nxt[..., :1], n - 1)], axis=-1)
        prev, nxt = np.clip(prev, 0, n - 1), np.clip(nxt, 0, n - 1)
        x0, y0 = np.take_along_axis(x, prev, -1), np.take_along_axis(y, prev, -1)
        x1, y1 = np.take_along_axis(x, nxt, -1), np.take_along_axis(y, nxt, -1)
        span = x1 - x0
        chord = np.where(span > 0, y0 + (y1 - y0) * (x - x0) / np.where(span > 0, span, 1.0), y)
        above = active & (y > chord + 1e-12 * np.abs(chord))
        above[..., 0] = above[..., -1] = False
        if not above.any():
            break
        active &= ~above
    # interpolate between the remaining vertices
    prev = np.maximum.accumulate(np.where(active, index, 0), axis=-1)
    nxt = np.flip(np.minimum.accumulate(np.flip(np.where(active, index, n - 1), -1), axis=-1), -1)
    x0, y0 = np.take_along_axis(x, prev, -1), np.take_along_axis(y, prev, -1)
    x1, y1 = np.take_along_axis(x, nxt, -1), np.take_along_axis(y, nxt, -1)
    span = x1 - x0
    out: Array = np.where(span > 0, y0 + (y1 - y0) * (x - x0) / np.where(span > 0, span, 1.0), y0)
    return out


def kink_prices(chain: Chain) -> Array:
    """Price indices above 1 at which a use node's demand curve bends [stage, region, kink]
    (where a linear piece of some sector starts or ends, the rationing segments' included),
    sorted, padded with +inf; between two of them the curve is linear."""
    lay, st, v = chain.layout, chain.structure, chain.values
    price0 = chain.base.base_price
    per_node: dict[tuple[int, int], list[float]] = {}
    for (s, r), term in np.ndenumerate(lay.final_use):
        if term == NONE:
            continue
        found: set[float] = set()
        for g in range(st.seg_ptr[term], st.seg_ptr[term + 1]):
            slope = v.beta[g] * price0[s]
            if slope <= 0:
                continue
            for edge in (v.hi[g], v.lo[g]):
                x = float((v.alpha[g] - edge) / slope)
                if np.isfinite(x) and x > 1.0:
                    found.add(x)
        per_node[(s, r)] = sorted(found)
    width = max((len(k) for k in per_node.values()), default=0)
    out = np.full((*lay.final_use.shape, width), np.inf)
    for (s, r), kinks in per_node.items():
        out[s, r, : len(kinks)] = kinks
    return out


def breakpoint_prices(chain: Chain, price_index: Array) -> Array:
    """[..., stage, region, j]: 1, the node's kink prices below ``p0`` and ``p0`` itself
    (kinks above ``p0`` repeat it: pieces of zero width; kinks above every cell's ``p0`` are
    left out); ``p0 = price_index``, at least 1."""
    p0 = np.asarray(price_index, dtype=float)
    top = np.where(np.isfinite(p0), np.maximum(p0, 1.0), np.nan)[..., None]
    kinks = kink_prices(chain)
    kinks = np.broadcast_to(kinks, (*p0.shape, kinks.shape[-1]))
    inner = np.minimum(kinks, top)
    below = (inner < top).reshape(-1, inner.shape[-1]).any(0)  # kinks below some p0
    return np.concatenate([np.ones_like(top), inner[..., below], top], axis=-1)


def loss_curves(chain: Chain, price_index: Array, multiplier: Array) -> tuple[Array, Array, Array]:
    """Shortfall and value lost [..., stage, region, sector, j] (t/month, USD/month) at the
    breakpoints of :func:`breakpoint_prices`, and the largest rise of the market's loss above
    the chord of each piece [..., stage, region, piece] (USD/month: at the piece's price
    midpoint, where a quadratic bulges most). At the last breakpoint they are the market's own
    accounts at ``p0 = price_index`` [..., stage, region] (demand multipliers as
    :func:`critmin.market.damage.sector_accounts` takes them)."""
    p0 = np.asarray(price_index, dtype=float)
    prices = breakpoint_prices(chain, p0)
    n = prices.shape[-1]
    short, value = [], []
    for j in range(n):
        price = p0 if j == n - 1 else prices[..., j]
        accounts = sector_accounts(chain, price, multiplier)
        short.append(accounts.shortfall)
        value.append(accounts.value_lost)
    short_j, value_j = np.stack(short, -1), np.stack(value, -1)
    bulge = []
    for j in range(1, n):
        mid = sector_accounts(chain, 0.5 * (prices[..., j - 1] + prices[..., j]), multiplier)
        u0, u1 = short_j[..., j - 1].sum(-1), short_j[..., j].sum(-1)
        v0, v1 = value_j[..., j - 1].sum(-1), value_j[..., j].sum(-1)
        um, vm = mid.shortfall.sum(-1), mid.value_lost.sum(-1)
        span = u1 - u0
        chord = np.where(span > 0, v0 + (v1 - v0) * (um - u0) / np.where(span > 0, span, 1), vm)
        bulge.append(np.maximum(vm - chord, 0.0))
    return short_j, value_j, np.stack(bulge, -1)


def curves_from_breakpoints(short: Array, value: Array, bulge: Array) -> LossCurves:
    """The convex curves of cells from their sectors' shortfall and value lost at the
    breakpoints [..., sector, j] (j = 0: no price rise; last: no release) and the market
    loss's rise above each piece's chord [..., piece] (:func:`loss_curves`)."""
    u = short.sum(-2)  # [..., j]
    loss = value.sum(-2)
    u = np.maximum.accumulate(np.maximum(u, 0.0), axis=-1)
    # breakpoints closer than round-off (kinks of two sectors at one price) are one point
    # (the last point, no release, stays exact: the one before it moves onto it)
    last = u.shape[-1] - 1
    for j in range(1, last):
        tiny = u[..., j] - u[..., j - 1] <= SAME_POINT * u[..., last]
        u[..., j] = np.where(tiny, u[..., j - 1], u[..., j])
        loss[..., j] = np.where(tiny, loss[..., j - 1], loss[..., j])
    tiny = u[..., last] - u[..., last - 1] <= SAME_POINT * u[..., last]
    u[..., last - 1] = np.where(tiny, u[..., last], u[..., last - 1])
    loss[..., last - 1] = np.where(tiny, loss[..., last], loss[..., last - 1])
    envelope = convex_envelope(u, loss)
    gap = np.maximum(loss - envelope, 0.0)
    width = np.diff(u, axis=-1)
    rise = np.diff(envelope, axis=-1)
    positive = width > 0
    slope = np.where(positive, rise / np.where(positive, width, 1.0), np.nan)
    # a piece of zero width takes the slope before it (0 before the first)
    for j in range(slope.shape[-1]):
        before = slope[..., j - 1] if j > 0 else 0.0
        slope[..., j] = np.where(positive[..., j], slope[..., j], before)
    gained = np.moveaxis(np.diff(short, axis=-1), -2, -1)  # [..., piece, sector]
    gained = np.maximum(gained, 0.0)
    total = gained.sum(-1, keepdims=True)
    share = np.where(total > 0, gained / np.where(total > 0, total, 1.0), 0.0)
    return LossCurves(
        width=width,
        slope=slope,
        sector_share=share,
        breakpoint_usd=loss,
        envelope_gap_usd=np.max(np.maximum(gap[..., 1:], gap[..., :-1]) + bulge, axis=-1),
    )
