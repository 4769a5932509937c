"""The clearing contract: one month of a market as nodes, terms and segments.

A **node** is a place where one good changes hands: a good in a region (``rare_earths/magnet``
in ``JPN``), a trade hub, or a good of one origin class. Each node has a price ``p_n``, an
index (1 = its base price ``P0_n``, USD per t), found by clearing.

A **term** is an activity that moves goods between nodes: production, a processing plant
(input node -> output node with a yield), a trade arc, a stock release, final use. Its
physical coefficients ``a_tn`` (t at node ``n`` per unit of activity; + delivers to the node,
- takes from it) define its margin in USD per unit of activity

    m_t = sum_n a_tn P0_n p_n - c_t,

and its activity is a sum of **segments**, each linear in the margin between bounds:

    q_t = sum_k clip(alpha_k + beta_k m_t, lo_k, hi_k)   (t; beta_k >= 0, in t per USD).

A supply curve, a constant-elasticity demand curve made of linear pieces or a trade arc are
all terms. The month clears when every node balances, ``sum_t a_tn q_t = 0``. This is the
Karush-Kuhn-Tucker system of one strictly concave welfare problem (Samuelson 1952; Takayama and
Judge 1971), so its solution is unique: both back-ends (``newton.py``, compiled; ``exact.py``,
HiGHS) solve it and must agree. Every node also carries a *market-maker* term of tiny slope
(``MARKET_MAKER_SLOPE``) that keeps its price unique when all its other terms sit at a bound.

Nodes belong to at most one **group** (a region) or are **global** (hubs). A term may touch
the nodes of one group and any global nodes; the compiled back-end eliminates groups one at a
time (a Schur complement onto the global nodes), which keeps a Newton step cheap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

Array = np.ndarray
GLOBAL = -1
MARKET_MAKER_SLOPE = 1e-6
"""Market-maker flow per unit of price index, as a share of the node's volume scale (t/month):
at a price index of 11 it absorbs 1e-5 of the node's volume."""


@dataclass(frozen=True)
class Structure:
    """The fixed shape of a month's clearing problem (values change month by month).

    Nodes ``n``: ``group`` (region id or ``GLOBAL``), ``price0`` (USD/t), ``volume`` (t/month,
    a scale for tolerances and scaling). Terms ``t``: coefficients in CSR form
    (``term_ptr``, ``term_node``, ``term_coef``) and segments ``seg_ptr``.
    """

    node_labels: tuple[str, ...]
    group: Array  # int64 [N]
    price0: Array  # float [N] USD/t
    volume: Array  # float [N] t/month
    term_labels: tuple[str, ...]
    term_ptr: Array  # int64 [T + 1]
    term_node: Array  # int64 [nnz]
    term_coef: Array  # float [nnz]
    seg_ptr: Array  # int64 [T + 1]
    term_group: Array  # int64 [T]: the group a term touches, GLOBAL if only global nodes
    group_ptr: Array  # int64 [G + 1]: nodes of group g are group_nodes[group_ptr[g]:...]
    group_nodes: Array  # int64
    global_nodes: Array  # int64 [M]
    local: Array  # int64 [N]: position of a node within its group (or among global nodes)

    @property
    def n_nodes(self) -> int:
        return len(self.node_labels)

    @property
    def n_terms(self) -> int:
        return len(self.term_labels)

    @property
    def n_segments(self) -> int:
        return int(self.seg_ptr[-1])

    def node(self, label: str) -> int:
        return self.node_labels.index(label)

    def term(self, label: str) -> int:
        return self.term_labels.index(label)


@dataclass
class Values:
    """The month's numbers for a :class:`Structure`: per segment ``alpha`` (t), ``beta``
    (t per USD), ``lo``/``hi`` (t); per term ``cost`` (USD per unit of activity)."""

    alpha: Array
    beta: Array
    lo: Array
    hi: Array
    cost: Array

    def copy(self) -> Values:
        return Values(
            self.alpha.copy(), self.beta.copy(), self.lo.copy(), self.hi.copy(), self.cost.copy()
        )


@dataclass
class Builder:
    """Collects nodes and terms, then freezes them into a :class:`Structure` and the base
    :class:`Values`. Market-maker terms are added to every node by :meth:`build`."""

    _nodes: list[tuple[str, int, float, float]] = field(default_factory=list)
    _index: dict[str, int] = field(default_factory=dict)
    _terms: list[tuple[str, dict[int, float], float]] = field(default_factory=list)
    _segments: list[list[tuple[float, float, float, float]]] = field(default_factory=list)

    def node(self, label: str, group: int, price0: float, volume: float) -> int:
        """A node (``group`` >= 0 or ``GLOBAL``), base price USD/t, volume scale t/month."""
        if label in self._index:
            raise ValueError(f"node {label!r} defined twice")
        if not (price0 > 0 and np.isfinite(price0)):
            raise ValueError(f"node {label!r}: base price must be positive, got {price0}")
        self._index[label] = len(self._nodes)
        self._nodes.append((label, group, float(price0), max(float(volume), 1e-12)))
        return self._index[label]

    def term(
        self,
        label: str,
        coefs: Mapping[int, float],
        segments: Sequence[tuple[float, float, float, float]],
        cost: float = 0.0,
    ) -> int:
        """A term with coefficients ``{node: a}`` and segments ``(alpha, beta, lo, hi)``."""
        if not segments:
            raise ValueError(f"term {label!r} has no segment")
        groups = {self._nodes[n][1] for n in coefs} - {GLOBAL}
        if len(groups) > 1:
            raise ValueError(f"term {label!r} touches nodes of several groups {sorted(groups)}")
        for _alpha, beta, lo, hi in segments:
            if beta < 0 or lo > hi:
                raise ValueError(f"term {label!r}: segment needs beta >= 0 and lo <= hi")
        self._terms.append((label, dict(coefs), float(cost)))
        self._segments.append([tuple(map(float, s)) for s in segments])  # type: ignore[misc]
        return len(self._terms) - 1

    def build(self) -> tuple[Structure, Values]:
        """Freeze into arrays; a market-maker term is appended for every node, in node order,
        so the market maker of node ``n`` is term ``n_terms - n_nodes + n``."""
        for n, (label, _, price0, volume) in enumerate(self._nodes):
            slope = MARKET_MAKER_SLOPE * volume / price0
            self.term(
                f"market_maker|{label}", {n: 1.0}, [(-slope * price0, slope, -np.inf, np.inf)]
            )
        labels, groups, price0s, volumes = zip(*self._nodes, strict=True)
        group = np.array(groups, dtype=np.int64)
        n_groups = int(group.max()) + 1 if (group >= 0).any() else 0
        term_ptr = np.zeros(len(self._terms) + 1, dtype=np.int64)
        seg_ptr = np.zeros(len(self._terms) + 1, dtype=np.int64)
        nodes: list[int] = []
        coefs: list[float] = []
        term_group = np.full(len(self._terms), GLOBAL, dtype=np.int64)
        alpha: list[float] = []
        beta: list[float] = []
        lo: list[float] = []
        hi: list[float] = []
        for t, ((_, coef, _), segs) in enumerate(zip(self._terms, self._segments, strict=True)):
            for n, a in sorted(coef.items()):
                nodes.append(n)
                coefs.append(a)
                if group[n] != GLOBAL:
                    term_group[t] = group[n]
            term_ptr[t + 1] = len(nodes)
            for a_, b_, l_, h_ in segs:
                alpha.append(a_)
                beta.append(b_)
                lo.append(l_)
                hi.append(h_)
            seg_ptr[t + 1] = len(alpha)
        order = [np.flatnonzero(group == g) for g in range(n_groups)]
        group_ptr = np.zeros(n_groups + 1, dtype=np.int64)
        for g, members in enumerate(order):
            group_ptr[g + 1] = group_ptr[g] + members.size
        global_nodes = np.flatnonzero(group == GLOBAL).astype(np.int64)
        local = np.zeros(len(group), dtype=np.int64)
        for members in [*order, global_nodes]:
            local[members] = np.arange(members.size)
        structure = Structure(
            node_labels=tuple(labels),
            group=group,
            price0=np.array(price0s),
            volume=np.array(volumes),
            term_labels=tuple(t[0] for t in self._terms),
            term_ptr=term_ptr,
            term_node=np.array(nodes, dtype=np.int64),
            term_coef=np.array(coefs, dtype=float),
            seg_ptr=seg_ptr,
            term_group=term_group,
            group_ptr=group_ptr,
            group_nodes=(np.concatenate(order) if order else np.zeros(0)).astype(np.int64),
            global_nodes=global_nodes,
            local=local,
        )
        values = Values(
            np.array(alpha), np.array(beta), np.array(lo), np.array(hi),
            np.array([t[2] for t in self._terms]),
        )
        return structure, values
