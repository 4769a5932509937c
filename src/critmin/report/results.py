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
from critmin.report.stockpile import stockpile_tables
from critmin.simulation.examples import shipped_example, shipped_scenarios

DEFAULT_STOCKPILE = "stockpile/us_japan_targeted_bans.yaml"


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
