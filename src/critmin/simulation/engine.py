"""The monthly loop shared by both engines: build blocks, clear each stage, update stocks.

Stages clear in chain order each month. A stage's output is capped by its capacity and by the
input its processors bought at the previous stage this month (times the stage yield); input
bought but not processed is added to that region's stock of the previous stage. Working
stocks are released above ``base price x (1 + holding_cost)`` and rebuilt below it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from critmin.simulation.blocks import Blocks, stack
from critmin.simulation.calibration import Market
from critmin.simulation.fast import Cleared
from critmin.simulation.shocks import Shocks

Array = np.ndarray
ClearFn = Callable[[Blocks, Blocks, Array | None, Array | None, float, Array | None], Cleared]
SHORT_TOLERANCE = 0.01  # a month counts as short when shortfall > 1 % of reference use

# supply blocks: production up to base output (curtailed below base price), production above
# base output (up to capacity), stock release, recycling, even stockpile release, on_price ...
SUPPLY_BASE, SUPPLY_EXPANSION, SUPPLY_STOCK, SUPPLY_RECYCLING, SUPPLY_STOCKPILE = 0, 1, 2, 3, 4
DEMAND_FINAL, DEMAND_PROCESSING, DEMAND_RESTOCK = 0, 1, 2

TRACKED = (
    "production",
    "supply",
    "final_reference",
    "final_use",
    "processing_reference",
    "processing_use",
    "price",
    "producer_price",
    "stock",
    "stock_change",
    "stockpile_release",
)


@dataclass
class Trace:
    """Month-by-month arrays [scenario, month, stage, region] (only when recording)."""

    data: dict[str, Array] = field(default_factory=dict)
    dispose: Array | None = None


@dataclass
class Summary:
    """Per-scenario reductions kept for ensembles (units in ``results.py``)."""

    shortfall: Array  # [n, S, R] t of final use not met over the horizon
    reference: Array  # [n, S, R] t of final use at base prices (with demand shocks)
    value_at_risk: Array  # [n, R] USD
    peak_price: Array  # [n, S, R] max price index
    mean_price: Array  # [n, S, R] mean price index
    first_short: Array  # [n, R] first month (1-based) with shortfall, 0 = none
    last_short: Array  # [n, R] last month with shortfall, 0 = none
    balance_error: Array  # [n] max |supply - use - stock change| over stages and months


def _pi_max(market: Market) -> float:
    p = market.params
    chokes = [1 - 1 / p.final_elasticity, 1 - 1 / p.processing_elasticity, 1 + p.holding_cost]
    return float(max(chokes) + 1.0)


def _dirty(
    market: Market, shocks: Shocks, t: int, s: int, stock: Array, bought: Array, mult: Array
) -> Array:
    """Scenarios whose stage ``s`` in month ``t`` may differ from the base solution."""
    dirty = (shocks.outage[t, s] != 0).any(1) | (shocks.added[t, s] != 0).any(1)
    if s + 1 < market.n_stages:
        dirty |= (shocks.outage[t, s + 1] != 0).any(1)
        dirty |= (shocks.added[t, s + 1] != 0).any(1)
    dirty |= (mult != 1.0).any(1)
    i0 = market.inventory[s]
    dirty |= (np.abs(stock[:, s] - i0) > 1e-12 * (1.0 + i0)).any(1)
    dirty |= (shocks.release_even[t, s] != 0).any(1)
    if shocks.origin[s].any():
        dirty |= (shocks.blocked[t, s] > 0).any(1)
    if s > 0:
        base = market.derived[s - 1]
        dirty |= (np.abs(bought - base) > 1e-12 * (1.0 + base)).any(1)
    for e in range(shocks.price_stock.shape[1]):
        if shocks.price_stage[e] == s and shocks.price_trigger[e] <= 1.0 + 1e-9:
            dirty |= shocks.price_stock[:, e, t] > 0
    result: Array = dirty
    return result


def simulate_arrays(
    market: Market,
    shocks: Shocks,
    clear: ClearFn,
    value_per_t: Array,
    record: bool = False,
) -> tuple[Summary, Trace]:
    """Run every scenario of ``shocks`` through the horizon; ``value_per_t`` is [S, K] USD/t."""
    p = market.params
    n, months = shocks.n, shocks.outage.shape[0]
    n_s, n_r = market.n_stages, market.n_regions
    eta, eta_p = p.final_elasticity, p.processing_elasticity
    eps, eps_r = p.supply_elasticity, p.recycling_elasticity
    eps_down = p.curtailment_elasticity
    k_inv, h = p.inventory_release_slope, p.holding_cost
    pi_max = _pi_max(market)

    stock = np.repeat(market.inventory[None], n, axis=0)
    used = np.zeros((n, shocks.price_stock.shape[1]))
    summary = Summary(
        shortfall=np.zeros((n, n_s, n_r)),
        reference=np.zeros((n, n_s, n_r)),
        value_at_risk=np.zeros((n, n_r)),
        peak_price=np.zeros((n, n_s, n_r)),
        mean_price=np.zeros((n, n_s, n_r)),
        first_short=np.zeros((n, n_r), dtype=int),
        last_short=np.zeros((n, n_r), dtype=int),
        balance_error=np.zeros(n),
    )
    trace = Trace()
    if record:
        trace.data = {k: np.zeros((n, months, n_s, n_r)) for k in TRACKED}
        trace.dispose = np.zeros((n, months, n_s))
    # value of a tonne of final use per stage and region (sector mix of the base split)
    unit_value = np.einsum("srk,sk->sr", market.sector_split, value_per_t)

    base_bought = market.derived
    warm = np.ones((n, n_s))  # last month's one-zone price: a first guess for this month
    for t in range(months):
        bought = np.broadcast_to(base_bought[0], (n, n_r)).copy()
        short_month = np.zeros((n, n_r), dtype=bool)
        demand_t = shocks.demand[t]  # [n, R, K]
        for s in range(n_s):
            mult_all = np.einsum("nrk,rk->nr", demand_t, market.sector_split[s])
            if record:
                idx = np.arange(n)
            else:
                idx = np.flatnonzero(_dirty(market, shocks, t, s, stock, bought, mult_all))
            f_base = market.final_demand[s]
            if idx.size < n:
                # clean scenarios stay at the base solution: price 1, base quantities
                summary.reference[:, s] += f_base
                summary.peak_price[:, s] = np.maximum(summary.peak_price[:, s], 1.0)
                summary.mean_price[:, s] += 1.0 / months
                next_bought = np.broadcast_to(base_bought[s], (n, n_r)).copy()
                if idx.size == 0:
                    bought = next_bought
                    continue
            m = idx.size
            zero = np.zeros((m, n_r))
            inf = np.full((m, n_r), np.inf)
            out = shocks.outage[t, s, idx]
            add = shocks.added[t, s, idx]
            q_ref = market.production[s] * (1 - out) + add
            cap = market.capacity[s] * (1 - out) + add
            in_bought = bought[idx]
            if s > 0:
                cap = np.minimum(cap, market.yields[s] * in_bought)
            i0 = market.inventory[s]
            stock_s = stock[idx, s]
            release_amt = shocks.release_even[t, s, idx]
            parts = [
                (eps_down * q_ref, (1 - eps_down) * q_ref, zero, np.minimum(q_ref, cap)),
                (eps * q_ref, -eps * q_ref, zero, np.maximum(cap - q_ref, 0.0)),
                (k_inv * i0 + zero, -k_inv * i0 * (1 + h) + zero, zero, stock_s),
                (
                    eps_r * market.recycling[s] + zero,
                    (1 - eps_r) * market.recycling[s] + zero,
                    zero,
                    inf,
                ),
                (zero, release_amt, release_amt, release_amt),
            ]
            for e in range(shocks.price_stock.shape[1]):
                a = np.zeros((m, n_r))
                c = np.zeros((m, n_r))
                hi = np.zeros((m, n_r))
                if shocks.price_stage[e] == s:
                    r = shocks.price_region[e]
                    held = shocks.price_stock[idx, e, t]
                    a[:, r] = p.stockpile_release_slope * held
                    c[:, r] = -p.stockpile_release_slope * held * shocks.price_trigger[e]
                    hi[:, r] = np.maximum(held - used[idx, e], 0.0)
                parts.append((a, c, zero, hi))
            sup = stack(parts)
            f_ref = f_base * mult_all[idx]
            if s + 1 < n_s:
                p_ref = (
                    market.production[s + 1] * (1 - shocks.outage[t, s + 1, idx])
                    + shocks.added[t, s + 1, idx]
                ) / market.yields[s + 1]
            else:
                p_ref = zero
            gap = np.maximum(i0 - stock_s, 0.0)
            dem = stack(
                [
                    (eta * f_ref, (1 - eta) * f_ref, zero, inf),
                    (eta_p * p_ref, (1 - eta_p) * p_ref, zero, inf),
                    (-k_inv * i0 + zero, k_inv * i0 * (1 + h) + zero, zero, gap / p.rebuild_months),
                ]
            )
            origin = shocks.origin[s] if shocks.origin[s].any() else None
            caps = None
            if origin is not None:
                base = market.flows[s][origin].sum(0)
                blocked = shocks.blocked[t, s, idx]
                caps = np.where(blocked > 0, base[None, :] * (1 - blocked), np.inf)
            cleared = clear(sup, dem, origin, caps, pi_max, warm[idx, s])
            warm[:, s] = 1.0
            if cleared.hint is not None:
                warm[idx, s] = cleared.hint
            q_sup = sup.quantity(cleared.pi_prod)
            q_dem = dem.quantity(cleared.pi_cons)
            production = q_sup[..., SUPPLY_BASE] + q_sup[..., SUPPLY_EXPANSION]
            released = q_sup[..., SUPPLY_STOCK]
            restock = q_dem[..., DEMAND_RESTOCK]
            change = restock - released
            stock[idx, s] += change
            unused = zero
            if s > 0:
                unused = np.maximum(in_bought - production / market.yields[s], 0.0)
                stock[idx, s - 1] += unused
            for e in range(shocks.price_stock.shape[1]):
                if shocks.price_stage[e] == s:
                    taken = q_sup[:, shocks.price_region[e], SUPPLY_STOCKPILE + 1 + e]
                    used[idx, e] += taken
            final_use = q_dem[..., DEMAND_FINAL]
            shortfall = np.maximum(f_ref - final_use, 0.0)
            if idx.size < n:
                summary.reference[idx, s] += f_ref - f_base
                summary.mean_price[idx, s] += (cleared.pi_cons - 1.0) / months
            else:
                summary.reference[:, s] += f_ref
                summary.mean_price[:, s] += cleared.pi_cons / months
            summary.shortfall[idx, s] += shortfall
            summary.value_at_risk[idx] += shortfall * unit_value[s]
            summary.peak_price[idx, s] = np.maximum(summary.peak_price[idx, s], cleared.pi_cons)
            short_month[idx] |= shortfall > SHORT_TOLERANCE * np.maximum(f_ref, 1e-12)
            imbalance = np.abs(q_sup.sum((1, 2)) - q_dem.sum((1, 2)) - cleared.dispose)
            summary.balance_error[idx] = np.maximum(summary.balance_error[idx], imbalance)
            if record:
                row = trace.data
                row["production"][:, t, s] = production
                row["supply"][:, t, s] = q_sup.sum(-1)
                row["final_reference"][:, t, s] = f_ref
                row["final_use"][:, t, s] = final_use
                row["processing_reference"][:, t, s] = p_ref
                row["processing_use"][:, t, s] = q_dem[..., DEMAND_PROCESSING]
                row["price"][:, t, s] = cleared.pi_cons
                row["producer_price"][:, t, s] = cleared.pi_prod
                row["stock_change"][:, t, s] = change
                if s > 0:
                    row["stock_change"][:, t, s - 1] += unused
                row["stockpile_release"][:, t, s] = q_sup[..., SUPPLY_STOCKPILE:].sum(-1)
                assert trace.dispose is not None
                trace.dispose[:, t, s] = cleared.dispose
            if idx.size < n:
                next_bought[idx] = q_dem[..., DEMAND_PROCESSING]
                bought = next_bought
            else:
                bought = q_dem[..., DEMAND_PROCESSING]
        if record:
            trace.data["stock"][:, t] = stock
        month = t + 1
        summary.first_short = np.where(
            (summary.first_short == 0) & short_month, month, summary.first_short
        )
        summary.last_short = np.where(short_month, month, summary.last_short)
    return summary, trace
