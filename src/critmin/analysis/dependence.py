"""Dependence on imports: supplier mix and net import reliance, per stage, year and country.

Net import reliance follows the USGS definition::

    apparent consumption = production + imports - exports
    import reliance      = (imports - exports) / apparent consumption

Production is in the stage unit (t REO, t LCE, t Co, ...); BACI trade is in gross tonnes and
is converted to the stage unit with the content factors of ``catalog/hs_content.csv``
(stoichiometry where the compound is known, stated assumptions otherwise). Where the stage
unit is plain tonnes the factor is 1; where no factor is known the reliance is NaN rather
than a number on mixed units. Stock changes are not in the data, so a negative reliance
means a net exporter (USGS prints "E"). Reliance is NaN when apparent consumption <= 0.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from critmin.data.commodities import catalog
from critmin.data.paths import CATALOG_DIR
from critmin.network.trade import trade_coverage

CASE = ["commodity", "stage", "year"]


@cache
def content_factors() -> pd.DataFrame:
    """Stage-unit tonnes per gross tonne traded, by commodity, stage and HS code."""
    table = pd.read_csv(CATALOG_DIR / "hs_content.csv")
    known = dict(zip(table["hs"].astype(int), table["factor"].astype(float), strict=True))
    rows = []
    for item in catalog().values():
        for stage in item.stages:
            for hs in stage.hs:
                factor = known.get(int(hs), 1.0 if stage.unit == "t" else np.nan)
                rows.append((item.id, stage.id, int(hs), factor))
    return pd.DataFrame(rows, columns=["commodity", "stage", "hs", "factor"])


def stage_factor() -> pd.DataFrame:
    """One factor per (commodity, stage): NaN if any of its HS codes lacks one."""
    factors = content_factors()
    grouped = factors.groupby(["commodity", "stage"])["factor"]
    return (
        grouped.apply(lambda f: f.mean() if f.notna().all() else np.nan).rename("factor").to_frame()
    )


def supplier_mix(trade: pd.DataFrame) -> pd.DataFrame:
    """Each importer's suppliers with their share of its imports (by quantity and value).

    ``trade`` is :func:`critmin.analysis.panel.stage_trade`. Columns: commodity, stage, year,
    importer, exporter, quantity_t, value_usd, share_quantity, share_value (fractions).
    """
    keys = [*CASE, "importer"]
    mix = trade.groupby([*keys, "exporter"], as_index=False)[["quantity_t", "value_usd"]].sum()
    totals = mix.groupby(keys)[["quantity_t", "value_usd"]].transform("sum")
    with np.errstate(divide="ignore", invalid="ignore"):
        mix["share_quantity"] = mix["quantity_t"] / totals["quantity_t"].where(
            totals["quantity_t"] > 0
        )
        mix["share_value"] = mix["value_usd"] / totals["value_usd"].where(totals["value_usd"] > 0)
    return mix.sort_values([*keys, "quantity_t"], ascending=[True] * 4 + [False], ignore_index=True)


def supplier_concentration(mix: pd.DataFrame) -> pd.DataFrame:
    """Concentration of each importer's suppliers (from :func:`supplier_mix`).

    Columns: commodity, stage, year, importer, supplier_hhi (0-10,000 on quantity shares),
    top_supplier, top_supplier_share, suppliers (number of partners with imports).
    """
    keys = [*CASE, "importer"]
    shares = mix[mix["share_quantity"] > 0]
    shares = shares.assign(sq=(100.0 * shares["share_quantity"]) ** 2)
    first = shares.sort_values([*keys, "share_quantity"], ascending=[True] * 4 + [False])
    first = first.drop_duplicates(keys).set_index(keys)
    grouped = shares.groupby(keys)
    return pd.DataFrame(
        {
            "supplier_hhi": grouped["sq"].sum(),
            "top_supplier": first["exporter"],
            "top_supplier_share": first["share_quantity"],
            "suppliers": grouped["exporter"].count(),
        }
    ).reset_index()


def trade_in_stage_units(trade: pd.DataFrame) -> pd.DataFrame:
    """``trade`` with ``quantity`` in the stage unit (NaN where no content factor is known)."""
    factors = stage_factor().reset_index()
    merged = trade.merge(factors, on=["commodity", "stage"], how="left")
    return merged.assign(quantity=merged["quantity_t"] * merged["factor"])


def import_reliance(output: pd.DataFrame, trade: pd.DataFrame) -> pd.DataFrame:
    """Production, imports, exports, apparent consumption and net import reliance.

    One row per (commodity, stage, year, country) that produces or trades at a stage with
    HS codes. Quantities in the stage unit; ``import_reliance`` is a fraction (negative: net
    exporter). Unknown stays unknown: imports and exports are NaN where BACI does not
    measure the stage that year (no flows of its HS codes, no content factor), production
    is NaN for a country no source names at a stage whose producers are not all named; then
    the consumption and reliance are NaN too, and ``note`` says why (with the bounds of the
    reliance where the unattributed rest bounds the unknown production).
    """
    converted = trade_in_stage_units(trade)
    imports = converted.groupby([*CASE, "importer"])["quantity"].sum(min_count=1)
    exports = converted.groupby([*CASE, "exporter"])["quantity"].sum(min_count=1)
    imports.index = imports.index.set_names("country", level="importer")
    exports.index = exports.index.set_names("country", level="exporter")
    factors = stage_factor().reset_index()
    named = output[output["country"] != "ROW"]
    traded = named.merge(factors, on=["commodity", "stage"])  # stages with trade codes
    production = traded.set_index([*CASE, "country"])["value"]
    table = pd.concat(
        {"production": production, "imports": imports, "exports": exports}, axis=1
    ).reset_index()
    table = table.merge(factors, on=["commodity", "stage"], how="left")
    coverage = trade_coverage(sorted(set(table["commodity"])), sorted(set(table["year"])))
    table = table.merge(coverage, on=CASE, how="left")
    measured = table["covered"].fillna(False).astype(bool) & table["factor"].notna()
    table[["imports", "exports"]] = table[["imports", "exports"]].fillna(0.0).where(measured)
    trade_note = table["note"].where(~table["covered"].fillna(False).astype(bool), "")
    trade_note = trade_note.where(
        table["factor"].notna() | (trade_note != ""), "no content factor converts its trade"
    )
    cases = output.groupby(CASE).agg(complete=("complete", "first"))
    rest = output[output["country"] == "ROW"].set_index(CASE)["value"]
    keys = pd.MultiIndex.from_frame(table[CASE])
    complete = cases["complete"].reindex(keys).fillna(False).to_numpy(dtype=bool)
    row_rest = rest.reindex(keys).to_numpy(dtype=float)
    has_row = table["production"].notna() | table.set_index([*CASE, "country"]).index.isin(
        production.index
    )
    unnamed = ~has_row.to_numpy() & complete
    table["production"] = table["production"].where(~unnamed, 0.0)
    table["apparent_consumption"] = table["production"] + table["imports"] - table["exports"]
    net = table["imports"] - table["exports"]
    consumption = table["apparent_consumption"]
    table["import_reliance"] = (net / consumption).where(consumption > 0)
    notes = []
    for t_note, prod, rest_value, n, country, c, s in zip(
        trade_note, table["production"], row_rest, net, table["country"], table["commodity"],
        table["stage"], strict=True,
    ):  # fmt: skip
        parts = [t_note] if t_note else []
        if np.isnan(prod):
            text = f"{country}'s {c} {s} output is not named by the source"
            if np.isfinite(rest_value) and np.isfinite(n) and n > 0:
                text += (
                    f" (ROW holds {rest_value:,.0f}: reliance between "
                    f"{n / (n + rest_value):.2f} and 1)"
                )
            parts.append(text)
        notes.append("; ".join(parts))
    table["note"] = notes
    return table.drop(columns=["factor", "covered"])
