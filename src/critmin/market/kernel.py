"""Compiled ensembles: every sampled scenario of a chunk through its horizon, with numba.

The same steps as a central run (``run.py``): :func:`~critmin.market.dynamics.assemble`, the
compiled back-end (:func:`~critmin.market.newton.solve`, warm-started from last month's
prices) and :func:`~critmin.market.dynamics.advance`. A month whose drivers and state are at
the base (no active event, stocks full, no expectation, no capacity response) has the base
solution and is not cleared. Scenarios run one after the other in a fixed order, without
threads or fast-math, so a scenario's results do not depend on its chunk or process.

Scenario shocks arrive as term tables (CSR over ``index * n_regions + region`` into value
rows [row, scenario, month]) and are expanded per scenario into small dense scratch arrays.
"""

from __future__ import annotations

import numba
import numpy as np

from critmin.market.accounts import final_use_accounts
from critmin.market.chain import NONE
from critmin.market.dynamics import advance, assemble, extra_capacity
from critmin.market.newton import TOLERANCE, solve, workspace

Array = np.ndarray
SHORT_TOLERANCE = 0.01
"""A month counts as short for a region when its shortfall exceeds 1 % of its reference use."""



@numba.njit(cache=True, error_model="numpy")
def combine(ptr: Array, rows: Array, values: Array, j: int, product: bool, dense: Array) -> None:
    """Scenario ``j``'s terms of one kind into ``dense`` [month, cell]: the product (or sum)
    of each cell's rows in event order; cells without terms keep the caller's fill."""
    for c in range(ptr.shape[0] - 1):
        a, b = ptr[c], ptr[c + 1]
        if a == b:
            continue
        for t in range(dense.shape[0]):
            v = 1.0 if product else 0.0
            for i in range(a, b):
                if product:
                    v *= values[rows[i], j, t]
                else:
                    v += values[rows[i], j, t]
            dense[t, c] = v


@numba.njit(cache=True, error_model="numpy", inline="always")
def account_month(
    j: int,
    t: int,
    months: int,
    p: Array,
    seg_ptr: Array,
    alpha: Array,
    beta: Array,
    lo: Array,
    hi: Array,
    final_use: Array,
    use_node: Array,
    sector_reference: Array,
    demand: Array,
    stage_price: Array,
    seg_info: tuple[Array, Array, Array],
    acc: Array,
    ref_k: Array,
    short_month: Array,
    summary: tuple,  # type: ignore[type-arg]
    paths: tuple,  # type: ignore[type-arg]
) -> None:
    """Add month ``t`` of scenario ``j`` (prices ``p``, segment values) to its summary row
    (and paths, when sized): final use by what buyers wanted, got, gave up and lacked,
    prices, and the months a region is short."""
    seg_sector, seg_ration, seg_ceiling = seg_info
    (s_reference, s_consumption, s_shortfall, s_given_up, s_unmet, s_peak, s_mean, s_value,
     s_first, s_last, _, _) = summary
    (p_reference, p_consumption, p_unmet, p_given_up, p_price) = paths
    record = p_price.shape[0] > 0
    n_s, n_r = use_node.shape
    n_k = sector_reference.shape[2]
    for r in range(n_r):
        short_month[r] = False
    for s in range(n_s):
        for r in range(n_r):
            if use_node[s, r] == NONE:
                continue
            price = p[use_node[s, r]]
            s_peak[j, s, r] = max(s_peak[j, s, r], price)
            s_mean[j, s, r] += price / months
            if record:
                p_price[j, t, s, r] = price
            term = final_use[s, r]
            if term == NONE:
                continue
            for k in range(n_k):
                ref_k[k] = sector_reference[s, r, k] * demand[t, k, r]
            final_use_accounts(term, price, stage_price[s], seg_ptr, alpha, beta, lo, hi,
                               seg_sector, seg_ration, seg_ceiling, ref_k, acc)
            ref = 0.0
            got = 0.0
            given = 0.0
            unmet = 0.0
            for k in range(n_k):
                ref += ref_k[k]
                got += acc[k, 1]
                given += acc[k, 2]
                unmet += acc[k, 3]
                s_value[j, r] += acc[k, 4]
            s_reference[j, s, r] += ref
            s_consumption[j, s, r] += got
            s_shortfall[j, s, r] += max(ref - got, 0.0)
            s_given_up[j, s, r] += given
            s_unmet[j, s, r] += unmet
            if ref - got > SHORT_TOLERANCE * max(ref, 1e-12):
                short_month[r] = True
            if record:
                p_reference[j, t, s, r] = ref
                p_consumption[j, t, s, r] = got
                p_unmet[j, t, s, r] = unmet
                p_given_up[j, t, s, r] = given
    for r in range(n_r):
        if short_month[r]:
            if s_first[j, r] == 0:
                s_first[j, r] = t + 1
            s_last[j, r] = t + 1



@numba.njit(cache=True, error_model="numpy")
def run_chunk(
    st: tuple,  # type: ignore[type-arg]
    base_values: tuple[Array, Array, Array, Array, Array],
    terms: tuple[Array, Array, Array, Array, Array, Array, Array],
    price_terms: Array,
    price_p0: Array,
    seg_info: tuple[Array, Array, Array],
    chain_arrays: tuple[Array, Array, Array, Array, Array],
    sector_reference: Array,
    use_node: Array,
    par: Array,
    q_base: Array,
    shocks: tuple,  # type: ignore[type-arg]
    summary: tuple,  # type: ignore[type-arg]
    paths: tuple,  # type: ignore[type-arg]
) -> None:
    """Run every scenario of the chunk; write the summary rows (and paths if sized)."""
    (term_ptr, term_node, term_coef, seg_ptr, term_group, price0, volume, group_ptr,
     group_nodes, global_nodes, local, node_group) = st
    alpha0, beta0, lo0, hi0, cost0 = base_values
    final_use = terms[1]
    seg_sector = seg_info[0]
    z0, k0, inventory, _, stage_price = chain_arrays
    (values, keep_ptr, keep_rows, passed_ptr, passed_rows, demand_ptr, demand_rows,
     added_ptr, added_rows, even_ptr, even_rows, held_all, trigger) = shocks
    s_balance, s_steps = summary[10], summary[11]
    n_s, n_r = z0.shape
    n_k = sector_reference.shape[2]
    _, n, months = values.shape
    n_e = trigger.shape[0]
    n_nodes = price0.size
    n_terms = term_ptr.size - 1
    capacity = np.empty((n_s, n_r))
    for s in range(n_s):
        for r in range(n_r):
            capacity[s, r] = max(k0[s, r], z0[s, r])
    keep = np.ones((months, n_s, n_r))
    passed = np.ones((months, n_s, n_r))
    demand = np.ones((months, n_k, n_r))
    added = np.zeros((months, n_s, n_r))
    even = np.zeros((months, n_s, n_r))
    held = np.zeros((months, n_e))
    alpha = alpha0.copy()
    beta = beta0.copy()
    lo = lo0.copy()
    hi = hi0.copy()
    cost = cost0.copy()
    p = np.ones(n_nodes)
    q = np.zeros(n_terms)
    work = workspace(n_nodes, n_terms, group_ptr, global_nodes.size)
    info = work[-1]
    stock = np.empty((n_s, n_r))
    used = np.zeros(n_e)
    price_1 = np.ones((n_s, n_r))
    price_2 = np.ones((n_s, n_r))
    mean3 = np.ones((n_s, n_r))
    restart_at = np.empty((n_s, n_r), dtype=np.int64)
    expand_at = np.empty((n_s, n_r), dtype=np.int64)
    expected = np.zeros((n_s, n_r))
    extra = np.zeros((n_s, n_r))
    acc = np.zeros((n_k, 5))
    ref_k = np.zeros(n_k)
    short_month = np.zeros(n_r, dtype=np.bool_)
    keep2 = keep.reshape(months, n_s * n_r)
    passed2 = passed.reshape(months, n_s * n_r)
    demand2 = demand.reshape(months, n_k * n_r)
    added2 = added.reshape(months, n_s * n_r)
    even2 = even.reshape(months, n_s * n_r)
    for j in range(n):
        keep[:] = 1.0
        passed[:] = 1.0
        demand[:] = 1.0
        added[:] = 0.0
        even[:] = 0.0
        combine(keep_ptr, keep_rows, values, j, True, keep2)
        combine(passed_ptr, passed_rows, values, j, True, passed2)
        combine(demand_ptr, demand_rows, values, j, True, demand2)
        combine(added_ptr, added_rows, values, j, False, added2)
        combine(even_ptr, even_rows, values, j, False, even2)
        for t in range(months):
            for e in range(n_e):
                held[t, e] = held_all[j, e, t]
        stock[:] = inventory
        used[:] = 0.0
        price_1[:] = 1.0
        price_2[:] = 1.0
        mean3[:] = 1.0
        restart_at[:] = -1
        expand_at[:] = -1
        expected[:] = 0.0
        extra[:] = 0.0
        p[:] = 1.0
        steps_max = 0
        for t in range(months):
            extra_capacity(t, capacity, restart_at, expand_at, par, extra)
            clean = True
            for s in range(n_s):
                for r in range(n_r):
                    if (keep[t, s, r] != 1.0 or added[t, s, r] != 0.0 or passed[t, s, r] != 1.0
                            or even[t, s, r] != 0.0 or extra[s, r] != 0.0
                            or expected[s, r] != 0.0):
                        clean = False
                    i0 = inventory[s, r]
                    if abs(stock[s, r] - i0) > 1e-12 * (1.0 + i0):
                        clean = False
            for k in range(n_k):
                for r in range(n_r):
                    if demand[t, k, r] != 1.0:
                        clean = False
            for e in range(n_e):
                if held[t, e] > used[e] and trigger[e] <= 1.0:
                    clean = False
            if clean:
                for i in range(n_nodes):
                    p[i] = 1.0
                for i in range(n_terms):
                    q[i] = q_base[i]
                alpha[:] = alpha0
                beta[:] = beta0
                lo[:] = lo0
                hi[:] = hi0
                cost[:] = cost0
            else:
                assemble(t, base_values, seg_ptr, terms, price_terms, price_p0, seg_sector,
                         chain_arrays, par, (keep, added, passed, even, demand, held, trigger),
                         stock, used, expected, extra, (alpha, beta, lo, hi, cost))
                steps = solve(p, q, term_ptr, term_node, term_coef, seg_ptr, term_group,
                              price0, volume, group_ptr, group_nodes, global_nodes, local,
                              node_group, alpha, beta, lo, hi, cost, TOLERANCE, work)
                if steps < 0:
                    steps_max = -1
                elif steps_max >= 0:
                    steps_max = max(steps_max, steps)
                s_balance[j] = max(s_balance[j], info[0])
            account_month(j, t, months, p, seg_ptr, alpha, beta, lo, hi, final_use, use_node,
                          sector_reference, demand, stage_price, seg_info, acc, ref_k,
                          short_month, summary, paths)
            advance(t, q, p, terms, price_terms, use_node, capacity, par, stock, used, price_1,
                    price_2, mean3, restart_at, expand_at, expected)
        s_steps[j] = steps_max
