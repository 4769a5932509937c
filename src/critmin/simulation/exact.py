"""Exact engine: each stage-month as a convex QP solved by HiGHS; prices are duals.

Variables: every supply block ``q`` (marginal cost ``(q - c) / a``), every demand block ``d``
(willingness to pay ``(c - d) / -a``), deliveries ``x[i, j] >= 0`` from producing region ``i``
to buying region ``j`` (no transshipment, no trade cost), and unsold output ``w[i] >= 0``.
Objective: minimise production cost minus consumer value (a spatial price equilibrium,
Samuelson 1952; Takayama and Judge 1971). Rows: producer balance ``sum_b q[i, b] = sum_j
x[i, j] + w[i]`` (dual: producer price), buyer balance ``sum_i x[i, j] = sum_b d[j, b]``
(dual: buyer price), and for an export control ``sum_{i in O} x[i, j] <= A_j``. Quantities
are scaled by the stage's total base use so that the QP is well conditioned.
"""

from __future__ import annotations

import highspy
import numpy as np
import scipy.sparse as sp

from critmin.errors import InfeasibleError
from critmin.simulation.blocks import Blocks
from critmin.simulation.fast import Cleared

Array = np.ndarray
INF = highspy.kHighsInf
REGULARISATION = (1e-5, 1e-4, 1e-3)  # tried in turn; prices move by about this much
TIME_LIMIT_S = 1.0
ACCEPT_GAP = 1e-5  # a last attempt that cycles at the optimum is accepted below this P-D error


def _scale(sup: Blocks, dem: Blocks) -> float:
    ref = float(np.nanmax(np.abs(np.concatenate([sup.c.ravel(), dem.c.ravel()]))))
    return ref if ref > 0 else 1.0


def solve_stage(
    sup: Blocks, dem: Blocks, origin: Array | None, cap: Array | None, scale: float
) -> tuple[Array, Array, float, Array]:
    """One scenario: ``sup``/``dem`` are [region, block]. Returns buyer prices, producer
    prices, unsold total and deliveries [i, j] (unscaled). A solve that stalls is retried with
    a larger regularisation."""
    error: InfeasibleError | None = None
    for weight in REGULARISATION:
        try:
            return _solve(sup, dem, origin, cap, scale, weight)
        except InfeasibleError as exc:
            error = exc
    assert error is not None
    raise error


def _solve(
    sup: Blocks, dem: Blocks, origin: Array | None, cap: Array | None, scale: float, weight: float
) -> tuple[Array, Array, float, Array]:
    n_r, n_bs = sup.a.shape
    n_bd = dem.a.shape[1]
    n_q, n_d, n_x = n_r * n_bs, n_r * n_bd, n_r * n_r
    n_col = n_q + n_d + n_x + n_r
    cost = np.zeros(n_col)
    hess = np.zeros(n_col)
    lower = np.zeros(n_col)
    upper = np.full(n_col, INF)

    def blocks(b: Blocks, offset: int) -> None:
        a = b.a.ravel()
        c = b.c.ravel() / scale
        lo = b.lo.ravel() / scale
        hi = b.hi.ravel() / scale
        slope = np.abs(a) / scale
        fixed = slope <= 0
        idx = np.arange(a.size) + offset
        value = np.clip(c, lo, hi)
        lower[idx] = np.where(fixed, value, lo)
        upper[idx] = np.where(fixed, value, np.where(np.isfinite(hi), hi, INF))
        safe = np.where(fixed, 1.0, slope)
        hess[idx] = np.where(fixed, 0.0, 1.0 / safe)
        cost[idx] = np.where(fixed, 0.0, -c / safe)

    blocks(sup, 0)
    blocks(dem, n_q)
    # a tiny strictly convex term on deliveries and unsold output makes the optimum unique
    # (without it HiGHS's active-set QP can stall on the degenerate zero-cost transport)
    # distinct weights break ties between otherwise identical deliveries (active-set cycling)
    hess[n_q + n_d :] = weight * (1.0 + np.arange(n_x + n_r) / (n_x + n_r))
    # deliveries only from regions that can supply to regions that can buy
    can_supply = (sup.hi > 0).any(1) & ((sup.a > 0) | (sup.c > 0)).any(1)
    can_buy = ((dem.c > 0) & (dem.hi > 0)).any(1)
    open_arc = np.outer(can_supply, can_buy).ravel()
    upper[n_q + n_d : n_q + n_d + n_x] = np.where(open_arc, INF, 0.0)
    rows: list[Array] = []
    cols: list[Array] = []
    vals: list[Array] = []
    r_idx = np.arange(n_r)
    # producer balance rows 0..R-1: sum_b q - sum_j x - w = 0
    rows.append(np.repeat(r_idx, n_bs))
    cols.append(np.arange(n_q))
    vals.append(np.ones(n_q))
    xi, xj = np.divmod(np.arange(n_x), n_r)
    rows.append(xi)
    cols.append(n_q + n_d + np.arange(n_x))
    vals.append(-np.ones(n_x))
    rows.append(r_idx)
    cols.append(n_q + n_d + n_x + r_idx)
    vals.append(-np.ones(n_r))
    # buyer balance rows R..2R-1: sum_i x - sum_b d = 0
    rows.append(n_r + xj)
    cols.append(n_q + n_d + np.arange(n_x))
    vals.append(np.ones(n_x))
    rows.append(n_r + np.repeat(r_idx, n_bd))
    cols.append(n_q + np.arange(n_d))
    vals.append(-np.ones(n_d))
    row_lo = [np.zeros(2 * n_r)]
    row_hi = [np.zeros(2 * n_r)]
    n_row = 2 * n_r
    if origin is not None and cap is not None:
        for j in np.flatnonzero(np.isfinite(cap)):
            members = np.flatnonzero(origin)
            rows.append(np.full(members.size, n_row))
            cols.append(n_q + n_d + members * n_r + j)
            vals.append(np.ones(members.size))
            row_lo.append(np.array([-INF]))
            row_hi.append(np.array([cap[j] / scale]))
            n_row += 1
    matrix = sp.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_row, n_col),
    )
    lp = highspy.HighsLp()
    lp.num_col_ = n_col
    lp.num_row_ = n_row
    lp.col_cost_ = cost
    lp.col_lower_ = lower
    lp.col_upper_ = upper
    lp.row_lower_ = np.concatenate(row_lo)
    lp.row_upper_ = np.concatenate(row_hi)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr
    lp.a_matrix_.index_ = matrix.indices
    lp.a_matrix_.value_ = matrix.data
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", TIME_LIMIT_S)
    h.passModel(lp)
    diag = np.flatnonzero(hess > 0)
    start = np.searchsorted(diag, np.arange(n_col + 1))
    hessian = highspy.HighsHessian()
    hessian.dim_ = n_col
    hessian.format_ = highspy.HessianFormat.kTriangular
    hessian.start_ = start
    hessian.index_ = diag
    hessian.value_ = hess[diag]
    h.passHessian(hessian)
    h.run()
    status = h.getModelStatus()
    gap = float(h.getInfoValue("primal_dual_objective_error")[1])
    stalled = status == highspy.HighsModelStatus.kTimeLimit and weight == REGULARISATION[-1]
    if status != highspy.HighsModelStatus.kOptimal and not (stalled and gap < ACCEPT_GAP):
        raise InfeasibleError(f"exact engine: HiGHS returned {h.modelStatusToString(status)}")
    solution = h.getSolution()
    duals = np.asarray(solution.row_dual)
    x = np.asarray(solution.col_value)
    pi_prod = duals[:n_r]
    pi_cons = duals[n_r : 2 * n_r]
    unsold = float(x[n_q + n_d + n_x :].sum()) * scale
    flows = x[n_q + n_d : n_q + n_d + n_x].reshape(n_r, n_r) * scale
    return pi_cons, pi_prod, unsold, flows


def clear_exact(
    sup: Blocks, dem: Blocks, origin: Array | None, cap: Array | None, pi_max: float
) -> Cleared:
    """Clear one stage-month scenario by scenario with HiGHS (``pi_max`` unused)."""
    n, n_r = sup.a.shape[:2]
    pi_prod = np.zeros((n, n_r))
    pi_cons = np.zeros((n, n_r))
    dispose = np.zeros(n)
    for k in range(n):
        s, d = sup.take(np.array([k])), dem.take(np.array([k]))
        s1 = Blocks(s.a[0], s.c[0], s.lo[0], s.hi[0])
        d1 = Blocks(d.a[0], d.c[0], d.lo[0], d.hi[0])
        scale = _scale(s1, d1)
        cons, prod, unsold, _ = solve_stage(s1, d1, origin, None if cap is None else cap[k], scale)
        pi_cons[k], pi_prod[k], dispose[k] = cons, prod, unsold
    return Cleared(pi_prod, pi_cons, dispose)
