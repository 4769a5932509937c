"""``SupplyNetwork``: one container of labelled arrays for commodity chains in one year.

Dimensions: ``commodity``, ``stage`` (supply-chain order), ``country`` (ISO3, plus ``ROW`` for
output no source attributes to a named country), ``exporter``/``importer`` (trade partners),
``sector``, ``group`` and, for ``recipe``, ``in_commodity``/``in_stage``. Absent or unknown
entries are NaN (a stage a commodity does not have, a volume no source gives, a country no
source names), never fake zeros. Every variable, its unit and meaning is in
:mod:`critmin.network.schema`; every figure of production, capacity, consumption and price has
a grade and a source (``<variable>_grade``, ``<variable>_source``). The dataset is read-only by
convention: analyses return new objects.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from critmin.errors import InputError, unknown_value
from critmin.network import schema

MASS_BALANCE_TOLERANCE = 0.02  # 2 %: sources of different editions and rounding
SHARE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Violation:
    """A failed model invariant: which check, where, and by how much."""

    check: str
    where: str
    detail: str


class SupplyNetwork:
    """Production, capacity, consumption, prices, trade, yields and end uses of chains."""

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

    def _at(self, name: str, stage: str, commodity: str | None) -> xr.DataArray:
        c = self._commodity(commodity)
        return self.ds[name].sel(commodity=c, stage=self._stage(c, stage))

    # -- accessors ------------------------------------------------------------------------
    def production(self, stage: str, commodity: str | None = None) -> pd.Series:
        """Known output by country at ``stage`` (stage unit), largest first; ROW included."""
        values = self._at("production", stage, commodity).to_series()
        return values[values > 0].sort_values(ascending=False)

    def shares(self, stage: str, commodity: str | None = None) -> pd.Series:
        """Shares of world output by country at ``stage`` (fractions; with ROW they sum to 1)."""
        values = self._at("share", stage, commodity).to_series()
        return values[values > 0].sort_values(ascending=False)

    def capacity(self, stage: str, commodity: str | None = None) -> pd.Series:
        """Cited capacity by country at ``stage`` (stage unit per year); unknown ones left out."""
        return self._at("capacity", stage, commodity).to_series().dropna()

    def consumption(self, stage: str, commodity: str | None = None) -> pd.Series:
        """Cited final use by country of the stage's product (stage unit per year)."""
        return self._at("consumption", stage, commodity).to_series().dropna()

    def price(self, stage: str, commodity: str | None = None) -> float:
        """Base-year price of the stage's product, USD per t of the stage unit (NaN: unknown)."""
        return float(self._at("price", stage, commodity))

    def figures(self, stage: str, commodity: str | None = None) -> pd.DataFrame:
        """Every country with output at ``stage``, or that a source names there (a cited
        zero, or an unknown figure with its reason), and ``ROW``.

        Columns: country, production, share, grade, source, note (largest share first).
        """
        frame = pd.DataFrame(
            {
                name: self._at(variable, stage, commodity).to_series()
                for name, variable in (
                    ("production", "production"),
                    ("share", "share"),
                    ("grade", "production_grade"),
                    ("source", "production_source"),
                    ("note", "production_note"),
                )
            }
        )
        named = self._at("named", stage, commodity).to_series().astype(bool)
        frame = frame[(frame["production"] > 0) | (frame["share"] > 0) | named]
        frame = frame.sort_values(["share", "production"], ascending=False)
        return frame.rename_axis("country").reset_index()

    def group_share(self, group: str, stage: str, commodity: str | None = None) -> float:
        """Share of world output at ``stage`` held by the members of ``group``.

        Members no source names at the stage count for nothing (a lower bound; their output,
        if any, is in ``ROW``); NaN if no member's output is known.
        """
        if group not in self.ds["group"].values:
            raise unknown_value("group", group, [str(g) for g in self.ds["group"].values])
        share = self._at("share", stage, commodity)
        inside = share.where(self.ds["member"].sel(group=group))
        return float(inside.sum("country", min_count=1))

    def trade(
        self, stage: str, commodity: str | None = None, quantity: bool = False
    ) -> pd.DataFrame:
        """Non-zero flows at ``stage``: exporter, importer, value (USD) or quantity (t)."""
        name = "trade_quantity" if quantity else "trade_value"
        flows = self._at(name, stage, commodity).to_series()
        column = "quantity_t" if quantity else "value_usd"
        frame = flows[flows > 0].rename(column).reset_index()
        return frame.sort_values(column, ascending=False, ignore_index=True)

    def to_frame(self, variable: str = "production") -> pd.DataFrame:
        """A variable as a long table without its NaN (absent or unknown) entries."""
        if variable not in self.ds:
            raise unknown_value("variable", variable, list(self.ds.data_vars))
        return self.ds[variable].to_series().dropna().reset_index(name=variable)

    # -- invariants -----------------------------------------------------------------------
    def check(self) -> list[Violation]:
        """Schema and model invariants; an empty list means the network is consistent.

        * every variable of :mod:`critmin.network.schema` is present with its dimensions;
        * numbers are non-negative; shares lie in [0, 1] and, where the world output and the
          unattributed rest are known, sum to 1;
        * every known production, capacity, consumption and price has a grade of
          :data:`schema.GRADES` and a source, and an unknown one has neither;
        * a single-input stage's recipe is 1 / its yield;
        * stage mass balance: the input a stage needs (its world output / its yield) is at
          most the previous stage's world output (within ``MASS_BALANCE_TOLERANCE``).
        """
        issues: list[Violation] = []
        for variable in schema.VARIABLES:
            if variable.name not in self.ds:
                issues.append(Violation("schema", variable.name, "variable missing"))
                continue
            dims = self.ds[variable.name].dims
            if set(dims) != set(variable.dims):
                issues.append(Violation("schema", variable.name, f"dims {dims}"))
            if variable.kind == "float" and bool((self.ds[variable.name] < 0).any()):
                issues.append(Violation("non_negative", variable.name, "negative entries"))
        if issues:
            return issues
        share = self.ds["share"]
        if bool((share > 1 + 1e-9).any()):
            issues.append(Violation("share_range", "share", "a share lies above 1"))
        rest = share.sel(country="ROW") if "ROW" in self.countries else None
        totals = share.sum("country", min_count=1)
        check_sum = totals.notnull() if rest is None else totals.notnull() & rest.notnull()
        bad = totals.where(check_sum & (np.abs(totals - 1.0) > SHARE_TOLERANCE)).to_series()
        for key, total in bad.dropna().items():
            where = "/".join(str(k) for k in key) if isinstance(key, tuple) else str(key)
            issues.append(Violation("share_sum", where, f"shares sum to {total:.4f}"))
        issues += self._check_grades()
        issues += self._check_recipes()
        issues += self._check_mass_balance()
        return issues

    def _check_grades(self) -> list[Violation]:
        issues = []
        for name in schema.GRADED:
            value = self.ds[name]
            grade = self.ds[f"{name}_grade"].astype(str)
            source = self.ds[f"{name}_source"].astype(str)
            known = value.notnull()
            valid = grade.isin(list(schema.GRADES))
            wrong = (known & (~valid | (source == ""))) | (~known & (grade != ""))
            for key in wrong.to_series()[lambda s: s].index:
                where = "/".join(map(str, key)) if isinstance(key, tuple) else str(key)
                issues.append(Violation("grade", f"{name} {where}", "grade or source missing"))
        return issues

    def _check_recipes(self) -> list[Violation]:
        issues = []
        recipe, yields = self.ds["recipe"], self.ds["stage_yield"]
        for c in self.commodities:
            for up, stage in itertools.pairwise(self.stages_of(c)):
                y = float(yields.sel(commodity=c, stage=stage))
                if c not in recipe["in_commodity"].values or not np.isfinite(y):
                    continue
                r = float(recipe.sel(commodity=c, stage=stage, in_commodity=c, in_stage=up))
                if np.isfinite(r) and abs(r * y - 1.0) > 1e-9:
                    issues.append(Violation("recipe", f"{c}/{stage}", f"recipe {r} vs yield {y}"))
        return issues

    def _check_mass_balance(self) -> list[Violation]:
        issues = []
        world = self.ds["world_production"]
        for c in self.commodities:
            for upstream, stage in itertools.pairwise(self.stages_of(c)):
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
        """One row per commodity and stage: unit, world output and its grade, top producer
        with its share and grade, alliance share, figure year and sources."""
        rows = []
        members = self.alliance
        for c in self.commodities:
            for s in self.stages_of(c):
                figures = self.figures(s, c)
                named = figures[figures["country"] != "ROW"]
                top = named.iloc[0] if len(named) else None
                at = self.ds.sel(commodity=c, stage=s)
                inside = [m for m in members if m in self.countries]
                alliance = float(at["share"].sel(country=inside).sum(min_count=1))
                rows.append(
                    {
                        "commodity": c,
                        "stage": s,
                        "unit": str(at["unit"].item()),
                        "world_output": float(at["world_production"]),
                        "world_grade": str(at["world_production_grade"].item()),
                        "top_country": None if top is None else top["country"],
                        "top_share": np.nan if top is None else float(top["share"]),
                        "top_grade": "" if top is None else str(top["grade"]),
                        "alliance_share": alliance,
                        "named_share": float(named["share"].sum(min_count=1)),
                        "figure_year": int(at["figure_year"]),
                        "sources": ", ".join(sorted(set(figures["source"]) - {""})),
                    }
                )
        return pd.DataFrame(rows)

    def _head(self) -> str:
        return (
            f"<SupplyNetwork {', '.join(self.commodities)} | year {self.year} | "
            f"alliance {self.ds.attrs['alliance']} ({', '.join(self.alliance)}) | "
            f"{len(self.countries)} countries>"
        )

    def __repr__(self) -> str:
        table = self.summary()
        if table.empty:
            return self._head()
        with pd.option_context("display.width", 160, "display.max_columns", 20):
            text = table.drop(columns="sources").to_string(
                index=False, float_format=lambda v: f"{v:,.3g}"
            )
        return self._head() + "\n" + text

    def _repr_html_(self) -> str:
        head = (
            f"<p><b>SupplyNetwork</b> {', '.join(self.commodities)}, {self.year}, "
            f"alliance {self.ds.attrs['alliance']}</p>"
        )
        return head + self.summary().to_html(index=False, float_format=lambda v: f"{v:,.3g}")
