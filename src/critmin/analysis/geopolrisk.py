"""GeoPolRisk: the geopolitical supply-risk method of Gemechu et al. (2016) and
Koyamparambath et al. (2024), as implemented in geopolrisk-py 2.0.1.

For an importing economy c (a country or a group), raw material m and year t::

    HHI_m        = sum_i P_i^2 / (sum_i P_i)^2          (0-1; P_i: WMD production of country i)
    IR_c,m       = sum_j (q_jc * g_j) / (sum_j q_jc + P_c)  (import risk, 0-1)
    score_c,m    = HHI_m * IR_c,m                      (GeoPolRisk score, dimensionless)
    CF_c,m       = score_c,m * price_c,m / CF_Cu       (characterisation factor, kg Cu-eq/kg)

q_jc is BACI's import quantity (t) from partner j over the raw material's HS codes,
g_j = (2.5 - PV_j) / 5 is the WGI political-stability estimate rescaled to [0, 1]
(1 = least stable; 0.5 where the WGI has no value; 0 for partners inside the importing
group), P_c is the importer's own production (t; kg converted), price_c,m = sum of CIF values
/ sum of quantities (USD/kg) and CF_Cu = 0.409412948, the average copper score x price of the
OECD countries 2017-2021 that geopolrisk-py uses as reference.

Everything is computed for every raw material, year and importer at once (grouped sums
over the BACI rows). No data is not zero: where BACI holds no flow of the material's HS codes
in the year the imports and every term that needs them are NaN; without imports the price is
NaN (no unit value), and without imports and production the import risk is NaN; ``note``
says why. The reference returns 0 in these cases. Deviations from geopolrisk-py, each shown
in a test against the reference package, are listed in ``docs/methods/geopolrisk.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache

import numpy as np
import pandas as pd

from critmin.analysis.panel import check_commodities, check_years
from critmin.data import tables
from critmin.errors import InputError
from critmin.network.trade import codes_with_flows

COPPER_CF_REFERENCE = 0.409412948  # geopolrisk-py 2.0.1, core.GeoPolRisk: CF of Cu, OECD 2017-21
MISSING_GOVERNANCE = 0.5  # the method's value for partners without a WGI estimate
TONNES_PER_UNIT = {"kg": 1e-3, "million m3": 800.0, "ct": 2e-7}
"""Production units converted to tonnes for P_c. Natural gas: 0.8 kg/m3, the density that
geopolrisk-py states (its conversion branch is unreachable, see the method page); a metric
carat is 0.2 g. Every other WMD unit is already a tonne of content or of product."""

RESULT_COLUMNS = [
    "commodity",
    "year",
    "importer",
    "hhi",
    "import_risk",
    "geopolrisk_score",
    "characterization_factor",
    "price_usd_per_kg",
    "imports_t",
    "weighted_imports_t",
    "production_t",
    "note",
]


@cache
def geopolrisk_hs() -> pd.DataFrame:
    """Raw material -> HS codes as geopolrisk-py maps them (main code + complementary)."""
    table = tables.commodities()
    rows = []
    for item, main, extra in zip(
        table["commodity"], table["hs"], table["hs_complementary"], strict=True
    ):
        codes = [str(main)] + (str(extra).split(";") if pd.notna(extra) else [])
        rows += [(str(item), int(c)) for c in codes if c.strip().isdigit()]
    return pd.DataFrame(rows, columns=["commodity", "hs"]).drop_duplicates()


def covered_commodities() -> tuple[str, ...]:
    """Raw materials GeoPolRisk can assess: a WMD sheet and at least one mapped HS code."""
    return tuple(sorted(geopolrisk_hs()["commodity"].unique()))


def governance_weights(governance: pd.DataFrame | None = None) -> pd.DataFrame:
    """Normalised WGI political stability per (country, year): columns country, year, weight."""
    source = tables.governance() if governance is None else governance
    missing = {"country", "year", "normalized"} - set(source.columns)
    if missing:
        raise InputError(f"governance table: missing columns {sorted(missing)}")
    return pd.DataFrame(
        {
            "country": source["country"].astype(str),
            "year": source["year"].astype(int),
            "weight": source["normalized"].astype(float),
        }
    ).dropna(subset=["weight"])


def production_hhi(commodities: Sequence[str], years: Sequence[int]) -> pd.DataFrame:
    """HHI of WMD production (0-1) per commodity and year, and production by country (t)."""
    prod = tables.production()
    prod = prod[prod["commodity"].isin(commodities) & prod["year"].isin(years)]
    value = prod["value"].astype(float).fillna(0.0)
    # geopolrisk-py truncates each country's production to an integer before the HHI
    # (DataFrame.astype(int)); we do the same so that the scores are the reference's.
    whole = np.trunc(value)
    frame = pd.DataFrame(
        {
            "commodity": prod["commodity"].astype(str),
            "year": prod["year"].astype(int),
            "country": prod["country"].astype(str),
            "whole": whole,
            "whole_sq": whole * whole,
            "production_t": value * prod["unit"].astype(str).map(TONNES_PER_UNIT).fillna(1.0),
        }
    )
    sums = frame.groupby(["commodity", "year"])[["whole", "whole_sq"]].sum()
    hhi = (sums["whole_sq"] / sums["whole"] ** 2).rename("hhi")
    return frame[["commodity", "year", "country", "production_t"]].merge(
        hhi.reset_index(), on=["commodity", "year"], how="right"
    )


def geopolrisk(
    commodities: Iterable[str] | str | None = None,
    importers: Iterable[str] | None = None,
    years: Iterable[int] | None = None,
    groups: Mapping[str, Sequence[str]] | None = None,
    governance: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """GeoPolRisk of every (commodity, year, importer) requested, as a DataFrame.

    ``importers`` are ISO3 codes (``None``: every country that imports or produces);
    ``groups`` maps a label to member codes for regional assessments (trade inside the group
    carries no risk; members' production is summed). ``governance`` replaces the embedded WGI
    table (columns country, year, normalized). Columns: see :data:`RESULT_COLUMNS`; hhi is on
    the method's 0-1 scale, import_risk and geopolrisk_score are dimensionless,
    characterization_factor is in kg Cu-eq per kg, price in USD/kg, quantities in t; ``note``
    says why a value is missing (or a 0 is real).
    """
    requested = check_commodities(commodities)
    covered = set(covered_commodities())
    ids = [c for c in requested if c in covered]
    if commodities is not None and not ids:
        raise InputError(
            f"commodity {', '.join(requested)}: GeoPolRisk needs an HS code for trade, and "
            "geopolrisk-py maps none (its HS map says 'Not Available')"
        )
    chosen = list(check_years(years))
    hs = geopolrisk_hs()
    hs = hs[hs["commodity"].isin(ids)]
    flows = tables.trade()
    flows = flows[flows["year"].isin(chosen) & flows["hs"].isin(hs["hs"])]
    flows = flows.merge(hs, on="hs")
    weights = governance_weights(governance)
    flows = flows.merge(
        weights.rename(columns={"country": "exporter"}), on=["exporter", "year"], how="left"
    )
    flows = pd.DataFrame(
        {
            "commodity": flows["commodity"].astype(str),
            "year": flows["year"].astype(int),
            "exporter": flows["exporter"].astype(str),
            "importer": flows["importer"].astype(str),
            "q": flows["quantity_t"].fillna(0.0).astype(float),
            "v": flows["value_kusd"].fillna(0.0).astype(float),
            "g": flows["weight"].fillna(MISSING_GOVERNANCE).astype(float),
        }
    )
    hhi = production_hhi(ids, chosen)

    # Entities: each importer stands for itself; each group for its members.
    membership = [(code, code) for code in sorted(set(flows["importer"]) | set(hhi["country"]))]
    if importers is not None:
        wanted = set(importers)
        membership = [(e, c) for e, c in membership if e in wanted]
        membership += [(code, code) for code in sorted(wanted - {e for e, _ in membership})]
    for label, members in (groups or {}).items():
        membership += [(label, code) for code in members]
    entities = pd.DataFrame(membership, columns=["importer_entity", "importer"])

    inflows = flows.merge(entities, on="importer")
    inside = pd.Series(
        list(zip(inflows["importer_entity"], inflows["exporter"], strict=True))
    ).isin(set(zip(entities["importer_entity"], entities["importer"], strict=True)))
    inflows["g"] = inflows["g"].where(~inside.to_numpy(), 0.0)
    inflows["qg"] = inflows["q"] * inflows["g"]
    trade = inflows.groupby(["commodity", "year", "importer_entity"])[["q", "v", "qg"]].sum()

    own = hhi.merge(entities.rename(columns={"importer": "country"}), on="country")
    own_prod = own.groupby(["commodity", "year", "importer_entity"])["production_t"].sum()

    cases = pd.MultiIndex.from_product(
        [ids, chosen, entities["importer_entity"].unique()],
        names=["commodity", "year", "importer_entity"],
    )
    table = pd.DataFrame(index=cases)
    table = table.join(trade).join(own_prod.rename("production_t"))
    table[["q", "v", "qg", "production_t"]] = table[["q", "v", "qg", "production_t"]].fillna(0.0)
    table = table.join(
        hhi.drop_duplicates(["commodity", "year"]).set_index(["commodity", "year"])["hhi"]
    )
    denominator = table["q"] + table["production_t"]
    with np.errstate(divide="ignore", invalid="ignore"):
        import_risk = np.where(denominator > 0, table["qg"] / denominator, np.nan)
        price = np.where(table["q"] > 0, table["v"] / table["q"], np.nan)  # kUSD/t = USD/kg
    score = table["hhi"].to_numpy() * import_risk
    # a score of 0 (all supply domestic) gives a CF of 0 whatever the price
    cf = np.where(score == 0.0, 0.0, score * price / COPPER_CF_REFERENCE)
    result = pd.DataFrame(
        {
            "hhi": table["hhi"].to_numpy(),
            "import_risk": import_risk,
            "geopolrisk_score": score,
            "characterization_factor": cf,
            "price_usd_per_kg": price,
            "imports_t": table["q"].to_numpy(),
            "weighted_imports_t": table["qg"].to_numpy(),
            "production_t": table["production_t"].to_numpy(),
        },
        index=table.index,
    ).reset_index()
    result = result.rename(columns={"importer_entity": "importer"})
    result = _unknown_trade(result, hs)
    result["note"] = _notes(result)
    return result[RESULT_COLUMNS].sort_values(["commodity", "year", "importer"], ignore_index=True)


def _unknown_trade(result: pd.DataFrame, hs: pd.DataFrame) -> pd.DataFrame:
    """Imports and every term that needs them are unknown (NaN) where BACI holds no flow of
    any of the material's HS codes in the year; ``trade_note`` says so."""
    rows = []
    for item, year in result[["commodity", "year"]].drop_duplicates().itertuples(index=False):
        codes = sorted(hs.loc[hs["commodity"] == item, "hs"])
        present = codes_with_flows(int(year))
        missing = [c for c in codes if c not in present]
        listed = ", ".join(str(c) for c in missing)
        if len(missing) == len(codes):
            note = (
                f"BACI (bundled HS92 extract) holds no flows of HS {listed} in {year}: "
                "imports unknown"
            )
        elif missing:
            note = f"HS {listed} has no flows in BACI in {year} (not counted)"
        else:
            note = ""
        rows.append((item, year, len(missing) == len(codes), note))
    flags = pd.DataFrame(rows, columns=["commodity", "year", "unmeasured", "trade_note"])
    result = result.merge(flags, on=["commodity", "year"], how="left")
    blind = result["unmeasured"].to_numpy(dtype=bool)
    for column in ("import_risk", "geopolrisk_score", "characterization_factor",
                   "price_usd_per_kg", "imports_t", "weighted_imports_t"):  # fmt: skip
        result.loc[blind, column] = np.nan
    return result


def _notes(result: pd.DataFrame) -> list[str]:
    """Why a value is missing (or a zero is real), one text per row."""
    notes = []
    for trade_note, unmeasured, q, p in zip(
        result["trade_note"], result["unmeasured"], result["imports_t"], result["production_t"],
        strict=True,
    ):  # fmt: skip
        parts = [trade_note] if trade_note else []
        if not unmeasured and q == 0:
            parts.append(
                "no imports and no production: no supply to weigh"
                if p == 0
                else "no imports: all supply domestic (import risk 0), no CIF unit value"
            )
        notes.append("; ".join(parts))
    return notes
