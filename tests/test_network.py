"""SupplyNetwork: figures against sources, invariants, groups and bad input."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

import critmin
from critmin.errors import InputError, ScenarioError
from critmin.network.supply_network import SupplyNetwork

from .conftest import ISSUE_COMMODITIES


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
    assert ree_2024.shares("separation")["CHN"] == pytest.approx(0.91)
    assert ree_2024.shares("magnet")["CHN"] == pytest.approx(0.94)
    assert ree_2024.shares("mining")["CHN"] == pytest.approx(270_000 / 398_008)


def test_stage_volumes_follow_their_stated_basis(ree_2024: SupplyNetwork) -> None:
    world = ree_2024.ds["world_production"].sel(commodity="rare_earths")
    # separation: China's smelting/separation quota (254,000 t REO) over its 91 % share
    assert float(world.sel(stage="separation")) == pytest.approx(254_000 / 0.91)
    # magnets: China's 300,000 t over its 94 % share
    assert float(world.sel(stage="magnet")) == pytest.approx(300_000 / 0.94)
    # metal: what the magnets need, 1 t RE metal per 3.2 t NdFeB
    assert float(world.sel(stage="metal")) == pytest.approx(300_000 / 0.94 / 3.2)
    basis = ree_2024.ds["volume_basis"].sel(commodity="rare_earths", stage="metal").item()
    assert "lower bound" in basis


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
    assert [p.check for p in problems] == ["mass_balance"]
    assert "metal->magnet" in problems[0].where


def test_share_violations_are_caught(ree_2024: SupplyNetwork) -> None:
    broken = ree_2024.ds.copy(deep=True)
    broken["share"].loc[{"commodity": "rare_earths", "stage": "mining", "country": "CHN"}] = 1.5
    checks = {p.check for p in SupplyNetwork(broken).check()}
    assert checks == {"share_range", "share_sum"}


def test_absent_entries_are_masked_not_zero() -> None:
    net = critmin.load_network(["rare_earths", "lithium"], year=2024)
    # lithium has no separation stage: NaN, not 0
    assert np.isnan(
        float(net.ds["production"].sel(commodity="lithium", stage="separation", country="CHN"))
    )
    # a stage without HS codes has no trade flows: NaN
    assert bool(net.ds["trade_value"].sel(commodity="rare_earths", stage="magnet").isnull().all())
    # a country that does not mine rare earths: a real zero
    assert (
        float(net.ds["production"].sel(commodity="rare_earths", stage="mining", country="JPN")) == 0
    )


def test_alliance_share_and_groups(ree_2024: SupplyNetwork) -> None:
    mining = ree_2024.production("mining")
    expected = (mining["USA"] + mining.get("JPN", 0)) / mining.sum()
    assert ree_2024.group_share("US-JP", "mining") == pytest.approx(expected)
    assert ree_2024.group_share("CHN", "separation") == pytest.approx(0.91)
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
        ({"commodities": "rare_earths", "utilisation": 0}, "utilisation 0"),
    ],
)
def test_bad_input_is_named(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        critmin.load_network(**kwargs)  # type: ignore[arg-type]


def test_earlier_years_use_stated_vintages() -> None:
    net = critmin.load_network("rare_earths", year=2020)
    years = net.ds["share_year"].sel(commodity="rare_earths").to_series()
    assert years["mining"] == 2020
    assert years["magnet"] == 2020  # Adamas split via the DOE deep dive
    assert net.check() == []


def test_repr_and_summary(ree_2024: SupplyNetwork) -> None:
    text = repr(ree_2024)
    assert "rare_earths" in text
    assert "separation" in text
    assert "<table" in ree_2024._repr_html_()
    assert list(ree_2024.summary()["stage"]) == ["mining", "separation", "metal", "magnet"]


def test_same_inputs_same_network() -> None:
    from critmin.data import tables

    first = critmin.load_network("lithium", year=2023).ds
    tables.clear_caches()
    second = critmin.load_network("lithium", year=2023).ds
    assert first.identical(second)
