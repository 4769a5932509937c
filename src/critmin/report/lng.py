"""The report's energy section: the LNG suppliers of every member that imports LNG (BACI, HS
271111) and, when Japan is a member, Japan's LNG scenarios, each run without and with the
2030 US contract volumes (the LNG model covers Japan's contracts, routes and storage only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from critmin.errors import CritminError
from critmin.report import engines, labels
from critmin.report.config import ReportConfig

MODELLED = "JPN"  # the one importer whose contracts, voyages and storage the LNG model has
SUMMARY_COLUMNS = [
    "gap_t",
    "peak_gap_share",
    "months_with_gap",
    "months_bridged",
    "storage_exhausted",
    "min_storage_days",
    "unserved_t",
    "peak_price_index",
    "extra_cost_usd",
    "supplier_hhi",
    "us_share",
    "russia_share",
]


@dataclass
class EnergySection:
    """Supplier tables of the members with LNG imports, Japan's scenario runs (or why not),
    and the members without LNG imports in the year."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    importers: list[str] = field(default_factory=list)
    without_imports: list[str] = field(default_factory=list)
    scenario_origin: str = "shipped"
    reason: str | None = None


def compute_energy(config: ReportConfig, members: tuple[str, ...]) -> EnergySection:
    section = EnergySection()
    frames = []
    for member in members:
        try:
            shares = engines.lng_suppliers(config.year, member)
        except CritminError:  # no LNG imports recorded for the member in that year
            section.without_imports.append(member)
            continue
        shares = shares.assign(importer=member, year=config.year)
        shares["supplier_hhi"] = engines.hhi(shares.set_index("source")["share"])
        frames.append(shares)
        section.importers.append(member)
    columns = ["importer", "source", "quantity_t", "value_usd", "unit_value_usd_per_t", "share",
               "year", "supplier_hhi"]  # fmt: skip
    section.tables["lng_suppliers"] = (
        pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
    )
    shipped = config.lng_scenarios is None
    section.scenario_origin = "shipped" if shipped else "yours"
    if MODELLED not in members:
        section.reason = (
            f"the LNG scenario model (contracts, voyages, storage) covers Japan only, and Japan "
            f"is not a member of {config.alliance}"
        )
        return section
    files = engines.shipped_lng_scenarios() if shipped else tuple(config.lng_scenarios or ())
    summaries, monthly = [], []
    for file in files:
        name, description, comparison = engines.lng_scenario(Path(file))
        title = labels.short_title(description, name)
        summary = comparison.summary()
        keep = ["variant", *[c for c in SUMMARY_COLUMNS if c in summary.columns]]
        summaries.append(
            summary[keep].assign(scenario=name, title=title, file=Path(file).name)
        )
        months = comparison.monthly()[
            ["variant", "month", "gap_share", "storage_days", "extra_cost_usd"]
        ]
        monthly.append(months.assign(scenario=name, title=title))
    empty = pd.DataFrame(columns=["scenario", "variant"])
    section.tables["lng_scenarios"] = (
        pd.concat(summaries, ignore_index=True) if summaries else empty
    )
    section.tables["lng_monthly"] = pd.concat(monthly, ignore_index=True) if monthly else empty
    return section
