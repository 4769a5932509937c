"""The USGS-style sweep: scenarios, probabilities, ranking, chart and the USGS comparison."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from critmin.data import tables
from critmin.data.commodities import catalog
from critmin.impact import comparison, rank_correlation, ranking_figure, run_sweep
from critmin.impact.sweep import SweepResult, origin_probability, sweep_config
from critmin.impact.usgs import usgs_anchor, usgs_rank


@pytest.fixture(scope="module")
def sweep() -> SweepResult:
    return run_sweep()


def test_sweep_covers_every_commodity_simulated_or_skipped(sweep: SweepResult) -> None:
    simulated = set(sweep.ranking()["commodity"])
    skipped = set(sweep.skipped["commodity"])
    assert simulated | skipped == set(catalog())
    assert not simulated & skipped
    assert {"rare_earths", "gallium", "germanium"} <= simulated
    assert sweep.skipped["reason"].str.len().gt(0).all()


def test_scenarios_are_origin_by_severity_with_stated_probabilities(sweep: SweepResult) -> None:
    config = sweep_config()
    frame = sweep.scenarios
    for (_commodity, origin), group in frame.groupby(["commodity", "origin"]):
        assert list(group["severity"]) == config.severities
        assert group["probability"].sum() == pytest.approx(
            group["origin_probability"].iloc[0], rel=1e-12
        )
        assert origin not in config.excluded_origins
        assert (group["origin_share"] >= config.origin_min_share).all()
        assert group["basis"].iloc[0]
    china = frame[(frame["commodity"] == "rare_earths") & (frame["origin"] == "CHN")]
    assert (china["origin_probability"] == 1.0).all()  # controls in force (2025)


def test_probability_without_a_control_in_force_is_the_jeffreys_rate() -> None:
    config = sweep_config()
    controls = tables.curated("export_controls")
    low, high = config.probability.window
    n = int(
        (
            (controls["imposing_country_iso3"] == "AUS") & controls["year_num"].between(low, high)
        ).sum()
    )
    p, basis = origin_probability("AUS", "rare_earths", config)
    assert p == pytest.approx(1 - math.exp(-(n + 0.5) / (high - low + 1)), rel=1e-15)
    assert f"{n} documented controls" in basis


def test_gdp_losses_grow_with_severity(sweep: SweepResult) -> None:
    for country in ("USA", "JPN"):
        summary = sweep.impacts[("rare_earths", country)].summary()
        china = summary[summary["scenario"].str.startswith("rare_earths:CHN:")]
        gdp = list(china["gdp_change_usd"])
        assert gdp == sorted(gdp, reverse=True)
        assert gdp[-1] < 0.0


def test_ranking_is_probability_weighted_and_ordered(sweep: SweepResult) -> None:
    ranking = sweep.ranking()
    for (commodity, country), result in sweep.impacts.items():
        summary = result.summary()
        expected = (summary["probability"] * summary["gdp_change_usd"]).sum()
        row = ranking[(ranking["commodity"] == commodity) & (ranking["country"] == country)]
        assert row["expected_gdp_change_usd"].iloc[0] == pytest.approx(expected, rel=1e-12)
    for _, part in ranking.groupby("country"):
        assert list(part["rank"]) == list(range(1, len(part) + 1))
        assert part["expected_gdp_change_usd"].is_monotonic_increasing
    figure = ranking_figure(ranking)
    assert {trace.name for trace in figure.data} == {"USA", "JPN"}


def test_comparison_with_usgs_and_the_rank_correlation(sweep: SweepResult) -> None:
    compared = comparison(sweep.ranking(), "USA")
    assert set(compared["commodity"]) >= {"rare_earths", "gallium", "germanium"}
    assert compared.set_index("commodity")["usgs_rank"].to_dict()["gallium"] == 6
    rho, n = rank_correlation(compared)
    assert n == compared["usgs_rank"].notna().sum() >= 3
    assert -1.0 <= rho <= 1.0


def test_rank_correlation_by_hand() -> None:
    """USGS order: magnet rare earths (Tb, rank 4), gallium 6, germanium 7."""
    assert usgs_rank("rare_earths") == 4
    assert usgs_rank("germanium") == 7
    assert usgs_rank("lithium") is None
    ranking = pd.DataFrame(
        {
            "commodity": ["rare_earths", "gallium", "germanium"],
            "country": "USA",
            "expected_gdp_change_usd": [-5e9, -3e9, -1e9],
            "worst_scenario": "x",
            "worst_gdp_change_usd": [-9e9, -8e9, -2e9],
        }
    )
    assert rank_correlation(comparison(ranking)) == (pytest.approx(1.0), 3)
    reversed_ = ranking.assign(expected_gdp_change_usd=[-1e9, -3e9, -5e9])
    assert rank_correlation(comparison(reversed_)) == (pytest.approx(-1.0), 3)
    # ties (critmin gives two commodities no loss) use average ranks: rho = sqrt(3)/2
    tied = ranking.assign(expected_gdp_change_usd=[-5e9, 0.0, 0.0])
    assert rank_correlation(comparison(tied))[0] == pytest.approx(math.sqrt(3) / 2, rel=1e-12)
    assert usgs_anchor()["range"]["min_usd"] == -4.5e9
