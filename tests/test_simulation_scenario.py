"""Scenario files: the shipped examples load; malformed files give one clear line, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from critmin.errors import ScenarioError
from critmin.simulation.distributions import Bernoulli, Triangular, Uniform, draw
from critmin.simulation.scenario import ExportControl, load_scenario, parse_scenario

EXAMPLES = sorted((Path(__file__).parents[1] / "examples" / "scenarios").glob("*.yaml"))

BAN = """
name: test
commodity: rare_earths
events:
  - type: export_control
    origin: CHN
    stages: [magnet]
    destinations: [USA, JPN]
    fraction: 1.0
    start: 2
    duration: 6
"""


def test_examples_are_shipped_and_valid() -> None:
    names = {p.stem for p in EXAMPLES}
    assert {"china_ree_ban_usa_jpn", "myanmar_mining_outage"} <= names
    assert len(names) >= 4
    for path in EXAMPLES:
        scenario = load_scenario(path)
        assert scenario.events, path


def test_month_strings_and_horizon_labels() -> None:
    scenario = load_scenario(EXAMPLES[0].with_name("china_ree_ban_usa_jpn.yaml"))
    event = scenario.events[0]
    assert isinstance(event, ExportControl)
    assert scenario.horizon.index(event.start) == 3.0  # 2026-03 with a 2026-01 start
    labels = scenario.horizon.labels()
    assert labels[0] == "2026-01"
    assert labels[12] == "2027-01"
    assert len(labels) == 24


def test_distributions_sample_inside_their_support() -> None:
    rng = np.random.default_rng(5)
    tri = Triangular(dist="triangular", low=0.2, mode=0.5, high=0.9)
    values = draw(tri, rng, 20_000)
    assert values.min() >= 0.2
    assert values.max() <= 0.9
    assert abs(values.mean() - (0.2 + 0.5 + 0.9) / 3) < 0.01
    coin = draw(Bernoulli(dist="bernoulli", p=0.3), rng, 20_000)
    assert set(np.unique(coin)) == {0.0, 1.0}
    assert abs(coin.mean() - 0.3) < 0.015
    assert draw(Uniform(dist="uniform", low=2, high=4), None, 3).tolist() == [3.0, 3.0, 3.0]


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ("fraction: 1.0", "fraction: 1.7", "events[0].fraction = 1.7: a fraction must lie in"),
        ("duration: 6", "duration: -3", "events[0].duration = -3"),
        (
            "fraction: 1.0",
            "fraction: {dist: uniform, low: 0.5, high: 1.4}",
            "events[0].fraction: a fraction must lie in [0.0, 1.0], got a distribution",
        ),
        ("commodity: rare_earths\n", "", "commodity: required field is missing"),
        ("type: export_control", "type: embargo", "events[0]"),
        ("    fraction: 1.0\n", "", "events[0].export_control.fraction"),
    ],
)
def test_schema_errors_name_field_and_reason(old: str, new: str, needle: str) -> None:
    import yaml

    text = BAN.replace(old, new)
    with pytest.raises(ScenarioError) as info:
        parse_scenario(yaml.safe_load(text), "s.yaml")
    message = str(info.value)
    assert message.startswith("s.yaml: ")
    if "export_control.fraction" in needle:
        assert "events[0].fraction: required field is missing" in message
    else:
        assert needle in message


def _cli(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "critmin", "simulate", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ("[USA, JPN]", "[USA, XXX]", "events[0].destinations[1]: unknown group or country 'XXX'"),
        ("fraction: 1.0", "fraction: 1.7", "events[0].fraction = 1.7"),
        ("duration: 6", "duration: -3", "events[0].duration = -3"),
        ("name: test\n", "", "name: required field is missing"),
        ("stages: [magnet]", "stages: [smelting]", "events[0].stages = 'smelting'"),
    ],
)
def test_cli_malformed_scenario_is_one_line_exit_2(
    tmp_path: Path, old: str, new: str, needle: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAN.replace(old, new), encoding="utf-8")
    result = _cli(path)
    assert result.returncode == 2, result.stderr
    assert needle in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_non_yaml_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "not.yaml"
    path.write_bytes(b"name: [unclosed\n\x00\x01 : :")
    result = _cli(path)
    assert result.returncode == 2
    assert "not valid YAML" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    missing = _cli(tmp_path / "nope.yaml")
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (
            "  - {type: export_control, origin: MMR, stages: [magnet], destinations: all,"
            " fraction: 0.5, duration: 3}\n",
            "events[1].origin = 'MMR': stage magnet already has export controls from ['CHN']",
        ),
        (
            "  - {type: demand_shock, country: USA, sector: toys, change: 0.2}\n",
            "events[1].sector = 'toys': unknown sector of rare_earths",
        ),
        (
            "  - {type: stockpile_release, holder: JPN, commodity: lithium, stage: magnet,"
            " tonnes: 100}\n",
            "events[1].commodity = 'lithium': this scenario simulates rare_earths",
        ),
        (
            "  - {type: outage, country: EU27, stage: refining, fraction: 0.5, duration: 2}\n",
            "events[1].stage = 'refining': not a stage of rare_earths",
        ),
    ],
)
def test_events_are_checked_against_the_chain(extra: str, needle: str) -> None:
    import yaml

    from critmin.simulation.model import scenario_model

    scenario = parse_scenario(yaml.safe_load(BAN + extra), "s.yaml")
    with pytest.raises(ScenarioError) as info:
        scenario_model(scenario)
    assert needle in str(info.value)


def test_unknown_parameter_override_is_refused() -> None:
    import yaml

    from critmin.simulation.model import scenario_model as build_market

    raw = yaml.safe_load(BAN)
    raw["parameters"] = {"demand_elasticity": 0.3}
    with pytest.raises(ScenarioError, match=r"parameters\.demand_elasticity: value 0\.3"):
        build_market(parse_scenario(raw))
    raw["parameters"] = {"elasticity": -0.3}
    with pytest.raises(ScenarioError, match=r"parameters\.elasticity: unknown parameter"):
        build_market(parse_scenario(raw))
