"""The monthly LNG clearing: term contracts, a spot market, voyages as delivery lags, storage.

Each month ``t`` (quantities t per month, prices as an index, 1 = the base year's mean BACI
unit value):

1. Supplier ``i`` produces ``Q_i = X_i keep_i + added_i`` (``X_i`` base exports). Term
   contracts load ``C_ij = phi F_ij keep_i (1 - blocked_ij)`` (``phi`` = contracted share,
   ``F`` base flows; an outage cuts contracts pro rata, force majeure) plus the scenario's
   new contracts (capped by the capacity event that serves them).
2. The spot market clears what is left, with the minerals model's blocks and clearing
   functions (:func:`critmin.simulation.fast.clear_fast` or ``exact.clear_exact``):
   suppliers' uncommitted output ``Q_i - C_i`` (curtailed below the base price, expanded above
   it up to capacity), each importer's net need ``D_j (1 + eta (pi - 1)) - C_j`` (bought when
   positive, resold when negative) less any stock above the base level (drawn over
   ``rebuild_months``), and the restocking of its tanks. An export control caps
   the origin's spot deliveries to each blocked destination at ``(1 - blocked) x`` its base
   spot flow.
3. Cargoes sail: contract cargoes arrive ``days_i / 30.44`` months after loading, spot cargoes
   ``spot_lead_months`` later still (split between two months by the fractional part).
4. Each importer consumes ``min(D_j (1 + eta (pi_j - 1)), stock + arrivals + release)``; its
   stock absorbs the difference.

Without events the base state repeats exactly (price 1, arrivals = consumption = base
imports, stocks full); tested.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from critmin.errors import InputError
from critmin.lng.data import DAYS_PER_MONTH, voyage_days
from critmin.lng.events import Events, build_events, countries, month
from critmin.lng.market import LngMarket, build_market
from critmin.lng.scenario import LngScenario
from critmin.simulation.blocks import Blocks, stack
from critmin.simulation.exact import clear_exact
from critmin.simulation.fast import Cleared, clear_fast

Array = np.ndarray
ClearFn = Callable[[Blocks, Blocks, Array | None, Array | None, float, Array | None], Cleared]
ENGINES: dict[str, ClearFn] = {"fast": clear_fast, "exact": clear_exact}
# supply blocks: uncommitted output, expansion above base output, resale of surplus contract
# cargoes; demand blocks: spot purchases, restocking
S_BASE, S_EXPANSION, S_RESALE = 0, 1, 2
D_SPOT, D_RESTOCK = 0, 1


@dataclass
class Run:
    """Monthly arrays of one run. ``arrivals`` [T, source, destination] t; the rest [T, R]
    (t per month, price index, t of stock at month end, USD per month for ``bill``)."""

    market: LngMarket
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


def _allocate(
    pattern: Array, pool: Array, buy: Array, origin: Array | None, caps: Array | None
) -> Array:
    """Spot deliveries [source, buyer] with row sums ``pool`` (scaled to total purchases) and
    column sums ``buy``, fitted to the base spot ``pattern`` (sources keep their buyers where
    they can; the base state reproduces it exactly). A capped buyer takes at most ``caps``
    from the origin: the excess is swapped with other sources' cargoes at uncapped buyers."""
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
    if origin is not None and caps is not None:
        capped = np.isfinite(caps)
        seed[np.ix_(origin, capped)] = np.minimum(seed[np.ix_(origin, capped)], 1e-9)
    out = _ras(seed, rows, buy)
    if origin is None or caps is None:
        return out
    capped = np.isfinite(caps)
    from_o = out[origin].sum(0)
    excess = np.where(capped, np.maximum(from_o - np.where(capped, caps, 0.0), 0.0), 0.0)
    moved = excess.sum()
    if moved <= 0:
        return out
    free = ~capped
    others = ~origin
    room = out[np.ix_(others, free)]
    if room.sum() < moved * (1 - 1e-9):
        return out  # caps cannot all hold; the clearing reported a split market
    o_cut = out[origin] * np.divide(excess, from_o, out=np.zeros_like(from_o), where=from_o > 0)
    out[origin] -= o_cut
    swap = room * (moved / room.sum())
    # each other source gives up `removed` at uncapped buyers and delivers as much to the
    # capped ones: row and column sums are kept
    removed = swap.sum(1)
    block = out[others]
    block[:, free] -= swap
    block[:, capped] += np.outer(removed, excess[capped]) / moved
    out[others] = block
    o_mix = o_cut.sum(1) / moved
    out[np.ix_(origin, free)] += np.outer(o_mix, swap.sum(0))
    return out


def _contracts(
    lng: LngScenario, market: LngMarket, ev: Events, t: int
) -> list[tuple[int, int, float, float | None]]:
    """(seller, buyer, t this month, lag months) of the scenario's added contracts."""
    horizon = lng.scenario.horizon
    out = []
    for c in lng.lng.contracts:
        start = month(horizon, c.start)
        end = np.inf if c.end is None else month(horizon, c.end)
        if not start <= t + 1 < end:
            continue
        volume = c.volume_mtpa * 1e6 / 12.0
        if c.capacity_event is not None:
            served = [
                x.volume_mtpa
                for x in lng.lng.contracts
                if x.capacity_event == c.capacity_event
                and month(horizon, x.start)
                <= t + 1
                < (np.inf if x.end is None else month(horizon, x.end))
            ]
            cap = ev.by_name[c.capacity_event][t]
            volume = min(volume, cap * c.volume_mtpa / max(sum(served), 1e-12))
        lag = (voyage_days(c.route) / DAYS_PER_MONTH) if c.route else None
        out.append((market.index(c.seller), market.index(c.buyer), volume, lag))
    return out


def prepare(lng: LngScenario) -> tuple[LngMarket, Events]:
    """The base market and the event arrays of ``lng``."""
    s = lng.scenario
    parties = [c.seller for c in lng.lng.contracts] + [c.buyer for c in lng.lng.contracts]
    keep = countries(s) + parties
    market = build_market(s.year, lng.lng.importer, sorted(set(keep)), dict(lng.lng.parameters))
    return market, build_events(s, market)


def run(lng: LngScenario, engine: str = "fast") -> Run:
    """Simulate ``lng`` month by month (central values of any distribution)."""
    if engine not in ENGINES:
        raise InputError(f"engine {engine!r}: valid engines are fast, exact")
    clear = ENGINES[engine]
    market, ev = prepare(lng)
    p = market.params
    n_t, n_r = lng.scenario.horizon.months, len(market.regions)
    phi, eta = p["contracted_share"], p["demand_elasticity"]
    e_s, e_c, h = p["supply_elasticity"], p["curtailment_elasticity"], p["holding_cost"]
    k_re, rebuild = p["restock_slope"], max(p["rebuild_months"], 1e-9)
    lead = round(p["spot_lead_months"])
    pi_max = 2.0 - 1.0 / eta
    flows = market.flows
    x_base, m_base = market.exports, market.imports
    lag_c = market.lag_months.copy()
    # voyages to every destination take the voyage to the importer studied (assumption); the
    # importer's own re-exports sail from ROW's distance
    lag_c[market.focus] = voyage_days("ROW") / DAYS_PER_MONTH
    horizon_pipe = n_t + int(np.ceil(lag_c.max())) + lead + 3
    pipe = np.zeros((horizon_pipe, n_r, n_r))
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
    out = {
        k: np.zeros((n_t, n_r))
        for k in (
            "demand",
            "consumption",
            "stock",
            "price",
            "contract",
            "spot",
            "resale",
            "bill",
            "release",
        )
    }
    arrivals = np.zeros((n_t, n_r, n_r))
    balance = 0.0
    warm = np.ones(1)
    zero = np.zeros(n_r)
    inf = np.full(n_r, np.inf)
    for t in range(n_t):
        keep, added = ev.keep[t], ev.added[t]
        q = x_base * keep + added
        cap = x_base / p["utilisation"] * keep + added
        passed = np.ones((n_r, n_r))
        passed[ev.origin] = 1.0 - ev.blocked[t][None, :]
        contract = c0 * keep[:, None] * passed
        extra = _contracts(lng, market, ev, t)
        for seller, buyer, volume, _ in extra:
            contract[seller, buyer] += volume * passed[seller, buyer]
        committed = contract.sum(1)
        scale = np.divide(q, committed, out=np.ones(n_r), where=committed > q)
        contract *= np.minimum(scale, 1.0)[:, None]
        uncommitted = np.maximum(q - contract.sum(1), 0.0)
        c_in = contract.sum(0)
        d = m_base * ev.demand[t]
        # stock above the base level is used over rebuild_months instead of buying
        surplus = np.maximum(stock - i0, 0.0) / rebuild
        sup = stack(
            [
                (e_c * uncommitted, (1 - e_c) * uncommitted, zero, uncommitted),
                (e_s * q, -e_s * q, zero, np.maximum(cap - q, 0.0)),
                (-eta * d, c_in + surplus - (1 - eta) * d, zero, inf),
            ]
        )
        dem = stack(
            [
                (eta * d, (1 - eta) * d - c_in - surplus, zero, inf),
                (-k_re * i0, k_re * i0 * (1 + h), zero, np.maximum(i0 - stock, 0.0) / rebuild),
            ]
        )
        sup = type(sup)(*(x[..., None] for x in (sup.a, sup.c, sup.lo, sup.hi)))
        dem = type(dem)(*(x[..., None] for x in (dem.a, dem.c, dem.lo, dem.hi)))
        origin = ev.origin if ev.origin.any() else None
        caps = None
        if origin is not None:
            base = s0[origin].sum(0)
            blocked = ev.blocked[t]
            caps = np.where(blocked > 0, base * (1 - blocked), np.inf)
            caps[origin] = np.inf
        cleared = clear(sup, dem, origin, None if caps is None else caps[:, None], pi_max, warm)
        if cleared.hint is not None:
            warm = cleared.hint
        q_sup = sup.quantity(cleared.pi_prod)[..., 0]
        q_dem = dem.quantity(cleared.pi_cons)[..., 0]
        pi = cleared.pi_cons[:, 0]
        sold = q_sup[S_BASE] + q_sup[S_EXPANSION]
        resale = q_sup[S_RESALE]
        buy = q_dem[D_SPOT] + q_dem[D_RESTOCK]
        resold_share = np.divide(resale, c_in, out=np.zeros(n_r), where=c_in > 0)
        resold = contract * resold_share[None, :]
        pool = sold + resold.sum(1)
        spot = _allocate(s0, pool, buy, origin, caps)
        delivered = contract - resold
        # added contracts with their own route sail on their own lag
        for seller, buyer, volume, lag in extra:
            if lag is None:
                continue
            share = volume * passed[seller, buyer] * min(scale[seller], 1.0)
            share *= 1.0 - resold_share[buyer]
            one = np.zeros((n_r, n_r))
            one[seller, buyer] = share
            delivered[seller, buyer] -= share
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
        on_hand = stock + arrive.sum(0) + ev.release[t]
        want = np.maximum(d * (1 + eta * (pi - 1)), 0.0)
        use = np.minimum(want, on_hand)
        stock = on_hand - use
        usd = market.unit_value
        bought = spot.sum(0)
        # contract cargoes are paid for whether kept or resold; resales earn the spot price
        bill = (contract * usd).sum(0) + (bought - resale) * pi * market.buyer_price
        balance = max(balance, abs(float(pool.sum() - buy.sum() - cleared.dispose[0])))
        for name, value in (
            ("demand", d),
            ("consumption", use),
            ("stock", stock),
            ("price", pi),
            ("contract", c_in - resale),
            ("spot", bought),
            ("resale", resale),
            ("bill", bill),
            ("release", ev.release[t]),
        ):
            out[name][t] = value
    return Run(
        market=market,
        months=lng.scenario.horizon.labels(),
        arrivals=arrivals,
        balance_error=balance,
        **out,
    )
