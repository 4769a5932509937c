"""Exact engine: each stage-month as a convex QP solved by HiGHS; prices are duals.

A spatial price equilibrium (Samuelson 1952; Takayama and Judge 1971) as a welfare problem:
minimise production cost minus consumer value. Variables: every supply block ``q`` (marginal
cost ``(q - c) / a``), every demand block ``d`` (willingness to pay ``(c - d) / -a``),
purchases ``y_o[j]`` from the producers of the controlling origin and ``y_n[j]`` from all
other producers, and unsold output ``w[i] >= 0``. Because trade costs are zero and goods are
not transshipped, producers within each of the two groups are interchangeable to a buyer, so
two supply pools replace the ``R x R`` delivery arcs without changing the optimum (and without
the degenerate ties on which HiGHS's active-set QP solver can cycle). Rows: a balance per pool
(dual: producer price), a balance per buyer ``y_o[j] + y_n[j] = sum_b d[j, b]`` (dual: the
buyer's regional price); an export control bounds ``y_o[j] <= A_j``. Quantities are scaled by
the stage's largest block so that the QP is well conditioned.
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
REGULARISATION = (1e-6, 1e-5, 1e-4)  # tried in turn; prices move by about this much
TIME_LIMIT_S = 1.0
ACCEPT_RESIDUAL = 1e-4  # share of the stage's largest block (see _solve)


def _scale(sup: Blocks, dem: Blocks) -> float:
    ref = float(np.nanmax(np.abs(np.concatenate([sup.c.ravel(), dem.c.ravel()]))))
    return ref if ref > 0 else 1.0


def solve_stage(
    sup: Blocks, dem: Blocks, origin: Array | None, cap: Array | None, scale: float
) -> tuple[Array, Array, float, Array]:
    """One scenario: ``sup``/``dem`` are [region, block]. Returns buyer prices, producer
    prices, unsold total and purchases from the origin by buyer (unscaled). A solve that fails
    is retried with a larger tie-breaking weight."""
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
    n_q, n_d = n_r * n_bs, n_r * n_bd
    # columns: supply blocks, demand blocks, purchases from the origin pool y_o[j], from the
    # other pool y_n[j], unsold output w[i]
    off_yo, off_yn, off_w = n_q + n_d, n_q + n_d + n_r, n_q + n_d + 2 * n_r
    n_col = n_q + n_d + 3 * n_r
    cost = np.zeros(n_col)
    hess = np.zeros(n_col)
    lower = np.zeros(n_col)
    upper = np.full(n_col, INF)

    # a block q = sigma * u with sigma = sqrt(slope): unit curvature in u, well conditioned
    sigma = np.ones(n_q + n_d)

    def blocks(b: Blocks, offset: int) -> None:
        a = b.a.ravel()
        c = b.c.ravel() / scale
        lo = b.lo.ravel() / scale
        hi = b.hi.ravel() / scale
        slope = np.abs(a) / scale
        fixed = slope <= 0
        idx = np.arange(a.size) + offset
        root = np.where(fixed, 1.0, np.sqrt(np.where(fixed, 1.0, slope)))
        sigma[idx] = root
        value = np.clip(c, lo, hi)
        lower[idx] = np.where(fixed, value, lo / root)
        upper[idx] = np.where(fixed, value, np.where(np.isfinite(hi), hi / root, INF))
        hess[idx] = np.where(fixed, 0.0, 1.0)
        cost[idx] = np.where(fixed, 0.0, -c / root)

    blocks(sup, 0)
    blocks(dem, n_q)
    # distinct tiny weights on purchases and unsold output make the optimum unique
    tail = np.arange(3 * n_r)
    hess[off_yo:] = weight * (1.0 + tail / tail.size)
    in_origin = np.zeros(n_r, dtype=bool) if origin is None else origin.astype(bool)
    if not in_origin.any():
        upper[off_yo:off_yn] = 0.0
    elif cap is not None:
        limited = np.isfinite(cap)
        upper[off_yo:off_yn] = np.where(limited, np.maximum(cap, 0.0) / scale, INF)
    rows: list[Array] = []
    cols: list[Array] = []
    vals: list[Array] = []
    r_idx = np.arange(n_r)
    pool = np.where(in_origin, 0, 1)  # row 0: origin pool, row 1: other producers' pool
    # pool rows: sum of supply blocks - unsold - purchases from the pool = 0
    rows.append(np.repeat(pool, n_bs))
    cols.append(np.arange(n_q))
    vals.append(sigma[:n_q])
    rows.append(pool)
    cols.append(off_w + r_idx)
    vals.append(-np.ones(n_r))
    rows.append(np.zeros(n_r, dtype=int))
    cols.append(off_yo + r_idx)
    vals.append(-np.ones(n_r))
    rows.append(np.ones(n_r, dtype=int))
    cols.append(off_yn + r_idx)
    vals.append(-np.ones(n_r))
    # buyer rows 2..R+1: purchases - demand blocks = 0 (dual: the buyer's price)
    rows += [2 + r_idx, 2 + r_idx, 2 + np.repeat(r_idx, n_bd)]
    cols += [off_yo + r_idx, off_yn + r_idx, n_q + np.arange(n_d)]
    vals += [np.ones(n_r), np.ones(n_r), -sigma[n_q:]]
    n_row = 2 + n_r
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
    lp.row_lower_ = np.zeros(n_row)
    lp.row_upper_ = np.zeros(n_row)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr
    lp.a_matrix_.index_ = matrix.indices
    lp.a_matrix_.value_ = matrix.data
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", TIME_LIMIT_S)
    h.passModel(lp)
    diag = np.flatnonzero(hess > 0)
    hessian = highspy.HighsHessian()
    hessian.dim_ = n_col
    hessian.format_ = highspy.HessianFormat.kTriangular
    hessian.start_ = np.searchsorted(diag, np.arange(n_col + 1))
    hessian.index_ = diag
    hessian.value_ = hess[diag]
    h.passHessian(hessian)
    h.run()
    status = h.getModelStatus()
    # HiGHS's QP solver can end "optimal" with a residual just above its 1e-7 tolerance, which
    # it reports as a solve error; such a solution is accepted up to ACCEPT_RESIDUAL
    residual = float(h.getInfoValue("max_primal_infeasibility")[1])
    near = status == highspy.HighsModelStatus.kSolveError and 0 <= residual <= ACCEPT_RESIDUAL
    if status != highspy.HighsModelStatus.kOptimal and not near:
        raise InfeasibleError(f"exact engine: HiGHS returned {h.modelStatusToString(status)}")
    solution = h.getSolution()
    duals = np.asarray(solution.row_dual)
    x = np.asarray(solution.col_value)
    pi_prod = duals[pool]
    pi_cons = duals[2 : 2 + n_r]
    unsold = float(x[off_w:].sum()) * scale
    from_origin = x[off_yo:off_yn] * scale
    return pi_cons, pi_prod, unsold, from_origin


def clear_exact(
    sup: Blocks,
    dem: Blocks,
    origin: Array | None,
    cap: Array | None,
    pi_max: float,
    start: Array | None = None,
) -> Cleared:
    """Clear one stage-month scenario by scenario with HiGHS (``pi_max``, ``start`` unused)."""
    n_r, n = sup.a.shape[1], sup.a.shape[2]
    pi_prod = np.zeros((n_r, n))
    pi_cons = np.zeros((n_r, n))
    dispose = np.zeros(n)
    for k in range(n):
        s1 = Blocks(sup.a[:, :, k].T, sup.c[:, :, k].T, sup.lo[:, :, k].T, sup.hi[:, :, k].T)
        d1 = Blocks(dem.a[:, :, k].T, dem.c[:, :, k].T, dem.lo[:, :, k].T, dem.hi[:, :, k].T)
        scale = _scale(s1, d1)
        cons, prod, unsold, _ = solve_stage(
            s1, d1, origin, None if cap is None else cap[:, k], scale
        )
        pi_cons[:, k], pi_prod[:, k], dispose[k] = cons, prod, unsold
    return Cleared(pi_prod, pi_cons, dispose)
