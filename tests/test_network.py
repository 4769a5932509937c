"""SupplyNetwork: figures against sources, the schema, grades, invariants, groups and bad input."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

import critmin
from critmin.data import tables
from critmin.errors import InputError, ScenarioError
from critmin.network import schema
from critmin.network.supply_network import SupplyNetwork

from .conftest import ISSUE_COMMODITIES

ROOT = Path(__file__).resolve().parents[1]
BATTERY_CHAIN = ["lithium", "nickel", "cobalt", "manganese", "batteries"]


def _source_ids() -> set[str]:
    return set(tables.manifest()["datasets"]) | set(tables.figure_sources()["source_id"])


@pytest.mark.parametrize("commodity", ISSUE_COMMODITIES)
def test_every_issue_commodity_loads_and_is_consistent(commodity: str) -> None:
    net = critmin.load_network(commodity, year=2024)
    assert net.stages_of(commodity)
    assert net.check() == []
    share = net.ds["share"]
    assert float(share.min()) >= 0
    assert float(share.max()) <= 1
    assert not bool((net.ds["trade_value"] < 0).any())


def test_rare_earth_chain_has_four_stages_with_shares(ree_2024: SupplyNetwork) -> None:
    assert ree_2024.stages_of("rare_earths") == ["mining", "separation", "metal", "magnet"]
    for stage in ree_2024.stages_of("rare_earths"):
        shares = ree_2024.shares(stage)
        assert shares.sum() == pytest.approx(1.0)
        assert shares.idxmax() == "CHN"
    # China's 2024 separation quota (Reuters) over the world total (quota / IEA's 91 %)
    assert ree_2024.shares("separation")["CHN"] == pytest.approx(254_000 / 279_121)
    assert ree_2024.shares("magnet")["CHN"] == pytest.approx(300_000 / 319_149)
    assert ree_2024.shares("mining")["CHN"] == pytest.approx(270_000 / 398_008)


def test_stage_volumes_follow_their_stated_basis(ree_2024: SupplyNetwork) -> None:
    ds = ree_2024.ds.sel(commodity="rare_earths")
    world = ds["world_production"]
    # separation and magnets: the world totals of the chain tables, with their sources
    assert float(world.sel(stage="separation")) == pytest.approx(279_121)
    assert ds["world_production_source"].sel(stage="separation").item() == "iea_commentary_2025_ree"
    assert float(world.sel(stage="magnet")) == pytest.approx(319_149)
    # metal: the chain tables derive it from the magnets' need, 1 t RE metal per 3.2 t NdFeB
    assert float(world.sel(stage="metal")) == pytest.approx(319_149 / 3.2, rel=1e-4)
    assert ds["world_production_grade"].sel(stage="metal").item() == "derived"
    # mining: World Mining Data, every producer named
    assert bool(ds["complete"].sel(stage="mining"))
    assert not bool(ds["complete"].sel(stage="separation"))


def test_the_us_separates_with_mp_materials_output(ree_2024: SupplyNetwork) -> None:
    figures = ree_2024.figures("separation").set_index("country")
    usa = figures.loc["USA"]
    assert usa["production"] == pytest.approx(4_300)  # USGS MCS 2026, mostly MP Materials
    assert usa["grade"] == "primary"
    assert usa["source"] == "usgs_mcs2026_ree"
    assert "MP Materials" in usa["note"]


def test_unknown_is_nan_with_a_reason_and_known_zero_is_zero(ree_2024: SupplyNetwork) -> None:
    ds = ree_2024.ds.sel(commodity="rare_earths")
    # Japan is not named at separation: unknown (its output, if any, is in ROW)
    jpn = ds.sel(stage="separation", country="JPN")
    assert np.isnan(float(jpn["production"]))
    assert jpn["production_grade"].item() == ""
    assert "JPN is not named" in jpn["production_note"].item()
    assert "ROW holds 9,749" in jpn["production_note"].item()
    # Japan mines no rare earths and World Mining Data names every producer: a known zero
    mining = ds.sel(stage="mining", country="JPN")
    assert float(mining["production"]) == 0.0
    assert mining["production_grade"].item() == "derived"
    assert "not a producer" in mining["production_note"].item()
    # the US is named at magnets without a figure: the group share counts Japan only
    magnets = ree_2024.figures("magnet").set_index("country")
    assert np.isnan(magnets.loc["USA", "production"])
    assert ree_2024.group_share("US-JP", "magnet") == pytest.approx(magnets.loc["JPN", "share"])
    assert ree_2024.group_share("US-JP", "separation") == pytest.approx(4_300 / 279_121)
    assert np.isnan(ree_2024.group_share("US-JP", "metal"))  # neither member has a figure


def test_every_figure_has_a_grade_and_a_known_source() -> None:
    net = critmin.load_network(list(ISSUE_COMMODITIES), year=2024)
    known = _source_ids()
    for name in schema.GRADED:
        grade = net.ds[f"{name}_grade"].to_series()
        source = net.ds[f"{name}_source"].to_series()
        value = net.ds[name].to_series()
        assert set(grade[value.notna()]) <= set(schema.GRADES)
        assert set(grade[value.isna()]) <= {""}
        assert set(source[value.notna()]) <= known, name
    assert set(net.ds.attrs["sources"]) <= known


def test_schema_variables_and_docs_agree(ree_2024: SupplyNetwork) -> None:
    for variable in schema.VARIABLES:
        assert variable.name in ree_2024.ds, variable.name
        assert set(ree_2024.ds[variable.name].dims) == set(variable.dims), variable.name
    for name in ("production", "capacity", "price", "recipe"):
        assert ree_2024.ds[name].attrs["units"] == schema.BY_NAME[name].unit
    page = (ROOT / "docs" / "conventions.md").read_text(encoding="utf-8")
    assert schema.markdown_table() in page, "paste schema.markdown_table() into conventions.md"


def test_schema_violations_are_caught(ree_2024: SupplyNetwork) -> None:
    broken = ree_2024.ds.drop_vars("capacity")
    assert [v.check for v in SupplyNetwork(broken).check()] == ["schema"]
    graded = ree_2024.ds.copy(deep=True)
    graded["production_grade"].loc[
        {"commodity": "rare_earths", "stage": "separation", "country": "USA"}
    ] = "guess"
    problems = SupplyNetwork(graded).check()
    assert [p.check for p in problems] == ["grade"]
    assert "separation/USA" in problems[0].where


def test_price_and_capacity_come_from_the_chain_tables(ree_2024: SupplyNetwork) -> None:
    # USGS MCS 2026: NdPr oxide 55 USD/kg in 2024, the stage's price (an assumption row)
    assert ree_2024.price("separation") == pytest.approx(55_000.0)
    ds = ree_2024.ds.sel(commodity="rare_earths", stage="separation")
    assert ds["price_grade"].item() == "assumption"
    assert ds["price_source"].item() == "usgs_mcs2026_ree"
    for stage in ree_2024.stages_of("rare_earths"):
        at = ree_2024.ds.sel(commodity="rare_earths", stage=stage)
        known = np.isfinite(float(at["price"]))
        assert (at["price_grade"].item() != "") == known
    capacity = ree_2024.ds["capacity"]
    assert bool(capacity.isnull().all()) or float(capacity.min()) >= 0


def test_mass_balance_holds_and_a_violation_is_caught(ree_2024: SupplyNetwork) -> None:
    ds = ree_2024.ds
    world = ds["world_production"].sel(commodity="rare_earths")
    yields = ds["stage_yield"].sel(commodity="rare_earths")
    stages = ree_2024.stages_of("rare_earths")
    for up, down in itertools.pairwise(stages):
        assert (
            float(world.sel(stage=down) / yields.sel(stage=down))
            <= float(world.sel(stage=up)) * 1.02
        )
    broken = ds.copy(deep=True)
    broken["stage_yield"].loc[{"commodity": "rare_earths", "stage": "magnet"}] = 0.5
    problems = SupplyNetwork(broken).check()
    assert {p.check for p in problems} == {"mass_balance", "recipe"}  # recipe is 1 / yield
    assert "metal->magnet" in next(p.where for p in problems if p.check == "mass_balance")


def test_share_violations_are_caught(ree_2024: SupplyNetwork) -> None:
    broken = ree_2024.ds.copy(deep=True)
    broken["share"].loc[{"commodity": "rare_earths", "stage": "mining", "country": "CHN"}] = 1.5
    checks = {p.check for p in SupplyNetwork(broken).check()}
    assert checks == {"share_range", "share_sum"}


def test_absent_entries_are_masked_not_zero() -> None:
    net = critmin.load_network(["rare_earths", "lithium", "germanium"], year=2024)
    # lithium has no separation stage: NaN, not 0
    assert np.isnan(
        float(net.ds["production"].sel(commodity="lithium", stage="separation", country="CHN"))
    )
    # a stage without HS codes: BACI says nothing, only the cited customs flows are known
    magnets = net.ds["trade_quantity"].sel(commodity="rare_earths", stage="magnet")
    cited = tables.flows().query(
        "commodity == 'rare_earths' and stage == 'magnet' and year == 2024 and month == 0 "
        "and variable == 'trade_quantity'"
    )
    assert int(magnets.notnull().sum()) == len(cited) > 0
    first = cited.iloc[0]
    assert float(magnets.sel(exporter=first["exporter"], importer=first["importer"])) == (
        pytest.approx(first["value"])
    )
    grade = net.ds["trade_grade"].sel(commodity="rare_earths", stage="magnet").item()
    assert set(grade.split("; ")) <= set(schema.GRADES)
    # germanium's only HS code has no BACI flows in 2024: unknown, not zero
    assert bool(net.ds["trade_value"].sel(commodity="germanium", stage="refining").isnull().all())
    # a stage BACI measures: a pair without a flow is a known zero
    separation = net.ds["trade_value"].sel(commodity="rare_earths", stage="separation")
    assert float(separation.min()) == 0.0
    assert (
        net.ds["trade_grade"].sel(commodity="rare_earths", stage="separation").item() == "primary"
    )


def test_battery_chain_spans_commodities_through_recipes() -> None:
    net = critmin.load_network(BATTERY_CHAIN, year=2024)
    assert net.commodities == BATTERY_CHAIN
    assert net.stages_of("batteries") == ["cathode", "cell"]
    assert net.check() == []
    recipe = net.ds["recipe"]
    assert set(recipe["in_commodity"].values) >= set(BATTERY_CHAIN)
    yields = net.ds["stage_yield"].sel(commodity="lithium", stage="refining")
    single = recipe.sel(
        commodity="lithium", stage="refining", in_commodity="lithium", in_stage="mining"
    )
    assert float(single) == pytest.approx(1.0 / float(yields), rel=1e-12)
    cited = tables.recipes()
    for row in cited[cited["commodity"] == "batteries"].itertuples():
        value = recipe.sel(
            commodity=row.commodity, stage=row.stage, in_commodity=row.in_commodity,
            in_stage=row.in_stage,
        )  # fmt: skip
        assert float(value) == pytest.approx(row.value) or row.year != 2024


def test_alliance_share_and_groups(ree_2024: SupplyNetwork) -> None:
    mining = ree_2024.production("mining")
    expected = (mining["USA"] + mining.get("JPN", 0)) / mining.sum()
    assert ree_2024.group_share("US-JP", "mining") == pytest.approx(expected)
    assert ree_2024.group_share("CHN", "separation") == pytest.approx(254_000 / 279_121)
    members = ree_2024.ds["member"]
    assert int(members.sel(group="EU27").sum()) == 27
    assert int(members.sel(group="G7").sum()) == 7


def test_user_groups_file(tmp_path: Path) -> None:
    groups = tmp_path / "groups.yaml"
    groups.write_text("QUAD:\n  name: Quad\n  members: [USA, JPN, AUS, IND]\n")
    net = critmin.load_network("rare_earths", year=2024, alliance="QUAD", groups_file=groups)
    assert net.alliance == ["USA", "JPN", "AUS", "IND"]
    assert net.group_share("QUAD", "mining") > net.group_share("US-JP", "mining")


def test_bad_groups_file_names_the_field(tmp_path: Path) -> None:
    groups = tmp_path / "groups.yaml"
    groups.write_text("BAD:\n  name: Bad\n  members: [USA, XXX]\n")
    with pytest.raises(ScenarioError, match=r"BAD.*members.*XXX"):
        critmin.load_network("rare_earths", alliance="BAD", groups_file=groups)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"commodities": "unobtainium"}, "unknown commodity 'unobtainium'"),
        ({"commodities": "rare_earths", "year": 2031}, "year 2031 is not available"),
        ({"commodities": "rare_earths", "alliance": "NOPE"}, "unknown group or country 'NOPE'"),
        ({"commodities": []}, "give at least one commodity"),
    ],
)
def test_bad_input_is_named(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        critmin.load_network(**kwargs)  # type: ignore[arg-type]


def test_earlier_years_use_the_nearest_figures_and_say_so() -> None:
    net = critmin.load_network("rare_earths", year=2020)
    ds = net.ds.sel(commodity="rare_earths")
    years = ds["figure_year"].to_series()
    assert years["mining"] == 2020
    held = sorted(
        set(tables.figures().query("stage == 'magnet' and variable == 'production'")["year"])
    )
    assert years["magnet"] == held[0]  # no magnet figure before: the earliest after
    note = ds["production_note"].sel(stage="magnet", country="CHN").item()
    assert f"figure of {held[0]} used for 2020" in note
    assert net.check() == []


def test_repr_shows_the_grade_of_each_stage(ree_2024: SupplyNetwork) -> None:
    text = repr(ree_2024)
    lines = text.splitlines()
    assert "world_grade" in lines[1]
    assert "top_grade" in lines[1]
    separation = next(line for line in lines if " separation " in line)
    assert "secondary" in separation  # China's quota read through Reuters
    assert "<table" in ree_2024._repr_html_()
    assert list(ree_2024.summary()["stage"]) == ["mining", "separation", "metal", "magnet"]


def test_same_inputs_same_network() -> None:
    first = critmin.load_network("lithium", year=2023).ds
    tables.clear_caches()
    second = critmin.load_network("lithium", year=2023).ds
    assert first.identical(second)
