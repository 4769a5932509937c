"""Every call the report makes into the data, analysis and engine packages, in one place.

The report's sections shape tables and words; they reach the engines only through these
functions, so that when an engine is replaced (the market core, the data) only this module is
re-pointed. Inputs are plain mappings in the engines' file formats (the scenario, stockpile
and portfolio YAML formats), so the report can instantiate a shipped example for any alliance
and write exactly what it ran into the results folder.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr
import yaml

from critmin.analysis import concentration, gap_analysis, geopolrisk, stage_output
from critmin.analysis.geopolrisk import covered_commodities
from critmin.analysis.pricefloor import FloorTerms, dumping_preset, estimate, value_floor
from critmin.analysis.pricefloor.history import UNITS
from critmin.config_files import read_yaml
from critmin.data import tables
from critmin.data.commodities import catalog, commodity
from critmin.errors import InputError
from critmin.lng import compare_us_volumes, hhi, load_lng_scenario, supplier_shares
from critmin.network.groups import load_groups, resolve_members
from critmin.optimisation.portfolio.config import parse_config as parse_portfolio
from critmin.optimisation.portfolio.results import solve_portfolio
from critmin.optimisation.stockpile import run_stockpile
from critmin.optimisation.stockpile.config import parse_config as parse_stockpile
from critmin.simulation import parse_scenario
from critmin.simulation.examples import shipped_example, shipped_lng_scenarios, shipped_scenarios
from critmin.simulation.paths import ensemble_paths

__all__ = [
    "UNITS",
    "PricefloorRun",
    "catalog",
    "commodity",
    "concentration",
    "country_names",
    "covered_commodities",
    "data_manifest",
    "gap_analysis",
    "geopolrisk",
    "group_names",
    "hhi",
    "lng_scenario",
    "lng_suppliers",
    "members_of",
    "portfolio",
    "pricefloor",
    "read_mapping",
    "scenario_paths",
    "shipped_example",
    "shipped_lng_scenarios",
    "shipped_scenarios",
    "stage_output",
    "stockpile",
]


def read_mapping(path: Path, what: str) -> dict[str, Any]:
    """A YAML file of one of the engines' formats, as a mapping (one-line error if not)."""
    raw = read_yaml(path, what)
    if not isinstance(raw, dict):
        raise InputError(f"{what} {path}: expected a YAML mapping")
    return raw


def members_of(alliance: str, groups_file: Path | None) -> tuple[str, ...]:
    """ISO3 members of a group id (``groups.yaml`` or ``groups_file``) or one ISO3 code."""
    return tuple(resolve_members(alliance, load_groups(groups_file)))


def group_names(groups_file: Path | None) -> dict[str, str]:
    """Group id -> its name (``US-JP`` -> ``United States-Japan framework ...``)."""
    return {key: str(group.name) for key, group in load_groups(groups_file).items()}


@cache
def country_names() -> dict[str, str]:
    """ISO3 -> English short name (the embedded country table)."""
    table = tables.countries()
    return dict(zip(table["code"].astype(str), table["name"].astype(str), strict=True))


def data_manifest() -> dict[str, Any]:
    """The embedded data manifest (data version, datasets with publisher, licence, URL)."""
    return dict(tables.manifest())


def scenario_paths(
    raw: Mapping[str, Any], samples: int, seed: int, groups: Mapping[str, Sequence[str]]
) -> xr.Dataset:
    """Monthly P5/P50/P95 paths of shortfall share and price index of a scenario mapping
    (the scenario file format), groups pooled."""
    scenario = parse_scenario(dict(raw), str(raw.get("name", "scenario")))
    return ensemble_paths(scenario, samples, seed, groups=groups)


def stockpile(raw: Mapping[str, Any], scenario: Mapping[str, Any] | None) -> Any:
    """``run_stockpile`` on a stockpile config mapping. ``scenario`` (a scenario mapping)
    replaces the file its engine scenarios are sampled from."""
    with tempfile.TemporaryDirectory(prefix="critmin-report-") as folder:
        spec = dict(raw)
        if scenario is not None:
            path = Path(folder) / "scenario.yaml"
            path.write_text(yaml.safe_dump(dict(scenario), sort_keys=False), encoding="utf-8")
            spec["scenarios"] = {**spec["scenarios"], "file": str(path)}
        return run_stockpile(parse_stockpile(spec, str(raw.get("name", "stockpile config"))))


def portfolio(raw: Mapping[str, Any]) -> Any:
    """``solve_portfolio`` on a portfolio config mapping (relative paths already resolved)."""
    return solve_portfolio(parse_portfolio(dict(raw), str(raw.get("name", "portfolio config"))))


@dataclass(frozen=True)
class PricefloorRun:
    """One valued floor: the estimated price process and its valuation."""

    process: Any
    valued: Any
    unit: str


def pricefloor(
    commodity_id: str, floor: float, years: int, volume_tpa: float, regime: str, paths: int,
    seed: int,
) -> PricefloorRun:  # fmt: skip
    """A floor valued by Monte Carlo under one dumping regime (``none``, ``moderate``,
    ``severe``); the same ``seed`` gives every regime the same random numbers."""
    terms = FloorTerms(floor, years, volume_tpa, unit=UNITS[commodity_id])
    process = estimate(commodity_id, dumping=dumping_preset(regime))
    return PricefloorRun(process, value_floor(process, terms, paths=paths, seed=seed), terms.unit)


def lng_suppliers(year: int, importer: str) -> pd.DataFrame:
    """``importer``'s LNG suppliers in ``year`` (BACI HS 271111), largest first."""
    return supplier_shares(year, importer=importer)


def lng_scenario(path: Path) -> tuple[str, str, Any]:
    """Japan's LNG scenario ``path``: its name, description and its run without and with the
    2030 US volumes."""
    scenario = load_lng_scenario(path)
    return str(scenario.name), str(scenario.description or ""), compare_us_volumes(scenario)
