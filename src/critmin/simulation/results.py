"""Results: labelled month-by-month arrays for one run, per-scenario summaries for ensembles.

Units: quantities in t of the stage unit (per month in time series, over the horizon in
summaries), prices in USD per t of the stage unit and as an index (1 = base), value at risk in
USD (shortfall x value per tonne: the scenario's ``value_added_usd_per_t`` by sector, else the
stage's base price).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from critmin.simulation.calibration import Market
from critmin.simulation.engine import Summary, Trace

PROCESSING = "processing"
RECOVERY_TOLERANCE = 0.01  # recovered: final use within 1 % of reference use


class SummaryCollector:
    """Per-chunk summaries copied, as they arrive and in any order, into one preallocated
    summary of ``total`` scenarios (the copy overlaps the chunks still running)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.arrays: dict[str, np.ndarray] = {}
        self.filled = 0

    def add(self, start: int, part: Summary) -> None:
        """Scenarios ``start .. start + len(part) - 1``."""
        size = part.balance_error.shape[0]
        for name in Summary.__dataclass_fields__:
            value = getattr(part, name)
            if name not in self.arrays:
                self.arrays[name] = np.empty((self.total, *value.shape[1:]), dtype=value.dtype)
            self.arrays[name][start : start + size] = value
        self.filled += size

    def summary(self) -> Summary:
        if self.filled != self.total:
            raise RuntimeError(f"{self.filled} of {self.total} scenarios collected")
        return Summary(**self.arrays)


def months_to_recovery(summary: Summary, months: int) -> np.ndarray:
    """Months from the first short month to the last (0: never short; censored at horizon)."""
    span = summary.last_short - summary.first_short + 1
    return np.where(summary.first_short > 0, span, 0).astype(float)


def timeseries(market: Market, trace: Trace, month_labels: list[str]) -> xr.Dataset:
    """The recorded run as a Dataset [month, stage, country(, sector)] for scenario 0."""
    d = {k: v[0] for k, v in trace.data.items()}
    sectors = [*market.sectors, PROCESSING]
    split = market.sector_split  # [S, R, K]
    ref = np.concatenate(
        [d["final_reference"][..., None] * split[None], d["processing_reference"][..., None]], -1
    )
    use = np.concatenate(
        [d["final_use"][..., None] * split[None], d["processing_use"][..., None]], -1
    )
    price_usd = d["price"] * market.base_price[None, :, None]
    dims3 = ("month", "stage", "country")
    dims4 = (*dims3, "sector")
    ds = xr.Dataset(
        {
            "production": (dims3, d["production"], {"units": "t/month"}),
            "supply": (dims3, d["supply"], {"units": "t/month", "note": "all sources"}),
            "demand": (dims4, ref, {"units": "t/month", "note": "use wanted at base price"}),
            "consumption": (dims4, use, {"units": "t/month"}),
            "shortfall": (dims4, np.maximum(ref - use, 0.0), {"units": "t/month"}),
            "price": (dims3, price_usd, {"units": "USD/t"}),
            "price_index": (dims3, d["price"], {"units": "1 (base = 1)"}),
            "stock_change": (dims3, d["stock_change"], {"units": "t/month"}),
            "stock": (dims3, d["stock"], {"units": "t"}),
            "stockpile_release": (dims3, d["stockpile_release"], {"units": "t/month"}),
        },
        coords={
            "month": month_labels,
            "stage": market.stages,
            "country": market.regions,
            "sector": sectors,
            "unit": ("stage", market.units),
        },
    )
    return ds


def timeseries_frame(ds: xr.Dataset) -> pd.DataFrame:
    """Long table: month, stage, country, sector, demand, consumption, shortfall, price ..."""
    by_sector = ds[["demand", "consumption", "shortfall"]].to_dataframe().reset_index()
    by_sector = by_sector.drop(columns=["unit"], errors="ignore")
    per_region = (
        ds[["production", "supply", "price", "price_index", "stock_change", "stock"]]
        .to_dataframe()
        .reset_index()
    )
    frame = by_sector.merge(per_region, on=["month", "stage", "country"])
    keep = (frame["demand"] > 0) | (frame["consumption"] > 0)
    return frame[keep].reset_index(drop=True)


@dataclass
class SimulationResult:
    """One run (``timeseries``) or an ensemble (``scenarios``), with its manifest."""

    market: Market
    summary: Summary
    months: int
    manifest: dict[str, Any]
    timeseries: xr.Dataset | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_scenarios(self) -> int:
        return int(self.summary.shortfall.shape[0])

    def scenarios(self) -> xr.Dataset:
        """Per-scenario results [scenario, stage, country] and [scenario, country]."""
        s, m = self.summary, self.market
        dims = ("scenario", "stage", "country")
        return xr.Dataset(
            {
                "shortfall": (dims, s.shortfall, {"units": "t over the horizon"}),
                "reference_use": (dims, s.reference, {"units": "t over the horizon"}),
                "peak_price_index": (dims, s.peak_price),
                "mean_price_index": (dims, s.mean_price),
                "value_at_risk": (("scenario", "country"), s.value_at_risk, {"units": "USD"}),
                "months_to_recovery": (
                    ("scenario", "country"),
                    months_to_recovery(s, self.months),
                ),
            },
            coords={
                "scenario": np.arange(self.n_scenarios),
                "stage": m.stages,
                "country": m.regions,
            },
        )

    def summary_frame(self) -> pd.DataFrame:
        """Per country and stage: expected shortfall, P5/P50/P95, price, recovery, value at risk."""
        s, m = self.summary, self.market
        rows = []
        recovery = months_to_recovery(s, self.months)
        for r, country in enumerate(m.regions):
            for k, stage in enumerate(m.stages):
                ref = s.reference[:, k, r]
                if not np.any(ref > 0):
                    continue
                short = s.shortfall[:, k, r]
                p5, p50, p95 = np.percentile(short, [5, 50, 95])
                rows.append(
                    {
                        "country": country,
                        "stage": stage,
                        "unit": m.units[k],
                        "reference_use_t": float(ref.mean()),
                        "expected_shortfall_t": float(short.mean()),
                        "shortfall_p5_t": float(p5),
                        "shortfall_p50_t": float(p50),
                        "shortfall_p95_t": float(p95),
                        "shortfall_share": float(short.mean() / ref.mean()),
                        "peak_price_index": float(s.peak_price[:, k, r].mean()),
                        "peak_price_usd_per_t": float(
                            s.peak_price[:, k, r].mean() * m.base_price[k]
                        ),
                        "months_to_recovery": float(recovery[:, r].mean()),
                        "value_at_risk_usd": float(s.value_at_risk[:, r].mean()),
                    }
                )
        return pd.DataFrame(rows)

    def country_frame(self) -> pd.DataFrame:
        """Per country: value at risk (mean, P95) and months to recovery, all stages together."""
        s, m = self.summary, self.market
        recovery = months_to_recovery(s, self.months)
        return pd.DataFrame(
            {
                "country": m.regions,
                "value_at_risk_usd": s.value_at_risk.mean(0),
                "value_at_risk_p95_usd": np.percentile(s.value_at_risk, 95, axis=0),
                "probability_of_shortfall": (s.first_short > 0).mean(0),
                "months_to_recovery": recovery.mean(0),
            }
        )
