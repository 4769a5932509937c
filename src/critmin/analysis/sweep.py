"""Every indicator for every commodity, stage, year and country in one table.

One row per (commodity, stage, year, country) where the country produces or imports at
that stage: the case's concentration (HHI, top-3, N-1), the country's share of world output,
its imports, exports, apparent consumption, net import reliance and supplier concentration
(HHI of its suppliers, top supplier and its share), and the GeoPolRisk of
the commodity for that country and year (``gpr_`` columns; GeoPolRisk is defined per raw
material, so it repeats across the stages of a commodity). Unknown entries are NaN (a
country no source names at a stage whose producers are not all named has no share); the
``note`` (dependence), ``case_note`` (group shares) and ``gpr_note`` (GeoPolRisk) say why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

from critmin.analysis.concentration import concentration
from critmin.analysis.dependence import import_reliance, supplier_concentration, supplier_mix
from critmin.analysis.geopolrisk import covered_commodities, geopolrisk
from critmin.analysis.panel import check_commodities, check_years, stage_output, stage_trade

CASE = ["commodity", "stage", "year"]


def sweep(
    commodities: Iterable[str] | None = None,
    years: Iterable[int] | None = None,
    groups: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """All indicators for all cases (defaults: every commodity and every year with output)."""
    ids = check_commodities(commodities)
    chosen = check_years(years)
    output = stage_output(ids, chosen)
    trade = stage_trade(ids, chosen)
    cases = concentration(output, groups).rename(columns={"note": "case_note"})
    by_country = import_reliance(output, trade).set_index([*CASE, "country"])
    shares = output[output["country"] != "ROW"].set_index([*CASE, "country"])["share"]
    table = by_country.join(shares.rename("country_share"), how="outer").reset_index()
    table = table.merge(cases, on=CASE, how="left")
    suppliers = supplier_concentration(supplier_mix(trade)).rename(columns={"importer": "country"})
    table = table.merge(suppliers.drop(columns="suppliers"), on=[*CASE, "country"], how="left")
    scored = [c for c in ids if c in set(covered_commodities())]
    if scored:
        gpr = geopolrisk(scored, years=chosen).rename(
            columns={
                "importer": "country",
                "hhi": "gpr_hhi",
                "import_risk": "gpr_import_risk",
                "geopolrisk_score": "gpr_score",
                "characterization_factor": "gpr_characterization_factor",
                "price_usd_per_kg": "gpr_price_usd_per_kg",
                "note": "gpr_note",
            }
        )
        keep = [
            "commodity",
            "year",
            "country",
            "gpr_hhi",
            "gpr_import_risk",
            "gpr_score",
            "gpr_characterization_factor",
            "gpr_price_usd_per_kg",
            "gpr_note",
        ]
        table = table.merge(gpr[keep], on=["commodity", "year", "country"], how="left")
    complete = output.groupby(CASE)["complete"].first()
    in_complete = complete.reindex(pd.MultiIndex.from_frame(table[CASE])).fillna(False)
    no_row = table["country_share"].isna().to_numpy() & in_complete.to_numpy(dtype=bool)
    table.loc[no_row, "country_share"] = 0.0  # every producer is named: it produces nothing
    return table.sort_values([*CASE, "country"], ignore_index=True)
