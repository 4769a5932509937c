"""The element-grain rare-earth chain as a market of the market core, month by month.

Goods (two zones each, :mod:`zones`): the separated oxide of every element, the metal of the
magnet elements (NdPr, Dy, Tb), NdFeB magnets, and the heavy-grade magnets' Dy/Tb content
above the thrift floor. Every month all of them clear together (``critmin.market``): a dear
magnet raises magnet makers' margins, their metal purchases and the oxide and mine prices
upstream; a blocked element raises its price and its deposits' output, and so every
co-product of theirs. Terms the element chain builds (its coupling, the rest is the core's):

* **mines** (co-product terms): a deposit yields its basket, separated in China or outside
  it by element (``route_xcn``), one term with an output at every element's oxide node; it
  supplies on the basket's value (``mine_price_elasticity``) up to output / utilisation;
* **metal making**: oxide -> metal (stoichiometric yield) on margin;
* **magnet recipes** (multi-input terms): a heavy grade (NdPr, Dy and Tb at their calibrated
  contents) and a Dy-free grade (NdPr only), each on margin up to its share of capacity;
* **thrifting**: the heavy grade's Dy/Tb content above ``thrift_floor`` is a good of its own,
  made from Dy and Tb metal or replaced by grain-boundary diffusion, whose supply rises with
  its price (``thrift_elasticity``), at most the base heavy-grade content;
* **demand**: the core's constant-elasticity curves in linear pieces with a rationing
  ceiling: direct (non-magnet) uses of every oxide, magnet use by sector;
* working stocks and the capped China -> rest-of-world arc of every good (:mod:`zones`).

Quantities t/month (t REO, t metal, t NdFeB); prices are indices (1 = the 2024 price).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from critmin.errors import unknown_value
from critmin.market import newton
from critmin.market.accounts import final_use_accounts
from critmin.market.params import Parameters, default_parameters
from critmin.market.problem import GLOBAL, Builder, Structure, Values
from critmin.market.terms import demand_pieces, supply_segments, write_supply
from critmin.simulation.elements.chain import ZONES, Base, calibrate
from critmin.simulation.elements.zones import (
    ARC_ELASTICITY,
    Goods,
    GoodsLayout,
    ZoneState,
    advance,
    check_engine,
    clear,
    node_flows,
    write_goods,
)

Array = np.ndarray
MAGNET = "magnet"
"""Key of the magnet stage in control arrays: (``MAGNET``, ``MAGNET``)."""
STAGES = ("oxide", "metal")
FLOWS = (
    "output", "release", "direct", "processing", "restock", "unsold", "market_maker",
    "net_export", "pipeline",
)
NONE = -1


@dataclass(frozen=True)
class Shocks:
    """Monthly inputs besides the base state (arrays of length ``months``).

    ``allowed[(element, stage)]``: share of the base China -> rest flow still allowed (1 =
    free; stage ``oxide`` or ``metal``; ``(MAGNET, MAGNET)`` for magnets). ``output[deposit]``:
    multiplier of a deposit's base output and capacity (1 = base, 0 = stopped, 0.8 = a fifth
    lost). ``demand[sector]``: multiplier of magnet demand. ``held[(element, stage)]``: the
    licence pipeline's net intake in China as a share of the base flow
    (:attr:`critmin.simulation.rules.pipeline.Pipeline.net`; keys as ``allowed``).
    """

    months: int
    allowed: Mapping[tuple[str, str], np.ndarray] = field(default_factory=dict)
    output: Mapping[str, np.ndarray] = field(default_factory=dict)
    demand: Mapping[str, np.ndarray] = field(default_factory=dict)
    held: Mapping[tuple[str, str], np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class ElementMarket:
    """The element chain's clearing problem: structure, base values and its layout. Goods
    are ordered: oxides (``base.elements``), metals (``base.magnet_elements``), magnets."""

    base: Base
    params: Parameters
    structure: Structure
    values: Values
    goods: GoodsLayout
    mine: Array  # [deposit] terms
    mine_output: Array  # [deposit] base t REO/month
    mine_value: Array  # [deposit] base basket value, USD per t REO
    production: Array  # terms on margin (mines, metal making, recipes, conversion, thrift)
    direct: Array  # [element, zone] oxide direct-use terms
    magnet_use: Array  # [zone] magnet demand terms (one segment run per sector)
    recipe: Array  # [grade (heavy, Dy-free), zone] terms
    thrift: Array  # [element (Dy, Tb), zone] terms
    seg_sector: Array  # [segments] sector of a magnet-use segment (NONE elsewhere)
    seg_ration: Array  # [segments] bool: a sector's rationing segment
    seg_ceiling: Array  # [segments] rationing price index of the segment's sector
    sector_reference: Array  # [sector, zone] base magnet use (t/month)

    def good(self, element: str, stage: str) -> int:
        """Index of ``element`` at ``stage`` (``oxide``, ``metal``; ``MAGNET`` for magnets)."""
        b = self.base
        if stage == MAGNET:
            return len(b.elements) + len(b.magnet_elements)
        if stage == "metal":
            return len(b.elements) + b.magnet_elements.index(element)
        return b.elements.index(element)


def parameters_of(overrides: Mapping[str, float] | None = None) -> Parameters:
    """The market core's defaults with ``overrides`` (names of ``parameters.yaml``)."""
    return default_parameters().with_overrides(dict(overrides or {}))


def build_market(
    base: Base, par: Parameters, protected: frozenset[str] = frozenset()
) -> ElementMarket:
    """The element chain's structure; sectors in ``protected`` ration at the protected price
    index, the others at the rationing price index."""
    b = Builder()
    goods = Goods(b)
    els, mags = base.elements, base.magnet_elements
    y = base.metal_per_oxide
    months = par.inventory_months

    def per_month(by_zone: Mapping[str, float]) -> Array:
        return np.array([by_zone[z] for z in ZONES]) / 12.0

    ox_nodes, metal_nodes = [], []
    for e in els:
        out = per_month({z: base.oxide_output[z][e] for z in ZONES})
        use = per_month({z: base.direct_use[z][e] + base.oxide_purchases[z][e] for z in ZONES})
        ox_nodes.append(goods.add(f"oxide|{e}", base.oxide_usd_per_t[e], np.maximum(out, use),
                                  months * use, base.oxide_flow(e) / 12.0, par))
    for e in mags:
        out = per_month({z: base.metal_output[z][e] for z in ZONES})
        use = per_month({z: base.metal_need[z][e] for z in ZONES})
        metal_nodes.append(goods.add(f"metal|{e}", base.metal_usd_per_t[e],
                                     np.maximum(out, use), months * use,
                                     base.metal_flow(e) / 12.0, par))
    made = per_month(base.magnet_output)
    used = per_month(base.magnet_use)
    p_mag = base.magnet_usd_per_t
    mag_nodes = goods.add("magnet", p_mag, np.maximum(made, used), months * used,
                          base.magnet_flow() / 12.0, par)
    eps, eps_c, util = par.supply_elasticity, par.curtailment_elasticity, par.utilisation
    production: list[int] = []

    # mines: one co-product term per deposit
    mines, z0s, values = [], [], []
    for d in base.deposits:
        coefs: dict[int, float] = {}
        value = 0.0  # USD per t REO at base prices
        for k, e in enumerate(els):
            for zi, share in enumerate((1.0 - d.route_xcn[e], d.route_xcn[e])):
                if d.basket[e] * share > 0:
                    coefs[ox_nodes[k][zi]] = d.basket[e] * share
                    value += d.basket[e] * share * base.oxide_usd_per_t[e]
        z0 = d.t_reo / 12.0
        e_m = base.mine_price_elasticity
        mines.append(b.term(f"mine|{d.id}", coefs,
                            supply_segments(z0, z0 / util, value, e_m, e_m), value))
        z0s.append(z0)
        values.append(value)
    production += mines
    # metal making: oxide -> metal on margin
    for k, e in enumerate(mags):
        p_ox, p_met = base.oxide_usd_per_t[e], base.metal_usd_per_t[e]
        for zi, z in enumerate(ZONES):
            z0 = base.metal_output[z][e] / 12.0
            if z0 <= 0:
                continue
            production.append(b.term(
                f"metal_making|{e}|{z}",
                {metal_nodes[k][zi]: 1.0, ox_nodes[els.index(e)][zi]: -1.0 / y[e]},
                supply_segments(z0, z0 / util, p_met, eps_c, eps), p_met - p_ox / y[e]))
    # magnet recipes; the heavy grade's Dy and Tb above the thrift floor are goods of their
    # own ("content"), made from the metal or replaced by diffusion (thrifting)
    h, floor = base.heavy_grade_share, base.thrift_floor
    p_metal = {e: base.metal_usd_per_t[e] for e in mags}
    per_heavy = {e: base.content[e] / h for e in ("Dy", "Tb")}  # t metal per t heavy grade
    p_content = {e: (1.0 - floor) * c * p_metal[e] for e, c in per_heavy.items()}
    recipe = np.full((2, 2), NONE, dtype=np.int64)
    thrift = np.full((2, 2), NONE, dtype=np.int64)
    nd = mags.index("NdPr")
    for zi, z in enumerate(ZONES):
        heavy0 = h * made[zi]
        coefs = {mag_nodes[zi]: 1.0, metal_nodes[nd][zi]: -base.content["NdPr"]}
        cost = p_mag - base.content["NdPr"] * p_metal["NdPr"]
        for k, (e, c) in enumerate(per_heavy.items()):
            metal = metal_nodes[mags.index(e)][zi]
            content = b.node(f"content|{e}|{z}", GLOBAL, p_content[e],
                             max(heavy0, 1e-6 * h * made.sum()))
            coefs[metal] = -floor * c
            coefs[content] = -1.0
            cost -= floor * c * p_metal[e] + p_content[e]
            production.append(b.term(
                f"content_from_metal|{e}|{z}", {content: 1.0, metal: -(1.0 - floor) * c},
                [(heavy0, ARC_ELASTICITY * max(heavy0, 1e-9) / p_content[e], 0.0, np.inf)]))
            # diffusion replaces -thrift_elasticity / (1 - floor) x (p - 1) of the base
            # heavy grade's content: the content per magnet falls by thrift_elasticity x
            # (p - 1), to the floor at most
            rate = -base.thrift_elasticity / (1.0 - floor) * heavy0 / p_content[e]
            thrift[k, zi] = b.term(f"thrifting|{e}|{z}", {content: 1.0},
                                   [(0.0, rate, 0.0, heavy0)], p_content[e])
        recipe[0, zi] = b.term(f"magnet_heavy|{z}", coefs,
                               supply_segments(heavy0, heavy0 / util, p_mag, eps_c, eps), cost)
        free0 = (1.0 - h) * made[zi]
        recipe[1, zi] = b.term(
            f"magnet_dy_free|{z}",
            {mag_nodes[zi]: 1.0, metal_nodes[nd][zi]: -base.content["NdPr"]},
            supply_segments(free0, free0 / util, p_mag, eps_c, eps),
            p_mag - base.content["NdPr"] * p_metal["NdPr"])
        production += [int(recipe[0, zi]), int(recipe[1, zi]), *thrift[:, zi].tolist()]
    # demand
    ceiling = {
        s: (par.protected_price_index if s in protected else par.rationing_price_index)
        for s in base.sectors
    }
    direct = np.full((len(els), 2), NONE, dtype=np.int64)
    for k, e in enumerate(els):
        for zi, z in enumerate(ZONES):
            q = base.direct_use[z][e] / 12.0
            if q > 0:
                direct[k, zi] = b.term(f"direct_use|{e}|{z}", {ox_nodes[k][zi]: -1.0},
                                       demand_pieces(q, par.demand_elasticity,
                                                     par.rationing_price_index,
                                                     base.oxide_usd_per_t[e]))
    magnet_use = np.full(2, NONE, dtype=np.int64)
    reference = np.zeros((len(base.sectors), 2))
    runs: list[tuple[int, int, int, bool]] = []  # (term, segment in term, sector, rationing)
    for zi, z in enumerate(ZONES):
        segments: list[tuple[float, float, float, float]] = []
        local = []
        for k, (sector, (share, elasticity)) in enumerate(base.sectors.items()):
            reference[k, zi] = used[zi] * share
            pieces = demand_pieces(used[zi] * share, elasticity, ceiling[sector], p_mag)
            local += [(len(segments) + j, k, j == len(pieces) - 1) for j in range(len(pieces))]
            segments += pieces
        magnet_use[zi] = b.term(f"magnet_use|{z}", {mag_nodes[zi]: -1.0}, segments)
        runs += [(int(magnet_use[zi]), j, k, last) for j, k, last in local]
    st, v = b.build()
    seg_sector = np.full(st.n_segments, NONE, dtype=np.int64)
    seg_ration = np.zeros(st.n_segments, dtype=np.bool_)
    seg_ceiling = np.zeros(st.n_segments)
    names = list(base.sectors)
    for term, j, k, last in runs:
        g = st.seg_ptr[term] + j
        seg_sector[g], seg_ration[g], seg_ceiling[g] = k, last, ceiling[names[k]]
    return ElementMarket(
        base=base, params=par, structure=st, values=v, goods=GoodsLayout.of(goods),
        mine=np.array(mines), mine_output=np.array(z0s), mine_value=np.array(values),
        production=np.array(production), direct=direct, magnet_use=magnet_use,
        recipe=recipe, thrift=thrift, seg_sector=seg_sector, seg_ration=seg_ration,
        seg_ceiling=seg_ceiling, sector_reference=reference,
    )


@dataclass
class ElementResult:
    """Month-by-month flows (t/month) and prices (index) of the element chain.

    ``stage[flow]`` arrays are [month, element, stage (oxide, metal), zone]; metal rows of
    non-magnet elements are 0. Flows (each >= 0 but ``net_export``, ``market_maker`` and
    ``pipeline``):
    ``output`` (separated oxide, metal made), ``release`` and ``restock`` (working stock),
    ``direct`` (final use), ``processing`` (bought by metal and magnet makers), ``unsold``
    (kept at a price index of 0, added to the stock), ``net_export`` (China -> rest; the
    rest's is its negative), ``market_maker`` (the core's market maker, about 1e-6 of the
    volume), ``pipeline`` (the licence pipeline's net intake in China: bought for licences
    awaited less what decisions brought out; 0 outside China). Every zone balances: output +
    release + market_maker = direct + processing + restock + unsold + net_export + pipeline.
    ``magnet[flow]`` arrays are
    [month, zone]; ``sector_use`` (consumption) and ``sector_demand`` (use at the base price,
    with demand shocks) are [month, sector, zone]; ``mine`` is [month, deposit] (t REO);
    ``thrifted`` [month, element (Dy, Tb), zone] t of heavy-grade magnets whose content of
    the element above the floor diffusion replaced; ``prices`` [month, node] and
    ``activity`` [month, term] the cleared months.
    """

    market: ElementMarket
    labels: list[str]
    stage: dict[str, np.ndarray]
    price: np.ndarray  # [month, element, stage, zone]
    stock: np.ndarray  # [month, element, stage, zone], end of month
    magnet: dict[str, np.ndarray]
    magnet_price: np.ndarray  # [month, zone]
    magnet_stock: np.ndarray  # [month, zone]
    sector_use: np.ndarray
    sector_demand: np.ndarray
    mine: np.ndarray
    separated: np.ndarray  # [month, element, zone] t REO
    metal_used: np.ndarray  # [month, element, zone] t metal in the magnets made
    thrifted: np.ndarray  # [month, element (Dy, Tb), zone]
    initial_stock: np.ndarray  # [element, stage, zone]
    initial_magnet_stock: np.ndarray  # [zone]
    prices: np.ndarray
    activity: np.ndarray

    @property
    def base(self) -> Base:
        return self.market.base

    def supply(self, element: str, stage: str, zone: str) -> np.ndarray:
        """What users in ``zone`` received of ``element`` at ``stage`` each month (t): final
        use + processing + restocking."""
        e = self.base.elements.index(element)
        s = STAGES.index(stage)
        z = ZONES.index(zone)
        st = self.stage
        out: np.ndarray = (
            st["direct"][:, e, s, z] + st["processing"][:, e, s, z] + st["restock"][:, e, s, z]
        )
        return out

    def magnet_supply(self, zone: str) -> np.ndarray:
        """Magnets used in ``zone`` each month (t NdFeB): final use + restocking."""
        z = ZONES.index(zone)
        out: np.ndarray = self.sector_use[:, :, z].sum(axis=1) + self.magnet["restock"][:, z]
        return out

    def frame(self) -> pd.DataFrame:
        """Long table: month, element, stage, zone, every flow (t), price index and USD/t."""
        rows: list[dict[str, object]] = []
        b = self.base
        for t, label in enumerate(self.labels):
            for e, el in enumerate(b.elements):
                for s, stage in enumerate(STAGES):
                    if stage == "metal" and el not in b.magnet_elements:
                        continue
                    base_usd = b.oxide_usd_per_t[el] if stage == "oxide" else b.metal_usd_per_t[el]
                    for z, zone in enumerate(ZONES):
                        row: dict[str, object] = {
                            "month": label, "element": el, "stage": stage, "zone": zone,
                        }
                        row.update({f: float(self.stage[f][t, e, s, z]) for f in FLOWS})
                        index = float(self.price[t, e, s, z])
                        row["price_index"] = index
                        row["price_usd_per_t"] = index * base_usd
                        row["stock"] = float(self.stock[t, e, s, z])
                        rows.append(row)
            for z, zone in enumerate(ZONES):
                mrow: dict[str, object] = {
                    "month": label, "element": MAGNET, "stage": MAGNET, "zone": zone,
                }
                mrow.update({f: float(self.magnet[f][t, z]) for f in FLOWS})
                index = float(self.magnet_price[t, z])
                mrow["price_index"] = index
                mrow["price_usd_per_t"] = index * b.magnet_usd_per_t
                mrow["stock"] = float(self.magnet_stock[t, z])
                rows.append(mrow)
        return pd.DataFrame(rows)


def _monthly_inputs(market: ElementMarket, shocks: Shocks) -> tuple[Array, Array, Array, Array]:
    """allowed [month, good], the multiplier of each deposit's output [month, deposit], the
    magnet demand multiplier [month, sector] and the pipeline's net intake [month, good] of
    ``shocks``."""
    b = market.base
    n = shocks.months
    allowed = np.ones((n, len(market.goods.names)))
    held = np.zeros((n, len(market.goods.names)))
    for (element, stage), path in shocks.allowed.items():
        if stage == "metal" and element not in b.magnet_elements:
            continue  # no metal market for it (La, Ce and the others are used as oxides)
        allowed[:, market.good(element, stage)] *= np.asarray(path, dtype=float)
    for (element, stage), path in shocks.held.items():
        if stage == "metal" and element not in b.magnet_elements:
            continue
        held[:, market.good(element, stage)] += np.asarray(path, dtype=float)
    ids = [dep.id for dep in b.deposits]
    for name in shocks.output:
        if name not in ids:
            raise unknown_value("deposit", name, ids)
    for name in shocks.demand:
        if name not in b.sectors:
            raise unknown_value("sector", name, b.sectors)
    keep = np.ones((n, len(b.deposits)))
    for d, dep in enumerate(b.deposits):
        if dep.id in shocks.output:
            keep[:, d] = np.asarray(shocks.output[dep.id], dtype=float)
    demand = np.ones((n, len(b.sectors)))
    for k, sector in enumerate(b.sectors):
        if sector in shocks.demand:
            demand[:, k] = np.asarray(shocks.demand[sector], dtype=float)
    return allowed, keep, demand, held


def simulate_elements(
    shocks: Shocks,
    labels: list[str] | None = None,
    base: Base | None = None,
    parameters: Mapping[str, float] | None = None,
    engine: str = "compiled",
    protected: frozenset[str] = frozenset(),
) -> ElementResult:
    """Run the element chain for ``shocks.months`` months from the base state, every month
    cleared by the ``compiled`` or the ``exact`` back-end; ``parameters`` override the
    market core's defaults (``critmin.market.parameters.yaml``)."""
    check_engine(engine)
    b = base or calibrate()
    market = build_market(b, parameters_of(parameters), protected)
    par = market.params
    st, v0, lay = market.structure, market.values, market.goods
    n = shocks.months
    allowed, keep, demand, held = _monthly_inputs(market, shocks)
    seg = st.seg_ptr
    on_demand = np.concatenate([st.seg_ptr[t] + np.arange(seg[t + 1] - seg[t])
                                for t in market.magnet_use])
    demand_terms = np.concatenate([market.direct[market.direct != NONE], market.magnet_use])
    e_m = b.mine_price_elasticity
    state = ZoneState.initial(lay)
    p = np.ones(st.n_nodes)
    q = np.zeros(st.n_terms)
    work = newton.workspace(st.n_nodes, st.n_terms, st.group_ptr, st.global_nodes.size)
    n_e, n_g, n_k = len(b.elements), len(lay.names), len(b.sectors)
    flows = {f: np.zeros((n, n_g, 2)) for f in FLOWS}
    good_price = np.ones((n, n_g, 2))
    good_stock = np.zeros((n, n_g, 2))
    prices, activity = np.zeros((n, st.n_nodes)), np.zeros((n, st.n_terms))
    sector_use, sector_demand = np.zeros((n, n_k, 2)), np.zeros((n, n_k, 2))
    acc = np.zeros((n_k, 5))
    makers = st.n_terms - st.n_nodes + lay.node
    for t in range(n):
        v = v0.copy()
        for d, term in enumerate(market.mine):
            z0 = market.mine_output[d] * keep[t, d]
            write_supply(v.alpha, v.beta, v.hi, seg[term], z0, z0 / par.utilisation,
                         market.mine_value[d], e_m, e_m)
        factor = demand[t, market.seg_sector[on_demand]]
        v.alpha[on_demand] *= factor
        v.beta[on_demand] *= factor
        v.hi[on_demand] *= factor
        write_goods(lay, st, v, state, allowed[t], par, held[t])
        p, q = clear(engine, st, v, p, q, work, t)
        prices[t], activity[t] = p, q
        give, take = node_flows(st, q, market.production)
        _, used = node_flows(st, q, demand_terms)
        flows["output"][t] = give[lay.node]
        flows["processing"][t] = take[lay.node]
        flows["direct"][t] = used[lay.node]
        flows["release"][t] = q[lay.release]
        flows["restock"][t] = q[lay.restock]
        flows["unsold"][t] = q[lay.unsold]
        flows["market_maker"][t] = q[makers]
        flows["net_export"][t] = q[lay.arc][:, None] * np.array([1.0, -1.0])
        flows["pipeline"][t] = q[lay.pipeline][:, None] * np.array([1.0, 0.0])
        good_price[t] = p[lay.node]
        for zi, term in enumerate(market.magnet_use):
            node = lay.node[-1, zi]
            final_use_accounts(term, p[node], st.price0[node], seg, v.alpha, v.beta, v.lo,
                               v.hi, market.seg_sector, market.seg_ration, market.seg_ceiling,
                               market.sector_reference[:, zi] * demand[t], acc)
            sector_use[t, :, zi] = acc[:, 1]
            sector_demand[t, :, zi] = market.sector_reference[:, zi] * demand[t]
        advance(lay, p, q, state, par)
        good_stock[t] = state.stock
    mags = [b.elements.index(e) for e in b.magnet_elements]

    def by_stage(x: Array, fill: float = 0.0) -> Array:
        """[..., good, zone] -> [..., element, stage, zone] (without magnets)."""
        out = np.full((*x.shape[:-2], n_e, 2, 2), fill)
        out[..., :, 0, :] = x[..., :n_e, :]
        out[..., mags, 1, :] = x[..., n_e:-1, :]
        return out

    return ElementResult(
        market=market,
        labels=labels or [str(k + 1) for k in range(n)],
        stage={f: by_stage(x) for f, x in flows.items()},
        price=by_stage(good_price, 1.0),
        stock=by_stage(good_stock),
        magnet={f: x[:, -1] for f, x in flows.items()},
        magnet_price=good_price[:, -1],
        magnet_stock=good_stock[:, -1],
        sector_use=sector_use,
        sector_demand=sector_demand,
        mine=activity[:, market.mine],
        separated=flows["output"][:, :n_e],
        metal_used=by_stage(flows["processing"])[:, :, 1],
        thrifted=activity[:, market.thrift],
        initial_stock=by_stage(lay.stock),
        initial_magnet_stock=lay.stock[-1].copy(),
        prices=prices,
        activity=activity,
    )
