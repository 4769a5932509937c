"""The report's stockpile section: alone versus complementary holdings and their costs, for
the alliance's members, with the assumptions the figures rest on."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from critmin.errors import CritminError
from critmin.report import engines, labels
from critmin.report.alliance import NotForAlliance, scenario_for_alliance, stockpile_for_alliance
from critmin.report.config import ReportConfig
from critmin.report.trust import Flag, note_flags

DEFAULT_STOCKPILE = "stockpile/us_japan_targeted_bans.yaml"


@dataclass
class StockpileSection:
    """The solved comparison's tables, what ran (``spec``, ``scenario``), the engine's notes
    and the flags on its figures; or ``reason`` when it could not be computed."""

    origin: str
    file: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    spec: dict[str, Any] | None = None
    scenario: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    reason: str | None = None


def _assumed_use(run: Any, notes: list[str], names: dict[str, str]) -> list[Flag]:
    """The share of each material's use whose damage per tonne is the assumed multiple of
    its price (from the engine's notes and its sector split)."""
    flags: list[Flag] = []
    share = run.scenarios.sector_share
    if share is None:
        return flags
    for material in share["material"].values:
        assumed = [
            str(sector)
            for sector in share["sector"].values
            if any(
                note.startswith(f"damage {material}/{sector}:") and "assumption" in note
                for note in notes
            )
        ]
        if not assumed:
            continue
        part = float(share.sel(material=material, sector=assumed).sum("sector").mean("ally"))
        if part > 0:
            sectors = ", ".join(s.replace("_", " ") for s in assumed)
            flags.append(
                Flag(
                    "assumption",
                    f"{labels.percent(part)} of the use of {names.get(str(material), material)} "
                    f"({sectors}) is valued at an "
                    "assumed multiple of the price (no cited value-added figure), and the "
                    "split of use between sectors is the chain's global split, the same for "
                    "every ally (docs/methods/stockpile.md, known weaknesses)",
                )
            )
    return flags


def compute_stockpile(config: ReportConfig, members: tuple[str, ...]) -> StockpileSection:
    """``run_stockpile`` on the settings' config, or on the shipped example with the members
    as allies and its scenario file adapted to them and to the year."""
    shipped = config.stockpile is None
    path = engines.shipped_example(DEFAULT_STOCKPILE) if shipped else Path(config.stockpile or "")
    section = StockpileSection("shipped" if shipped else "yours", path.name)
    raw = engines.read_mapping(path, "stockpile config")
    spec = stockpile_for_alliance(raw, members) if shipped else dict(raw)
    scenarios = spec.get("scenarios")
    scenario = None
    if isinstance(scenarios, dict) and scenarios.get("source", "engine") == "engine":
        scenario_path = (path.parent / str(scenarios.get("file", ""))).resolve()
        scenario = engines.read_mapping(scenario_path, "scenario file")
        if shipped:
            source = engines.members_of(str(scenario.get("alliance", "US-JP")), config.groups_file)
            try:
                scenario = scenario_for_alliance(
                    scenario, source, config.alliance, members, config.year
                )
            except NotForAlliance as exc:
                section.reason = f"not computed for {config.alliance}: its scenario file {exc}"
                return section
    try:
        run = engines.stockpile(spec, scenario)
    except CritminError as exc:
        if not shipped:
            raise
        section.reason = f"not computable for {config.alliance} in {config.year}: {exc}"
        return section
    section.spec, section.scenario = spec, scenario
    report = run.report
    stages = {m: spec["materials"][m].get("stage") for m in spec["materials"]}
    chain = str((scenario or {}).get("commodity", ""))
    names = {m: labels.product(chain, str(s)) if chain and s else m for m, s in stages.items()}
    holdings = report.holdings_frame()
    holdings.insert(3, "stage", holdings["material"].map(stages))
    summary = {**report.summary(), "config": path.name, "origin": section.origin,
               "allies": " ".join(spec["allies"]),
               "scenarios_kept": int(run.scenarios.probability.size)}  # fmt: skip
    section.tables = {
        "stockpile_holdings": holdings.assign(config=path.name),
        "stockpile_costs": report.costs_frame().assign(config=path.name),
        "stockpile_summary": pd.DataFrame([summary]),
    }
    section.notes = list(report.notes)
    others = [n for n in section.notes if not n.startswith("damage ")]  # summed up above
    section.flags = [*_assumed_use(run, section.notes, names), *note_flags(others)]
    return section
