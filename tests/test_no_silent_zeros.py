"""No silent zeros: every 0 in the numeric outputs of ``critmin metrics --all``,
``critmin supply-risk``, ``critmin gaps`` and the report's results tables comes from known
inputs, never from a missing one.

Each zero is checked against the raw embedded tables by an oracle written here, apart from
the code under test: a production of 0 needs a stage whose producers are all named (World
Mining Data's stage, or chain-table countries that exhaust the world total); imports,
exports and what derives from them need BACI flows of every HS code of the stage that
year; a GeoPolRisk import risk of 0 needs BACI flows of the material and the importer's own
production; a project capacity of 0 needs a pipeline without a project there. A column no
rule covers may not hold a 0 at all.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from critmin.analysis.dependence import stage_factor
from critmin.analysis.geopolrisk import geopolrisk_hs
from critmin.cli.app import app
from critmin.data import tables
from critmin.data.commodities import catalog
from critmin.projects import load_projects

runner = CliRunner()
YEAR, HORIZON = 2024, 2030
MEMBERS = ("USA", "JPN")


# -- oracles on the raw tables ----------------------------------------------------------------
@cache
def _hs_with_flows(year: int) -> frozenset[int]:
    flows = tables.trade_year(year)
    return frozenset(int(h) for h in flows.loc[flows["quantity_t"].fillna(0) > 0, "hs"].unique())


@cache
def trade_measured(commodity: str, stage: str, year: int) -> bool:
    """BACI holds flows of every HS code of the stage, and a content factor converts them."""
    codes = catalog()[commodity].stage(stage).hs
    factor = stage_factor()["factor"].get((commodity, stage), np.nan)
    return bool(codes) and set(codes) <= _hs_with_flows(year) and np.isfinite(factor)


def _production_rows(commodity: str, stage: str) -> pd.DataFrame:
    figures = tables.figures()
    return figures[
        (figures["commodity"] == commodity)
        & (figures["stage"] == stage)
        & (figures["variable"] == "production")
    ]


@cache
def all_producers_named(commodity: str, stage: str, year: int) -> bool:
    """An unnamed country produces nothing: WMD's stage, or chain figures whose named
    countries exhaust the world total (ROW = 0) for the year used."""
    item = catalog()[commodity]
    if stage == item.wmd_stage and item.wmd_sheet is not None:
        return True
    rows = _production_rows(commodity, stage)
    if rows.empty:
        return False
    years = sorted(set(rows["year"]))
    used = max([y for y in years if y <= year], default=years[0])
    rest = rows[(rows["year"] == used) & (rows["country"] == "ROW")]["value"]
    return len(rest) == 1 and float(rest.iloc[0]) == 0.0


@cache
def output_known(commodity: str, stage: str, year: int, country: str) -> bool:
    """The country's output at the stage is a figure, or 0 because every producer is named."""
    if all_producers_named(commodity, stage, year):
        return True
    rows = _production_rows(commodity, stage)
    return bool(rows.loc[rows["country"] == country, "value"].notna().any())


@cache
def material_measured(commodity: str, year: int) -> bool:
    codes = set(geopolrisk_hs().query("commodity == @commodity")["hs"])
    return bool(codes & _hs_with_flows(year))


@cache
def wmd_output(commodity: str, year: int, countries: tuple[str, ...]) -> float:
    prod = tables.production()
    rows = prod[(prod["commodity"] == commodity) & (prod["year"] == year)]
    return float(rows.loc[rows["country"].isin(countries), "value"].sum())


@cache
def no_project(commodity: str, stage: str, countries: frozenset[str]) -> bool:
    projects = load_projects()
    here = projects[
        (projects["commodity"] == commodity)
        & (projects["stage"] == stage)
        & projects["country"].isin(countries)
        & projects["expected_start"].between(YEAR + 1, HORIZON)
        & (projects["status"] != "cancelled")
    ]
    return here["capacity"].notna().sum() == 0


Rule = Callable[[Mapping[str, Any]], bool]


def _walk(table: pd.DataFrame, rules: dict[str, Rule], what: str) -> int:
    """Fail on the first 0 that no rule justifies; return how many zeros were checked."""
    checked = 0
    for column in table.select_dtypes("number").columns:
        zeros = table[table[column] == 0]
        for row in zeros.to_dict(orient="records"):
            rule = rules.get(str(column))
            assert rule is not None, f"{what}: column {column!r} has a 0 no rule covers: {row}"
            assert rule(row), f"{what}: {column} = 0 from a missing input: {row}"
            checked += 1
    return checked


def _csv(*args: str) -> pd.DataFrame:
    result = runner.invoke(app, [*args, "--format", "csv"])
    assert result.exit_code == 0, result.output
    return pd.read_csv(io.StringIO(result.output))


# -- rules per output -------------------------------------------------------------------------
def _dependence(row: Mapping[str, Any]) -> bool:
    return trade_measured(row["commodity"], row["stage"], int(row["year"]))


def _dependence_and_output(row: Mapping[str, Any]) -> bool:
    case = (row["commodity"], row["stage"], int(row["year"]))
    return trade_measured(*case) and output_known(*case, row["country"])


def _named(row: Mapping[str, Any]) -> bool:
    return all_producers_named(row["commodity"], row["stage"], int(row["year"]))


def _gpr(row: Mapping[str, Any]) -> bool:
    year = int(row["year"])
    country = str(row.get("country", row.get("importer")))
    return material_measured(row["commodity"], year) and (
        wmd_output(row["commodity"], year, (country,)) > 0
    )


def _gpr_production(row: Mapping[str, Any]) -> bool:
    country = str(row.get("country", row.get("importer")))
    members = MEMBERS if country == "US-JP" else (country,)
    return wmd_output(row["commodity"], int(row["year"]), members) == 0  # WMD names every producer


SWEEP_RULES: dict[str, Rule] = {
    "production": lambda r: output_known(r["commodity"], r["stage"], int(r["year"]), r["country"]),
    "imports": _dependence,
    "exports": _dependence,
    "apparent_consumption": _dependence_and_output,
    "import_reliance": _dependence_and_output,
    "country_share": lambda r: output_known(
        r["commodity"], r["stage"], int(r["year"]), r["country"]
    ),
    "share_CHN": _named,
    "share_US-JP": _named,
    "n_minus_1_residual": _named,
    "gpr_import_risk": _gpr,
    "gpr_score": _gpr,
    "gpr_characterization_factor": _gpr,
}


def test_metrics_all_has_no_silent_zero() -> None:
    table = _csv("metrics", "--all")
    assert len(table) > 10_000
    assert _walk(table, SWEEP_RULES, "metrics --all") > 100


def _region_known(row: Mapping[str, Any]) -> bool:
    members = MEMBERS if row["region"] == "US-JP" else (row["region"],)
    case = (row["commodity"], row["stage"], int(row["year"]))
    return trade_measured(*case) and all(output_known(*case, m) for m in members)


def _cited_eol(row: Mapping[str, Any]) -> bool:
    eol = tables.commodities().set_index("commodity")["eol_rir"]
    return bool(eol.get(row["commodity"]) == 0.0)  # a cited 0 % (SCRREEN), not a gap


def test_supply_risk_has_no_silent_zero() -> None:
    table = _csv("supply-risk", "--all")
    rules = {"import_reliance": _region_known, "eol_rir": _cited_eol}
    assert _walk(table, rules, "supply-risk --all") > 0
    germanium = table[(table["commodity"] == "germanium") & (table["region"] == "USA")]
    assert germanium["import_reliance"].isna().all()  # BACI has no Ge flows: unknown, not 0
    assert germanium["note"].str.contains("811230").all()


def _members_known(row: Mapping[str, Any], countries: tuple[str, ...]) -> bool:
    case = (row["commodity"], row["stage"], int(row["year"]))
    return all(output_known(*case, c) for c in countries)


def _gap_rules(members: tuple[str, ...], friends: tuple[str, ...]) -> dict[str, Rule]:
    def demand(row: Mapping[str, Any]) -> bool:
        case = (row["commodity"], row["stage"], int(row["year"]))
        return trade_measured(*case) and _members_known(row, members)

    return {
        "own_capacity": lambda r: _members_known(r, members),
        "friends_surplus": lambda r: _members_known(r, friends) or bool(friends),
        "projects_capacity": lambda r: no_project(
            r["commodity"], r["stage"], frozenset(members) | frozenset(friends)
        ),
        "demand": demand,
        "own_gap": lambda r: demand(r) or _members_known(r, members),
        "gap": lambda r: demand(r) or _members_known(r, members),
        "gap_pct": demand,
        "own_gap_pct": demand,
        "gap_with_projects": lambda r: demand(r) or _members_known(r, members),
        "gap_with_projects_pct": demand,
    }


def test_gaps_have_no_silent_zero() -> None:
    from critmin.network.groups import builtin_groups

    friends = tuple(m for m in builtin_groups()["MSP"].members if m not in MEMBERS)
    table = _csv("gaps", "--alliance", "US-JP", "--year", str(YEAR), "--horizon", str(HORIZON))
    _walk(table, _gap_rules(MEMBERS, friends), "gaps")
    separation = table[(table["commodity"] == "rare_earths") & (table["stage"] == "separation")]
    assert float(separation["own_capacity"].iloc[0]) > 0  # MP Materials, no longer 0


# the report's tables that other engines compute: a 0 there is a model outcome, said here
OUTCOME_ZEROS = {
    "disruption_paths": {"shortfall_share": "no shortfall that month in that scenario"},
    "lng_monthly": {"gap_share": "demand met that month", "extra_cost_usd": "no extra cargo"},
    "lng_scenarios": {
        "gap_t": "the scenario leaves no gap",
        "peak_gap_share": "the scenario leaves no gap",
        "months_with_gap": "the scenario leaves no gap",
        "months_bridged": "no gap to bridge",
        "unserved_t": "storage covers every gap",
        "extra_cost_usd": "no extra cargo",
    },
    "portfolio_frontier": {
        "budget_scale": "the frontier starts at a zero budget",
        "budget_usd": "the frontier starts at a zero budget",
        "fiscal_cost_usd": "nothing chosen at a zero budget",
        "improvement": "nothing chosen at a zero budget",
        "projects": "nothing chosen at a zero budget",
    },
    "portfolio_metrics": {
        "added_by_support_t_per_year": "no project chosen at that stage, or support adds nothing "
        "there over the no-support pipeline",
        "hhi_change_per_billion_usd": "no project chosen at that stage",
        "china_share_change_per_billion_usd": "no project chosen at that stage",
    },
    "portfolio_selected": {
        "committed_usd": "no commitment to the project is recorded in projects/data/financing.csv",
    },
    "portfolio_summary": {
        "optimality_gap": "solved to optimality",
        "marginal_value_per_usd": "the budget does not bind",
    },
    "stockpile_summary": {
        "value_of_stochastic_solution_usd": "one scenario kept, or the mean plan is optimal",
        "expected_value_of_perfect_information_usd": "one scenario kept: nothing to learn",
        "joint_cvar_loss_usd": "no loss left in the tail",
        "value_of_cooperation_usd": "sharing saves nothing in these scenarios",
    },
    "stockpile_costs": {
        "alone_cost_usd": "the ally is never short in these scenarios",
        "joint_cost_usd": "the ally is never short in these scenarios",
        "split_proportional_usd": "nothing to split",
        "split_shapley_usd": "nothing to split",
    },
    "stockpile_holdings": {
        "holding_t": "the optimum holds none of it",
        "holding_days": "the optimum holds none of it",
        "expected_shortfall_t": "no shortfall left after releases",
    },
}


@pytest.fixture(scope="module")
def report_tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    out = tmp_path_factory.mktemp("report") / "report.html"
    result = runner.invoke(app, ["report", "--alliance", "US-JP", "--year", str(YEAR),
                                 "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    folder = out.with_name("report_results")
    return {p.stem: pd.read_csv(p) for p in sorted(Path(folder).glob("*.csv"))}


def test_report_results_have_no_silent_zero(report_tables: dict[str, pd.DataFrame]) -> None:
    from critmin.network.groups import builtin_groups

    friends = tuple(m for m in builtin_groups()["MSP"].members if m not in MEMBERS)
    analysis: dict[str, dict[str, Rule]] = {
        "concentration": SWEEP_RULES,
        "geopolrisk": {
            "import_risk": _gpr,
            "geopolrisk_score": _gpr,
            "characterization_factor": _gpr,
            "imports_t": lambda r: material_measured(r["commodity"], int(r["year"])),
            "weighted_imports_t": lambda r: material_measured(r["commodity"], int(r["year"])),
            "production_t": _gpr_production,
        },
        "gaps": _gap_rules(MEMBERS, friends),
    }
    for name, table in report_tables.items():
        if name in analysis:
            _walk(table, analysis[name], f"report {name}")
        else:
            outcomes = OUTCOME_ZEROS.get(name, {})
            rules = {column: (lambda r: True) for column in outcomes}
            _walk(table, rules, f"report {name}")
    gpr = report_tables["geopolrisk"]
    germanium = gpr[gpr["commodity"] == "germanium"]
    assert germanium["import_risk"].isna().all()
    assert germanium["price_usd_per_kg"].isna().all()
    assert germanium["note"].str.contains("no flows").all()
