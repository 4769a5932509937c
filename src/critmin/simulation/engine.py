"""The monthly loop shared by both engines: build blocks, clear each stage, update stocks.

Stages clear in chain order each month. A stage's output is capped by its capacity and by the
input its processors bought at the previous stage this month (times the stage yield); input
bought but not processed is added to that region's stock of the previous stage. Working
stocks are released above ``base price x (1 + holding_cost)`` and rebuilt below it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from critmin.simulation.blocks import Blocks, stack
from critmin.simulation.calibration import Market
from critmin.simulation.fast import Cleared
from critmin.simulation.shocks import Shocks

Array = np.ndarray
ClearFn = Callable[[Blocks, Blocks, Array | None, Array | None, float, Array | None], Cleared]
SHORT_TOLERANCE = 0.01  # a month counts as short when shortfall > 1 % of reference use

# supply blocks: production up to base output (curtailed below base price), production above
# base output (up to capacity), stock release; then, where they exist, recycling, the even
# stockpile release and one block per on_price stockpile
SUPPLY_BASE, SUPPLY_EXPANSION, SUPPLY_STOCK = 0, 1, 2
# demand blocks: final use, restocking, and (except at the last stage) processing purchases
DEMAND_FINAL, DEMAND_RESTOCK, DEMAND_PROCESSING = 0, 1, 2

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

    @classmethod
    def zeros(cls, n: int, n_stages: int, n_regions: int, buffer: Any = None) -> Summary:
        """A zero summary of ``n`` scenarios; in ``buffer`` (of at least ``nbytes(...)``
        bytes, zero-filled, e.g. shared memory) when given."""
        arrays: dict[str, Array] = {}
        offset = 0
        for name, (shape, dtype) in _layout(n, n_stages, n_regions).items():
            if buffer is None:
                arrays[name] = np.zeros(shape, dtype=dtype)
            else:
                count = int(np.prod(shape))
                arrays[name] = np.frombuffer(buffer, dtype, count, offset).reshape(shape)
                offset += count * np.dtype(dtype).itemsize
        return cls(**arrays)

    @staticmethod
    def nbytes(n: int, n_stages: int, n_regions: int) -> int:
        """Bytes of a summary of ``n`` scenarios."""
        return sum(
            int(np.prod(shape)) * np.dtype(dtype).itemsize
            for shape, dtype in _layout(n, n_stages, n_regions).values()
        )

    def rows(self, start: int, stop: int) -> Summary:
        """Scenarios ``start .. stop - 1`` (views)."""
        return Summary(**{k: getattr(self, k)[start:stop] for k in Summary.__dataclass_fields__})


def _layout(n: int, n_s: int, n_r: int) -> dict[str, tuple[tuple[int, ...], type]]:
    """Shape and dtype of each ``Summary`` field (all float64 then the int64 months)."""
    per_stage = (n, n_s, n_r)
    return {
        "shortfall": (per_stage, np.float64),
        "reference": (per_stage, np.float64),
        "value_at_risk": ((n, n_r), np.float64),
        "peak_price": (per_stage, np.float64),
        "mean_price": (per_stage, np.float64),
        "balance_error": ((n,), np.float64),
        "first_short": ((n, n_r), np.int64),
        "last_short": ((n, n_r), np.int64),
    }


def _pi_max(market: Market) -> float:
    p = market.params
    chokes = [1 - 1 / p.final_elasticity, 1 - 1 / p.processing_elasticity, 1 + p.holding_cost]
    return float(max(chokes) + 1.0)


def _dirty(
    market: Market, shocks: Shocks, t: int, s: int, stock: Array, bought: Array, mult: Array
) -> Array:
    """Scenarios whose stage ``s`` in month ``t`` may differ from the base solution."""
    dirty = (shocks.outage[t, s] != 0).any(0) | (shocks.added[t, s] != 0).any(0)
    if s + 1 < market.n_stages:
        dirty |= (shocks.outage[t, s + 1] != 0).any(0)
        dirty |= (shocks.added[t, s + 1] != 0).any(0)
    dirty |= (mult != 1.0).any(0)
    i0 = market.inventory[s][:, None]
    dirty |= (np.abs(stock[s] - i0) > 1e-12 * (1.0 + i0)).any(0)
    dirty |= (shocks.release_even[t, s] != 0).any(0)
    if shocks.origin[s].any():
        dirty |= (shocks.blocked[t, s] > 0).any(0)
    if s > 0:
        base = market.derived[s - 1][:, None]
        dirty |= (np.abs(bought - base) > 1e-12 * (1.0 + base)).any(0)
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
    """Run every scenario of ``shocks`` through the horizon; ``value_per_t`` is [S, K] USD/t.

    Internally arrays are [region, scenario] per stage (scenario axis last)."""
    p = market.params
    n, months = shocks.n, shocks.outage.shape[0]
    n_s, n_r, n_e = market.n_stages, market.n_regions, shocks.price_stock.shape[1]
    eta, eta_p = p.final_elasticity, p.processing_elasticity
    eps, eps_r = p.supply_elasticity, p.recycling_elasticity
    eps_down = p.curtailment_elasticity
    k_inv, h = p.inventory_release_slope, p.holding_cost
    pi_max = _pi_max(market)
    col = np.newaxis

    stock = np.repeat(market.inventory[:, :, col], n, axis=2)  # [S, R, n]
    used = np.zeros((n_e, n))
    short_acc = np.zeros((n_s, n_r, n))
    ref_acc = np.zeros((n_s, n_r, n))
    var_acc = np.zeros((n_r, n))
    peak = np.zeros((n_s, n_r, n))
    mean = np.zeros((n_s, n_r, n))
    first = np.zeros((n_r, n), dtype=int)
    last = np.zeros((n_r, n), dtype=int)
    balance = np.zeros(n)
    trace = Trace()
    if record:
        trace.data = {k: np.zeros((n, months, n_s, n_r)) for k in TRACKED}
        trace.dispose = np.zeros((n, months, n_s))
    # value of a tonne of final use per stage and region (sector mix of the base split)
    unit_value = np.einsum("srk,sk->sr", market.sector_split, value_per_t)
    base_bought = market.derived
    warm = np.ones((n_s, n))  # last month's one-zone price: a first guess for this month

    for t in range(months):
        bought = np.repeat(base_bought[0][:, col], n, axis=1)
        short_month = np.zeros((n_r, n), dtype=bool)
        demand_t = shocks.demand[t]  # [K, R, n]
        for s in range(n_s):
            mult_all = np.einsum("krn,rk->rn", demand_t, market.sector_split[s])
            if record:
                idx = np.arange(n)
            else:
                idx = np.flatnonzero(_dirty(market, shocks, t, s, stock, bought, mult_all))
            full = idx.size == n
            cols: Array | slice = slice(None) if full else idx
            f_base = market.final_demand[s][:, col]
            next_bought = bought
            if not full:
                # clean scenarios stay at the base solution: price 1, base quantities
                ref_acc[s] += f_base
                np.maximum(peak[s], 1.0, out=peak[s])
                mean[s] += 1.0 / months
                next_bought = np.repeat(base_bought[s][:, col], n, axis=1)
                if idx.size == 0:
                    bought = next_bought
                    continue
            m = idx.size
            shape = (n_r, m)
            zero = np.broadcast_to(0.0, shape)
            inf = np.broadcast_to(np.inf, shape)

            def wide(x: Array, shape: tuple[int, int] = shape) -> Array:
                return np.broadcast_to(x, shape)

            out = shocks.outage[t, s][:, cols]
            add = shocks.added[t, s][:, cols]
            q_ref = market.production[s][:, col] * (1 - out) + add
            cap = market.capacity[s][:, col] * (1 - out) + add
            in_bought = bought[:, cols]
            if s > 0:
                cap = np.minimum(cap, market.yields[s] * in_bought)
            i0 = market.inventory[s][:, col]
            stock_s = stock[s][:, cols]
            parts = [
                (eps_down * q_ref, (1 - eps_down) * q_ref, zero, np.minimum(q_ref, cap)),
                (eps * q_ref, -eps * q_ref, zero, np.maximum(cap - q_ref, 0.0)),
                (wide(k_inv * i0), wide(-k_inv * i0 * (1 + h)), zero, stock_s),
            ]
            # optional blocks, only where they can be non-zero: recycling, stockpiles
            if market.recycling[s].any():
                recycled = market.recycling[s][:, col]
                parts.append((wide(eps_r * recycled), wide((1 - eps_r) * recycled), zero, inf))
            if shocks.even_stages[s]:
                release_amt = shocks.release_even[t, s][:, cols]
                parts.append((zero, release_amt, release_amt, release_amt))
            even_at = len(parts) - 1 if shocks.even_stages[s] else -1
            price_at: dict[int, int] = {}
            for e in range(n_e):
                if shocks.price_stage[e] != s:
                    continue
                a_e, c_e, hi_e = np.zeros((n_r, m)), np.zeros((n_r, m)), np.zeros((n_r, m))
                r = shocks.price_region[e]
                held = shocks.price_stock[cols, e, t]
                a_e[r] = p.stockpile_release_slope * held
                c_e[r] = -p.stockpile_release_slope * held * shocks.price_trigger[e]
                hi_e[r] = np.maximum(held - used[e, cols], 0.0)
                price_at[e] = len(parts)
                parts.append((a_e, c_e, zero, hi_e))
            sup = stack(parts)
            f_ref = f_base * mult_all[:, cols]
            if s + 1 < n_s:
                p_ref = (
                    market.production[s + 1][:, col] * (1 - shocks.outage[t, s + 1][:, cols])
                    + shocks.added[t, s + 1][:, cols]
                ) / market.yields[s + 1]
            else:
                p_ref = zero
            gap = np.maximum(i0 - stock_s, 0.0)
            dem = stack(
                [
                    (eta * f_ref, (1 - eta) * f_ref, zero, inf),
                    (wide(-k_inv * i0), wide(k_inv * i0 * (1 + h)), zero, gap / p.rebuild_months),
                    *([(eta_p * p_ref, (1 - eta_p) * p_ref, zero, inf)] if s + 1 < n_s else []),
                ]
            )
            origin = shocks.origin[s] if shocks.origin[s].any() else None
            caps = None
            if origin is not None:
                base = market.flows[s][origin].sum(0)[:, col]
                blocked = shocks.blocked[t, s][:, cols]
                caps = np.where(blocked > 0, base * (1 - blocked), np.inf)
            cleared = clear(sup, dem, origin, caps, pi_max, warm[s, cols])
            warm[s] = 1.0
            if cleared.hint is not None:
                warm[s, cols] = cleared.hint
            q_sup = sup.quantity(cleared.pi_prod)
            q_dem = dem.quantity(cleared.pi_cons)
            production = q_sup[SUPPLY_BASE] + q_sup[SUPPLY_EXPANSION]
            change = q_dem[DEMAND_RESTOCK] - q_sup[SUPPLY_STOCK]
            stock[s][:, cols] += change
            unused = zero
            if s > 0:
                unused = np.maximum(in_bought - production / market.yields[s], 0.0)
                stock[s - 1][:, cols] += unused
            for e, at in price_at.items():
                used[e, cols] += q_sup[at, shocks.price_region[e]]
            final_use = q_dem[DEMAND_FINAL]
            processing = q_dem[DEMAND_PROCESSING] if s + 1 < n_s else zero
            shortfall = np.maximum(f_ref - final_use, 0.0)
            if full:
                ref_acc[s] += f_ref
                mean[s] += cleared.pi_cons / months
            else:
                ref_acc[s][:, cols] += f_ref - f_base
                mean[s][:, cols] += (cleared.pi_cons - 1.0) / months
            short_acc[s][:, cols] += shortfall
            var_acc[:, cols] += shortfall * unit_value[s][:, col]
            peak[s][:, cols] = np.maximum(peak[s][:, cols], cleared.pi_cons)
            short_month[:, cols] |= shortfall > SHORT_TOLERANCE * np.maximum(f_ref, 1e-12)
            imbalance = np.abs(q_sup.sum((0, 1)) - q_dem.sum((0, 1)) - cleared.dispose)
            balance[cols] = np.maximum(balance[cols], imbalance)
            if record:
                row = trace.data
                row["production"][:, t, s] = production.T
                row["supply"][:, t, s] = q_sup.sum(0).T
                row["final_reference"][:, t, s] = f_ref.T
                row["final_use"][:, t, s] = final_use.T
                row["processing_reference"][:, t, s] = p_ref.T
                row["processing_use"][:, t, s] = processing.T
                row["price"][:, t, s] = cleared.pi_cons.T
                row["producer_price"][:, t, s] = cleared.pi_prod.T
                row["stock_change"][:, t, s] = change.T
                if s > 0:
                    row["stock_change"][:, t, s - 1] += unused.T
                released = [q_sup[k] for k in [even_at, *price_at.values()] if k >= 0]
                if released:
                    row["stockpile_release"][:, t, s] = np.sum(released, axis=0).T
                assert trace.dispose is not None
                trace.dispose[:, t, s] = cleared.dispose
            if full:
                bought = np.array(processing)
            else:
                next_bought[:, cols] = processing
                bought = next_bought
        if record:
            trace.data["stock"][:, t] = stock.transpose(2, 0, 1)
        month = t + 1
        first = np.where((first == 0) & short_month, month, first)
        last = np.where(short_month, month, last)

    def scen(x: Array) -> Array:
        result: Array = np.ascontiguousarray(np.moveaxis(x, -1, 0))
        return result

    summary = Summary(
        shortfall=scen(short_acc),
        reference=scen(ref_acc),
        value_at_risk=scen(var_acc),
        peak_price=scen(peak),
        mean_price=scen(mean),
        first_short=scen(first),
        last_short=scen(last),
        balance_error=balance,
    )
    return summary, trace
