"""Results of an LNG run for the importer studied: monthly table, supplier shares, summary.

Units: t of LNG per month (monthly) or over the horizon (summary), shares 0-1, HHI 0-10,000,
USD (current, base-year prices), price index 1 = the base year's mean BACI unit value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from critmin.lng.data import DAYS_PER_MONTH
from critmin.lng.model import Run
from critmin.lng.network import hhi

GAP_TOLERANCE = 0.01  # a month has a gap (or a shortfall) above 1 % of reference demand


@dataclass
class LngResult:
    """One scenario against its baseline (same year, horizon and parameters, no events)."""

    name: str
    importer: str
    year: int
    run: Run
    baseline: Run
    monthly: pd.DataFrame
    suppliers: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


def _months_bridged(gap: np.ndarray, short: np.ndarray) -> tuple[int, bool]:
    """Gap months (shares of reference demand) the stock covers before the first month with
    unserved demand, and whether the stock ran out (unserved demand after a gap opened)."""
    gap_months = np.flatnonzero(gap > GAP_TOLERANCE)
    if gap_months.size == 0:
        return 0, False
    first = gap_months[0]
    out = np.flatnonzero((short > GAP_TOLERANCE) & (np.arange(short.size) >= first))
    if out.size == 0:
        return int(gap_months.size), False
    return int(((gap > GAP_TOLERANCE) & (np.arange(gap.size) < out[0])).sum()), True


def extra_cost(run: Run, baseline: Run) -> np.ndarray:
    """Extra USD per month for the importer studied against ``baseline``: the change in its
    import bill, plus the gas it burns less valued at the month's price (so that the sum is
    about what consuming the baseline volume at the new prices costs: (pi - 1) x price x
    base use), minus the gas it puts in (or plus what it takes out of) its tanks beyond the
    baseline's, at the base price."""
    m = run.market
    j = m.focus
    price = m.buyer_price[j]
    bill = run.bill[:, j] - baseline.bill[:, j]
    forgone = (baseline.consumption[:, j] - run.consumption[:, j]) * run.price[:, j] * price
    # both runs start with the same stock
    stored = np.diff(run.stock[:, j] - baseline.stock[:, j], prepend=0.0) * price
    result: np.ndarray = bill + forgone - stored
    return result


def build_result(name: str, run: Run, baseline: Run) -> LngResult:
    """Monthly table, supplier shares and summary of ``run`` for the importer studied."""
    m = run.market
    j = m.focus
    demand = run.demand[:, j]
    arrived = run.arrivals[:, :, j].sum(1)
    gap = np.maximum(demand - arrived, 0.0)
    eta = m.params["demand_elasticity"]
    want = np.maximum(demand * (1.0 + eta * (run.price[:, j] - 1.0)), 0.0)
    cut = np.maximum(demand - want, 0.0)
    unserved = np.maximum(want - run.consumption[:, j], 0.0)
    daily = m.imports[j] / DAYS_PER_MONTH
    extra = extra_cost(run, baseline)
    monthly = pd.DataFrame(
        {
            "month": run.months,
            "demand_t": demand,
            "arrivals_t": arrived,
            "gap_t": gap,
            "gap_share": np.divide(gap, demand, out=np.zeros_like(gap), where=demand > 0),
            "storage_t": run.stock[:, j],
            "storage_days": run.stock[:, j] / daily if daily > 0 else np.nan,
            "storage_release_t": run.release[:, j],
            "physical_gap_t": np.maximum(want - arrived, 0.0),
            "price_response_t": cut,
            "unserved_t": unserved,
            "contract_t": run.contract[:, j],
            "spot_t": run.spot[:, j],
            "price_index": run.price[:, j],
            "spot_price_usd_per_t": run.price[:, j] * m.buyer_price[j],
            "bill_usd": run.bill[:, j],
            "extra_cost_usd": extra,
        }
    )
    by_source = run.arrivals[:, :, j].sum(0)
    base_source = baseline.arrivals[:, :, j].sum(0)
    suppliers = pd.DataFrame(
        {
            "source": m.regions,
            "arrivals_t": by_source,
            "share": by_source / by_source.sum(),
            "baseline_share": base_source / base_source.sum(),
        }
    )
    shown = (suppliers["share"] > 1e-9) | (suppliers["baseline_share"] > 1e-9)
    suppliers = suppliers[shown]
    suppliers = suppliers.sort_values("baseline_share", ascending=False, ignore_index=True)
    gap_share = monthly["gap_share"].to_numpy()
    short_share = np.divide(unserved, demand, out=np.zeros_like(unserved), where=demand > 0)
    physical = np.maximum(want - arrived, 0.0)
    physical_share = np.divide(physical, demand, out=np.zeros_like(physical), where=demand > 0)
    bridged, exhausted = _months_bridged(physical_share, short_share)
    open_months = np.flatnonzero(physical_share > GAP_TOLERANCE)
    opened = np.flatnonzero(gap_share > GAP_TOLERANCE)
    us = m.regions.index("USA") if "USA" in m.regions else None
    summary: dict[str, Any] = {
        "scenario": name,
        "importer": m.importer,
        "year": m.year,
        "months": len(run.months),
        "supplier_hhi_baseline": hhi(pd.Series(base_source)),
        "supplier_hhi": hhi(pd.Series(by_source)),
        "top_supplier": str(suppliers["source"].to_numpy()[int(suppliers["share"].argmax())]),
        "top_supplier_share": float(suppliers["share"].max()),
        "russia_share": float(suppliers.set_index("source")["share"].get("RUS", 0.0)),
        "us_share": float(by_source[us] / by_source.sum()) if us is not None else 0.0,
        "first_gap_month": run.months[opened[0]] if opened.size else None,
        "gap_first_month_share": float(gap_share[opened[0]]) if opened.size else 0.0,
        "peak_gap_share": float(gap_share.max()),
        "gap_t": float(gap.sum()),
        "months_with_gap": int(opened.size),
        "months_to_recovery": int(open_months[-1] - opened[0] + 1) if open_months.size else 0,
        "months_bridged": bridged,
        "storage_exhausted": exhausted,
        "min_storage_days": float(monthly["storage_days"].min()),
        "price_response_t": float(cut.sum()),
        "unserved_t": float(unserved.sum()),
        "peak_price_index": float(run.price[:, j].max()),
        "extra_cost_usd": float(extra.sum()),
        "balance_error_t": run.balance_error,
    }
    return LngResult(
        name=name,
        importer=m.importer,
        year=m.year,
        run=run,
        baseline=baseline,
        monthly=monthly,
        suppliers=suppliers,
        summary=summary,
    )
