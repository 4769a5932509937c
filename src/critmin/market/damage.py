"""What a missing tonne costs each sector: one definition for the market's accounts and the
stockpile.

A sector ``k`` of a region buys along its curve ``D_k(p)`` (constant elasticity in linear
pieces, ``critmin.market.terms.demand_pieces``) up to its rationing price ``c_k`` (a price
index), then is rationed. Its buyers' loss at price index ``p`` is the market's
``value_lost`` (``critmin.market.accounts.final_use_accounts``):

    V_k(p) = P0 int_1^min(p, c_k) D_k(x) dx  +  c_k P0 U_k

(the surplus lost as the price rises, exact for the linear pieces, plus each rationed tonne
``U_k`` at its rationing price). So:

* a **rationed tonne** costs ``c_k P0`` (USD/t): :func:`rationed_value`;
* a **tonne given up** at ``p`` costs, on average, the surplus lost per tonne priced out,
  ``P0 int_1^p D_k / (D_k(1) - D_k(p))`` (tends to ``P0 / |eta|`` as ``p -> 1``);
* a **tonne short** (given up or rationed) costs ``V_k / S_k``, ``S_k = reference -
  consumption``: :meth:`SectorAccounts.damage_per_tonne`, the stockpile's damage.

:func:`sector_accounts` evaluates the accounts of any set of months from their prices and
demand multipliers on the chain's base curves (a demand shock scales a sector's curve, so the
accounts scale with it), e.g. for every month of every sample of an ensemble.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from critmin.market.accounts import final_use_accounts
from critmin.market.chain import NONE, Chain

Array = np.ndarray
SHORT_TOLERANCE = 1e-9
"""A sector counts as short where its shortfall exceeds this share of its reference use."""


def rationed_value(chain: Chain) -> Array:
    """USD per rationed tonne [stage, region, sector]: the sector's rationing price index
    times the stage's base price (``c_k P0``), read from the chain's rationing segments; NaN
    where the region has no final use of the sector at that stage."""
    lay, st = chain.layout, chain.structure
    n_s, n_r = lay.final_use.shape
    n_k = len(chain.base.sectors)
    out = np.full((n_s, n_r, n_k), np.nan)
    for (s, r), term in np.ndenumerate(lay.final_use):
        if term == NONE:
            continue
        for g in range(st.seg_ptr[term], st.seg_ptr[term + 1]):
            if lay.seg_ration[g]:
                out[s, r, lay.seg_sector[g]] = lay.seg_ceiling[g] * chain.base.base_price[s]
    return out


@numba.njit(cache=True, error_model="numpy")
def _accounts(
    price: Array,
    multiplier: Array,
    final_use: Array,
    price0: Array,
    seg_ptr: Array,
    alpha: Array,
    beta: Array,
    lo: Array,
    hi: Array,
    seg_sector: Array,
    seg_ration: Array,
    seg_ceiling: Array,
    sector_reference: Array,
    out: Array,
) -> None:
    """Per cell ``i`` [N, S, R] at price index ``price[i, s, r]`` with demand multipliers
    ``multiplier[i, s, r, k]``: the base curves' accounts [K, 5] scaled by the multiplier
    into ``out[i, s, r]`` [K, 6] (reference, desired, consumption, given up, unmet, value)."""
    n, n_s, n_r = price.shape
    n_k = sector_reference.shape[2]
    acc = np.zeros((n_k, 5))
    for s in range(n_s):
        for r in range(n_r):
            term = final_use[s, r]
            if term == NONE:
                continue
            for i in range(n):
                p = price[i, s, r]
                if not np.isfinite(p):
                    continue
                final_use_accounts(
                    term,
                    p,
                    price0[s],
                    seg_ptr,
                    alpha,
                    beta,
                    lo,
                    hi,
                    seg_sector,
                    seg_ration,
                    seg_ceiling,
                    sector_reference[s, r],
                    acc,
                )
                for k in range(n_k):
                    m = multiplier[i, s, r, k]
                    out[i, s, r, k, 0] = m * sector_reference[s, r, k]
                    for j in range(5):
                        out[i, s, r, k, j + 1] = m * acc[k, j]


@dataclass(frozen=True)
class SectorAccounts:
    """Final use by sector [..., stage, region, sector] (t/month; ``value_lost`` USD)."""

    reference: Array
    desired: Array
    consumption: Array
    given_up: Array
    unmet: Array
    value_lost: Array

    @property
    def shortfall(self) -> Array:
        """Reference - consumption = given up + unmet (t/month)."""
        short: Array = np.maximum(self.reference - self.consumption, 0.0)
        return short

    def damage_per_tonne(self) -> Array:
        """USD per tonne short: ``value_lost / shortfall`` where the sector is short (more
        than ``SHORT_TOLERANCE`` of its reference), else 0 (nothing short to value)."""
        short = self.shortfall
        where = short > SHORT_TOLERANCE * np.maximum(self.reference, 1e-300)
        return np.where(where, self.value_lost / np.where(where, short, 1.0), 0.0)


def sector_accounts(chain: Chain, price_index: Array, multiplier: Array) -> SectorAccounts:
    """The accounts of final use at prices ``price_index`` [..., stage, region] (the use
    node's index; NaN where the region has no node) with demand multipliers ``multiplier``
    [..., stage, region] (the same for every sector) or [..., stage, region, sector].

    Exact for the market's own months: a month's final-use segments are the base segments
    times the sector's demand multiplier, so its accounts are the base curves' accounts at
    its price times that multiplier (tested against central runs)."""
    lay, st, base = chain.layout, chain.structure, chain.base
    n_s, n_r = lay.final_use.shape
    n_k = len(base.sectors)
    price = np.asarray(price_index, dtype=float)
    lead = price.shape[:-2]
    if price.shape[-2:] != (n_s, n_r):
        raise ValueError(f"price_index: last dims must be [stage, region] = {(n_s, n_r)}")
    m = np.asarray(multiplier, dtype=float)
    if m.shape == price.shape:
        m = np.repeat(m[..., None], n_k, axis=-1)
    if m.shape != (*price.shape, n_k):
        raise ValueError("multiplier: [..., stage, region] or [..., stage, region, sector]")
    flat_p = np.ascontiguousarray(price.reshape(-1, n_s, n_r))
    flat_m = np.ascontiguousarray(m.reshape(-1, n_s, n_r, n_k))
    reference = np.ascontiguousarray(base.final_demand[:, :, None] * base.sector_split)
    out = np.zeros((flat_p.shape[0], n_s, n_r, n_k, 6))
    v = chain.values
    _accounts(
        flat_p,
        flat_m,
        lay.final_use,
        base.base_price,
        st.seg_ptr,
        v.alpha,
        v.beta,
        v.lo,
        v.hi,
        lay.seg_sector,
        lay.seg_ration,
        lay.seg_ceiling,
        reference,
        out,
    )
    out = out.reshape(*lead, n_s, n_r, n_k, 6)
    return SectorAccounts(*(out[..., j] for j in range(6)))
