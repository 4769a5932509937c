"""The one result type of the market model: labelled arrays, a summary, a manifest.

A central run holds month-by-month arrays [month, stage, country(, sector)]; an ensemble
holds per-scenario totals [scenario, stage, country]. Both summarise the same way
(:meth:`MarketResult.summary`), render short in a terminal and as a table in a notebook, and
carry their manifest (scenario, data and code versions, parameters). Units live in each
variable's ``units`` attribute; quantities are tonnes of the stage unit, prices USD per
tonne or an index (1 = base price), values USD.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

RECOVERY_TOLERANCE = 0.01


@dataclass
class MarketResult:
    """A run (``kind='central'``) or an ensemble (``kind='ensemble'``) of one scenario."""

    data: xr.Dataset
    manifest: dict[str, Any]
    kind: str = "central"
    extra: dict[str, Any] = field(default_factory=dict)

    # -- labelled access ------------------------------------------------------------------
    @property
    def countries(self) -> list[str]:
        return [str(c) for c in self.data["country"].values]

    @property
    def stages(self) -> list[str]:
        return [str(s) for s in self.data["stage"].values]

    @property
    def n_scenarios(self) -> int:
        return int(self.data.sizes.get("scenario", 1))

    def totals(self) -> xr.Dataset:
        """Horizon totals [scenario, stage, country] (a central run has one scenario)."""
        if self.kind == "ensemble":
            return self.data
        d = self.data
        per_sector = [
            "reference_demand", "consumption", "shortfall", "demand_given_up", "unmet_need"
        ]
        summed = d[per_sector].sum(("month", "sector"))
        out = xr.Dataset(
            {
                "reference": summed["reference_demand"],
                "consumption": summed["consumption"],
                "shortfall": summed["shortfall"],
                "demand_given_up": summed["demand_given_up"],
                "unmet_need": summed["unmet_need"],
                "peak_price_index": d["price_index"].max("month"),
                "mean_price_index": d["price_index"].mean("month"),
                "value_lost": d["value_lost"].sum(("month", "sector", "stage")),
                "months_to_recovery": _recovery(d),
            }
        )
        out = out.expand_dims(scenario=[0])
        for name in ("reference", "consumption", "shortfall", "demand_given_up", "unmet_need"):
            out[name].attrs["units"] = "t over the horizon"
        out["value_lost"].attrs["units"] = "USD"
        return out.assign_coords(unit=d["unit"])

    # -- tables ---------------------------------------------------------------------------
    def summary(self) -> pd.DataFrame:
        """Per country and stage with final use: reference use, expected shortfall (and its
        P5/P50/P95 over scenarios), the part priced out and the part rationed, peak price,
        months to recovery and the value lost by the country's buyers (all stages)."""
        t = self.totals()
        rows = []
        base_price = self.data["base_price"].values
        for r, country in enumerate(self.countries):
            for k, stage in enumerate(self.stages):
                ref = t["reference"].values[:, k, r]
                if not np.any(ref > 0):
                    continue
                short = t["shortfall"].values[:, k, r]
                p5, p50, p95 = np.percentile(short, [5, 50, 95])
                peak = float(t["peak_price_index"].values[:, k, r].mean())
                rows.append(
                    {
                        "country": country,
                        "stage": stage,
                        "unit": str(self.data["unit"].values[k]),
                        "reference_use_t": float(ref.mean()),
                        "expected_shortfall_t": float(short.mean()),
                        "shortfall_p5_t": float(p5),
                        "shortfall_p50_t": float(p50),
                        "shortfall_p95_t": float(p95),
                        "shortfall_share": float(short.mean() / ref.mean()),
                        "unmet_need_t": float(t["unmet_need"].values[:, k, r].mean()),
                        "demand_given_up_t": float(t["demand_given_up"].values[:, k, r].mean()),
                        "peak_price_index": peak,
                        "peak_price_usd_per_t": peak * float(base_price[k]),
                        "months_to_recovery": float(t["months_to_recovery"].values[:, r].mean()),
                        "value_at_risk_usd": float(t["value_lost"].values[:, r].mean()),
                    }
                )
        return pd.DataFrame(rows)

    def country_frame(self) -> pd.DataFrame:
        """Per country: value lost (mean and P95), probability of a shortfall, recovery."""
        t = self.totals()
        value = t["value_lost"].values
        recovery = t["months_to_recovery"].values
        return pd.DataFrame(
            {
                "country": self.countries,
                "value_at_risk_usd": value.mean(0),
                "value_at_risk_p95_usd": np.percentile(value, 95, axis=0),
                "probability_of_shortfall": (recovery > 0).mean(0),
                "months_to_recovery": recovery.mean(0),
            }
        )

    def timeseries_frame(self) -> pd.DataFrame:
        """A central run as a long table: month, stage, country, sector and every quantity."""
        if self.kind != "central":
            raise ValueError("an ensemble has no month-by-month series; run a central case")
        d = self.data
        by_sector = d[
            ["reference_demand", "consumption", "shortfall", "demand_given_up", "unmet_need"]
        ].to_dataframe().reset_index()
        per_region = d[
            ["production", "imports", "exports", "price", "price_index", "stock",
             "stock_change", "stockpile_release"]
        ].to_dataframe().reset_index()
        frame = by_sector.drop(columns=["unit"], errors="ignore").merge(
            per_region.drop(columns=["unit"], errors="ignore"), on=["month", "stage", "country"]
        )
        keep = (frame["reference_demand"] > 0) | (frame["consumption"] > 0)
        return frame[keep].reset_index(drop=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: manifest and summary rows (central runs: the series too)."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "manifest": self.manifest,
            "summary": self.summary().to_dict(orient="records"),
        }
        return out

    # -- display --------------------------------------------------------------------------
    def _headline(self) -> list[str]:
        m = self.manifest
        scenario = m.get("scenario", {})
        name = scenario.get("name", "?") if isinstance(scenario, dict) else str(scenario)
        head = f"<MarketResult {self.kind} | {name} | {self.n_scenarios} scenario(s)"
        head += f" | {len(self.countries)} regions x {len(self.stages)} stages>"
        s = self.summary()
        lines = [head]
        if not s.empty:
            top = s.sort_values("expected_shortfall_t", ascending=False).head(5)
            for row in top.itertuples():
                lines.append(
                    f"  {row.country:>4} {row.stage:<12} shortfall "
                    f"{row.expected_shortfall_t:>12,.0f} {row.unit} "
                    f"({row.shortfall_share:6.1%})  peak price x{row.peak_price_index:.2f}"
                )
        return lines

    def __repr__(self) -> str:
        return "\n".join(self._headline())

    def _repr_html_(self) -> str:
        lines = self._headline()
        table = self.summary().head(20).to_html(index=False, float_format=lambda x: f"{x:,.4g}")
        return f"<p><b>{html.escape(lines[0])}</b></p>{table}"


def _recovery(d: xr.Dataset) -> xr.DataArray:
    """Months from the first to the last month in which a country's final use (all stages)
    falls more than 1 % short of its reference; 0 if never (censored at the horizon end)."""
    ref = d["reference_demand"].sum("sector")
    got = d["consumption"].sum("sector")
    short = ((ref - got) > RECOVERY_TOLERANCE * ref).any("stage")  # [month, country]
    values = short.values
    months = np.arange(1, values.shape[0] + 1)[:, None]
    first = np.where(values.any(0), np.where(values, months, 10**9).min(0), 0)
    last = np.where(values.any(0), np.where(values, months, 0).max(0), 0)
    span = np.where(first > 0, last - first + 1, 0).astype(float)
    return xr.DataArray(span, dims=("country",), coords={"country": d["country"]})
