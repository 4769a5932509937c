"""How new capacity closes allied gaps: a small flow problem with the feedstock rule.

Per scenario ``k`` and chain node ``t`` (a commodity stage): ``x_t`` new output (t/yr),
``f_t`` new output passed downstream as feed, ``z_g`` shortfall of gap ``g`` closed (t over
its horizon ``H_g``). With ``K_t(y) = B_t + sum_p D_pt y_p`` (no-support pipeline plus what
support adds):

* ``cap``:     ``x_t <= K_t(y)``
* ``feed``:    ``x_t <= yield_t (F_t + f_u)`` for a node with upstream node ``u`` (``F_t``:
  upstream surplus outside China in the base year, see ``inputs.feedstock_nodes``)
* ``split``:   ``sum_{g at t} (12 / H_g) z_g + f_t <= x_t`` (a tonne closes a gap or feeds)
* ``product``: ``(12 / H_g) z_g <= P_g(y)`` for a product gap (the product's tonnage)
* ``0 <= z_gk <= S_gk``

and the value closed is ``sum_k w_k sum_g v_g z_gk``. The MILP (``model.py``) carries these
constraints with ``y`` binary; :func:`closed_value` solves the same LP for fixed ``y`` (exact
objective of a set, used by brute force and reports).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from critmin.errors import InfeasibleError
from critmin.optimisation.portfolio.inputs import PortfolioInputs


@dataclass(frozen=True)
class FlowData:
    """The flow problem's arrays (positions follow ``nodes``, ``gaps``, candidate order)."""

    nodes: list[str]
    upstream: list[int | None]  # index of the upstream node whose output feeds this one
    yields: np.ndarray  # [T] t of node output per t of upstream input
    surplus: np.ndarray  # [T] upstream surplus for this node (inf: not checked)
    base: np.ndarray  # [T] no-support pipeline capacity, t/yr
    added: np.ndarray  # [P, T] what support adds, t/yr
    gap_node: np.ndarray  # [G] node index of each gap
    product: np.ndarray  # [G] bool: product gap
    rate: np.ndarray  # [G] 12 / horizon months: t over the horizon -> t/yr
    value: np.ndarray  # [G] USD per t
    short: np.ndarray  # [G, K] t over the horizon
    weights: np.ndarray  # [K]
    product_base: np.ndarray  # [G] t/yr of the product from the no-support pipeline
    product_added: np.ndarray  # [P, G] t/yr of the product support adds

    @property
    def checked(self) -> np.ndarray:
        """[T] bool: nodes whose feed is limited (upstream known, finite surplus)."""
        pairs = zip(self.upstream, self.surplus, strict=True)
        return np.array([u is not None and np.isfinite(s) for u, s in pairs], dtype=bool)


def flow_data(inputs: PortfolioInputs) -> FlowData:
    """The flow problem of ``inputs`` (shortfall objective)."""
    nodes = list(inputs.nodes.index)
    where = {n: i for i, n in enumerate(nodes)}
    gaps = inputs.gaps
    product = np.array([p is not None and not (isinstance(p, float) and np.isnan(p))
                        for p in gaps["product"]], dtype=bool)  # fmt: skip
    contribution = inputs.contribution.to_numpy(float)
    return FlowData(
        nodes=nodes,
        upstream=[where.get(u) if isinstance(u, str) else None for u in inputs.nodes["upstream"]],
        yields=inputs.nodes["yield"].to_numpy(float),
        surplus=inputs.nodes["surplus_t"].to_numpy(float),
        base=inputs.nodes["baseline_t"].to_numpy(float),
        added=inputs.node_additional[nodes].to_numpy(float),
        gap_node=np.array([where[n] for n in gaps["node"]], dtype=int),
        product=product,
        rate=12.0 / gaps["horizon_months"].to_numpy(float),
        value=gaps["value_usd_per_t"].to_numpy(float),
        short=np.asarray(inputs.shortfall, float),
        weights=np.asarray(inputs.weights, float),
        product_base=np.where(product, inputs.base_contribution.to_numpy(float), 0.0),
        product_added=np.where(product[None, :], contribution, 0.0),
    )


def upper_bound(data: FlowData, member: np.ndarray) -> np.ndarray:
    """A bound on the value closed by each set (rows of the 0/1 ``member`` [set, P]): every
    gap against its node's output, capped by capacity and by feed from the upstream surplus
    plus all of the upstream node's (so capped) output; the split is ignored (a relaxation)."""
    cap = data.base[None, :] + member @ data.added  # [set, T]
    for t, u in enumerate(data.upstream):  # nodes run upstream first within a chain
        if u is not None and np.isfinite(data.surplus[t]):
            cap[:, t] = np.minimum(cap[:, t], data.yields[t] * (data.surplus[t] + cap[:, u]))
    own = np.where(
        data.product[None, :],
        np.minimum(data.product_base[None, :] + member @ data.product_added,
                   cap[:, data.gap_node]),
        cap[:, data.gap_node],
    )  # fmt: skip
    closed = np.minimum(data.short[None, :, :], (own / data.rate[None, :])[:, :, None])
    return np.asarray((closed * data.value[None, :, None]).sum(axis=1) @ data.weights)


def closed_value(data: FlowData, y: np.ndarray) -> float:
    """Exact value closed (USD, expected over scenarios) with projects ``y`` (0/1 [P]):
    the flow LP solved by HiGHS (scipy)."""
    g_n, t_n = len(data.gap_node), len(data.nodes)
    if g_n == 0:
        return 0.0
    cap = data.base + np.asarray(y, float) @ data.added
    prod_cap = data.product_base + np.asarray(y, float) @ data.product_added
    total = 0.0
    # scenarios are independent: one small LP each (z [G], x [T], f [T])
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    rhs: list[float] = []

    def add(coefs: list[tuple[int, float]], bound: float) -> None:
        r = len(rhs)
        for c, v in coefs:
            rows.append(r)
            cols.append(c)
            vals.append(v)
        rhs.append(bound)

    z = np.arange(g_n)
    x = g_n + np.arange(t_n)
    f = g_n + t_n + np.arange(t_n)
    for t in range(t_n):
        u = data.upstream[t]
        if u is not None and np.isfinite(data.surplus[t]):
            add([(x[t], 1.0), (f[u], -data.yields[t])], data.yields[t] * data.surplus[t])
        at = [(int(z[g]), float(data.rate[g])) for g in range(g_n) if data.gap_node[g] == t]
        add([*at, (f[t], 1.0), (x[t], -1.0)], 0.0)
    a_ub = coo_matrix((vals, (rows, cols)), shape=(len(rhs), g_n + 2 * t_n)).tocsr()
    b_ub = np.array(rhs)
    for k in range(data.short.shape[1]):
        z_hi = np.minimum(data.short[:, k], np.where(data.product, prod_cap / data.rate, np.inf))
        bounds: list[tuple[float, float | None]] = [(0.0, float(h)) for h in z_hi]
        bounds += [(0.0, float(c)) for c in cap] + [(0.0, None)] * t_n
        cost = np.concatenate([-data.value, np.zeros(2 * t_n)])
        res = linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
        if res.status != 0:
            raise InfeasibleError(f"shortfall flows: scenario {k}: {res.message}")
        total += data.weights[k] * float(-res.fun)
    return total
