"""Run one scenario month by month with either back-end (central runs, traces)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from critmin.errors import InfeasibleError
from critmin.market import newton
from critmin.market.chain import Chain
from critmin.market.dynamics import (
    Drivers,
    advance,
    assemble,
    extra_capacity,
    initial_state,
    parameter_vector,
)
from critmin.market.exact import solve_exact
from critmin.market.problem import Values

Array = np.ndarray
Backend = Literal["compiled", "exact"]


@dataclass(frozen=True)
class Trace:
    """Every month's solution: prices [T, node] (index), activities [T, term] (t/month),
    working stocks at month end [T, S, R] (t), the values cleared [T] and Newton steps."""

    prices: Array
    activity: Array
    stock: Array
    values: list[Values]
    steps: Array


def chain_terms(chain: Chain) -> tuple[Array, Array, Array, Array, Array, Array, Array]:
    lay = chain.layout
    return (lay.production, lay.final_use, lay.release, lay.restock, lay.import_c,
            lay.even_release, lay.recycling)


def run_scenario(chain: Chain, drivers: Drivers, backend: Backend = "compiled") -> Trace:
    """Clear every month of ``drivers`` in turn; the state carries from month to month."""
    st, lay, base = chain.structure, chain.layout, chain.base
    terms = chain_terms(chain)
    par = parameter_vector(chain)
    state = initial_state(chain)
    n_s, n_r = base.production.shape
    expected = np.zeros((n_s, n_r))
    extra = np.zeros((n_s, n_r))
    capacity = np.maximum(base.capacity, base.production)
    price_p0 = np.array(
        [st.price0[st.term_node[st.term_ptr[t]]] for t in lay.price_release], dtype=float
    )
    drive = (drivers.keep, drivers.added, drivers.passed, drivers.even, drivers.demand,
             drivers.held, drivers.trigger)
    chain_arrays = (base.production, base.capacity, base.inventory, chain.import_c_base,
                    base.base_price)
    v0 = chain.values
    months = drivers.months
    prices = np.ones((months, st.n_nodes))
    activity = np.zeros((months, st.n_terms))
    stock = np.zeros((months, n_s, n_r))
    steps = np.zeros(months, dtype=np.int64)
    values: list[Values] = []
    p = np.ones(st.n_nodes)
    q = np.zeros(st.n_terms)
    work = newton.workspace(st.n_nodes, st.n_terms, st.group_ptr, st.global_nodes.size)
    for t in range(months):
        v = v0.copy()
        extra_capacity(t, capacity, state.restart_at, state.expand_at, par, extra)
        assemble(t, (v0.alpha, v0.beta, v0.lo, v0.hi, v0.cost), st.seg_ptr, terms,
                 lay.price_release, price_p0, lay.seg_sector, chain_arrays, par, drive,
                 state.stock, state.used, expected, extra,
                 (v.alpha, v.beta, v.lo, v.hi, v.cost))
        if backend == "exact":
            p, q = solve_exact(st, v)
            steps[t] = 0
        else:
            steps[t] = newton.clear(st, v, p, q, work)
            if steps[t] < 0:
                raise InfeasibleError(f"compiled back-end: month {t + 1} did not converge")
        advance(t, q, p, terms, lay.price_release, lay.use_node, capacity, par, state.stock,
                state.used, state.price_1, state.price_2, state.mean3, state.restart_at,
                state.expand_at, expected)
        prices[t] = p
        activity[t] = q
        stock[t] = state.stock
        values.append(v)
    return Trace(prices, activity, stock, values, steps)
