"""Export-control rule files: validation, compiler, the April 2025 scenario, CLI errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from critmin.errors import ScenarioError
from critmin.simulation.elements.chain import ZONES
from critmin.simulation.elements.model import MAGNET, Shocks, simulate_elements
from critmin.simulation.rules import (
    compile_rules,
    load_rules,
    parse_rules,
    shipped_rules,
    to_events,
)
from critmin.simulation.rules.schema import RULES_DIR
from critmin.simulation.scenario import ExportControl

APRIL = "china_2025_04_heavy_rare_earths"


def _raw(name: str = APRIL) -> dict:
    return yaml.safe_load((RULES_DIR / f"{name}.yaml").read_text(encoding="utf-8"))


def test_every_shipped_rule_file_is_valid_and_cited():
    assert set(shipped_rules()) >= {
        "china_2010_quota",
        "china_2023_08_gallium_germanium",
        APRIL,
        "china_2025_10_expansion",
    }
    for name in shipped_rules():
        rule = load_rules(name)
        assert all(s.url.startswith("http") and s.title for s in rule.sources)
        # every event compiles into a valid scenario-engine event
        for item in to_events(rule, "2010-01", 240):
            ExportControl.model_validate(item["event"])


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (
            lambda r: r["measures"][0]["elements"].append("Xx"),
            "elements[7] = 'Xx': unknown element",
        ),
        (
            lambda r: r["measures"][0].update(expiry="2024-01-01"),
            "expiry 2024-01-01 is before start 2025-04-04",
        ),
        (
            lambda r: r["measures"][0]["licence"].update(approval_rate=1.5),
            "licence.approval_rate = 1.5: approval_rate must lie in [0, 1]",
        ),
        (lambda r: r["measures"][0].update(leakage=-0.1), "leakage = -0.1"),
        (lambda r: r["measures"][0]["products"].append("widgets"), "unknown product"),
        (
            lambda r: r["measures"][0].update(announced="2025-04-05"),
            "announced = '2025-04-05': the announcement 2025-04-05 is after the start 2025-04-04",
        ),
    ],
)
def test_malformed_rules_name_field_value_reason(edit, needle):
    raw = _raw()
    edit(raw)
    with pytest.raises(ScenarioError) as info:
        parse_rules(raw, "bad.yaml")
    message = str(info.value)
    assert message.startswith("bad.yaml: measures[0].")
    assert "elements.elements" not in message
    assert needle in message
    assert "\n" not in message


def test_malformed_rule_file_exits_2(tmp_path: Path):
    for edit, needle in (
        (lambda r: r["measures"][0]["elements"].append("Unobtainium"), "unknown element"),
        (lambda r: r["measures"][0].update(expiry="2020-01-01"), "before start"),
        (lambda r: r["measures"][0]["licence"].update(approval_rate=2), "approval_rate"),
    ):
        raw = _raw()
        edit(raw)
        path = tmp_path / "bad.yaml"
        path.write_text(yaml.safe_dump(raw), encoding="utf-8")
        result = subprocess.run(
            [sys.executable, "-m", "critmin", "rules", "check", str(path)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert result.returncode == 2, result.stderr
        assert needle in result.stderr
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_announcement_month_is_known_from():
    """The Ga/Ge licensing was announced on 3 Jul 2023: known from July (index 6 from
    January), from the first month if announced before the horizon, not at all if after."""
    rule = load_rules("china_2023_08_gallium_germanium")
    assert rule.measures[0].announced is not None
    assert rule.measures[0].announced.isoformat() == "2023-07-03"
    assert compile_rules([rule], "2023-01", 24).known_from == 6
    assert compile_rules([rule], "2023-09", 6).known_from == 0
    later = compile_rules([rule], "2022-01", 12)
    assert later.known_from is None
    assert not any("announced" in n for n in later.notes)
    notes = compile_rules([rule], "2023-01", 24).notes
    assert any("announced 2023-07-03" in n and "adaptive" in n for n in notes)
    # a rule file without announcement dates leaves expectations adaptive
    assert compile_rules([load_rules(APRIL)], "2025-01", 12).known_from is None


def test_compiler_dates_lag_suspension_and_leakage():
    rule = load_rules(APRIL)
    m = rule.measures[0]
    c = compile_rules([rule], "2025-01", 12)
    dy = c.allowed[("Dy", "oxide")]
    assert np.all(dy[:3] == 1.0)  # before 4 April
    assert dy[3] == pytest.approx(3 / 30)  # 3 free days of April
    # May: the first licences (from half the 45 working days = 31.5 days) trickle in
    assert 0.0 < dy[4] < dy[6]
    legal = m.licence.approval_rate * (1 + m.leakage)
    assert dy[-1] == pytest.approx(min(legal, 1.0))
    assert ("NdPr", "oxide") not in c.allowed  # NdPr is not controlled
    # the Oct 2025 expansion is suspended before its magnet rule takes effect
    exp = compile_rules([load_rules("china_2025_10_expansion")], "2025-10", 14)
    other = exp.allowed[("other", "oxide")]
    assert other[0] == 1.0  # October
    assert other[1] == pytest.approx(
        1 - 2 / 30 * (1 - 0.0), abs=1e-12
    )  # 8-9 Nov active, no licences yet
    assert np.all(other[2:13] == 1.0)  # suspended from 10 Nov 2025 to 10 Nov 2026
    assert other[13] < 1.0  # back in force from 11 Nov 2026
    assert any("de minimis" in n for n in exp.notes)
    # 2010: exports = quota x (1 + leakage) = 30,258 x 1.316 / 50,145 of the reference
    q = compile_rules([load_rules("china_2010_quota")], "2010-01", 12).allowed[("Ce", "oxide")]
    assert q[0] == pytest.approx(30258 / 50145 * 1.316)


def test_spread_is_bounded_by_leakage():
    rule = load_rules(APRIL)
    spreads = []
    for leakage in (0.0, 0.316, 1.0):
        ms = [mm.model_copy(update={"leakage": leakage}) for mm in rule.measures]
        c = compile_rules([rule.model_copy(update={"measures": ms})], "2025-01", 12)
        res = simulate_elements(Shocks(months=12, allowed=c.allowed))
        dy = res.base.elements.index("Dy")
        # from September, when every licence has been processed
        spreads.append(float((res.price[8:, dy, 0, 1] / res.price[8:, dy, 0, 0]).mean()))
    assert spreads[0] > spreads[1] > spreads[2]
    # leakage 1 with approval 0.5 lets the whole base flow through: no spread left but the
    # trade arc's slack (a gap of 1e-3 per unit of the volume moved)
    assert spreads[2] == pytest.approx(1.0, abs=1e-4)


def test_april_2025_rules_hit_heavies_and_magnets_not_ndpr():
    c = compile_rules([load_rules(APRIL)], "2025-01", 12)
    res = simulate_elements(Shocks(months=12, allowed=c.allowed))
    free = simulate_elements(Shocks(months=12))
    x = ZONES.index("XCN")
    after = slice(4, 12)  # May-December 2025
    change = {}
    for el in ("NdPr", "Dy", "Tb"):
        for stage in ("oxide", "metal"):
            got = res.supply(el, stage, "XCN")[after].sum()
            change[(el, stage)] = got / free.supply(el, stage, "XCN")[after].sum() - 1
    change[(MAGNET, MAGNET)] = (
        res.magnet_supply("XCN")[after].sum() / free.magnet_supply("XCN")[after].sum() - 1
    )
    for key in (
        ("Dy", "oxide"),
        ("Tb", "oxide"),
        ("Dy", "metal"),
        ("Tb", "metal"),
        (MAGNET, MAGNET),
    ):
        assert change[key] < -0.1, (key, change[key])
    # NdPr is not controlled: ex-China supply is not cut (ex-China magnet makers, at
    # capacity while magnets are dear there, buy a little more), and it has one price
    for stage in ("oxide", "metal"):
        assert 0.0 <= change[("NdPr", stage)] + 1e-3 < 0.15 * abs(change[("Dy", stage)])
    b = res.base
    for el in ("Dy", "Tb"):
        e = b.elements.index(el)
        assert np.all(res.price[after, e, 0, x] > res.price[after, e, 0, 0])
    assert np.all(res.magnet_price[after, x] > res.magnet_price[after, 0])
    nd = b.elements.index("NdPr")
    np.testing.assert_allclose(res.price[:, nd, :, x], res.price[:, nd, :, 0], rtol=2e-3)


def test_unknown_destination_share_is_an_error():
    raw = _raw()
    raw["measures"][0]["destinations"] = ["KOR"]
    with pytest.raises(ScenarioError, match=r"destination_shares\.KOR"):
        compile_rules([parse_rules(raw)], "2025-01", 12)


def test_compiled_rules_run_in_the_commodity_engine(tmp_path: Path):
    from critmin.simulation.rules.compiler import to_scenario
    from critmin.simulation.runner import simulate
    from critmin.simulation.scenario import load_scenario

    raw = to_scenario([load_rules(APRIL)], "rare_earths", "2025-01", 12)
    path = tmp_path / "april.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    result = simulate(load_scenario(path))
    summary = result.summary()
    # the April rules raise prices somewhere along the chain in the commodity engine too
    assert summary.peak_price_index.max() > 1.0
    with pytest.raises(ScenarioError, match="controls it"):
        to_scenario([load_rules(APRIL)], "lithium", "2025-01", 12)
