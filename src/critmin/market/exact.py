"""Exact back-end: the month's equilibrium as one convex QP solved by HiGHS; prices are duals.

The welfare problem whose optimality conditions are the clearing contract of ``problem.py``:

    minimise   sum_k (q_k - alpha_k)^2 / (2 beta_k) + c_t(k) q_k
    subject to sum_t a_tn sum_{k in t} q_k = 0      (every node n; dual: P0_n p_n, USD/t)
               lo_k <= q_k <= hi_k,

one column per segment (a segment with ``beta = 0`` is fixed at ``clip(alpha, lo, hi)``).
Columns are scaled by their term's volume, rows by their node's volume and the objective by a
typical value flow, so that HiGHS's active-set QP solver sees numbers near 1. Built with
``highspy`` directly: a month is one small QP, and passing its matrices costs far less than
building it through a modelling layer.
"""

from __future__ import annotations

import highspy
import numpy as np
import scipy.sparse as sp

from critmin.console import quiet_stdout
from critmin.errors import InfeasibleError
from critmin.market.problem import Structure, Values

Array = np.ndarray
INF = highspy.kHighsInf
TOLERANCE = 1e-8
TIME_LIMIT_S = 60.0
QP_ITERATIONS_PER_ROW_AND_COLUMN = 4
ACTIVE_TOLERANCE = 1e-7
MAX_POLISH = 20
KINK_TOLERANCE = 1e-12


def _highs() -> highspy.Highs:
    """A fresh, silent HiGHS instance (its banner would corrupt JSON output; an instance's
    clock, which its time limit reads, runs on across solves, so none is reused)."""
    with quiet_stdout():
        h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    return h


def solve_exact(structure: Structure, values: Values) -> tuple[Array, Array]:
    """Price indices [node] and term activities [term] (t) of the month, by HiGHS."""
    st, v = structure, values
    n_terms, n_nodes = st.n_terms, st.n_nodes
    seg_term = np.repeat(np.arange(n_terms), np.diff(st.seg_ptr))
    nnz_term = np.repeat(np.arange(n_terms), np.diff(st.term_ptr))
    first_node = st.term_node[st.term_ptr[:-1]]
    value_scale = float(np.median(st.volume * st.price0))
    fixed = v.beta <= 0
    safe_beta = np.where(fixed, 1.0, v.beta)
    # unit curvature: a column's Hessian entry is 1 (fixed columns: their node's volume)
    col_scale = np.where(fixed, st.volume[first_node][seg_term], np.sqrt(safe_beta * value_scale))
    hess = np.where(fixed, 0.0, col_scale**2 / safe_beta / value_scale)
    lin = np.where(fixed, 0.0, (v.cost[seg_term] - v.alpha / safe_beta) * col_scale / value_scale)
    pinned = np.clip(v.alpha, v.lo, v.hi) / col_scale
    lower = np.where(fixed, pinned, np.where(np.isfinite(v.lo), v.lo / col_scale, -INF))
    upper = np.where(fixed, pinned, np.where(np.isfinite(v.hi), v.hi / col_scale, INF))

    # rows: node balances, entry (n, k) = a_tn * col_scale_k, each row scaled to max |entry| 1
    seg_of_term_start = st.seg_ptr[:-1]
    seg_count = np.diff(st.seg_ptr)
    rows, cols, vals = [], [], []
    for j in range(int(seg_count.max(initial=0))):
        has = seg_count[nnz_term] > j
        k = seg_of_term_start[nnz_term[has]] + j
        rows.append(st.term_node[has])
        cols.append(k)
        vals.append(st.term_coef[has] * col_scale[k])
    row, col, val = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    biggest = np.zeros(n_nodes)
    np.maximum.at(biggest, row, np.abs(val))
    row_scale = 1.0 / np.where(biggest > 0, biggest, 1.0)
    matrix = sp.csc_matrix((val * row_scale[row], (row, col)), shape=(n_nodes, st.n_segments))
    lp = highspy.HighsLp()
    lp.num_col_ = st.n_segments
    lp.num_row_ = n_nodes
    lp.col_cost_ = lin
    lp.col_lower_ = lower
    lp.col_upper_ = upper
    lp.row_lower_ = np.zeros(n_nodes)
    lp.row_upper_ = np.zeros(n_nodes)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr
    lp.a_matrix_.index_ = matrix.indices
    lp.a_matrix_.value_ = matrix.data
    h = _highs()
    h.setOptionValue("time_limit", TIME_LIMIT_S)
    # HiGHS's active-set solver can cycle on degenerate months long after reaching the
    # optimum; a deterministic iteration budget stops it, and polishing finishes the job
    h.setOptionValue("qp_iteration_limit", QP_ITERATIONS_PER_ROW_AND_COLUMN * (n_nodes +
                                                                              st.n_segments))
    h.setOptionValue("primal_feasibility_tolerance", TOLERANCE)
    h.setOptionValue("dual_feasibility_tolerance", TOLERANCE)
    h.setOptionValue("qp_regularization_value", 0.0)
    h.passModel(lp)
    diag = np.flatnonzero(hess > 0)
    hessian = highspy.HighsHessian()
    hessian.dim_ = st.n_segments
    hessian.format_ = highspy.HessianFormat.kTriangular
    hessian.start_ = np.searchsorted(diag, np.arange(st.n_segments + 1))
    hessian.index_ = diag
    hessian.value_ = hess[diag]
    h.passHessian(hessian)
    h.run()
    status = h.getModelStatus()
    # HiGHS's active-set solver can stop a little above its tolerances ("solve error"); its
    # solution still carries the active set, and polishing either certifies the equilibrium
    # (every node balanced, every segment on its side) or fails
    usable = (
        highspy.HighsModelStatus.kOptimal,
        highspy.HighsModelStatus.kSolveError,
        highspy.HighsModelStatus.kIterationLimit,
        highspy.HighsModelStatus.kTimeLimit,
    )
    solution = np.asarray(h.getSolution().col_value)
    if status not in usable or solution.size != st.n_segments:
        raise InfeasibleError(f"exact back-end: HiGHS returned {h.modelStatusToString(status)}")
    x = solution * col_scale
    try:
        return polish(structure, values, x)
    except InfeasibleError as exc:
        raise InfeasibleError(f"{exc} (HiGHS: {h.modelStatusToString(status)})") from None


def polish(structure: Structure, values: Values, x: Array) -> tuple[Array, Array]:
    """Exact prices and activities from the segment solution ``x`` (t) of the QP.

    A segment strictly inside its bounds contributes ``alpha + beta m`` (its slope), one at a
    bound its bound. On that active set the node balances are linear in the prices. Starting
    from the solver's active set, the balances are solved and every segment is put back on the
    side its new value falls, until no segment moves (the last steps of an active-set method,
    like a crossover). This removes the solver's tolerances from the answer; segments near a
    kink that the solver left a hair off their side are corrected."""
    st, v = structure, values
    seg_term = np.repeat(np.arange(st.n_terms), np.diff(st.seg_ptr))
    nnz_term = np.repeat(np.arange(st.n_terms), np.diff(st.term_ptr))
    g = sp.csr_matrix(
        (st.term_coef * st.price0[st.term_node], (nnz_term, st.term_node)),
        shape=(st.n_terms, st.n_nodes),
    )
    a = sp.csr_matrix((st.term_coef, (nnz_term, st.term_node)), shape=(st.n_terms, st.n_nodes))
    pinned = (v.beta <= 0) | (v.hi - v.lo <= 0)
    fixed_value = np.clip(v.alpha, v.lo, v.hi)
    span = np.maximum(np.abs(x), 1.0) * ACTIVE_TOLERANCE
    # a segment's own scale (t): its intercept, finite bounds, and its move per unit of index
    per_index = v.beta * np.asarray(abs(g).max(axis=1).todense()).ravel()[seg_term]
    finite = np.where(np.isfinite(v.lo), np.abs(v.lo), 0.0) + np.where(
        np.isfinite(v.hi), np.abs(v.hi), 0.0
    )
    tau = KINK_TOLERANCE * np.maximum.reduce([np.abs(v.alpha), finite, per_index, np.ones_like(x)])
    at_lo = ~pinned & (x <= v.lo + span)
    at_hi = ~pinned & ~at_lo & (x >= v.hi - span)
    for _ in range(MAX_POLISH):
        inside = ~pinned & ~at_lo & ~at_hi
        const = np.where(pinned, fixed_value, np.where(at_lo, v.lo, v.hi))
        const = np.where(inside, v.alpha - v.beta * v.cost[seg_term], const)
        q0 = np.bincount(seg_term, weights=const, minlength=st.n_terms)
        w = np.bincount(seg_term, weights=np.where(inside, v.beta, 0.0), minlength=st.n_terms)
        # balance: A^T (q0 + w * G p) = 0, rows scaled by the node's volume
        lhs = (a.T @ sp.diags(w) @ g).toarray() / st.volume[:, None]
        rhs = -(a.T @ q0) / st.volume
        prices = np.linalg.solve(lhs, rhs)
        raw = v.alpha + v.beta * (g @ prices - v.cost)[seg_term]
        # hysteresis at kinks: a segment changes side only when it crosses its bound by tau
        new_lo = ~pinned & ((raw < v.lo - tau) | (at_lo & (raw <= v.lo + tau)))
        new_hi = ~pinned & ~new_lo & ((raw > v.hi + tau) | (at_hi & (raw >= v.hi - tau)))
        if np.array_equal(new_lo, at_lo) and np.array_equal(new_hi, at_hi):
            activity = np.bincount(
                seg_term, weights=np.where(pinned, fixed_value, np.clip(raw, v.lo, v.hi)),
                minlength=st.n_terms,
            )
            return prices, activity
        at_lo, at_hi = new_lo, new_hi
    raise InfeasibleError(
        f"exact back-end: the active set did not settle after {MAX_POLISH} polishing steps"
    )
