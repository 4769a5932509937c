"""The monthly LNG market: term contracts, a spot market cleared by the market core, voyages
as delivery lags, storage.

Each month ``t`` (quantities t per month, prices as an index, 1 = the base year's mean BACI
unit value):

1. Supplier ``i`` produces ``Q_i = X_i keep_i + added_i`` (``X_i`` base exports). Term
   contracts load ``C_ij = phi F_ij keep_i (1 - blocked_ij)`` (``phi`` = contracted share,
   ``F`` base flows; an outage cuts contracts pro rata, force majeure) plus the scenario's
   new contracts (capped by the capacity event that serves them).
2. The spot market clears what is left as a problem of the market core
   (:mod:`critmin.market.problem`, :func:`spot_market`), by its compiled or its exact
   back-end: suppliers sell their uncommitted output ``Q_i - C_i`` at the spot hub
   (curtailed below the base price, expanded above it up to capacity); each importer needs
   ``D_j (1 + eta (p_j - 1))`` and restocks its tanks, against the contract cargoes it loads
   and any stock above the base level (drawn over ``rebuild_months``); it buys the rest at
   the spot market or resells what is left over. Under an export control the origin's spot
   cargoes have a hub of their own, and each importer has a node with arcs to both hubs;
   the arc from the origin's hub to a blocked destination carries at most
   ``(1 - blocked) x`` its base spot flow.
3. Who ships to whom: each hub's sales are fitted (RAS) to the base spot pattern with row
   sums = each source's sales and column sums = each buyer's purchases there.
4. Cargoes sail: contract cargoes arrive ``days_i / 30.44`` months after loading, spot cargoes
   ``spot_lead_months`` later still (split between two months by the fractional part).
5. Each importer consumes ``min(D_j (1 + eta (p_j - 1)), stock + arrivals + release)``; its
   stock absorbs the difference.

Without events the base state repeats exactly (price 1, arrivals = consumption = base
imports, stocks full); tested for both back-ends.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from critmin.errors import InfeasibleError, InputError
from critmin.lng.data import DAYS_PER_MONTH, voyage_days
from critmin.lng.market import LngMarket, build_market
from critmin.lng.scenario import Contract, LngScenario
from critmin.market import newton
from critmin.market.exact import solve_exact
from critmin.market.problem import GLOBAL, Builder, Structure, Values
from critmin.market.terms import stock_segments, write_stock
from critmin.simulation.distributions import draw
from critmin.simulation.scenario import Month
from critmin.simulation.shocks import ADDED, Shocks, build_shocks, event_countries

Array = np.ndarray
ENGINES = ("compiled", "exact")
NONE = -1
ARC_ELASTICITY = 1000.0
"""Slope of an importer's arcs to the spot hubs: a gap of 0.1 % of the price index between
an importer and a hub moves the importer's whole volume. Spot cargoes are one good: the
arcs only let an importer choose between the origin's hub and the others' under an export
control, at (almost) one price."""
VOLUME_FLOOR = 1e-6
"""Volume scale of an importer without base imports, as a share of world trade."""


@dataclass(frozen=True)
class SpotMarket:
    """The spot market's clearing problem: structure, base values and where each quantity
    lives (term indices [region], ``NONE`` where absent)."""

    structure: Structure
    values: Values
    node: Array  # [R] node of the importer (the hub when nothing is controlled)
    hub: Array  # [2] node: the spot hub, the origin's hub (NONE without export controls)
    supply: Array  # [R] spot sales of uncommitted output (at the hub of the seller's class)
    inflow: Array  # [R] fixed: contract cargoes loaded (not from the origin) + stock drawn
    inflow_origin: Array  # [R] fixed: contract cargoes from the origin
    want: Array  # [R] use wanted at the price
    restock: Array  # [R] tank restocking
    arc: Array  # [2, R] spot hub <-> importer, origin's hub <-> importer (net purchases)
    origin: Array  # [R] bool: the controlling origin

    @property
    def controlled(self) -> bool:
        return bool(self.origin.any())


def spot_market(market: LngMarket, origin: Array, producers: Array) -> SpotMarket:
    """The spot market of ``market`` with export controls from ``origin`` [R] (bool) and
    supply terms for ``producers`` [R] (bool)."""
    p = market.params
    p0 = market.spot_price
    phi, eta = p["contracted_share"], p["demand_elasticity"]
    n = len(market.regions)
    flows, x, m = market.flows, market.exports, market.imports
    s0 = (1.0 - phi) * flows
    world = float(x.sum())
    controlled = bool(origin.any())
    b = Builder()
    hub = np.full(2, NONE, dtype=np.int64)
    hub[0] = b.node("spot", GLOBAL, p0, (1.0 - phi) * world)
    if controlled:
        hub[1] = b.node("spot|origin", GLOBAL, p0, max(s0[origin].sum(), VOLUME_FLOOR * world))
    volume = np.maximum(m, VOLUME_FLOOR * world)
    node = np.full(n, hub[0], dtype=np.int64)
    if controlled:
        node = np.array(
            [b.node(f"lng|{c}", r, p0, volume[r]) for r, c in enumerate(market.regions)]
        )
    terms = {k: np.full(n, NONE, dtype=np.int64) for k in
             ("supply", "inflow", "inflow_origin", "want", "restock")}
    arc = np.full((2, n), NONE, dtype=np.int64)
    i0 = p["storage_days"] / DAYS_PER_MONTH * m
    for r, c in enumerate(market.regions):
        if producers[r]:
            u = (1.0 - phi) * x[r]
            terms["supply"][r] = b.term(f"supply|{c}", {int(hub[int(origin[r])]): 1.0}, [
                (u, p["curtailment_elasticity"] * u / p0, 0.0, u),
                (0.0, p["supply_elasticity"] * x[r] / p0, 0.0, x[r] / p["utilisation"] - x[r]),
            ], p0)
        at = int(node[r])
        from_origin = phi * flows[origin, r].sum()
        free = phi * m[r] - from_origin
        terms["inflow"][r] = b.term(f"inflow|{c}", {at: 1.0}, [(free, 0.0, free, free)])
        terms["want"][r] = b.term(f"want|{c}", {at: -1.0},
                                  [(m[r] * (1.0 - eta), -eta * m[r] / p0, 0.0, np.inf)])
        _, restock = stock_segments(i0[r], p0, p["restock_slope"], p["holding_cost"])
        terms["restock"][r] = b.term(f"restock|{c}", {at: -1.0}, [restock])
        if controlled:
            terms["inflow_origin"][r] = b.term(
                f"inflow_origin|{c}", {at: 1.0}, [(from_origin, 0.0, from_origin, from_origin)]
            )
            slope = ARC_ELASTICITY * volume[r] / p0
            spot_origin = s0[origin, r].sum()
            arc[0, r] = b.term(f"spot|{c}", {int(hub[0]): -1.0, at: 1.0},
                               [(s0[:, r].sum() - spot_origin, slope, -free, np.inf)])
            arc[1, r] = b.term(f"spot_origin|{c}", {int(hub[1]): -1.0, at: 1.0},
                               [(spot_origin, slope, -from_origin, np.inf)])
    structure, values = b.build()
    return SpotMarket(structure, values, node, hub, arc=arc, origin=origin.copy(), **terms)


@dataclass
class Run:
    """Monthly arrays of one run. ``arrivals`` [T, source, destination] t; the rest [T, R]
    (t per month, price index, t of stock at month end, USD per month for ``bill``);
    ``prices`` [T, node] and ``activity`` [T, term] are the spot market's solutions."""

    market: LngMarket
    spot_market: SpotMarket
    months: list[str]
    demand: Array
    arrivals: Array
    consumption: Array
    stock: Array
    price: Array
    contract: Array
    spot: Array
    resale: Array
    bill: Array
    release: Array
    prices: Array
    activity: Array
    balance_error: float


def _schedule(pipe: Array, t: int, amount: Array, lag: Array) -> None:
    """Add ``amount`` [source, destination] loaded in month ``t`` to ``pipe`` at ``t + lag``
    (``lag`` per source, months), split between two months by the fractional part."""
    k = np.floor(lag).astype(int)
    f = lag - k
    for i in np.flatnonzero(amount.sum(1) > 0):
        first = t + k[i]
        if 0 <= first < pipe.shape[0]:
            pipe[first, i] += amount[i] * (1.0 - f[i])
        if 0 <= first + 1 < pipe.shape[0]:
            pipe[first + 1, i] += amount[i] * f[i]


def _ras(seed: Array, rows: Array, cols: Array, iterations: int = 200) -> Array:
    """Scale ``seed`` to row sums ``rows`` and column sums ``cols`` (iterative fitting)."""
    x = seed.copy()
    for _ in range(iterations):
        r = x.sum(1)
        x *= np.divide(rows, r, out=np.zeros_like(rows), where=r > 0)[:, None]
        c = x.sum(0)
        x *= np.divide(cols, c, out=np.zeros_like(cols), where=c > 0)[None, :]
        if np.allclose(x.sum(1), rows, rtol=1e-13, atol=0.0):
            break
    return x


def allocate(pattern: Array, pool: Array, buy: Array) -> Array:
    """Spot deliveries of one hub [source, buyer] with row sums ``pool`` (scaled to total
    purchases) and column sums ``buy``, fitted to the base spot ``pattern`` (sources keep
    their buyers where they can; the base state reproduces it exactly)."""
    total = pool.sum()
    if total <= 0 or buy.sum() <= 0:
        return np.zeros((pool.size, buy.size))
    rows = pool * buy.sum() / total
    seed = pattern.copy()
    pooled = np.outer(rows, buy) / buy.sum()
    empty_rows = (seed.sum(1) <= 0) & (rows > 0)
    seed[empty_rows] = pooled[empty_rows]
    empty_cols = (seed.sum(0) <= 0) & (buy > 0)
    seed[:, empty_cols] = pooled[:, empty_cols]
    return _ras(seed, rows, buy)


def _contracts(
    lng: LngScenario, market: LngMarket, capacity: dict[str, Array], t: int
) -> list[tuple[int, int, float, float | None]]:
    """(seller, buyer, t this month, lag months) of the scenario's added contracts."""
    def month(value: Month) -> float:
        return float(draw(lng.horizon.index(value), None, 1)[0])

    def active(c: Contract) -> bool:
        end = np.inf if c.end is None else month(c.end)
        return month(c.start) <= t + 1 < end

    out = []
    for c in lng.lng.contracts:
        if not active(c):
            continue
        volume = c.volume_mtpa * 1e6 / 12.0
        if c.capacity_event is not None:
            served = [
                x.volume_mtpa
                for x in lng.lng.contracts
                if x.capacity_event == c.capacity_event and active(x)
            ]
            cap = capacity[c.capacity_event][t]
            volume = min(volume, cap * c.volume_mtpa / max(sum(served), 1e-12))
        lag = (voyage_days(c.route) / DAYS_PER_MONTH) if c.route else None
        out.append((market.region_index(c.seller), market.region_index(c.buyer), volume, lag))
    return out


def capacity_by_event(lng: LngScenario, shocks: Shocks) -> dict[str, Array]:
    """Capacity (t/month) added by each named ``capacity_addition`` event, by month."""
    out: dict[str, Array] = {}
    added = set(shocks.terms[ADDED].rows.tolist())
    for row, k in enumerate(shocks.row_event):
        name = lng.events[int(k)].name
        if name and row in added:
            out[name] = out.get(name, 0.0) + shocks.values[row, 0]
    return out


def prepare(lng: LngScenario) -> tuple[LngMarket, Shocks]:
    """The base market and the compiled events of ``lng`` (central values)."""
    parties = [c.seller for c in lng.lng.contracts] + [c.buyer for c in lng.lng.contracts]
    keep = event_countries(lng) + parties
    market = build_market(lng.year, lng.lng.importer, sorted(set(keep)), dict(lng.lng.parameters))
    return market, build_shocks(lng, market, 1, None)


def _clear(
    engine: str, sm: SpotMarket, v: Values, p: Array, q: Array, work: tuple, t: int  # type: ignore[type-arg]
) -> tuple[Array, Array]:
    if engine == "exact":
        return solve_exact(sm.structure, v)
    if newton.clear(sm.structure, v, p, q, work) < 0:
        raise InfeasibleError(f"compiled back-end: LNG month {t + 1} did not converge")
    return p, q


def run(lng: LngScenario, engine: str = "compiled") -> Run:
    """Simulate ``lng`` month by month (central values of any distribution)."""
    if engine not in ENGINES:
        raise InputError(f"engine {engine!r}: valid engines are {', '.join(ENGINES)}")
    market, shocks = prepare(lng)
    p = market.params
    n_t, n_r = lng.horizon.months, len(market.regions)
    keep_all = 1.0 - shocks.outage[:, 0, :, 0]
    added_all = shocks.added[:, 0, :, 0]
    blocked_all = shocks.blocked[:, 0, :, 0]
    demand_all = shocks.demand[:, 0, :, 0]
    release_all = shocks.release_even[:, 0, :, 0]
    origin = shocks.origin[0]
    capacity = capacity_by_event(lng, shocks)
    sm = spot_market(market, origin, (market.exports > 0) | (added_all > 0).any(0))
    st, v0 = sm.structure, sm.values
    phi, eta = p["contracted_share"], p["demand_elasticity"]
    e_s, e_c = p["supply_elasticity"], p["curtailment_elasticity"]
    rebuild = max(p["rebuild_months"], 1e-9)
    lead = round(p["spot_lead_months"])
    p0 = market.spot_price
    flows = market.flows
    x_base, m_base = market.exports, market.imports
    lag_c = market.lag_months.copy()
    # voyages to every destination take the voyage to the importer studied (assumption); the
    # importer's own re-exports sail from ROW's distance
    lag_c[market.focus] = voyage_days("ROW") / DAYS_PER_MONTH
    pipe = np.zeros((n_t + int(np.ceil(lag_c.max())) + lead + 3, n_r, n_r))
    c0 = phi * flows
    s0 = (1.0 - phi) * flows
    for t0 in range(-int(np.ceil(lag_c.max())) - 2, 0):
        _schedule(pipe, t0, c0 + s0, lag_c)
    # spot cargoes bought but not yet loaded, with the availability (keep x passed) of their
    # source when bought; a source that stops before loading cancels them
    pending = np.zeros((n_t + lead + 1, n_r, n_r))
    bought_avail = np.ones((n_t + lead + 1, n_r, n_r))
    pending[:lead] = s0
    i0 = p["storage_days"] / DAYS_PER_MONTH * m_base
    stock = i0.copy()
    names = ("demand", "consumption", "stock", "price", "contract", "spot", "resale", "bill",
             "release")
    out = {k: np.zeros((n_t, n_r)) for k in names}
    arrivals = np.zeros((n_t, n_r, n_r))
    prices = np.zeros((n_t, st.n_nodes))
    activity = np.zeros((n_t, st.n_terms))
    balance = 0.0
    price = np.ones(st.n_nodes)
    q = np.zeros(st.n_terms)
    work = newton.workspace(st.n_nodes, st.n_terms, st.group_ptr, st.global_nodes.size)
    seg = st.seg_ptr
    own = sm.supply != NONE
    for t in range(n_t):
        keep, added = keep_all[t], added_all[t]
        q_out = x_base * keep + added
        cap = x_base / p["utilisation"] * keep + added
        passed = np.ones((n_r, n_r))
        passed[origin] = 1.0 - blocked_all[t][None, :]
        contract = c0 * keep[:, None] * passed
        extra = _contracts(lng, market, capacity, t)
        for seller, buyer, volume, _ in extra:
            contract[seller, buyer] += volume * passed[seller, buyer]
        committed = contract.sum(1)
        scale = np.divide(q_out, committed, out=np.ones(n_r), where=committed > q_out)
        contract *= np.minimum(scale, 1.0)[:, None]
        uncommitted = np.maximum(q_out - contract.sum(1), 0.0)
        c_origin = contract[origin].sum(0)
        c_free = contract.sum(0) - c_origin
        d = m_base * demand_all[t]
        # stock above the base level is used over rebuild_months instead of buying
        surplus = np.maximum(stock - i0, 0.0) / rebuild
        # -- the month's values
        v = v0.copy()
        a = seg[sm.supply[own]]
        v.alpha[a] = v.hi[a] = uncommitted[own]
        v.beta[a] = e_c * uncommitted[own] / p0
        v.beta[a + 1] = e_s * q_out[own] / p0
        v.hi[a + 1] = np.maximum(cap[own] - q_out[own], 0.0)
        a = seg[sm.inflow]
        v.alpha[a] = v.lo[a] = v.hi[a] = c_free + surplus
        a = seg[sm.want]
        v.alpha[a], v.beta[a] = d * (1.0 - eta), -eta * d / p0
        for r, g in enumerate(seg[sm.restock]):
            write_stock(v.alpha, v.hi, -1, g, i0[r], stock[r], 1.0 + p["holding_cost"], i0[r],
                        p["restock_slope"], rebuild)
        if sm.controlled:
            a = seg[sm.inflow_origin]
            v.alpha[a] = v.lo[a] = v.hi[a] = c_origin
            v.lo[seg[sm.arc[0]]] = -(c_free + surplus)
            a = seg[sm.arc[1]]
            v.lo[a] = -c_origin
            blocked = blocked_all[t] > 0
            v.hi[a] = np.where(blocked, s0[origin].sum(0) * (1.0 - blocked_all[t]), np.inf)
        price, q = _clear(engine, sm, v, price, q, work, t)
        prices[t], activity[t] = price, q
        ex = np.zeros(st.n_nodes)
        newton.excess(price, np.zeros(st.n_terms), np.zeros(st.n_terms), ex, st.term_ptr,
                      st.term_node, st.term_coef, seg, st.price0, v.alpha, v.beta, v.lo, v.hi,
                      v.cost)
        balance = max(balance, float(np.abs(ex).max()))
        # -- who ships to whom
        pi = price[sm.node]
        sold = np.where(own, q[np.maximum(sm.supply, 0)], 0.0)
        c_in = contract.sum(0)
        if sm.controlled:
            net = q[sm.arc]  # [hub, R]
            buy, resale_by = np.maximum(net, 0.0), np.maximum(-net, 0.0)
            held = np.stack([c_free, c_origin])
            share = np.minimum(np.divide(resale_by, held, out=np.zeros_like(held),
                                         where=held > 0), 1.0)
            resold = contract * np.where(origin[:, None], share[1][None, :], share[0][None, :])
            pool = sold + resold.sum(1)
            spot = allocate(s0 * ~origin[:, None], pool * ~origin, buy[0]) + allocate(
                s0 * origin[:, None], pool * origin, buy[1]
            )
            resale = resale_by.sum(0)
        else:
            net = q[sm.want] + q[sm.restock] - q[sm.inflow]
            resale = np.maximum(-net, 0.0)
            resold = contract * np.minimum(
                np.divide(resale, c_in, out=np.zeros(n_r), where=c_in > 0), 1.0
            )[None, :]
            pool = sold + resold.sum(1)
            spot = allocate(s0, pool, np.maximum(net, 0.0))
        delivered = contract - resold
        # added contracts with their own route sail on their own lag
        for seller, buyer, volume, lag in extra:
            if lag is None:
                continue
            part = volume * passed[seller, buyer] * min(scale[seller], 1.0)
            part *= 1.0 - resold[seller, buyer] / max(contract[seller, buyer], 1e-300)
            one = np.zeros((n_r, n_r))
            one[seller, buyer] = part
            delivered[seller, buyer] -= part
            _schedule(pipe, t, one, np.full(n_r, lag))
        _schedule(pipe, t, delivered, lag_c)
        avail = keep[:, None] * passed
        pending[t + lead] += spot
        bought_avail[t + lead] = avail
        ratio = np.divide(
            avail, bought_avail[t], out=np.zeros_like(avail), where=bought_avail[t] > 0
        )
        _schedule(pipe, t, pending[t] * np.minimum(ratio, 1.0), lag_c)
        arrive = pipe[t]
        arrivals[t] = arrive
        on_hand = stock + arrive.sum(0) + release_all[t]
        want = np.maximum(d * (1 + eta * (pi - 1)), 0.0)
        use = np.minimum(want, on_hand)
        stock = on_hand - use
        bought = spot.sum(0)
        # contract cargoes are paid for whether kept or resold; resales earn the spot price
        bill = (contract * market.unit_value).sum(0) + (bought - resale) * pi * market.buyer_price
        for name, value in (
            ("demand", d),
            ("consumption", use),
            ("stock", stock),
            ("price", pi),
            ("contract", c_in - resale),
            ("spot", bought),
            ("resale", resale),
            ("bill", bill),
            ("release", release_all[t]),
        ):
            out[name][t] = value
    return Run(
        market=market,
        spot_market=sm,
        months=lng.horizon.labels(),
        arrivals=arrivals,
        prices=prices,
        activity=activity,
        balance_error=balance,
        **out,
    )
