"""Goods in two zones, China (CHN) and everyone else (XCN), as a market of the market core.

Each good has a node in each zone (a price index; 1 = its base price, USD/t), a working stock
in each zone and one trade arc CHN -> XCN. The stocks follow the commodity chain's rule
(``critmin.market.terms``): released above ``1 + holding_cost + E``, rebuilt below it towards
a target raised by expected appreciation ``E`` over ``rebuild_months``; expectations are
adaptive, ``E = expectation_weight x`` last month's relative price change. What no one buys
above the **storage floor** ``1 - holding_cost x rebuild_months`` (0.94 with the defaults) is
kept unsold and added to the zone's stock (a steep term): a holder who buys below it and
sells at the base price within ``rebuild_months`` covers its carrying cost, so a glut that
is expected to pass (an export control, a co-product such as cerium) is stored rather than
sold at any price. The arc carries
China's net exports of the good (negative: XCN -> China): its base flow at equal prices,
moved by price gaps with a steep slope (``ARC_ELASTICITY``: one price unless a cap binds)
and capped at ``allowed x`` the base flow under an export control. Under a licence, a
**pipeline** term takes from China what exporters buy for the licences they await and gives
back what the month's decisions bring out (approved, to be exported on the arc, or rejected,
released): a fixed net intake per month (t), ``held x`` the base flow, with ``held`` the
compiled shares (:mod:`critmin.simulation.rules.pipeline`); the stock it holds is booked in
:attr:`ZoneState.held`. The element chain and the gallium and germanium markets add their
production, processing and demand terms.

Nodes are global (no groups): the element chain's terms tie the two zones (a deposit's
basket is separated partly in each), and a problem of a few dozen nodes is solved whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from critmin.errors import InfeasibleError, InputError
from critmin.market import newton
from critmin.market.exact import solve_exact
from critmin.market.params import Parameters
from critmin.market.problem import GLOBAL, Builder, Structure, Values
from critmin.market.terms import stock_segments, write_stock

Array = np.ndarray
ZONES = ("CHN", "XCN")
ENGINES = ("compiled", "exact")
ARC_ELASTICITY = 1000.0
"""Slope of a good's CHN -> XCN arc: a gap of 0.1 % of the price index moves the good's
world volume (trade between the zones is free unless capped)."""
VOLUME_FLOOR = 1e-6
"""Volume scale of a zone without base activity, as a share of the good's world volume."""


@dataclass
class Goods:
    """Collects goods (nodes, stocks, arc) on a :class:`Builder`; arrays are [good, zone]."""

    builder: Builder
    names: list[str] = field(default_factory=list)
    node: list[tuple[int, int]] = field(default_factory=list)
    release: list[tuple[int, int]] = field(default_factory=list)
    restock: list[tuple[int, int]] = field(default_factory=list)
    unsold: list[tuple[int, int]] = field(default_factory=list)
    arc: list[int] = field(default_factory=list)
    pipeline: list[int] = field(default_factory=list)
    flow: list[float] = field(default_factory=list)
    stock: list[tuple[float, float]] = field(default_factory=list)

    def add(
        self, name: str, price0: float, volume: Array, stock: Array, flow: float, par: Parameters
    ) -> tuple[int, int]:
        """Good ``name``: base price (USD/t), volume scales and full working stocks by zone
        (t/month, t), China's base net exports (t/month). Returns its two nodes."""
        b = self.builder
        floor = VOLUME_FLOOR * max(float(np.sum(volume)), 1e-9)
        nodes = tuple(
            b.node(f"{name}|{z}", GLOBAL, price0, max(float(volume[k]), floor))
            for k, z in enumerate(ZONES)
        )
        rel, res, uns = [], [], []
        for k, z in enumerate(ZONES):
            release, restock = stock_segments(
                float(stock[k]), price0, par.inventory_release_slope, par.holding_cost
            )
            rel.append(b.term(f"release|{name}|{z}", {nodes[k]: 1.0}, [release]))
            res.append(b.term(f"restock|{name}|{z}", {nodes[k]: -1.0}, [restock]))
            steep = ARC_ELASTICITY * max(float(volume[k]), floor) / price0
            uns.append(b.term(f"unsold|{name}|{z}", {nodes[k]: -1.0},
                              [(steep * price0 * storage_floor(par), steep, 0.0, np.inf)]))
        # steep relative to the smaller zone (or the base flow): one price unless capped
        scale = max(min(float(volume[0]), float(volume[1])), abs(flow), floor)
        self.arc.append(b.term(f"trade|{name}", {nodes[0]: -1.0, nodes[1]: 1.0},
                               [(flow, ARC_ELASTICITY * scale / price0, -np.inf, np.inf)]))
        # fixed net intake of the licence pipeline (beta 0: clip(alpha, lo, hi)), 0 unless set
        self.pipeline.append(b.term(f"pipeline|{name}", {nodes[0]: -1.0},
                                    [(0.0, 0.0, -np.inf, np.inf)]))
        self.names.append(name)
        self.node.append(nodes)  # type: ignore[arg-type]
        self.release.append((rel[0], rel[1]))
        self.restock.append((res[0], res[1]))
        self.unsold.append((uns[0], uns[1]))
        self.flow.append(flow)
        self.stock.append((float(stock[0]), float(stock[1])))
        return nodes  # type: ignore[return-value]


@dataclass(frozen=True)
class GoodsLayout:
    """Where each good's quantities live, after :meth:`Builder.build`: [good, zone] arrays of
    node and term indices, [good] arc and pipeline terms and base flows (t/month), [good,
    zone] full stocks (t)."""

    names: tuple[str, ...]
    node: Array
    release: Array
    restock: Array
    unsold: Array
    arc: Array
    pipeline: Array
    flow: Array
    stock: Array

    @classmethod
    def of(cls, goods: Goods) -> GoodsLayout:
        return cls(tuple(goods.names), np.array(goods.node), np.array(goods.release),
                   np.array(goods.restock), np.array(goods.unsold), np.array(goods.arc),
                   np.array(goods.pipeline), np.array(goods.flow), np.array(goods.stock))


@dataclass
class ZoneState:
    """What a month leaves to the next: stocks (t), last month's price index and the
    expected appreciation, [good, zone]; the licence pipeline's stock in China (t) [good]."""

    stock: Array
    price: Array
    expected: Array
    held: Array

    @classmethod
    def initial(cls, layout: GoodsLayout) -> ZoneState:
        return cls(layout.stock.copy(), np.ones_like(layout.stock), np.zeros_like(layout.stock),
                   np.zeros(len(layout.names)))


def storage_floor(par: Parameters) -> float:
    """Price index below which unsold output is stored: the base price less the carrying
    cost over ``rebuild_months``."""
    return 1.0 - par.holding_cost * par.rebuild_months


def write_goods(
    layout: GoodsLayout, st: Structure, v: Values, state: ZoneState, allowed: Array,
    par: Parameters, held: Array | None = None,
) -> None:
    """The month's stock segments, export caps and pipeline intakes: ``allowed`` [good] is
    the share of the base CHN -> XCN flow still allowed (1 = no cap; a negative base flow
    allows none), ``held`` [good] the licence pipeline's net intake as a share of it (none
    if None)."""
    seg = st.seg_ptr
    phi = par.precautionary_elasticity
    for g in range(len(layout.names)):
        for z in range(2):
            e = state.expected[g, z]
            write_stock(v.alpha, v.hi, seg[layout.release[g, z]], seg[layout.restock[g, z]],
                        layout.stock[g, z], state.stock[g, z], 1.0 + par.holding_cost + e,
                        layout.stock[g, z] * (1.0 + phi * max(e, 0.0)),
                        par.inventory_release_slope, par.rebuild_months)
        if allowed[g] < 1.0:
            v.hi[seg[layout.arc[g]]] = allowed[g] * max(layout.flow[g], 0.0)
        if held is not None:
            v.alpha[seg[layout.pipeline[g]]] = held[g] * max(layout.flow[g], 0.0)


def advance(layout: GoodsLayout, p: Array, q: Array, state: ZoneState, par: Parameters) -> None:
    """Book a cleared month: stocks move by restocking + unsold - release, the pipeline's
    by its net intake, expectations update."""
    state.stock += q[layout.restock] + q[layout.unsold] - q[layout.release]
    state.held += q[layout.pipeline]
    price = p[layout.node]
    state.expected = par.expectation_weight * (price - state.price) / state.price
    state.price = price


def clear(
    engine: str, st: Structure, v: Values, p: Array, q: Array, work: tuple, t: int  # type: ignore[type-arg]
) -> tuple[Array, Array]:
    """Clear one month with the compiled (``p`` is the start, updated in place) or the
    exact back-end."""
    if engine == "exact":
        return solve_exact(st, v)
    if newton.clear(st, v, p, q, work) < 0:
        raise InfeasibleError(f"compiled back-end: month {t + 1} did not converge")
    return p, q


def check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise InputError(f"engine {engine!r}: valid engines are {', '.join(ENGINES)}")


def node_flows(st: Structure, q: Array, terms: Array) -> tuple[Array, Array]:
    """Deliveries to and takings from every node (t/month, both >= 0 for activities >= 0)
    by the terms ``terms``: ``(sum of a q over a > 0, - sum of a q over a < 0)``."""
    nnz_term = np.repeat(np.arange(st.n_terms), np.diff(st.term_ptr))
    keep = np.isin(nnz_term, terms)
    flow = st.term_coef[keep] * q[nnz_term[keep]]
    nodes = st.term_node[keep]
    give = np.bincount(nodes, weights=np.where(flow > 0, flow, 0.0), minlength=st.n_nodes)
    take = np.bincount(nodes, weights=np.where(flow < 0, -flow, 0.0), minlength=st.n_nodes)
    return give, take
