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
``tol`` of its volume scale; on the final active set the step is exact, so a converged
solution balances to rounding. Prices are indices (1 = base price).

No threads, no fast-math: the same problem gives the same bits in any process.
"""

from __future__ import annotations

import numba
import numpy as np

Array = np.ndarray
TOLERANCE = 1e-11
"""Largest imbalance of any node at convergence, as a share of its volume scale (or of the
gross flow through it, if larger)."""
MAX_ITERATIONS = 200
JITTER = 1e-13


@numba.njit(cache=True, error_model="numpy")
def term_activity(
    t: int,
    p: Array,
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
) -> tuple[float, float, float]:
    """Margin (USD per unit), activity (t) and slope (t per USD) of term ``t`` at ``p``."""
    m = -cost[t]
    for k in range(term_ptr[t], term_ptr[t + 1]):
        n = term_node[k]
        m += term_coef[k] * price0[n] * p[n]
    q = 0.0
    w = 0.0
    for s in range(seg_ptr[t], seg_ptr[t + 1]):
        raw = alpha[s] + beta[s] * m
        if raw <= lo[s]:
            q += lo[s]
        elif raw >= hi[s]:
            q += hi[s]
        else:
            q += raw
            w += beta[s]
    return m, q, w


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
    out[:] = 0.0
    for t in range(term_ptr.size - 1):
        _, qt, wt = term_activity(
            t, p, term_ptr, term_node, term_coef, seg_ptr, price0, alpha, beta, lo, hi, cost
        )
        q[t] = qt
        w[t] = wt
        for k in range(term_ptr[t], term_ptr[t + 1]):
            out[term_node[k]] += term_coef[k] * qt


@numba.njit(cache=True, error_model="numpy")
def _cholesky(a: Array, k: int) -> None:
    """In-place lower Cholesky factor of the leading ``k x k`` block of ``a``."""
    for j in range(k):
        s = a[j, j]
        for i in range(j):
            s -= a[j, i] * a[j, i]
        if s <= JITTER:
            s = JITTER
        d = np.sqrt(s)
        a[j, j] = d
        for i in range(j + 1, k):
            v = a[i, j]
            for m in range(j):
                v -= a[i, m] * a[j, m]
            a[i, j] = v / d


@numba.njit(cache=True, error_model="numpy")
def _solve_factored(a: Array, k: int, b: Array) -> None:
    """Solve ``L L^T x = b`` in place for the factor in ``a``'s leading block."""
    for i in range(k):
        v = b[i]
        for m in range(i):
            v -= a[i, m] * b[m]
        b[i] = v / a[i, i]
    for i in range(k - 1, -1, -1):
        v = b[i]
        for m in range(i + 1, k):
            v -= a[m, i] * b[m]
        b[i] = v / a[i, i]


@numba.njit(cache=True, error_model="numpy")
def _newton_direction(
    d: Array,
    rhs: Array,
    w: Array,
    scale: Array,
    term_ptr: Array,
    term_node: Array,
    term_coef: Array,
    term_group: Array,
    price0: Array,
    group_ptr: Array,
    group_nodes: Array,
    global_nodes: Array,
    local: Array,
    node_group: Array,
    hgg: Array,
    hgm: Array,
    hmm: Array,
    x: Array,
    y: Array,
) -> None:
    """Solve ``H d = rhs`` (scaled: ``H`` is ``D H D`` with ``D = scale``) by eliminating
    each group onto the global nodes. ``hgg`` [G, kmax, kmax], ``hgm`` [G, kmax, M],
    ``hmm`` [M, M], ``x`` [kmax, M], ``y`` [kmax] are scratch."""
    n_groups = group_ptr.size - 1
    n_glob = global_nodes.size
    hgg[:] = 0.0
    hgm[:] = 0.0
    hmm[:] = 0.0
    for t in range(term_ptr.size - 1):
        wt = w[t]
        if wt <= 0.0:
            continue
        g = term_group[t]
        for k1 in range(term_ptr[t], term_ptr[t + 1]):
            n1 = term_node[k1]
            v1 = term_coef[k1] * price0[n1] * scale[n1]
            l1 = local[n1]
            for k2 in range(term_ptr[t], term_ptr[t + 1]):
                n2 = term_node[k2]
                v = wt * v1 * term_coef[k2] * price0[n2] * scale[n2]
                l2 = local[n2]
                if node_group[n1] >= 0:
                    if node_group[n2] >= 0:
                        hgg[g, l1, l2] += v
                    else:
                        hgm[g, l1, l2] += v
                elif node_group[n2] < 0:
                    hmm[l1, l2] += v
    # eliminate each group: S = Hmm - sum Hmg Hgg^-1 Hgm, b = r_m - sum Hmg Hgg^-1 r_g
    bm = np.empty(n_glob)
    for j in range(n_glob):
        bm[j] = rhs[global_nodes[j]]
    for g in range(n_groups):
        start = group_ptr[g]
        k = group_ptr[g + 1] - start
        if k == 0:
            continue
        hg = hgg[g]
        for i in range(k):
            hg[i, i] += JITTER
        _cholesky(hg, k)
        for i in range(k):
            y[i] = rhs[group_nodes[start + i]]
        _solve_factored(hg, k, y)
        for j in range(n_glob):
            for i in range(k):
                x[i, j] = hgm[g, i, j]
            col = x[:k, j].copy()
            _solve_factored(hg, k, col)
            x[:k, j] = col
        for j1 in range(n_glob):
            s = 0.0
            for i in range(k):
                s += hgm[g, i, j1] * y[i]
            bm[j1] -= s
            for j2 in range(n_glob):
                s = 0.0
                for i in range(k):
                    s += hgm[g, i, j1] * x[i, j2]
                hmm[j1, j2] -= s
        # keep x and y of this group for the back substitution: store in hgm / rhs slots
        for i in range(k):
            d[group_nodes[start + i]] = y[i]
            for j in range(n_glob):
                hgm[g, i, j] = x[i, j]
    if n_glob > 0:
        for j in range(n_glob):
            hmm[j, j] += JITTER
        _cholesky(hmm, n_glob)
        _solve_factored(hmm, n_glob, bm)
        for j in range(n_glob):
            d[global_nodes[j]] = bm[j]
    for g in range(n_groups):
        start = group_ptr[g]
        k = group_ptr[g + 1] - start
        for i in range(k):
            v = d[group_nodes[start + i]]
            for j in range(n_glob):
                v -= hgm[g, i, j] * bm[j]
            d[group_nodes[start + i]] = v


@numba.njit(cache=True, error_model="numpy")
def _directional(
    p: Array,
    step: Array,
    t_len: float,
    trial: Array,
    q: Array,
    w: Array,
    ex: Array,
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
) -> float:
    """Derivative of the dual along ``step`` at ``p + t_len * step`` (USD/month)."""
    for n in range(p.size):
        trial[n] = p[n] + t_len * step[n]
    excess(trial, q, w, ex, term_ptr, term_node, term_coef, seg_ptr, price0, alpha, beta, lo,
           hi, cost)
    s = 0.0
    for n in range(p.size):
        s += price0[n] * ex[n] * step[n]
    return s


@numba.njit(cache=True, error_model="numpy")
def _balanced(
    ex: Array,
    q: Array,
    volume: Array,
    term_ptr: Array,
    term_node: Array,
    term_coef: Array,
    gross: Array,
    tol: float,
) -> bool:
    """Whether every node's excess is within ``tol`` of its scale: its volume, or the gross
    flow through it if larger (rounding grows with the flows that meet at a node)."""
    gross[:] = 0.0
    for t in range(term_ptr.size - 1):
        for k in range(term_ptr[t], term_ptr[t + 1]):
            gross[term_node[k]] += abs(term_coef[k] * q[t])
    for n in range(ex.size):
        if abs(ex[n]) > tol * max(volume[n], gross[n]):
            return False
    return True


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
) -> int:
    """Clear the month in place: ``p`` (start, then solution; price indices) and ``q`` (term
    activities, t). Returns the number of Newton steps, or -1 if it did not converge."""
    n_nodes = p.size
    n_terms = term_ptr.size - 1
    n_groups = group_ptr.size - 1
    n_glob = global_nodes.size
    kmax = 1
    for g in range(n_groups):
        kmax = max(kmax, group_ptr[g + 1] - group_ptr[g])
    hgg = np.zeros((max(n_groups, 1), kmax, kmax))
    hgm = np.zeros((max(n_groups, 1), kmax, max(n_glob, 1)))
    hmm = np.zeros((max(n_glob, 1), max(n_glob, 1)))
    xs = np.zeros((kmax, max(n_glob, 1)))
    ys = np.zeros(kmax)
    w = np.zeros(n_terms)
    ex = np.zeros(n_nodes)
    scale = np.empty(n_nodes)
    for n in range(n_nodes):
        scale[n] = 1.0 / np.sqrt(volume[n] * price0[n])
    rhs = np.empty(n_nodes)
    gross = np.empty(n_nodes)
    step = np.empty(n_nodes)
    trial = np.empty(n_nodes)
    w_trial = np.zeros(n_terms)
    q_trial = np.zeros(n_terms)
    ex_trial = np.zeros(n_nodes)
    excess(p, q, w, ex, term_ptr, term_node, term_coef, seg_ptr, price0, alpha, beta, lo, hi,
           cost)
    for it in range(MAX_ITERATIONS):
        if _balanced(ex, q, volume, term_ptr, term_node, term_coef, gross, tol):
            return it
        # Newton system in scaled prices z = p / scale: (D H D) z = -D g, g = P0 * excess
        for n in range(n_nodes):
            rhs[n] = -scale[n] * price0[n] * ex[n]
        _newton_direction(
            step, rhs, w, scale, term_ptr, term_node, term_coef, term_group, price0,
            group_ptr, group_nodes, global_nodes, local, node_group, hgg, hgm, hmm, xs, ys,
        )
        for n in range(n_nodes):
            step[n] *= scale[n]
        d0 = 0.0
        for n in range(n_nodes):
            d0 += price0[n] * ex[n] * step[n]
        if not d0 < 0.0:
            # not a descent direction (numerically flat): steepest descent in scaled prices
            for n in range(n_nodes):
                step[n] = -scale[n] * scale[n] * price0[n] * ex[n]
            d0 = 0.0
            for n in range(n_nodes):
                d0 += price0[n] * ex[n] * step[n]
            if not d0 < 0.0:
                return it
        d1 = _directional(p, step, 1.0, trial, q_trial, w_trial, ex_trial, term_ptr, term_node,
                          term_coef, seg_ptr, price0, alpha, beta, lo, hi, cost)
        t_len = 1.0
        if d1 > 0.0:
            # regula falsi on the monotone directional derivative over (0, 1)
            a_t, a_d, b_t, b_d = 0.0, d0, 1.0, d1
            for _ in range(60):
                t_len = a_t - a_d * (b_t - a_t) / (b_d - a_d)
                if not (a_t < t_len < b_t):
                    t_len = 0.5 * (a_t + b_t)
                dt = _directional(p, step, t_len, trial, q_trial, w_trial, ex_trial, term_ptr,
                                  term_node, term_coef, seg_ptr, price0, alpha, beta, lo, hi,
                                  cost)
                if abs(dt) <= 1e-3 * abs(d0):
                    break
                if dt < 0.0:
                    a_t, a_d = t_len, dt
                else:
                    b_t, b_d = t_len, dt
        for n in range(n_nodes):
            p[n] = trial[n]
        for t in range(n_terms):
            q[t] = q_trial[t]
            w[t] = w_trial[t]
        for n in range(n_nodes):
            ex[n] = ex_trial[n]
    if _balanced(ex, q, volume, term_ptr, term_node, term_coef, gross, tol):
        return MAX_ITERATIONS
    return -1
