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
evaluated exactly at ``PIECES + 1`` price breakpoints ``p_j = p0^(j / PIECES)`` (the market's
accounts at each) and joined by chords. The market's ``L`` is not convex everywhere: in a
rationed month a tonne is worth its rationing price ``c P0`` while the last tonne priced out at
the ceiling is worth ``P0 c / |eta|``, and within one linear piece of the demand curve the
marginal value falls slightly. The LP needs a convex function, so the curve is the lower convex
envelope of the breakpoints (``convex_envelope``): exact at no release and at full cover, and
the gap at the other breakpoints is reported (``LossCurves.envelope_gap_usd``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from critmin.market.chain import Chain
from critmin.market.damage import sector_accounts

Array = np.ndarray
PIECES = 8
"""Linear pieces per cell: breakpoints at ``p0^(j / PIECES)``, j = 0..PIECES."""


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
        filled = np.clip(
            np.asarray(shortfall_left)[..., None] - np.cumsum(self.width, -1) + self.width,
            0.0,
            self.width,
        )
        out: Array = (filled * self.slope).sum(-1)
        return out


def convex_envelope(x: Array, y: Array) -> Array:
    """The lower convex envelope of the points ``(x, y)`` [..., n] (``x`` non-decreasing along
    the last axis) evaluated at ``x``; equal to ``y`` at the first and last points."""
    n = x.shape[-1]
    active = np.ones(x.shape, dtype=bool)
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


def loss_curves(chain: Chain, price_index: Array, multiplier: Array) -> tuple[Array, Array]:
    """Shortfall [..., stage, region, sector, j] (t/month) and value lost [..., stage, region,
    sector, j] (USD/month) at the breakpoints ``p_j = max(p0, 1)^(j / PIECES)`` of every node's
    price ``p0 = price_index`` [..., stage, region], demand multipliers as
    :func:`critmin.market.damage.sector_accounts` takes them. At ``j = PIECES`` they are the
    market's own accounts at ``p0``."""
    p0 = np.asarray(price_index, dtype=float)
    top = np.where(np.isfinite(p0), np.maximum(p0, 1.0), np.nan)
    short, value = [], []
    for j in range(PIECES + 1):
        price = p0 if j == PIECES else top ** (j / PIECES)
        accounts = sector_accounts(chain, price, multiplier)
        short.append(accounts.shortfall)
        value.append(accounts.value_lost)
    return np.stack(short, -1), np.stack(value, -1)


def curves_from_breakpoints(short: Array, value: Array) -> LossCurves:
    """The convex curves of cells from their sectors' shortfall and value lost at the
    breakpoints [..., sector, j] (j = 0: no price rise; last: no release)."""
    u = short.sum(-2)  # [..., j]
    loss = value.sum(-2)
    u = np.maximum.accumulate(np.maximum(u, 0.0), axis=-1)
    envelope = convex_envelope(u, loss)
    width = np.diff(u, axis=-1)
    rise = np.diff(envelope, axis=-1)
    positive = width > 0
    slope = np.where(positive, rise / np.where(positive, width, 1.0), 0.0)
    slope = np.maximum.accumulate(slope, axis=-1)  # round-off: keep the slopes ordered
    gained = np.moveaxis(np.diff(short, axis=-1), -2, -1)  # [..., piece, sector]
    gained = np.maximum(gained, 0.0)
    total = gained.sum(-1, keepdims=True)
    share = np.where(total > 0, gained / np.where(total > 0, total, 1.0), 0.0)
    return LossCurves(
        width=width,
        slope=slope,
        sector_share=share,
        breakpoint_usd=loss,
        envelope_gap_usd=np.max(loss - envelope, axis=-1),
    )
