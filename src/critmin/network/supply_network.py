"""``SupplyNetwork``: one container of labelled arrays for a commodity chain in one year.

Dimensions: ``commodity``, ``stage`` (supply-chain order), ``country`` (ISO3, plus ``ROW`` for
output a source does not attribute), ``exporter``/``importer`` (trade partners), ``sector`` and
``group``. Absent entries are NaN (a stage a commodity does not have, a volume no source
gives), never fake zeros. The dataset is read-only by convention: analyses return new
objects.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from critmin.errors import InputError, unknown_value

MASS_BALANCE_TOLERANCE = 0.02  # 2 %: sources of different editions and rounding


@dataclass(frozen=True)
class Violation:
    """A failed model invariant: which check, where, and by how much."""

    check: str
    where: str
    detail: str


class SupplyNetwork:
    """Production, shares, capacity, trade, yields and end uses of a commodity chain."""

    def __init__(self, dataset: xr.Dataset) -> None:
        self.ds = dataset

    # -- labels ---------------------------------------------------------------------------
    @property
    def commodities(self) -> list[str]:
        return [str(c) for c in self.ds["commodity"].values]

    @property
    def stages(self) -> list[str]:
        return [str(s) for s in self.ds["stage"].values]

    @property
    def countries(self) -> list[str]:
        return [str(c) for c in self.ds["country"].values]

    @property
    def year(self) -> int:
        return int(self.ds.attrs["year"])

    @property
    def alliance(self) -> list[str]:
        return list(self.ds.attrs["alliance_members"])

    def stages_of(self, commodity: str) -> list[str]:
        present = self.ds["stage_present"].sel(commodity=self._commodity(commodity))
        return [str(s) for s in present["stage"].values[present.values]]

    def _commodity(self, commodity: str | None) -> str:
        if commodity is None:
            if len(self.commodities) != 1:
                raise InputError(f"commodity: this network holds {self.commodities}; name one")
            return self.commodities[0]
        if commodity not in self.commodities:
            raise unknown_value("commodity", commodity, self.commodities)
        return commodity

    def _stage(self, commodity: str, stage: str) -> str:
        if stage not in self.stages_of(commodity):
            raise unknown_value(f"stage of {commodity}", stage, self.stages_of(commodity))
        return stage

    # -- accessors ------------------------------------------------------------------------
    def production(self, stage: str, commodity: str | None = None) -> pd.Series:
        """Output by country at ``stage`` (stage unit), largest first; ROW included."""
        c = self._commodity(commodity)
        values = self.ds["production"].sel(commodity=c, stage=self._stage(c, stage)).to_series()
        return values[values > 0].sort_values(ascending=False)

    def shares(self, stage: str, commodity: str | None = None) -> pd.Series:
        """Shares of world output by country at ``stage`` (fractions summing to 1)."""
        c = self._commodity(commodity)
        values = self.ds["share"].sel(commodity=c, stage=self._stage(c, stage)).to_series()
        return values[values > 0].sort_values(ascending=False)

    def group_share(self, group: str, stage: str, commodity: str | None = None) -> float:
        """Share of world output at ``stage`` held by the members of ``group``."""
        c = self._commodity(commodity)
        if group not in self.ds["group"].values:
            raise unknown_value("group", group, [str(g) for g in self.ds["group"].values])
        share = self.ds["share"].sel(commodity=c, stage=self._stage(c, stage))
        return float((share * self.ds["member"].sel(group=group)).sum("country"))

    def trade(
        self, stage: str, commodity: str | None = None, quantity: bool = False
    ) -> pd.DataFrame:
        """Non-zero flows at ``stage``: exporter, importer, value (USD) or quantity (t)."""
        c = self._commodity(commodity)
        name = "trade_quantity" if quantity else "trade_value"
        flows = self.ds[name].sel(commodity=c, stage=self._stage(c, stage)).to_series()
        column = "quantity_t" if quantity else "value_usd"
        frame = flows[flows > 0].rename(column).reset_index()
        return frame.sort_values(column, ascending=False, ignore_index=True)

    def to_frame(self, variable: str = "production") -> pd.DataFrame:
        """A variable as a long table without its NaN (absent) entries."""
        if variable not in self.ds:
            raise unknown_value("variable", variable, list(self.ds.data_vars))
        return self.ds[variable].to_series().dropna().reset_index(name=variable)

    # -- invariants -----------------------------------------------------------------------
    def check(self) -> list[Violation]:
        """Model invariants; an empty list means the network is consistent.

        * shares lie in [0, 1] and sum to 1 at every stage with data;
        * production, capacity and trade flows are non-negative;
        * stage mass balance: the input a stage needs (its world output / its yield) is at
          most the previous stage's world output (within ``MASS_BALANCE_TOLERANCE``).
        """
        issues: list[Violation] = []
        share = self.ds["share"]
        if bool(((share < 0) | (share > 1 + 1e-9)).any()):
            issues.append(Violation("share_range", "share", "a share lies outside [0, 1]"))
        totals = share.sum("country", min_count=1)
        bad = totals.where(np.abs(totals - 1.0) > 1e-6).to_series().dropna()
        for key, total in bad.items():
            where = "/".join(str(k) for k in key) if isinstance(key, tuple) else str(key)
            issues.append(Violation("share_sum", where, f"shares sum to {total:.4f}"))
        for name in ("production", "capacity", "trade_value", "trade_quantity"):
            if bool((self.ds[name] < 0).any()):
                issues.append(Violation("non_negative", name, "negative entries"))
        world = self.ds["world_production"]
        for c in self.commodities:
            stages = self.stages_of(c)
            for upstream, stage in itertools.pairwise(stages):
                needed = world.sel(commodity=c, stage=stage) / self.ds["stage_yield"].sel(
                    commodity=c, stage=stage
                )
                available = world.sel(commodity=c, stage=upstream)
                known = bool(np.isfinite(needed)) and bool(np.isfinite(available))
                if known and float(needed) > float(available) * (1 + MASS_BALANCE_TOLERANCE):
                    issues.append(
                        Violation(
                            "mass_balance",
                            f"{c}/{upstream}->{stage}",
                            f"needs {float(needed):,.0f} of {upstream} output, only "
                            f"{float(available):,.0f} produced",
                        )
                    )
        return issues

    # -- display --------------------------------------------------------------------------
    def summary(self) -> pd.DataFrame:
        """One row per commodity and stage: unit, world output, top producer, alliance share."""
        rows = []
        for c in self.commodities:
            for s in self.stages_of(c):
                share = self.ds["share"].sel(commodity=c, stage=s).to_series().dropna()
                top = share.drop("ROW", errors="ignore")
                alliance = (
                    float(share.reindex(self.alliance).fillna(0).sum()) if len(share) else np.nan
                )
                world = float(self.ds["world_production"].sel(commodity=c, stage=s))
                rows.append(
                    {
                        "commodity": c,
                        "stage": s,
                        "unit": str(self.ds["unit"].sel(commodity=c, stage=s).item()),
                        "world_output": world,
                        "top_country": top.idxmax() if len(top) else None,
                        "top_share": float(top.max()) if len(top) else np.nan,
                        "alliance_share": alliance if len(share) else np.nan,
                        "share_year": int(self.ds["share_year"].sel(commodity=c, stage=s)),
                    }
                )
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        head = (
            f"<SupplyNetwork {', '.join(self.commodities)} | year {self.year} | "
            f"alliance {self.ds.attrs['alliance']} ({', '.join(self.alliance)}) | "
            f"{len(self.countries)} countries>"
        )
        table = self.summary()
        if table.empty:
            return head
        with pd.option_context("display.width", 120, "display.max_columns", 10):
            return head + "\n" + table.to_string(index=False, float_format=lambda v: f"{v:,.3g}")

    def _repr_html_(self) -> str:
        head = (
            f"<p><b>SupplyNetwork</b> {', '.join(self.commodities)}, {self.year}, "
            f"alliance {self.ds.attrs['alliance']}</p>"
        )
        return head + self.summary().to_html(index=False, float_format=lambda v: f"{v:,.3g}")
