"""Compiled back-end: the month's equilibrium by Newton's method on the dual, with numba.

The equilibrium prices minimise the convex, once-differentiable, piecewise-quadratic dual

    Phi(p) = sum_t sum_k psi_k(m_t(p)),   psi_k' = clip(alpha_k + beta_k m, lo_k, hi_k),

whose gradient is ``P0_n`` times the excess supply of node ``n`` and whose (generalised)
Hessian is ``sum_t w_t (a_t P0)(a_t P0)^T`` with ``w_t`` the slopes of the term's segments
strictly inside their bounds. Each step solves the Newton system with a Schur complement:
the nodes of each group (region) are eliminated onto the global (hub) nodes, so a step costs
a few small dense factorisations. A step is accepted whole when it does not overshoot the
minimum along its direction; otherwise the directional derivative (monotone and piecewise
linear) is driven to zero by regula falsi. The iteration stops when every node balances to
``tol`` of its scale (its volume, or the gross flow through it if larger); on the final
active set the step is exact, so a converged solution balances to rounding. Prices are
indices (1 = base price).

No threads, no fast-math: the same problem gives the same bits in any process. Scratch
arrays live in a :class:`Workspace` made once per structure and reused month after month.
"""

from __future__ import annotations

import numba
import numpy as np

Array = np.ndarray
TOLERANCE = 1e-11
"""Largest imbalance of any node at convergence, as a share of its volume scale (or of the
gross flow through it, if larger)."""
MAX_ITERATIONS = 200
LINE_SEARCH_STEPS = 60
WOLFE = 0.1
"""A damped step stops where the slope along it has fallen to this share of its start."""
JITTER = 1e-13


@numba.njit(cache=True, error_model="numpy")
def excess(
    p: Array,
    q: Array,
    w: Array,
    out: Array,
    term_ptr: Array,
    term_node: Array,
    term_coef: Array,
    seg_ptr: Array,
    price0: Array,
    alpha: Array,
    beta: Array,
    lo: Array,
    hi: Array,
    cost: Array,
) -> None:
    """Excess supply of every node (t/month) into ``out``; activities into ``q`` and
    active slopes into ``w``."""
    evaluate(p, q, w, out, out, term_ptr, term_node, term_coef,
             entries(term_node, term_coef, price0), seg_ptr, alpha, beta, lo, hi, cost)


@numba.njit(cache=True, error_model="numpy")
def entries(term_node: Array, term_coef: Array, price0: Array) -> Array:
    """Each term entry's coefficient times its node's base price (USD per unit of activity
    per unit of price index): the margin is ``sum entry * p - cost``."""
    out = np.empty(term_coef.size)
    for k in range(term_coef.size):
        out[k] = term_coef[k] * price0[term_node[k]]
    return out


@numba.njit(cache=True, error_model="numpy", inline="always")
def evaluate(
    p: Array,
    q: Array,
    w: Array,
    out: Array,
    gross: Array,
    term_ptr: Array,
    term_node: Array,
    term_coef: Array,
    entry: Array,
    seg_ptr: Array,
    alpha: Array,
    beta: Array,
    lo: Array,
    hi: Array,
    cost: Array,
) -> None:
    """Excess supply (``out``, t/month) and gross flow (``gross``) of every node at ``p``;
    term activities into ``q`` and slopes of their segments inside the bounds into ``w``;
    ``entry``: each term entry's coefficient times its node's base price (:func:`entries`).
    Pass the same array twice to skip the gross flows."""
    with_gross = gross is not out
    out[:] = 0.0
    if with_gross:
        gross[:] = 0.0
    for t in range(term_ptr.size - 1):
        a, b = term_ptr[t], term_ptr[t + 1]
        m = -cost[t]
        for k in range(a, b):
            m += entry[k] * p[term_node[k]]
        qt = 0.0
        wt = 0.0
        for s in range(seg_ptr[t], seg_ptr[t + 1]):
            raw = alpha[s] + beta[s] * m
            if raw <= lo[s]:
                qt += lo[s]
            elif raw >= hi[s]:
                qt += hi[s]
            else:
                qt += raw
                wt += beta[s]
        q[t] = qt
        w[t] = wt
        for k in range(a, b):
            v = term_coef[k] * qt
            out[term_node[k]] += v
            if with_gross:
                gross[term_node[k]] += abs(v)


@numba.njit(cache=True)
def workspace(
    n_nodes: int, n_terms: int, group_ptr: Array, n_glob: int
) -> tuple:  # type: ignore[type-arg]
    """Scratch for :func:`solve`: a tuple of arrays sized for one structure (use it with that
    structure only: it keeps the last factorisation of the Newton system)."""
    n_groups = group_ptr.size - 1
    kmax = 1
    for g in range(n_groups):
        kmax = max(kmax, group_ptr[g + 1] - group_ptr[g])
    m = max(n_glob, 1)
    return (
        np.zeros((max(n_groups, 1), kmax, kmax)),  # hgg
        np.zeros((max(n_groups, 1), kmax, m)),  # hgm
        np.zeros((max(n_groups, 1), kmax, m)),  # hgx: Hgg^-1 Hgm
        np.zeros((1, m, m)),  # hmm: the Schur complement's factor (one block)
        np.zeros((m, m)),  # hmm_raw
        np.zeros((max(n_groups, 1), m, m)),  # schur: each group's Hmg Hgg^-1 Hgm
        np.zeros(n_groups + 1, dtype=np.bool_),  # dirty: groups (and the hub) to redo
        np.zeros(kmax),  # ys
        np.zeros(m),  # bm
        np.zeros(n_terms),  # w
        np.zeros(n_nodes),  # ex
        np.zeros(n_nodes),  # scale
        np.zeros(n_nodes),  # rhs
        np.zeros(n_nodes),  # gross
        np.zeros(n_nodes),  # step
        np.zeros(n_nodes),  # trial
        np.zeros(n_terms),  # w_trial
        np.zeros(n_terms),  # q_trial
        np.zeros(n_nodes),  # ex_trial
        np.zeros(n_nodes),  # gross_trial
        np.full(n_terms, np.nan),  # w_factored: slopes of the factorisation held (NaN: none)
        np.zeros(2),  # info: [worst imbalance share, 0]
    )


@numba.njit(cache=True, error_model="numpy")
def _cholesky(a: Array, g: int, k: int) -> None:
    """In-place lower Cholesky factor of the leading ``k x k`` block of ``a[g]`` (indexed in
    place: a view would cost a reference count on every call)."""
    for j in range(k):
        s = a[g, j, j]
        for i in range(j):
            s -= a[g, j, i] * a[g, j, i]
        if s <= JITTER:
            s = JITTER
        d = np.sqrt(s)
        a[g, j, j] = d
        for i in range(j + 1, k):
            v = a[g, i, j]
            for m in range(j):
                v -= a[g, i, m] * a[g, j, m]
            a[g, i, j] = v / d


@numba.njit(cache=True, error_model="numpy", inline="always")
def _solve_factored(a: Array, g: int, k: int, b: Array) -> None:
    """Solve ``L L^T x = b`` in place for the factor in ``a[g]``'s leading block (b: 1-d)."""
    for i in range(k):
        v = b[i]
        for m in range(i):
            v -= a[g, i, m] * b[m]
        b[i] = v / a[g, i, i]
    for i in range(k - 1, -1, -1):
        v = b[i]
        for m in range(i + 1, k):
            v -= a[g, m, i] * b[m]
        b[i] = v / a[g, i, i]


@numba.njit(cache=True, error_model="numpy")
def _solve_columns(a: Array, g: int, k: int, x: Array, ncol: int) -> None:
    """Solve ``L L^T X = X`` in place for the first ``ncol`` columns of ``x[g]`` [k, ncol]
    with the factor in ``a[g]``."""
    for j in range(ncol):
        for i in range(k):
            v = x[g, i, j]
            for m in range(i):
                v -= a[g, i, m] * x[g, m, j]
            x[g, i, j] = v / a[g, i, i]
        for i in range(k - 1, -1, -1):
            v = x[g, i, j]
            for m in range(i + 1, k):
                v -= a[g, m, i] * x[g, m, j]
            x[g, i, j] = v / a[g, i, i]


@numba.njit(cache=True, error_model="numpy")
def _factor(
    w: Array,
    w_factored: Array,
    scale: Array,
    term_ptr: Array,
    term_node: Array,
    term_coef: Array,
    term_group: Array,
    price0: Array,
    group_ptr: Array,
    global_nodes: Array,
    local: Array,
    node_group: Array,
    hgg: Array,
    hgm: Array,
    hgx: Array,
    hmm: Array,
    hmm_raw: Array,
    schur: Array,
    dirty: Array,
) -> None:
    """Factorise the scaled Newton system ``D H D`` (``D = scale``) for the slopes ``w``,
    held for the slopes ``w_factored`` (NaN: nothing held): each group's block ``Hgg``
    (Cholesky, in ``hgg``), its coupling ``Hgm`` to the global nodes (``hgm``),
    ``X = Hgg^-1 Hgm`` (``hgx``), its share ``Hmg X`` of the Schur complement (``schur``),
    and ``S = Hmm - sum Hmg X`` (``hmm_raw``: ``Hmm``; Cholesky of ``S`` in ``hmm``). Only
    the groups with a term whose slope changed are redone (and ``Hmm`` if such a term
    touches a global node), with the same operations in the same order as a full
    factorisation, so the factors are the same bits."""
    n_groups = group_ptr.size - 1
    n_glob = global_nodes.size
    fresh = w_factored.size > 0 and np.isnan(w_factored[0])
    dirty[:] = fresh
    for t in range(term_ptr.size - 1):
        if w[t] != w_factored[t]:
            if term_group[t] >= 0:
                dirty[term_group[t]] = True
            for k in range(term_ptr[t], term_ptr[t + 1]):
                if node_group[term_node[k]] < 0:
                    dirty[n_groups] = True
        w_factored[t] = w[t]
    for g in range(n_groups):
        if dirty[g]:
            for i in range(hgg.shape[1]):
                for j in range(hgg.shape[2]):
                    hgg[g, i, j] = 0.0
                for j in range(hgm.shape[2]):
                    hgm[g, i, j] = 0.0
    hub = dirty[n_groups]
    if hub:
        hmm_raw[:] = 0.0
    for t in range(term_ptr.size - 1):
        wt = w[t]
        if wt <= 0.0:
            continue
        g = term_group[t]
        redo = g >= 0 and dirty[g]
        if not (redo or hub):
            continue
        a, b = term_ptr[t], term_ptr[t + 1]
        for k1 in range(a, b):
            n1 = term_node[k1]
            v1 = wt * term_coef[k1] * price0[n1] * scale[n1]
            l1 = local[n1]
            in_group = node_group[n1] >= 0
            for k2 in range(a, b):
                n2 = term_node[k2]
                v = v1 * term_coef[k2] * price0[n2] * scale[n2]
                l2 = local[n2]
                if in_group:
                    if redo:
                        if node_group[n2] >= 0:
                            hgg[g, l1, l2] += v
                        else:
                            hgm[g, l1, l2] += v
                elif hub and node_group[n2] < 0:
                    hmm_raw[l1, l2] += v
    for g in range(n_groups):
        k = group_ptr[g + 1] - group_ptr[g]
        if k == 0 or not dirty[g]:
            continue
        for i in range(k):
            hgg[g, i, i] += JITTER
        _cholesky(hgg, g, k)
        for i in range(k):
            for j in range(n_glob):
                hgx[g, i, j] = hgm[g, i, j]
        _solve_columns(hgg, g, k, hgx, n_glob)
        for j1 in range(n_glob):
            for j2 in range(n_glob):
                s = 0.0
                for i in range(k):
                    s += hgm[g, i, j1] * hgx[g, i, j2]
                schur[g, j1, j2] = s
    if n_glob > 0:
        for j1 in range(n_glob):
            for j2 in range(n_glob):
                hmm[0, j1, j2] = hmm_raw[j1, j2]
        for g in range(n_groups):
            if group_ptr[g + 1] > group_ptr[g]:
                for j1 in range(n_glob):
                    for j2 in range(n_glob):
                        hmm[0, j1, j2] -= schur[g, j1, j2]
        for j in range(n_glob):
            hmm[0, j, j] += JITTER
        _cholesky(hmm, 0, n_glob)


@numba.njit(cache=True, error_model="numpy", inline="always")
def _newton_step(
    d: Array,
    rhs: Array,
    group_ptr: Array,
    group_nodes: Array,
    global_nodes: Array,
    hgg: Array,
    hgm: Array,
    hgx: Array,
    hmm: Array,
    ys: Array,
    bm: Array,
) -> None:
    """Solve ``D H D d = rhs`` with the factorisation of :func:`_factor`: each group's
    nodes are eliminated onto the global ones (``b = r_m - sum Hmg Hgg^-1 r_g``), the Schur
    system gives the global nodes, back substitution the groups'."""
    n_groups = group_ptr.size - 1
    n_glob = global_nodes.size
    for j in range(n_glob):
        bm[j] = rhs[global_nodes[j]]
    for g in range(n_groups):
        start = group_ptr[g]
        k = group_ptr[g + 1] - start
        if k == 0:
            continue
        for i in range(k):
            ys[i] = rhs[group_nodes[start + i]]
        _solve_factored(hgg, g, k, ys)
        for j1 in range(n_glob):
            s = 0.0
            for i in range(k):
                s += hgm[g, i, j1] * ys[i]
            bm[j1] -= s
        for i in range(k):
            d[group_nodes[start + i]] = ys[i]
    if n_glob > 0:
        _solve_factored(hmm, 0, n_glob, bm)
        for j in range(n_glob):
            d[global_nodes[j]] = bm[j]
    for g in range(n_groups):
        start = group_ptr[g]
        k = group_ptr[g + 1] - start
        for i in range(k):
            v = d[group_nodes[start + i]]
            for j in range(n_glob):
                v -= hgx[g, i, j] * bm[j]
            d[group_nodes[start + i]] = v


@numba.njit(cache=True, error_model="numpy", inline="always")
def _balanced(ex: Array, gross: Array, volume: Array, tol: float) -> float:
    """The largest node imbalance as a share of the node's scale: its volume, or the gross
    flow through it if larger (rounding grows with the flows that meet at a node)."""
    worst = 0.0
    for n in range(ex.size):
        worst = max(worst, abs(ex[n]) / max(volume[n], gross[n]))
    return worst


@numba.njit(cache=True, error_model="numpy")
def solve(
    p: Array,
    q: Array,
    term_ptr: Array,
    term_node: Array,
    term_coef: Array,
    seg_ptr: Array,
    term_group: Array,
    price0: Array,
    volume: Array,
    group_ptr: Array,
    group_nodes: Array,
    global_nodes: Array,
    local: Array,
    node_group: Array,
    alpha: Array,
    beta: Array,
    lo: Array,
    hi: Array,
    cost: Array,
    tol: float,
    work: tuple,  # type: ignore[type-arg]
) -> int:
    """Clear the month in place: ``p`` (start, then solution; price indices) and ``q`` (term
    activities, t), with scratch ``work`` (:func:`workspace`). Returns the number of Newton
    steps, or -1 if it did not converge; ``work[-1][0]`` holds the final imbalance share."""
    (hgg, hgm, hgx, hmm, hmm_raw, schur, dirty, ys, bm, w, ex, scale, rhs, gross, step, trial,
     w_trial, q_trial, ex_trial, gross_trial, w_factored, info) = work
    n_nodes = p.size
    n_terms = term_ptr.size - 1
    for n in range(n_nodes):
        scale[n] = 1.0 / np.sqrt(volume[n] * price0[n])
    entry = entries(term_node, term_coef, price0)
    evaluate(p, q, w, ex, gross, term_ptr, term_node, term_coef, entry, seg_ptr, alpha, beta,
             lo, hi, cost)
    for it in range(MAX_ITERATIONS + 1):
        info[0] = _balanced(ex, gross, volume, tol)
        if info[0] <= tol:
            return it
        if it == MAX_ITERATIONS:
            break
        # Newton system in scaled prices z = p / scale: (D H D) z = -D g, g = P0 * excess
        for n in range(n_nodes):
            rhs[n] = -scale[n] * price0[n] * ex[n]
        # the Hessian depends on the prices only through the active set: a factorisation of
        # the same slopes (this month or an earlier one) is reused as it is
        same = True
        for t in range(n_terms):
            if w[t] != w_factored[t]:
                same = False
                break
        if not same:
            _factor(w, w_factored, scale, term_ptr, term_node, term_coef, term_group, price0,
                    group_ptr, global_nodes, local, node_group, hgg, hgm, hgx, hmm, hmm_raw,
                    schur, dirty)
        _newton_step(step, rhs, group_ptr, group_nodes, global_nodes, hgg, hgm, hgx, hmm, ys, bm)
        d0 = 0.0
        for n in range(n_nodes):
            step[n] *= scale[n]
            d0 += price0[n] * ex[n] * step[n]
        if not d0 < 0.0:
            # not a descent direction (numerically flat): steepest descent in scaled prices
            d0 = 0.0
            for n in range(n_nodes):
                step[n] = -scale[n] * scale[n] * price0[n] * ex[n]
                d0 += price0[n] * ex[n] * step[n]
            if not d0 < 0.0:
                break
        # the full step, unless the minimum along it lies in (0, 1): the directional
        # derivative is monotone and piecewise linear; Illinois-type regula falsi until it
        # has fallen to a tenth of its value at 0 (a strong Wolfe condition). One call site
        # for the trial evaluation (each inlined call of a function of arrays costs atomic
        # reference counts)
        t_len = 1.0
        a_t, a_d, b_t, b_d = 0.0, d0, 1.0, 0.0
        side = 0
        for ls in range(LINE_SEARCH_STEPS + 1):
            dt = _directional(p, step, t_len, trial, q_trial, w_trial, ex_trial, gross_trial,
                              term_ptr, term_node, term_coef, entry, seg_ptr, price0, alpha,
                              beta, lo, hi, cost)
            if ls == 0:
                if not dt > 0.0:
                    break
                b_d = dt
            else:
                if abs(dt) <= WOLFE * abs(d0) or ls == LINE_SEARCH_STEPS:
                    break
                if dt < 0.0:
                    a_t, a_d = t_len, dt
                    if side == -1:
                        b_d *= 0.5
                    side = -1
                else:
                    b_t, b_d = t_len, dt
                    if side == 1:
                        a_d *= 0.5
                    side = 1
            t_len = a_t - a_d * (b_t - a_t) / (b_d - a_d)
            if not (a_t < t_len < b_t):
                t_len = 0.5 * (a_t + b_t)
        for n in range(n_nodes):
            p[n] = trial[n]
            ex[n] = ex_trial[n]
            gross[n] = gross_trial[n]
        for t in range(n_terms):
            q[t] = q_trial[t]
            w[t] = w_trial[t]
    return -1


@numba.njit(cache=True, error_model="numpy", inline="always")
def _directional(
    p: Array,
    step: Array,
    t_len: float,
    trial: Array,
    q: Array,
    w: Array,
    ex: Array,
    gross: Array,
    term_ptr: Array,
    term_node: Array,
    term_coef: Array,
    entry: Array,
    seg_ptr: Array,
    price0: Array,
    alpha: Array,
    beta: Array,
    lo: Array,
    hi: Array,
    cost: Array,
) -> float:
    """Derivative of the dual along ``step`` at ``p + t_len * step`` (USD/month)."""
    for n in range(p.size):
        trial[n] = p[n] + t_len * step[n]
    evaluate(trial, q, w, ex, gross, term_ptr, term_node, term_coef, entry, seg_ptr, alpha,
             beta, lo, hi, cost)
    s = 0.0
    for n in range(p.size):
        s += price0[n] * ex[n] * step[n]
    return s


def clear(structure: object, values: object, p: Array, q: Array, work: tuple | None = None) -> int:  # type: ignore[type-arg]
    """:func:`solve` for a :class:`~critmin.market.problem.Structure` and its
    :class:`~critmin.market.problem.Values` (``p`` is the start and the result)."""
    st, v = structure, values
    if work is None:
        work = workspace(st.n_nodes, st.n_terms, st.group_ptr, st.global_nodes.size)  # type: ignore[attr-defined]
    return int(solve(
        p, q, st.term_ptr, st.term_node, st.term_coef, st.seg_ptr, st.term_group,  # type: ignore[attr-defined]
        st.price0, st.volume, st.group_ptr, st.group_nodes, st.global_nodes, st.local,  # type: ignore[attr-defined]
        st.group, v.alpha, v.beta, v.lo, v.hi, v.cost, TOLERANCE, work,  # type: ignore[attr-defined]
    ))
