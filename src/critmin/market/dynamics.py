"""Month to month: the values of each month's clearing problem, and the state it leaves.

Both back-ends run the same steps, compiled with numba: :func:`assemble` writes the month's
segment values from the base chain, the scenario's drivers (capacity kept and added, demand
multipliers, export caps, stockpile releases) and the state (working stocks, expectations,
capacity the market has restarted or built); the back-end clears the month; :func:`advance`
books stocks, expectations and capacity responses. The state of a month depends only on
earlier months, so a scenario is a loop over months whatever clears them.

Driver arrays are [month, stage, region] (demand: [month, sector, region]); ``passed`` is the
share of base controlled-origin imports a destination may still receive (1 = no cap).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from critmin.market.chain import NONE, Chain
from critmin.market.terms import stock_values, supply_values

Array = np.ndarray

# scalar parameters passed to the compiled steps, in this order
P_EPS, P_EPS_C, P_K_INV, P_HOLD, P_REBUILD, P_LAMBDA, P_PHI, P_K_SP = range(8)
P_RESTART_T, P_RESTART_S, P_RESTART_L, P_EXPAND_T, P_EXPAND_S, P_EXPAND_L = range(8, 14)
N_PARAMS = 14


@dataclass(frozen=True)
class Drivers:
    """One scenario's exogenous inputs by month (t per month for tonnes)."""

    keep: Array  # [T, S, R] share of capacity kept (outages)
    added: Array  # [T, S, R] capacity added by events
    passed: Array  # [T, S, R] share of base controlled imports allowed (1 = no cap)
    even: Array  # [T, S, R] fixed stockpile releases
    demand: Array  # [T, K, R] demand multiplier by sector
    held: Array  # [T, E] tonnes held in each on-price stockpile from its start
    trigger: Array  # [E] price index above which an on-price stockpile is released

    @property
    def months(self) -> int:
        return int(self.keep.shape[0])


@dataclass
class State:
    """What a month leaves to the next: arrays [S, R] unless noted."""

    stock: Array
    used: Array  # [E] t released from each on-price stockpile so far
    price_1: Array  # price index at the use node last month
    price_2: Array  # ... the month before
    mean3: Array  # 3-month mean price index
    restart_at: Array  # month a restart was triggered (-1: never)
    expand_at: Array  # month an expansion was triggered (-1: never)


def initial_state(chain: Chain) -> State:
    n_s, n_r = chain.base.production.shape
    return State(
        stock=chain.base.inventory.copy(),
        used=np.zeros(chain.layout.price_release.size),
        price_1=np.ones((n_s, n_r)),
        price_2=np.ones((n_s, n_r)),
        mean3=np.ones((n_s, n_r)),
        restart_at=np.full((n_s, n_r), -1, dtype=np.int64),
        expand_at=np.full((n_s, n_r), -1, dtype=np.int64),
    )


def parameter_vector(chain: Chain) -> Array:
    p = chain.params
    out = np.zeros(N_PARAMS)
    out[P_EPS], out[P_EPS_C] = p.supply_elasticity, p.curtailment_elasticity
    out[P_K_INV], out[P_HOLD], out[P_REBUILD] = (
        p.inventory_release_slope, p.holding_cost, p.rebuild_months,
    )
    out[P_LAMBDA], out[P_PHI], out[P_K_SP] = (
        p.expectation_weight, p.precautionary_elasticity, p.stockpile_release_slope,
    )
    out[P_RESTART_T], out[P_RESTART_S], out[P_RESTART_L] = (
        p.restart_threshold, p.restart_share, p.restart_lead_months,
    )
    out[P_EXPAND_T], out[P_EXPAND_S], out[P_EXPAND_L] = (
        p.expansion_threshold, p.expansion_share, p.expansion_lead_months,
    )
    return out


@numba.njit(cache=True, error_model="numpy", inline="always")
def extra_capacity(
    t: int, capacity: Array, restart_at: Array, expand_at: Array, par: Array, out: Array
) -> None:
    """Capacity (t/month) the market has restarted or built by month ``t`` into ``out``."""
    n_s, n_r = capacity.shape
    for s in range(n_s):
        for r in range(n_r):
            x = 0.0
            if restart_at[s, r] >= 0 and t >= restart_at[s, r] + par[P_RESTART_L]:
                x += par[P_RESTART_S] * capacity[s, r]
            if expand_at[s, r] >= 0 and t >= expand_at[s, r] + par[P_EXPAND_L]:
                x += par[P_EXPAND_S] * capacity[s, r]
            out[s, r] = x


@numba.njit(cache=True, error_model="numpy", inline="always")
def assemble(
    t: int,
    base: tuple[Array, Array, Array, Array, Array],
    seg_ptr: Array,
    terms: tuple[Array, Array, Array, Array, Array, Array, Array],
    price_terms: Array,
    price_p0: Array,
    seg_sector: Array,
    chain_arrays: tuple[Array, Array, Array, Array, Array],
    par: Array,
    drivers: tuple[Array, Array, Array, Array, Array, Array, Array],
    stock: Array,
    used: Array,
    expected: Array,
    extra: Array,
    out: tuple[Array, Array, Array, Array, Array],
) -> None:
    """Segment values of month ``t`` into ``out`` (alpha, beta, lo, hi, cost), which holds
    the base values ``base`` or an earlier month's: only the values a month can change are
    written (every one of them, every month), the rest stay at the base.

    ``terms``: production, final_use, release, restock, import_c, even_release term
    indices [S, R] and recycling (unused here: constant); ``chain_arrays``: base output,
    capacity, inventory [S, R], base controlled imports [S, R], stage base prices [S];
    ``expected``: expected appreciation at each use node [S, R]."""
    alpha0, beta0, _, hi0, _ = base
    alpha, beta, lo, hi, _ = out
    production, final_use, release, restock, import_c, even_term, _ = terms
    z0, k0, inventory, import_base, price0 = chain_arrays
    keep, added, passed, even, demand, held, trigger = drivers
    n_s, n_r = z0.shape
    eps, eps_c = par[P_EPS], par[P_EPS_C]
    k_inv, h = par[P_K_INV], par[P_HOLD]
    for s in range(n_s):
        p0 = price0[s]
        for r in range(n_r):
            term = production[s, r]
            if term != NONE:
                z = z0[s, r] * keep[t, s, r] + added[t, s, r]
                k = max(k0[s, r], z0[s, r]) * keep[t, s, r] + added[t, s, r] + extra[s, r]
                g = seg_ptr[term]
                beta[g], hi[g], beta[g + 1], hi[g + 1] = supply_values(z, k, p0, eps_c, eps)
                alpha[g] = z
                alpha[g + 1] = 0.0
            term = final_use[s, r]
            if term != NONE:
                for g in range(seg_ptr[term], seg_ptr[term + 1]):
                    m = demand[t, seg_sector[g], r]
                    alpha[g] = alpha0[g] * m
                    beta[g] = beta0[g] * m
                    hi[g] = hi0[g] * m
            i0 = inventory[s, r]
            a_release, h_release, a_restock, h_restock = stock_values(
                i0, stock[s, r], 1.0 + h + expected[s, r],
                i0 * (1.0 + par[P_PHI] * max(expected[s, r], 0.0)), k_inv, par[P_REBUILD],
            )
            if release[s, r] != NONE:
                g = seg_ptr[release[s, r]]
                alpha[g] = a_release
                hi[g] = h_release
            if restock[s, r] != NONE:
                g = seg_ptr[restock[s, r]]
                alpha[g] = a_restock
                hi[g] = h_restock
            term = import_c[s, r]
            if term != NONE:
                g = seg_ptr[term]
                hi[g] = passed[t, s, r] * import_base[s, r] if passed[t, s, r] < 1.0 else hi0[g]
            term = even_term[s, r]
            if term != NONE:
                g = seg_ptr[term]
                alpha[g] = even[t, s, r]
                lo[g] = even[t, s, r]
                hi[g] = even[t, s, r]
    for e in range(price_terms.size):
        g = seg_ptr[price_terms[e]]
        k = par[P_K_SP] * held[t, e]
        alpha[g] = -k * trigger[e]
        beta[g] = k / price_p0[e]
        hi[g] = max(held[t, e] - used[e], 0.0)


@numba.njit(cache=True, error_model="numpy", inline="always")
def advance(
    t: int,
    q: Array,
    p: Array,
    terms: tuple[Array, Array, Array, Array, Array, Array, Array],
    price_terms: Array,
    use_node: Array,
    capacity: Array,
    par: Array,
    stock: Array,
    used: Array,
    price_1: Array,
    price_2: Array,
    mean3: Array,
    restart_at: Array,
    expand_at: Array,
    expected: Array,
) -> None:
    """Book month ``t``'s solution (activities ``q``, prices ``p``) into the state, and the
    expected appreciation for month ``t + 1`` into ``expected``."""
    _, _, release, restock, _, _, _ = terms
    n_s, n_r = stock.shape
    for s in range(n_s):
        for r in range(n_r):
            if release[s, r] != NONE:
                stock[s, r] += q[restock[s, r]] - q[release[s, r]]
            if use_node[s, r] == NONE:
                continue
            price = p[use_node[s, r]]
            mean3[s, r] = (price + price_1[s, r] + price_2[s, r]) / 3.0
            price_2[s, r] = price_1[s, r]
            price_1[s, r] = price
            change = (price_1[s, r] - price_2[s, r]) / price_2[s, r]
            expected[s, r] = par[P_LAMBDA] * change
            if capacity[s, r] > 0:
                if restart_at[s, r] < 0 and mean3[s, r] > par[P_RESTART_T]:
                    restart_at[s, r] = t
                if expand_at[s, r] < 0 and mean3[s, r] > par[P_EXPAND_T]:
                    expand_at[s, r] = t
    for e in range(price_terms.size):
        used[e] += q[price_terms[e]]
