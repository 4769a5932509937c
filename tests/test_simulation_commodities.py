"""Every chain the framework names can be disrupted: a six-month 50 % outage of the main
producer of cobalt, nickel, lithium chemicals, graphite anode material, platinum, gallium and
germanium moves a shortfall or a price for the US or Japan (issue 16's list)."""

from __future__ import annotations

import pytest

from critmin.errors import ScenarioError
from critmin.simulation import parse_scenario, simulate

ALLIES = ("USA", "JPN")
OUTAGES = [
    ("cobalt", "COD", "mining"),
    ("nickel", "IDN", "mining"),
    ("lithium", "CHN", "refining"),
    ("graphite", "CHN", "refining"),  # anode material: a chain of its own (no yield to flake)
    ("platinum", "ZAF", "mining"),
    ("gallium", "CHN", "refining"),
    ("germanium", "CHN", "refining"),
]


def _outage(commodity: str, country: str, stages: list[str]) -> dict[str, object]:
    return {
        "name": f"{commodity}_outage",
        "commodity": commodity,
        "year": 2024,
        "alliance": "US-JP",
        "horizon": {"start": "2025-01", "months": 12},
        "events": [
            {"type": "outage", "country": country, "stage": stage, "fraction": 0.5,
             "start": "2025-02", "duration": 6}
            for stage in stages
        ],
    }  # fmt: skip


@pytest.mark.parametrize(("commodity", "country", "stage"), OUTAGES, ids=lambda v: str(v))
def test_an_outage_moves_an_ally(commodity: str, country: str, stage: str) -> None:
    result = simulate(parse_scenario(_outage(commodity, country, [stage]), commodity))
    assert stage in result.stages
    rows = result.summary()
    allies = rows[rows["country"].isin(ALLIES)]
    assert not allies.empty, f"{commodity}: neither ally uses the chain"
    moved = (allies["expected_shortfall_t"] > 1e-6) | (allies["peak_price_index"] > 1 + 1e-6)
    assert moved.any(), allies.to_string()
    # the outage itself: the stage's world price rises while the plant is down
    assert rows.loc[rows["stage"] == stage, "peak_price_index"].max() > 1.05


def test_graphite_runs_the_chain_its_event_names() -> None:
    anode = simulate(parse_scenario(_outage("graphite", "CHN", ["refining"]), "anode"))
    flake = simulate(parse_scenario(_outage("graphite", "CHN", ["mining"]), "flake"))
    assert anode.stages == ["refining"]
    assert flake.stages == ["mining"]
    both = _outage("graphite", "CHN", ["mining", "refining"])
    with pytest.raises(ScenarioError, match=r"no stage yield links \(mining; refining\)"):
        simulate(parse_scenario(both, "both"))
