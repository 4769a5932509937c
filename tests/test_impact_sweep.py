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
        value = row["expected_gdp_change_usd"].iloc[0]
        if row["basis"].iloc[0].startswith("unknown"):
            assert math.isnan(value)
        else:
            assert value == pytest.approx(expected, rel=1e-12)
    for _, part in ranking.groupby("country"):
        known = part[part["expected_gdp_change_usd"].notna()]
        assert list(known["rank"]) == list(range(1, len(known) + 1))
        assert known["expected_gdp_change_usd"].is_monotonic_increasing
        assert part.loc[part["expected_gdp_change_usd"].isna(), "rank"].isna().all()
    figure = ranking_figure(ranking)
    assert {trace.name for trace in figure.data} == {"USA", "JPN"}


def test_effects_no_bridge_values_are_unknown_not_zero(sweep: SweepResult) -> None:
    """Vanadium moves the allies' markets but no industry bridge values it: its GDP change
    is unknown (NaN, unranked) with the unvalued cost beside it, never 0; rare earths are
    valued; a chain whose runs move nothing the country buys is a stated 0."""
    ranking = sweep.ranking().set_index(["country", "commodity"])
    vanadium = ranking.loc[("USA", "vanadium")]
    assert math.isnan(vanadium["expected_gdp_change_usd"])
    assert pd.isna(vanadium["rank"])
    assert vanadium["unbridged_price_cost_usd"] > 0
    assert vanadium["basis"].startswith("unknown: no industry bridge")
    rare = ranking.loc[("USA", "rare_earths")]
    assert rare["expected_gdp_change_usd"] < 0
    assert rare["basis"].startswith("valued")
    zero = ranking[ranking["expected_gdp_change_usd"] == 0]
    assert zero["basis"].str.startswith(("no market effect", "valued")).all()
    assert ranking["unbridged_price_cost_usd"].notna().all()


@pytest.mark.parametrize(
    ("commodity", "origins"),
    [("cobalt", ("CHN",)), ("nickel", ("CHN", "IDN")), ("lithium", ("ARG", "CHL", "CHN")),
     ("graphite", ("CHN",)), ("platinum", ("ZAF",)), ("rhodium", ("ZAF",))],
)  # fmt: skip
def test_bridged_commodities_are_valued_as_losses(
    sweep: SweepResult, commodity: str, origins: tuple[str, ...]
) -> None:
    """With their bridges, these chains are valued for both allies: a full ban by each main
    origin costs GDP, more severe bans never cost less, nothing is left unbridged. (A
    Congolese or Indonesian ban on cobalt withholds mined cobalt, which the allies do not
    buy: it costs them nothing, as the method page says.)"""
    ranking = sweep.ranking().set_index(["country", "commodity"])
    for country in ("USA", "JPN"):
        row = ranking.loc[(country, commodity)]
        assert row["basis"] == "valued: every market effect has an industry bridge"
        assert row["expected_gdp_change_usd"] < 0
        assert row["unbridged_price_cost_usd"] == 0.0
        assert not pd.isna(row["rank"])
        gdp = sweep.impacts[(commodity, country)].summary().set_index("scenario")["gdp_change_usd"]
        for origin in origins:
            by_severity = [gdp[f"{commodity}:{origin}:{s:g}"] for s in (0.25, 0.5, 0.75, 1)]
            assert by_severity[-1] < 0.0, (country, origin)
            assert by_severity == sorted(by_severity, reverse=True), (country, origin)


def test_comparison_with_usgs_and_the_rank_correlation(sweep: SweepResult) -> None:
    compared = comparison(sweep.ranking(), "USA")
    assert set(compared["commodity"]) >= {"rare_earths", "gallium", "germanium"}
    assert compared.set_index("commodity")["usgs_rank"].to_dict()["gallium"] == 6
    rho, n = rank_correlation(compared)
    both = compared[["usgs_rank", "critmin_expected_gdp_change_usd"]].notna().all(axis=1)
    assert n == both.sum() >= 5
    assert {"rhodium", "niobium"} <= set(compared.loc[both, "commodity"])
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
